from pathlib import Path

import numpy as np
import pytest
import yaml

from spatialbot_ros.core.object_kinds import default_registry
from spatialbot_ros.sim.scene import (
    SceneError,
    load_scene,
    load_scenes,
    save_scene,
    scene_from_dict,
)
from spatialbot_ros.sim.scene_generator import generate_scene, generate_scenes

pytestmark = pytest.mark.core
SCENES = sorted((Path(__file__).resolve().parents[1] / "scenes").glob("*.yaml"))
GOOD = {
    "name": "t", "instruction": "pick the red cup and put it on the plate",
    "expected": {"pick": "cup", "place": "plate"},
    "objects": [{"name": "cup", "kind": "cup", "color": "red", "position": [0.45, 0.0]},
                {"name": "plate", "kind": "plate", "color": "white", "position": [0.65, 0.1]}],
}


def test_hand_written_scenes_load():
    assert len(SCENES) >= 5
    for path in SCENES:
        scene = load_scene(path)
        assert scene.expected.pick in [o.name for o in scene.objects]


def mutate(path, value):
    d = yaml.safe_load(yaml.safe_dump(GOOD))
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return d


@pytest.mark.parametrize("path, value, match", [
    ("objects.0.color", "magenta", r"objects\[0\]\.color: 'magenta' is not one of"),
    ("objects.0.kind", "banana", r"objects\[0\]\.kind"),
    ("objects.0.position", [2.0, 0.0], r"objects\[0\]\.position: .* outside the reachable"),
    ("objects.0.position", [0.45], r"objects\[0\]\.position: expected a list of 2"),
    ("objects.1.position", [0.46, 0.01], r"objects\[1\]\.position: 'plate' overlaps 'cup'"),
    ("objects.0.size", {"radius": 0.06, "height": 0.1}, r"objects\[0\]\.size\.radius: 0\.06 is outside"),
    ("objects.0.size", {"width": 0.06}, r"objects\[0\]\.size: unknown key"),
    ("objects.0.mass", "heavy", r"objects\[0\]\.mass: expected a finite number"),
    ("objects.0.name", KeyError, r"objects\[0\]: missing required key"),
    ("objects.1.name", "cup", r"objects\[1\]\.name: duplicate"),
    ("expected.pick", "ghost", r"expected\.pick: 'ghost' is not an object"),
    ("expected.pick", "plate", r"expected\.pick: 'plate' is a plate"),
    ("expected.place", "cup", r"expected\.place"),
    ("instruction", "", r"instruction: expected a non-empty string"),
    ("camera", {"fov": 60}, r"camera: unknown key"),
    ("robot", {"type": "ur10"}, r"robot\.type"),
    ("objects", [], r"objects: expected a non-empty list"),
    ("extra", 1, r"scene: unknown key"),
])
def test_bad_scene_files_name_the_field(tmp_path, path, value, match):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(mutate(path, value)))
    with pytest.raises(SceneError, match=match) as info:
        load_scene(f)
    assert str(f) in str(info.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(SceneError, match="cannot read"):
        load_scene(tmp_path / "missing.yaml")
    f = tmp_path / "x.json"
    f.write_text("{not json")
    with pytest.raises(SceneError, match="not valid JSON"):
        load_scene(f)


def test_round_trip_yaml_and_json(tmp_path):
    scene = scene_from_dict(GOOD)
    for name in ("s.yaml", "s.json"):
        save_scene(scene, tmp_path / name)
        again = load_scene(tmp_path / name)
        assert again.objects == scene.objects and again.expected == scene.expected
    (tmp_path / "many.yaml").write_text(yaml.safe_dump({"scenes": [GOOD, {**GOOD, "name": "u"}]}))
    assert [s.name for s in load_scenes(tmp_path / "many.yaml")] == ["t", "u"]


def test_generator_is_deterministic_and_respects_constraints():
    assert generate_scene(7) == generate_scene(7)
    assert generate_scene(7).instruction != generate_scene(8).instruction or generate_scene(7).objects != generate_scene(8).objects
    scenes = generate_scenes(120, 3)
    cats = set()
    for s in scenes:
        assert 2 <= len(s.objects) <= 6
        assert any(o.kind in default_registry().graspable for o in s.objects)
        scene_from_dict(__import__("spatialbot_ros.sim.scene", fromlist=["scene_to_dict"]).scene_to_dict(s))  # valid
        for i, a in enumerate(s.objects):
            for b in s.objects[i + 1:]:
                gap = np.hypot(a.position[0] - b.position[0], a.position[1] - b.position[1])
                assert gap - a.footprint_radius_m - b.footprint_radius_m >= 0.03 - 1e-9
        assert s.expected.place is not None or s.expected.place_point is not None or "pick up" in s.instruction \
            or "grasp" in s.instruction
        cats.add(s.category)
    assert cats == {"color", "size", "shape", "position", "depth", "relation", "viewpoint"}


def test_heldout_phrasings_differ_from_train():
    train = {s.instruction.split()[0] for s in generate_scenes(60, 5)}
    held = {s.instruction.split()[0] for s in generate_scenes(60, 5, phrasing_set="heldout")}
    assert not train & held
