"""A plate: a flat disc things are put on; often white in generated scenes, as plates are."""

from spatialbot_ros.core.object_kinds import (
    KindNouns,
    ObjectKind,
    SupportRole,
    radius_height,
    round_footprint,
    round_reach,
    upright_cylinder,
)

KIND = ObjectKind(
    name="plate", perceived_shape="plate",
    nouns=KindNouns("plate", "plates", train="plate", heldout="dish", train_synonyms=("plate", "saucer", "tray")),
    default_size={"radius": 0.09, "height": 0.015},
    size_ranges={"radius": (0.05, 0.12), "height": (0.008, 0.03)},
    geometry=upright_cylinder, height=radius_height, footprint=round_footprint, reach_radius=round_reach,
    mass_kg=0.4, support=SupportRole.ON,
    generated_size=lambda r: {"radius": r.uniform(0.075, 0.1), "height": r.uniform(0.012, 0.02)},
    generator_weight=2, preferred_color="white", preferred_color_chance=0.6,
)
