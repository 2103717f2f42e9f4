"""Seeded random scenes: 2-6 reachable, non-overlapping objects and a verified instruction.
The same seed always gives the same scene, instruction included."""

from __future__ import annotations

import math

import numpy as np

from spatialbot_ros.core.colors import COLOR_NAMES
from spatialbot_ros.core.instruction_templates import SceneObjectFacts, generate_instruction
from spatialbot_ros.sim.scene import TABLE_AREA, CameraSpec, Expected, ObjectSpec, Scene, SceneError

SIZE_SAMPLERS = {
    "cup": lambda r: {"radius": r.uniform(0.026, 0.035), "height": r.uniform(0.07, 0.13)},
    "box": lambda r: {"half_extents": [r.uniform(0.018, 0.032), r.uniform(0.018, 0.03)], "height": r.uniform(0.04, 0.09)},
    "sphere": lambda r: {"radius": r.uniform(0.026, 0.034)},
    "plate": lambda r: {"radius": r.uniform(0.075, 0.1), "height": r.uniform(0.012, 0.02)},
    "bowl": lambda r: {"radius": r.uniform(0.07, 0.09), "height": r.uniform(0.04, 0.06)},
}
GEN_CLEARANCE_M = 0.03
# object colours avoid white/black half of the time so colour words are informative
CHROMATIC = tuple(c for c in COLOR_NAMES if c not in ("white", "black"))


def to_facts(objects: list[ObjectSpec]) -> list[SceneObjectFacts]:
    return [SceneObjectFacts(o.name, o.kind, o.color, np.array([o.position[0], o.position[1], o.height_m / 2]),
                             o.footprint_m, o.height_m) for o in objects]


def _sample_objects(rng: np.random.Generator, n: int, with_support: bool) -> list[ObjectSpec]:
    kinds: list[str] = []
    if with_support:
        kinds.append(str(rng.choice(["plate", "plate", "bowl"])))
    while len(kinds) < n:
        kinds.append(str(rng.choice(["cup", "cup", "box", "sphere"])))
    objs: list[ObjectSpec] = []
    counts: dict[str, int] = {}
    for kind in kinds:
        size = SIZE_SAMPLERS[kind](rng)
        color = "white" if kind == "plate" and rng.random() < 0.6 else str(rng.choice(CHROMATIC))
        counts[kind] = counts.get(kind, 0) + 1
        spec = None
        for _ in range(200):
            r = rng.uniform(TABLE_AREA["min_radius"] + 0.04, 0.72)
            ang = rng.uniform(-0.62, 0.62)
            x, y = r * math.cos(ang), r * math.sin(ang)
            if not (TABLE_AREA["x"][0] + 0.02 <= x <= TABLE_AREA["x"][1] - 0.02 and abs(y) <= TABLE_AREA["y"][1] - 0.03):
                continue
            cand = ObjectSpec(f"{color}_{kind}_{counts[kind]}", kind, color, size, (float(x), float(y)),
                              float(rng.uniform(-math.pi / 2, math.pi / 2)) if kind == "box" else 0.0)
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
