"""Hostile scene files: each is refused with a SceneError naming the file (and the field), quickly,
with a bounded message; the regressions of issue 17 are here by name."""

from __future__ import annotations

import copy
import json
import time
import tracemalloc

import pytest
import yaml
from hostile import VALID_SCENE, billion_laughs_yaml, many_objects_scene_json, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.errors import MAX_MESSAGE_CHARS
from spatialbot_ros.sim.scene import SceneError, load_scene, load_scenes, scene_from_dict

pytestmark = [pytest.mark.core, pytest.mark.surface("scene_files")]


def _with(path: str, value: object) -> dict:
    """VALID_SCENE with the field at a dotted path (objects.0.kind) set to value."""
    d = copy.deepcopy(VALID_SCENE)
    keys = path.split(".")
    node = d
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
    node[int(keys[-1]) if isinstance(node, list) else keys[-1]] = value
    return d


def _refused(path, match: str | None = None, bound_s: float = 2.0) -> SceneError:
    t0 = time.perf_counter()
    with pytest.raises(SceneError) as info:
        load_scenes(path)
    assert time.perf_counter() - t0 < bound_s
    msg = str(info.value)
    assert str(path) in msg and len(msg) <= MAX_MESSAGE_CHARS + len(str(path)) and "\n" not in msg
    if match:
        assert match in msg, msg
    return info.value


def test_valid_scene_loads(tmp_path):
    assert load_scene(write(tmp_path / "ok.yaml", yaml.safe_dump(VALID_SCENE))).name == "probe"


FIELD_CASES = [
    # (dotted field, bad value, text the message must contain) -- the field path is always named
    ("objects.0.position.0", int("9" * 400), "objects[0].position[0]"),      # issue 17: OverflowError
    ("objects.0.position.0", -int("9" * 400), "objects[0].position[0]"),
    ("objects.0.position.1", float("nan"), "finite"),
    ("objects.0.position.1", float("inf"), "finite"),
    ("objects.0.position", [0.5], "list of 2"),
    ("objects.0.position", "0.5, 0.1", "list of 2"),
    ("objects.0.position", [True, 0.1], "finite number"),
    ("objects.0.position", [1e300, 0.1], "plausible"),
    ("objects.0.yaw", 1e308, "objects[0].yaw"),
    ("objects.0.mass", -1.0, "objects[0].mass"),
    ("objects.0.mass", int("7" * 5000) if False else 10**30, "objects[0].mass"),
    ("objects.0.kind", "unicorn", "objects[0].kind"),
    ("objects.0.kind", ["cup"], "objects[0].kind"),
    ("objects.0.color", "ultraviolet", "objects[0].color"),
    ("objects.0.name", "", "objects[0].name"),
    ("objects.0.name", "x" * 100_000, "objects[0].name"),
    ("objects.0.name", None, "objects[0].name"),
    ("objects.0.size", {"radius": 0.5}, "objects[0].size.radius"),
    ("objects.0.size", {"wings": 2}, "objects[0].size"),
    ("objects.0.size", [1, 2], "objects[0].size"),
    ("objects.0", "red cup", "objects[0]"),
    ("objects", [], "objects"),
    ("objects", {"a": 1}, "objects"),
    ("expected.relation", "inside_out", "expected.relation"),                # issue 17: never validated
    ("expected.relation", 7, "expected.relation"),
    ("expected.pick", "ghost_cup", "expected.pick"),
    ("expected.pick", "white_plate", "pickable"),
    ("expected.place", "red_cup", "expected.place"),
    ("expected.place_point", [0.5, float("nan")], "expected.place_point[1]"),
    ("expected", "red_cup", "expected"),
    ("category", "telepathy", "category"),                                   # issue 17: never validated
    ("category", ["color"], "category"),
    ("viewpoint", "drone", "viewpoint"),
    ("seed", -5, "seed"),
    ("seed", int("9" * 400), "seed"),
    ("seed", "abc", "seed"),
    ("seed", 1.5, "seed"),
    ("camera.width", 10**400, "camera.width"),
    ("camera.width", 3.5, "camera.width"),
    ("camera.hfov_deg", float("nan"), "camera.hfov_deg"),
    ("camera.position", [0.5, 0.0, 0.0], "camera.look_at"),
    ("camera.lens", "fisheye", "camera"),
    ("robot.type", "ur10", "robot.type"),
    ("robot.base_pose", [0, 0, 0], "robot.base_pose"),
    ("instruction", "", "instruction"),
    ("instruction", "y" * 1_000_000, "instruction"),
    ("instruction", 42, "instruction"),
    ("name", {"first": "a"}, "name"),
]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("field,value,match", FIELD_CASES, ids=[f"{c[0]}={str(c[1])[:12]}" for c in FIELD_CASES])
def test_bad_field_is_named(tmp_path, field, value, match, fmt):
    d = _with(field, value)
    if fmt == "json":
        try:
            text = json.dumps(d, allow_nan=True)
        except ValueError:
            pytest.skip("not representable as JSON")
        path = write(tmp_path / "s.json", text)
    else:
        path = write(tmp_path / "s.yaml", yaml.safe_dump(d))
    _refused(path, match)


