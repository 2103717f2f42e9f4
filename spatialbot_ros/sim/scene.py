"""Scene files (YAML or JSON): objects, camera, robot, instruction and the expected outcome.
Validation errors name the file and the field path. Schema: README.md, "Scene files" (test_object_kinds checks its kinds and size ranges)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from spatialbot_ros.core.bounded_yaml import InputLimits, load_structured_file
from spatialbot_ros.core.colors import COLOR_NAMES
from spatialbot_ros.core.errors import InputFileError, bounded_message, short_repr
from spatialbot_ros.core.grounding import RELATIONS
from spatialbot_ros.core.instruction_templates import CATEGORIES
from spatialbot_ros.core.object_kinds import ObjectKind, SupportRole, default_registry
from spatialbot_ros.core.transforms import look_at

# object kinds (names, size keys and ranges, footprints, pickability): core.object_kinds' registry
# reachable table area for object centres (base frame, metres)
TABLE_AREA = {"x": (0.28, 0.78), "y": (-0.4, 0.4), "min_radius": 0.28, "max_radius": 0.8}
MIN_CLEARANCE_M = 0.01
MAX_OBJECTS = 64            # per scene: the cell and the SoM proposer are built for a table, not a warehouse
MAX_SCENES_PER_FILE = 5000
MAX_TEXT_CHARS = 2000       # names, instructions
MAX_ABS_NUMBER = 1e6        # beyond this a scene number is a typo (and a 400-digit int overflows floats)
# scene and scenes files: 4 MB holds ~2500 scenes; node and alias budgets stop bombs before they are built
SCENE_LIMITS = InputLimits()


class SceneError(InputFileError):
    """A scene file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    kind: str
    color: str
    size: dict
    position: tuple[float, float]
    yaw: float = 0.0
    mass: float | None = None
    stands_on: str | None = None  # the object (a plate) it stands on at the start, not the table

    @property
    def object_kind(self) -> ObjectKind:
        return default_registry()[self.kind]

    @property
    def footprint_radius_m(self) -> float:
        return self.object_kind.reach_radius(self.size)

    @property
    def height_m(self) -> float:
        return self.object_kind.height(self.size)

    @property
    def footprint_m(self) -> tuple[float, float]:
        return self.object_kind.footprint(self.size)


@dataclass(frozen=True)
class CameraSpec:
    position: tuple[float, float, float] = (1.15, 0.0, 0.62)
    look_at: tuple[float, float, float] = (0.5, 0.0, 0.0)
    width: int = 640
    height: int = 480
    hfov_deg: float = 69.0

    def base_from_camera(self) -> np.ndarray:
        return look_at(self.position, self.look_at)


@dataclass(frozen=True)
class RobotSpec:
    type: str = "ur5"
    base_pose: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Expected:
    pick: str
    place: str | None = None
    place_point: tuple[float, float] | None = None
    relation: str | None = None


