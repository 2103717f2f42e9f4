"""A cup: an upright cylinder, graspable."""

from spatialbot_ros.core.object_kinds import (
    KindNouns,
    ObjectKind,
    radius_height,
    round_footprint,
    round_reach,
    upright_cylinder,
)

KIND = ObjectKind(
    name="cup", perceived_shape="cylinder",
    nouns=KindNouns("cup", "cups", train="cup", heldout="mug", train_synonyms=("cup", "can", "glass")),
    default_size={"radius": 0.032, "height": 0.10},
    # pickable widths must fit the 85 mm gripper with margin
    size_ranges={"radius": (0.02, 0.037), "height": (0.04, 0.16)},
    geometry=upright_cylinder, height=radius_height, footprint=round_footprint, reach_radius=round_reach,
    mass_kg=0.12, graspable=True,
    generated_size=lambda r: {"radius": r.uniform(0.026, 0.035), "height": r.uniform(0.07, 0.13)},
    generator_weight=2,
)
