"""A box: a cuboid lying flat, graspable across its short side, so its yaw matters."""

from spatialbot_ros.core.object_kinds import (
    KindNouns,
    ObjectKind,
    Primitive,
    PrimitiveType,
    Size,
    radius_height,
    rect_footprint,
    rect_reach,
)


def _geometry(size: Size) -> tuple[Primitive, ...]:
    hx, hy = size["half_extents"]
    return (Primitive(PrimitiveType.BOX, (float(hx), float(hy), float(size["height"]) / 2)),)


KIND = ObjectKind(
    name="box", perceived_shape="box",
    nouns=KindNouns("box", "boxes", train="box", heldout="block", train_synonyms=("box", "cube", "brick")),
    default_size={"half_extents": [0.025, 0.02], "height": 0.06},
    size_ranges={"half_extents": (0.015, 0.037), "height": (0.03, 0.12)},
    geometry=_geometry, height=radius_height, footprint=rect_footprint, reach_radius=rect_reach,
    mass_kg=0.15, graspable=True, yawed=True,
    generated_size=lambda r: {"half_extents": [r.uniform(0.018, 0.032), r.uniform(0.018, 0.03)],
                              "height": r.uniform(0.04, 0.09)},
    generator_weight=1,
)
