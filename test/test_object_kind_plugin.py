"""A new object kind is one file plus one registration (an entry point), and the whole product
sees it: the scene schema, the MuJoCo cell, the proposer, the grounder's nouns and the user's own
`spatialbot-ros eval`, which picks and places it in simulation."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_site import env_with, install_distribution

KIND_MODULE = '''
"""A puck: a squat cylinder the gripper takes from above; a word the built-in lexicon lacks."""
from spatialbot_ros.core.object_kinds import (KindNouns, ObjectKind, radius_height, round_footprint, round_reach,
                                              upright_cylinder)

KIND = ObjectKind(
    name="puck", perceived_shape="cylinder", nouns=KindNouns("puck", "pucks"),
    default_size={"radius": 0.03, "height": 0.05}, size_ranges={"radius": (0.02, 0.037), "height": (0.03, 0.07)},
    geometry=upright_cylinder,
    height=radius_height, footprint=round_footprint, reach_radius=round_reach, mass_kg=0.1, graspable=True,
)
'''

SCENE = {
    "name": "puck_on_plate", "instruction": "pick the puck and put it on the plate", "category": "shape",
    "expected": {"pick": "puck", "place": "plate"},
    "objects": [
        {"name": "puck", "kind": "puck", "color": "red", "position": [0.55, -0.15]},
        {"name": "box", "kind": "box", "color": "red", "position": [0.45, 0.05]},
        {"name": "plate", "kind": "plate", "color": "white", "position": [0.58, 0.2]},
    ],
}

# run inside a subprocess with the plugin on the path: the registry is read once per process
PROBE = '''
import json, sys
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.object_kinds import default_registry
from spatialbot_ros.core.som_proposer import GeometricProposer
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.scene import load_scene

scene = load_scene(sys.argv[1])
cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
cell.reset()
props = GeometricProposer().propose(cell.render_rgbd(), cell.base_from_camera)
g = ground_instruction(scene.instruction, props.marks, base_from_camera=cell.base_from_camera)
picked = next(m for m in props.marks if m.id == g.pick_mark_id)
puck_xy = cell.object_pose("puck")[:2, 3]
from spatialbot_ros.policy.learned_features import N_MARK_FEATURES
print(json.dumps({"kinds": list(default_registry().names), "n_mark_features": N_MARK_FEATURES, "shapes": sorted(m.shape for m in props.marks),
                  "pick_xy": [float(v) for v in picked.centroid_base[:2]], "puck_xy": [float(v) for v in puck_xy],
                  "pick_phrase": g.pick_phrase}))
'''


@pytest.fixture()
def kind_site(tmp_path: Path) -> Path:
    """An installed distribution in miniature: the kind's module and its entry-point registration."""
    site = tmp_path / "site"
    install_distribution(site, "puck-kind", "spatialbot_ros.object_kinds", {"puck": "puck_kind:KIND"},
                         {"puck_kind.py": KIND_MODULE})
    return site


def _run(site: Path | None, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env_with(site), capture_output=True, text=True, timeout=300)


@pytest.mark.sim
def test_a_new_kind_is_one_file_plus_one_registration_end_to_end(kind_site: Path, tmp_path: Path) -> None:
    files = sorted(p.relative_to(kind_site).as_posix() for p in kind_site.rglob("*") if p.is_file())
    code = [f for f in files if f.endswith(".py")]
    registrations = (kind_site / "puck_kind-0.1.dist-info" / "entry_points.txt").read_text().strip().splitlines()[1:]
    assert code == ["puck_kind.py"] and len(registrations) == 1  # the rest is the dist's name/version
    scene_file = tmp_path / "puck.json"
    scene_file.write_text(json.dumps(SCENE))

    # without the registration the scene is refused: nothing else knows a puck
    refused = _run(None, "-c", PROBE, str(scene_file))
    assert refused.returncode != 0 and "puck" in refused.stderr and "kind" in refused.stderr

    probe = _run(kind_site, "-c", PROBE, str(scene_file))
    assert probe.returncode == 0, probe.stderr[-2000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["kinds"][-1] == "puck" and seen["kinds"][:5] == ["cup", "box", "sphere", "plate", "bowl"]
    assert seen["n_mark_features"] == 33  # the learned network's input width does not grow with the kinds
    assert "cylinder" in seen["shapes"]  # the proposer reports the puck as the shape it declared
    assert seen["pick_phrase"].endswith("puck")  # the grounder read its noun ...
    assert abs(seen["pick_xy"][0] - seen["puck_xy"][0]) < 0.02 and abs(seen["pick_xy"][1] - seen["puck_xy"][1]) < 0.02

    out = tmp_path / "eval"
    proc = _run(kind_site, "-m", "spatialbot_ros.cli", "eval", "--scenes", str(scene_file), "--episodes", "1",
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "eval.json").read_text())["results"][0]
    assert result["success"] and result["grounding_correct"] and result["place_grounding_correct"], result