FILE_CASES = {
    "mixed_key_types": "{1: a, name: b, objects: [], instruction: x, expected: {pick: a}}\n",   # issue 17: TypeError
    "int_key_in_object": "name: a\ninstruction: x\nexpected: {pick: c}\nobjects: [{1: 2, name: c}]\n",
    "deep_nesting_yaml": "name: " + "[" * 5000 + "]" * 5000 + "\n",                             # issue 17: RecursionError
    "deep_nesting_flow_map": "name: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "huge_int_yaml": "name: a\nseed: " + "9" * 6000 + "\n",
    "huge_float_yaml": "name: a\ninstruction: x\nexpected: {pick: c}\nobjects: [{name: c, kind: cup, color: red, "
                       "position: [1e999, 0]}]\n",
    "not_yaml": "name: [unclosed\n  - : :\n",
    "tabs": "name:\t\t[a\n",
    "top_level_list": "- a\n- b\n",
    "top_level_scalar": "42\n",
    "empty_file": "",
    "only_comment": "# nothing\n",
    "python_tag": "name: !!python/object/apply:os.system ['true']\n",
    "binary_tag": "name: !!binary aGVsbG8=\ninstruction: x\nexpected: {pick: c}\nobjects: [{name: c}]\n",
    "set_tag": "name: !!set {a, b}\n",
    "timestamp_name": "name: 2001-12-14t21:59:43.10-05:00\ninstruction: x\nexpected: {pick: c}\nobjects: [{name: c}]\n",
    "unhashable_key": "? [a, b]\n: c\n",
    "many_aliases": "x: &x 1\nname: [" + ", ".join(["*x"] * 500) + "]\n",
    "scenes_not_list": "scenes: {a: 1}\n",
    "scenes_empty": "scenes: []\n",
    "scenes_with_extra_key": "scenes: [{}]\nbogus: 1\n",
    "scenes_bad_member": "scenes: [42]\n",
}


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_hostile_yaml_file(tmp_path, name):
    _refused(write(tmp_path / f"{name}.yaml", FILE_CASES[name]))


JSON_CASES = {
    "deep_nesting_json": "[" * 100_000 + "]" * 100_000,
    "huge_int_json": '{"name": "a", "seed": ' + "9" * 6000 + "}",
    "nan_literal": '{"name": NaN}',
    "truncated": '{"name": "a", "objects": [',
    "trailing_garbage": '{"name": "a"} xyz',
    "top_level_string": '"scene"',
    "utf16": None,
}


@pytest.mark.parametrize("name", sorted(JSON_CASES))
def test_hostile_json_file(tmp_path, name):
    text = JSON_CASES[name]
    data = json.dumps(VALID_SCENE).encode("utf-16") if text is None else text.encode()
    _refused(write(tmp_path / f"{name}.json", data))


def test_binary_file_names_the_file(tmp_path):
    """issue 17: a binary file gave a UnicodeDecodeError without the file name."""
    e = _refused(write(tmp_path / "scene.yaml", bytes(range(256)) * 40))
    assert "binary" in str(e) or "UTF-8" in str(e)


def test_latin1_file_names_the_file(tmp_path):
    e = _refused(write(tmp_path / "scene.yaml", "name: caf\xe9\n".encode("latin-1")))
    assert "UTF-8" in str(e)


