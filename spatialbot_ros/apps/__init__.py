"""Applications above the executive (layer 6): commands that use the core, sim and motion layers;
nothing below imports them."""
