"""Seeded random scenes: 2-6 reachable, non-overlapping objects and a verified instruction.
The same seed always gives the same scene, instruction included."""

from __future__ import annotations

import math

import numpy as np

from spatialbot_ros.core.colors import COLOR_NAMES
from spatialbot_ros.core.instruction_templates import SceneObjectFacts, generate_instruction
from spatialbot_ros.core.object_kinds import ObjectKind, SupportRole, default_registry
from spatialbot_ros.sim.scene import TABLE_AREA, CameraSpec, Expected, ObjectSpec, Scene, SceneError

GEN_CLEARANCE_M = 0.03
# object colours avoid white/black half of the time so colour words are informative
CHROMATIC = tuple(c for c in COLOR_NAMES if c not in ("white", "black"))


def _weighted(kinds: list[ObjectKind]) -> list[str]:
    """Kind names repeated by generator weight, in registry order: rng.choice over this list is how
    the seeded scenes draw kinds (so the built-ins' seeded scenes stay what they were)."""
    return [k.name for k in kinds for _ in range(k.generator_weight)]


def generated_size(kind: ObjectKind, rng: np.random.Generator) -> dict:
    """A random size for a generated scene: the kind's sampler, else its default size."""
    return dict(kind.generated_size(rng)) if kind.generated_size is not None else dict(kind.default_size)


def to_facts(objects: list[ObjectSpec]) -> list[SceneObjectFacts]:
    return [SceneObjectFacts(o.name, o.kind, o.color, np.array([o.position[0], o.position[1], o.height_m / 2]),
                             o.footprint_m, o.height_m) for o in objects]


def _sample_objects(rng: np.random.Generator, n: int, with_support: bool) -> list[ObjectSpec]:
    registry = default_registry()
    kinds: list[str] = []
    if with_support:
        kinds.append(str(rng.choice(_weighted([k for k in registry if k.support is not SupportRole.NONE]))))
    while len(kinds) < n:
        kinds.append(str(rng.choice(_weighted([k for k in registry if k.graspable]))))
    objs: list[ObjectSpec] = []
    counts: dict[str, int] = {}
    for kind in kinds:
        spec_kind = registry[kind]
        size = generated_size(spec_kind, rng)
        color = (spec_kind.preferred_color if spec_kind.preferred_color and rng.random() < spec_kind.preferred_color_chance
                 else str(rng.choice(CHROMATIC)))
        counts[kind] = counts.get(kind, 0) + 1
        spec = None
        for _ in range(200):
            r = rng.uniform(TABLE_AREA["min_radius"] + 0.04, 0.72)
            ang = rng.uniform(-0.62, 0.62)
            x, y = r * math.cos(ang), r * math.sin(ang)
            if not (TABLE_AREA["x"][0] + 0.02 <= x <= TABLE_AREA["x"][1] - 0.02 and abs(y) <= TABLE_AREA["y"][1] - 0.03):
                continue
            cand = ObjectSpec(f"{color}_{kind}_{counts[kind]}", kind, color, size, (float(x), float(y)),
                              float(rng.uniform(-math.pi / 2, math.pi / 2)) if spec_kind.yawed else 0.0)
            if all(math.dist(cand.position, o.position) - cand.footprint_radius_m - o.footprint_radius_m
                   >= GEN_CLEARANCE_M for o in objs):
                spec = cand
                break
        if spec is None:
            raise SceneError(f"scene generator: could not place a {kind} without overlap after 200 tries")
        objs.append(spec)
    return objs


def generate_scene(seed: int, n_objects: tuple[int, int] = (2, 6), viewpoint: str = "camera",
                   phrasing_set: str = "train", camera_jitter: float = 0.0, max_attempts: int = 50) -> Scene:
    rng = np.random.default_rng(seed)
    for _ in range(max_attempts):
        n = int(rng.integers(n_objects[0], n_objects[1] + 1))
        with_support = bool(rng.random() < 0.7)
        try:
            objs = _sample_objects(rng, n, with_support)
        except SceneError:
            continue
        cam = CameraSpec()
        if camera_jitter > 0:
            cam = CameraSpec(position=tuple(np.asarray(cam.position) + rng.normal(0, camera_jitter, 3)),
                             look_at=tuple(np.asarray(cam.look_at) + rng.normal(0, camera_jitter / 2, 3)))
        try:
            case = generate_instruction(to_facts(objs), rng, cam.base_from_camera(), viewpoint=viewpoint,
                                        phrasing_set=phrasing_set)
        except ValueError:
            continue
        point = tuple(float(v) for v in case.place_point_base) if case.place_point_base is not None else None
        return Scene(name=f"random_{seed:05d}", objects=objs, instruction=case.instruction,
                     expected=Expected(case.pick_name, case.place_name, point, case.place_relation), camera=cam,
                     seed=seed, viewpoint=viewpoint, category=case.category)
    raise SceneError(f"scene generator: no valid scene for seed {seed} in {max_attempts} attempts")


def generate_scenes(n: int, seed: int, phrasing_set: str = "train", **kwargs: object) -> list[Scene]:
    """n scenes with per-episode seeds derived deterministically from seed."""
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n)
    return [generate_scene(int(s), phrasing_set=phrasing_set, **kwargs) for s in seeds]  # type: ignore[arg-type]