@dataclass(frozen=True)
class Scene:
    name: str
    objects: list[ObjectSpec]
    instruction: str
    expected: Expected
    camera: CameraSpec = field(default_factory=CameraSpec)
    robot: RobotSpec = field(default_factory=RobotSpec)
    seed: int | None = None
    viewpoint: str = "camera"
    category: str = ""

    def object(self, name: str) -> ObjectSpec:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, msg: str) -> SceneError:
        return SceneError(bounded_message(f"{self.source}: {path}: {msg}"))

    def mapping(self, value: Any, path: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        bad_keys = [k for k in value if not isinstance(k, str)]
        if bad_keys:
            raise self.fail(path, f"key {short_repr(bad_keys[0], 40)} is a {type(bad_keys[0]).__name__}; "
                            "field names are strings")
        unknown = set(value) - allowed
        if unknown:
            raise self.fail(path, f"unknown key(s) {short_repr(sorted(unknown))}; allowed: {sorted(allowed)}")
        missing = required - set(value)
        if missing:
            raise self.fail(path, f"missing required key(s) {sorted(missing)}")
        return value

    def number(self, value: Any, path: str, lo: float | None = None, hi: float | None = None) -> float:
        # magnitude before isfinite(): math.isfinite(10**400) raises OverflowError
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, int) and abs(value) > MAX_ABS_NUMBER) or not math.isfinite(value):
            raise self.fail(path, f"expected a finite number, got {short_repr(value, 40)}")
        if abs(value) > MAX_ABS_NUMBER:
            raise self.fail(path, f"{short_repr(value, 40)} is not a plausible scene value (|x| > {MAX_ABS_NUMBER:g})")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(path, f"{value} is outside the plausible range [{lo}, {hi}]")
        return float(value)

    def vector(self, value: Any, path: str, n: int) -> tuple[float, ...]:
        if not isinstance(value, (list, tuple)) or len(value) != n:
            raise self.fail(path, f"expected a list of {n} numbers, got {short_repr(value)}")
        return tuple(self.number(v, f"{path}[{i}]") for i, v in enumerate(value))

    def string(self, value: Any, path: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {short_repr(value)}")
        if len(value) > MAX_TEXT_CHARS:
            raise self.fail(path, f"{len(value)} characters; at most {MAX_TEXT_CHARS}")
        if choices is not None and value not in choices:
            raise self.fail(path, f"{short_repr(value)} is not one of {', '.join(choices)}")
        return value

    def whole(self, value: Any, path: str, lo: int, hi: int) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected a whole number, got {short_repr(value, 40)}")
        if not lo <= value <= hi:
            raise self.fail(path, f"{short_repr(value, 40)} is outside [{lo}, {hi}]")
        return value


def _object_from_dict(d: Any, path: str, ctx: _Ctx) -> ObjectSpec:
    d = ctx.mapping(d, path, {"name", "kind", "color", "size", "position", "yaw", "mass", "stands_on"},
                    {"name", "kind", "color"})
    if ("position" in d) == ("stands_on" in d):
        raise ctx.fail(path, "give either position (on the table) or stands_on (the name of the object it stands on)")
    kinds = default_registry()
    kind = ctx.string(d["kind"], f"{path}.kind", kinds.names)
    spec = kinds[kind]
    size = dict(spec.default_size)
    if "size" in d:
        given = ctx.mapping(d["size"], f"{path}.size", set(spec.size_ranges))
        size.update(given)
    for key, (lo, hi) in spec.size_ranges.items():
        if key == "half_extents":
            vals = ctx.vector(size[key], f"{path}.size.half_extents", 2)
            for i, v in enumerate(vals):
                ctx.number(v, f"{path}.size.half_extents[{i}]", lo, hi)
            size[key] = list(vals)
        else:
            size[key] = ctx.number(size[key], f"{path}.size.{key}", lo, hi)
    mass = d.get("mass")
    if mass is not None:
        mass = ctx.number(mass, f"{path}.mass", 0.01, 3.0)
    stands_on = ctx.string(d["stands_on"], f"{path}.stands_on") if "stands_on" in d else None
    # stacked: its support's position (_resolve_stacks)
    x, y = ctx.vector(d["position"], f"{path}.position", 2) if stands_on is None else (0.0, 0.0)
    return ObjectSpec(name=ctx.string(d["name"], f"{path}.name"), kind=kind,
                      color=ctx.string(d["color"], f"{path}.color", COLOR_NAMES), size=size, position=(x, y),
                      yaw=ctx.number(d.get("yaw", 0.0), f"{path}.yaw", -2 * math.pi, 2 * math.pi), mass=mass,
                      stands_on=stands_on)


def _resolve_stacks(objects: list[ObjectSpec], ctx: _Ctx) -> list[ObjectSpec]:
    """An object given `stands_on: NAME` stands centred on that object: one per support, on a kind that
    carries things on top (a plate) and is itself on the table, with room for its footprint."""
    names = {o.name: o for o in objects}
    taken: set[str] = set()
    out = []
    for i, o in enumerate(objects):
        if o.stands_on is not None:
            support = names.get(o.stands_on)
            if support is None or support.name == o.name:
                raise ctx.fail(f"objects[{i}].stands_on", f"{o.stands_on!r} is not another object of the scene ({', '.join(names)})")
            if support.stands_on is not None or support.object_kind.support is not SupportRole.ON:
                raise ctx.fail(f"objects[{i}].stands_on", f"{o.name!r} cannot stand on {support.name!r}: only a "
                               f"{' or '.join(k.name for k in default_registry() if k.support is SupportRole.ON)} "
                               "standing on the table carries an object on top")
            if o.stands_on in taken:
                raise ctx.fail(f"objects[{i}].stands_on", f"{support.name!r} already carries an object")
            if o.footprint_radius_m > support.footprint_radius_m - 0.01:
                raise ctx.fail(f"objects[{i}].stands_on", f"{o.name!r} ({o.footprint_radius_m * 100:.1f} cm) does not fit "
                               f"on {support.name!r} ({support.footprint_radius_m * 100:.1f} cm)")
            taken.add(o.stands_on)
            o = dataclasses.replace(o, position=support.position)
        out.append(o)
    return out


def _check_layout(objects: list[ObjectSpec], ctx: _Ctx) -> None:
    seen: set[str] = set()
    for i, o in enumerate(objects):
        if o.name in seen:
            raise ctx.fail(f"objects[{i}].name", f"duplicate object name {o.name!r}")
        seen.add(o.name)
        x, y = o.position
        r = math.hypot(x, y)
        a = TABLE_AREA
        if not (a["x"][0] <= x <= a["x"][1] and a["y"][0] <= y <= a["y"][1] and a["min_radius"] <= r <= a["max_radius"]):
            raise ctx.fail(f"objects[{i}].position", f"({x:.3f}, {y:.3f}) is outside the reachable table area "
                           f"x {a['x']}, y {a['y']}, {a['min_radius']}-{a['max_radius']} m from the robot base")
    for i, a_obj in enumerate(objects):
        for j in range(i + 1, len(objects)):
            b_obj = objects[j]
            if b_obj.stands_on == a_obj.name or a_obj.stands_on == b_obj.name:
                continue  # one stands on the other (_resolve_stacks checked it fits)
            gap = math.dist(a_obj.position, b_obj.position) - a_obj.footprint_radius_m - b_obj.footprint_radius_m
            if gap < MIN_CLEARANCE_M:
                raise ctx.fail(f"objects[{j}].position", f"{b_obj.name!r} overlaps {a_obj.name!r} "
                               f"(clearance {gap * 100:.1f} cm < {MIN_CLEARANCE_M * 100:.0f} cm)")


def scene_from_dict(d: Any, source: str = "<scene>") -> Scene:
    ctx = _Ctx(source)
    d = ctx.mapping(d, "scene", {"name", "objects", "camera", "robot", "instruction", "expected", "seed", "viewpoint",
                                 "category"}, {"name", "objects", "instruction", "expected"})
    if not isinstance(d["objects"], list) or not d["objects"]:
        raise ctx.fail("objects", "expected a non-empty list of objects")
    if len(d["objects"]) > MAX_OBJECTS:  # before any per-object work: the layout check is quadratic
        raise ctx.fail("objects", f"{len(d['objects'])} objects; a scene holds at most {MAX_OBJECTS}")
    objects = _resolve_stacks([_object_from_dict(o, f"objects[{i}]", ctx) for i, o in enumerate(d["objects"])], ctx)
    _check_layout(objects, ctx)
    cam_d = ctx.mapping(d.get("camera", {}), "camera", {"position", "look_at", "width", "height", "hfov_deg"})
    cam = CameraSpec(
        position=ctx.vector(cam_d.get("position", CameraSpec.position), "camera.position", 3),
        look_at=ctx.vector(cam_d.get("look_at", CameraSpec.look_at), "camera.look_at", 3),
        width=ctx.whole(cam_d.get("width", 640), "camera.width", 64, 4096),
        height=ctx.whole(cam_d.get("height", 480), "camera.height", 48, 4096),
        hfov_deg=ctx.number(cam_d.get("hfov_deg", 69.0), "camera.hfov_deg", 20.0, 120.0))
    if math.dist(cam.position, cam.look_at) < 0.1:
        raise ctx.fail("camera.look_at", "must be at least 0.1 m from camera.position")
    rob_d = ctx.mapping(d.get("robot", {}), "robot", {"type", "base_pose"})
    robot = RobotSpec(type=ctx.string(rob_d.get("type", "ur5"), "robot.type", ("ur5", "ur5e")),
                      base_pose=ctx.vector(rob_d.get("base_pose", [0, 0, 0, 0]), "robot.base_pose", 4))
    exp_d = ctx.mapping(d["expected"], "expected", {"pick", "place", "place_point", "relation"}, {"pick"})
    names = {o.name: o for o in objects}
    pick = ctx.string(exp_d["pick"], "expected.pick")
    if pick not in names:
        raise ctx.fail("expected.pick", f"{pick!r} is not an object in the scene ({', '.join(names)})")
    pickable = default_registry().graspable
    if names[pick].kind not in pickable:
        raise ctx.fail("expected.pick", f"{pick!r} is a {names[pick].kind}; pickable kinds are {', '.join(pickable)}")
    place = exp_d.get("place")
    if place is not None:
        place = ctx.string(place, "expected.place")
        if place not in names or place == pick:
            raise ctx.fail("expected.place", f"{place!r} must be another object of the scene")
    point = exp_d.get("place_point")
    if point is not None:
        point = ctx.vector(point, "expected.place_point", 2)
    if place is not None and point is not None:
        raise ctx.fail("expected", "give either place (an object) or place_point, not both")
    relation = exp_d.get("relation")
    if relation is not None:
        relation = ctx.string(relation, "expected.relation", RELATIONS)
        if place is None and point is None:
            raise ctx.fail("expected.relation", "a relation needs a place_point (or a place object) it describes")
    category = d.get("category")
    category = "" if category in (None, "") else ctx.string(category, "category", CATEGORIES)
    return Scene(
        name=ctx.string(d["name"], "name"), objects=objects, instruction=ctx.string(d["instruction"], "instruction"),
        expected=Expected(pick, place, point, relation), camera=cam, robot=robot,
        seed=ctx.whole(d["seed"], "seed", 0, 2**63 - 1) if d.get("seed") is not None else None,
        viewpoint=ctx.string(d.get("viewpoint", "camera"), "viewpoint", ("camera", "robot")),
        category=category)


def scene_to_dict(scene: Scene) -> dict:
    exp = {"pick": scene.expected.pick}
    if scene.expected.place is not None:
        exp["place"] = scene.expected.place
    if scene.expected.place_point is not None:
        exp["place_point"] = [round(float(v), 4) for v in scene.expected.place_point]
    if scene.expected.relation is not None:
        exp["relation"] = scene.expected.relation
    out: dict[str, Any] = {
        "name": scene.name, "instruction": scene.instruction, "expected": exp, "viewpoint": scene.viewpoint,
        "objects": [{"name": o.name, "kind": o.kind, "color": o.color,
                     "size": {k: ([round(float(x), 4) for x in v] if isinstance(v, list) else round(float(v), 4))
                              for k, v in o.size.items()},
                     **({"stands_on": o.stands_on} if o.stands_on is not None else
                        {"position": [round(float(o.position[0]), 4), round(float(o.position[1]), 4)]}),
                     "yaw": round(float(o.yaw), 4), **({"mass": o.mass} if o.mass is not None else {})}
                    for o in scene.objects],
        "camera": {"position": [round(float(v), 4) for v in scene.camera.position],
                   "look_at": [round(float(v), 4) for v in scene.camera.look_at], "width": scene.camera.width,
                   "height": scene.camera.height, "hfov_deg": scene.camera.hfov_deg},
        "robot": {"type": scene.robot.type, "base_pose": list(scene.robot.base_pose)},
    }
    if scene.seed is not None:
        out["seed"] = scene.seed
    if scene.category:
        out["category"] = scene.category
    return out


def _read(path: Path) -> Any:
    """Bounded, safe parse: size, alias, node and depth limits before anything is built."""
    return load_structured_file(Path(path), SCENE_LIMITS, what="scene file", error=SceneError)


def default_scene_path() -> Path:
    """scenes/default.yaml from the source tree or the ament share directory."""
    here = Path(__file__).resolve().parents[2] / "scenes" / "default.yaml"
    if here.exists():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory  # lazy: ROS install only

        return Path(get_package_share_directory("spatialbot_ros")) / "scenes" / "default.yaml"
    except Exception as exc:  # noqa: BLE001 - report any lookup failure the same way
        raise FileNotFoundError("cannot find scenes/default.yaml; pass --scene FILE") from exc


def load_scene(path: Path | str) -> Scene:
    return scene_from_dict(_read(Path(path)), str(path))


def load_scenes(path: Path | str) -> list[Scene]:
    """A file with a top-level `scenes:` list, or a single scene."""
    data = _read(Path(path))
    if isinstance(data, dict) and "scenes" in data:
        if not isinstance(data["scenes"], list) or not data["scenes"]:
            raise SceneError(f"{path}: scenes: expected a non-empty list")
        if len(data["scenes"]) > MAX_SCENES_PER_FILE:
            raise SceneError(f"{path}: scenes: {len(data['scenes'])} scenes; at most {MAX_SCENES_PER_FILE} per file")
        extra = set(data) - {"scenes"}
        if extra:
            raise SceneError(bounded_message(f"{path}: unknown top-level key(s) {short_repr(sorted(map(str, extra)))} "
                                             "beside scenes"))
        return [scene_from_dict(s, f"{path}: scenes[{i}]") for i, s in enumerate(data["scenes"])]
    return [scene_from_dict(data, str(path))]


def save_scene(scene: Scene, path: Path | str) -> None:
    path = Path(path)
    d = scene_to_dict(scene)
    path.write_text(json.dumps(d, indent=2) if path.suffix.lower() == ".json" else yaml.safe_dump(d, sort_keys=False))
