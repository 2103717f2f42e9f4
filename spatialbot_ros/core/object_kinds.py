"""One place per object kind: what scenes, simulation, instructions, grounding and spatial QA know
about a cup, a box, ... lives in one declarative `ObjectKind`, looked up through a `KindRegistry`.

Why a registry and not module tables: a new kind (a plugin's or a test's) is one module plus one
entry point in the ``spatialbot_ros.object_kinds`` group, and every reader sees it. Simulator
geometry is declared as primitives (cylinder / box / sphere) so core stays free of MuJoCo; the
simulator renders them. Perception never sees kinds: the proposer reports a *perceived shape*
from a fixed vocabulary (`PERCEIVED_SHAPES`), so the learned network's input width does not depend
on how many kinds exist; a kind only names the perceived shape it shows up as.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "spatialbot_ros.object_kinds"
# what the proposer can report (and the learned features one-hot): a perception vocabulary, fixed
PERCEIVED_SHAPES = ("cylinder", "box", "sphere", "bowl", "plate", "unknown")
# perceived shapes a grasp treats as round (approach yaw free)
ROUND_SHAPES = ("cylinder", "sphere", "bowl", "plate")

Size = Mapping[str, Any]
SizeSampler = Callable[[Any], dict[str, Any]]  # numpy Generator -> size dict


class SupportRole(StrEnum):
    """How something is placed onto this kind: not at all, on top of it, or into it."""

    NONE = "none"
    ON = "on"
    INTO = "into"


class PrimitiveType(StrEnum):
    CYLINDER = "cylinder"
    BOX = "box"
    SPHERE = "sphere"


@dataclass(frozen=True)
class Primitive:
    """One collision/visual solid in the object's body frame (origin at the body centre).

    size: MuJoCo-style half sizes (cylinder: radius, half height; box: 3 half extents; sphere: radius)."""

    type: PrimitiveType
    size: tuple[float, ...]
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw: float = 0.0


@dataclass(frozen=True)
class KindNouns:
    """Words for a kind: the canonical pair (spatial QA, counting), the instruction nouns of the
    train and held-out phrasing sets, and extra training synonyms."""

    singular: str
    plural: str
    train: str = ""
    heldout: str = ""
    train_synonyms: tuple[str, ...] = ()

    def phrasing(self, phrasing_set: str) -> str:
        word = {"train": self.train, "heldout": self.heldout}[phrasing_set]
        return word or self.singular


@dataclass(frozen=True)
class ObjectKind:
    """Everything the product knows about one kind of table object."""

    name: str
    perceived_shape: str
    nouns: KindNouns
    default_size: Mapping[str, Any]
    size_ranges: Mapping[str, tuple[float, float]]  # plausible (min, max) per size key: the schema's keys
    geometry: Callable[[Size], tuple[Primitive, ...]]
    height: Callable[[Size], float]
    footprint: Callable[[Size], tuple[float, float]]    # (long, short) side of the table footprint, metres
    reach_radius: Callable[[Size], float]               # centre-to-farthest-edge on the table, for clearance
    mass_kg: float
    graspable: bool = False
    support: SupportRole = SupportRole.NONE
    yawed: bool = False                     # orientation matters: generated scenes draw a yaw, grasps follow
                                            # the short side (yawed kinds use the half_extents size schema)
    has_up: bool = True                     # placed, it must stand upright; a ball has no up (it may roll
                                            # over on its target and still be placed)
    generated_size: SizeSampler | None = None
    generator_weight: int = 0               # draws in generated scenes (0: never generated)
    preferred_color: str | None = None      # generated scenes give it this colour ...
    preferred_color_chance: float = 0.0     # ... this often

    def __post_init__(self) -> None:
        if self.perceived_shape not in PERCEIVED_SHAPES:
            raise ValueError(f"kind {self.name!r}: perceived shape {self.perceived_shape!r} is not one of "
                             f"{', '.join(PERCEIVED_SHAPES)}")
        if set(self.default_size) != set(self.size_ranges):
            raise ValueError(f"kind {self.name!r}: default_size and size_ranges must have the same keys")
        if self.yawed and "half_extents" not in self.default_size:
            raise ValueError(f"kind {self.name!r}: a yawed kind needs a half_extents size (its grasp follows the short side)")


# --- footprint / height helpers for the usual size schemas ---------------------------------------

def radius_height(size: Size) -> float:
    return float(size["height"])


def sphere_height(size: Size) -> float:
    return float(2 * size["radius"])


def round_footprint(size: Size) -> tuple[float, float]:
    d = 2 * float(size["radius"])
    return (d, d)


def round_reach(size: Size) -> float:
    return float(size["radius"])


def upright_cylinder(size: Size) -> tuple[Primitive, ...]:
    """The geometry of a kind that is one upright cylinder (radius, height), centred on the body."""
    return (Primitive(PrimitiveType.CYLINDER, (float(size["radius"]), float(size["height"]) / 2)),)


def rect_footprint(size: Size) -> tuple[float, float]:
    a, b = (2 * float(v) for v in size["half_extents"])
    return (max(a, b), min(a, b))


def rect_reach(size: Size) -> float:
    hx, hy = size["half_extents"]
    return float(math.hypot(hx, hy))


@dataclass(frozen=True)
class KindRegistry:
    """Kinds by name, in registration order (built-ins first: generated scenes depend on the order)."""

    kinds: tuple[ObjectKind, ...]
    _by_name: dict[str, ObjectKind] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, ObjectKind] = {}
        for k in self.kinds:
            if k.name in by_name:
                raise ValueError(f"object kind {k.name!r} registered twice")
            by_name[k.name] = k
        object.__setattr__(self, "_by_name", by_name)

    def __getitem__(self, name: str) -> ObjectKind:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown object kind {name!r}; known: {', '.join(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ObjectKind]:
        return iter(self.kinds)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kinds)

    @property
    def graspable(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kinds if k.graspable)

    def supports(self, role: SupportRole | None = None) -> tuple[str, ...]:
        """Kinds something can be placed on/into (either role when role is None)."""
        return tuple(k.name for k in self.kinds
                     if k.support is not SupportRole.NONE and (role is None or k.support is role))

    def nouns_by_shape(self) -> dict[str, tuple[str, ...]]:
        """perceived shape -> the kinds' nouns (singular), for the grounder's lexicon."""
        out: dict[str, tuple[str, ...]] = {}
        for k in self.kinds:
            words = (k.nouns.singular, k.nouns.train, k.nouns.heldout, *k.nouns.train_synonyms)
            out[k.perceived_shape] = tuple(dict.fromkeys(out.get(k.perceived_shape, ()) + tuple(w for w in words if w)))
        return out


def builtin_kinds() -> tuple[ObjectKind, ...]:
    from spatialbot_ros.core.kinds import bowl, box, cup, plate, sphere

    return (cup.KIND, box.KIND, sphere.KIND, plate.KIND, bowl.KIND)


def _plugin_kinds() -> list[ObjectKind]:
    out: list[ObjectKind] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        kind = ep.load()
        if not isinstance(kind, ObjectKind):
            raise TypeError(f"entry point {ep.name!r} in {ENTRY_POINT_GROUP} is not an ObjectKind")
        if kind.name != ep.name:
            raise ValueError(f"entry point {ep.name!r} names an ObjectKind called {kind.name!r}")
        out.append(kind)
    return out


@lru_cache(maxsize=1)
def default_registry() -> KindRegistry:
    """The built-in kinds plus every installed ``spatialbot_ros.object_kinds`` entry point (read once
    per process: kinds are installed, not changed at run time)."""
    plugins = _plugin_kinds()
    if plugins:
        log.info("object kinds from plugins: %s", ", ".join(k.name for k in plugins))
    return KindRegistry(builtin_kinds() + tuple(plugins))
