"""A sphere (a ball to the user), graspable."""

from spatialbot_ros.core.object_kinds import (
    KindNouns,
    ObjectKind,
    Primitive,
    PrimitiveType,
    Size,
    round_footprint,
    round_reach,
    sphere_height,
)


def _geometry(size: Size) -> tuple[Primitive, ...]:
    return (Primitive(PrimitiveType.SPHERE, (float(size["radius"]),)),)


KIND = ObjectKind(
    name="sphere", perceived_shape="sphere",
    nouns=KindNouns("ball", "balls", train="ball", heldout="sphere", train_synonyms=("ball", "orb")),
    default_size={"radius": 0.03},
    size_ranges={"radius": (0.02, 0.037)},
    geometry=_geometry, height=sphere_height, footprint=round_footprint, reach_radius=round_reach,
    mass_kg=0.08, graspable=True, has_up=False,
    generated_size=lambda r: {"radius": r.uniform(0.026, 0.034)},
    generator_weight=1,
)