@pytest.mark.parametrize("kind", ["missing", "directory", "dev_zero", "fifo"])
def test_not_a_readable_file(tmp_path, kind):
    import os

    path = {"missing": tmp_path / "nope.yaml", "directory": tmp_path, "dev_zero": "/dev/zero",
            "fifo": tmp_path / "pipe.yaml"}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # reading it would block forever
    _refused(path)


def _refused_within(path, seconds: float, megabytes: float) -> SceneError:
    """Refused within the time, with at most `megabytes` of Python allocations at the peak."""
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        e = _refused(path, bound_s=seconds)
        elapsed = time.perf_counter() - t0
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert elapsed <= seconds and peak_mb <= megabytes, (elapsed, peak_mb)
    return e


def test_billion_laughs_refused_fast_and_small(tmp_path):
    """issue 17: a 1 kB alias bomb took 54-59 s and 2.4 GB before a MemoryError; now <= 1 s, <= 100 MB."""
    path = write(tmp_path / "bomb.yaml", billion_laughs_yaml())
    assert path.stat().st_size < 1500
    e = _refused_within(path, 1.0, 100)
    assert "aliases" in str(e)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_140k_object_scene_refused_fast(tmp_path, fmt):
    """issue 17: an 8.5 MB scene with 140k objects was refused only after 102 s and 1.5 GB."""
    text = many_objects_scene_json()  # JSON is YAML flow syntax: the same document both ways
    _refused_within(write(tmp_path / f"big.{fmt}", text), 2.0, 100)


def test_140k_objects_under_the_size_limit_refused_by_count(tmp_path):
    """The node budget, not only the size limit: the same objects in a larger allowance."""
    from spatialbot_ros.core.bounded_yaml import InputLimits, loads_structured

    text = many_objects_scene_json()
    t0 = time.perf_counter()
    with pytest.raises(Exception, match="more than") as info:
        loads_structured(text, "big.json", "json", InputLimits(max_bytes=64 * 2**20))
    assert time.perf_counter() - t0 <= 5.0 and type(info.value).__name__ == "InputFileError"  # ~0.6 s unloaded


def test_too_many_objects_refused_before_layout(tmp_path):
    path = write(tmp_path / "many.json", many_objects_scene_json(5000))
    _refused(path, "at most 64", bound_s=1.0)


def test_alias_bomb_in_a_scenes_file(tmp_path):
    _refused(write(tmp_path / "s.yaml", "scenes:\n  - " + billion_laughs_yaml().replace("\n", "\n    ")), bound_s=1.0)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) |
    st.text(max_size=30) | st.sampled_from(["cup", "red", "red_cup", "left_of", "color", "camera"]),
    lambda inner: st.lists(inner, min_size=1, max_size=4) |
    st.dictionaries(st.text(max_size=8) | st.integers(), inner, min_size=1, max_size=4),
    max_leaves=12)
_fields = st.sampled_from(["name", "instruction", "category", "viewpoint", "seed", "objects", "objects.0",
                           "objects.0.kind", "objects.0.color", "objects.0.position", "objects.0.position.0",
                           "objects.0.size", "objects.0.yaw", "objects.0.mass", "objects.1.name", "expected",
                           "expected.pick", "expected.place", "expected.place_point", "expected.relation",
                           "camera", "camera.width", "camera.position", "robot", "robot.base_pose"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=_fields, value=_values)
def test_fuzzed_fields_load_or_are_refused(field, value, probes):
    """Any value at any field: a Scene or a SceneError naming the field, nothing else."""
    probes(1)
    try:
        d = _with(field, value)
    except (TypeError, IndexError, KeyError, AttributeError, ValueError):
        return  # the path does not exist in this shape of document
    try:
        scene_from_dict(d, "fuzz.yaml")
    except SceneError as e:
        assert str(e).startswith("fuzz.yaml: ") and len(str(e)) <= MAX_MESSAGE_CHARS


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_fuzzed_file_text_loads_or_is_refused(tmp_path_factory, text, probes):
    probes(1)
    path = tmp_path_factory.mktemp("fz") / "s.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_scenes(path)
    except SceneError as e:
        assert str(path) in str(e)
