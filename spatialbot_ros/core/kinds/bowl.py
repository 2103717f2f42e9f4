"""A bowl: an open container things are put into; a floor disc and a ring of wall slabs, so a
picked object really drops inside it."""

import math

from spatialbot_ros.core.object_kinds import (
    KindNouns,
    ObjectKind,
    Primitive,
    PrimitiveType,
    Size,
    SupportRole,
    radius_height,
    round_footprint,
    round_reach,
)

WALL_M, FLOOR_M, WALL_SEGMENTS = 0.006, 0.008, 16


def _geometry(size: Size) -> tuple[Primitive, ...]:
    r, h = float(size["radius"]), float(size["height"])
    parts = [Primitive(PrimitiveType.CYLINDER, (r, FLOOR_M / 2), pos=(0.0, 0.0, -h / 2 + FLOOR_M / 2))]
    half_len = r * math.tan(math.pi / WALL_SEGMENTS) + 0.002
    for i in range(WALL_SEGMENTS):
        a = 2 * math.pi * i / WALL_SEGMENTS
        parts.append(Primitive(PrimitiveType.BOX, (WALL_M / 2, half_len, h / 2),
                               pos=((r - WALL_M / 2) * math.cos(a), (r - WALL_M / 2) * math.sin(a), 0.0), yaw=a))
    return tuple(parts)


KIND = ObjectKind(
    name="bowl", perceived_shape="bowl",
    nouns=KindNouns("bowl", "bowls", train="bowl", heldout="bowl", train_synonyms=("bowl", "basin")),
    default_size={"radius": 0.08, "height": 0.05},
    size_ranges={"radius": (0.05, 0.11), "height": (0.03, 0.08)},
    geometry=_geometry, height=radius_height, footprint=round_footprint, reach_radius=round_reach,
    mass_kg=0.5, support=SupportRole.INTO,
    generated_size=lambda r: {"radius": r.uniform(0.07, 0.09), "height": r.uniform(0.04, 0.06)},
    generator_weight=1,
)
