"""Launch files and parameter files stay consistent with the nodes (launch itself has no wheel)."""

import ast
import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.core
ROOT = Path(__file__).resolve().parents[1]


def console_scripts():
    text = (ROOT / "setup.py").read_text()
    return set(re.findall(r'"([a-z_]+) = spatialbot_ros\.nodes\.', text))


def test_launch_files_compile_and_name_real_executables_and_configs():
    files = sorted((ROOT / "launch").glob("*.launch.py"))
    assert files
    for f in files:
        tree = ast.parse(f.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
        text = f.read_text()
        for exe in re.findall(r'executable="([^"]+)"', text):
            assert exe in console_scripts(), f"{f.name}: executable {exe} is not installed by setup.py"
        for cfg in re.findall(r'"([a-z_]+\.yaml)"', text):
            assert (ROOT / "config" / cfg).exists(), f"{f.name}: config/{cfg} missing"


@pytest.mark.parametrize("node_module, yaml_name, node_name", [
    ("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml", "spatial_policy"),
    ("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml", "mujoco_sim"),
    ("spatialbot_ros.nodes.realsense_camera", "realsense_camera.yaml", "realsense_camera"),
    ("spatialbot_ros.nodes.pick_place", "pick_place.yaml", "pick_place"),
])
def test_every_yaml_parameter_is_declared_by_its_node(node_module, yaml_name, node_name):
    import importlib

    declared = set(importlib.import_module(node_module).PARAMS)
    params = yaml.safe_load((ROOT / "config" / yaml_name).read_text())[node_name]["ros__parameters"]
    assert set(params) <= declared, f"undeclared: {set(params) - declared}"
    assert set(params) == declared, f"not in the YAML: {declared - set(params)}"
