"""The built-in object kinds, one module each (see core.object_kinds)."""
