"""Launch files and parameter files stay consistent with the nodes and with the upstream launch
files they include (`launch` itself has no wheel: these are static checks of what it would run)."""

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def node_params(yaml_name: str, node_name: str) -> dict:
    """The ros__parameters a node of this name reads from config/yaml_name: its own key, else the
    file's wildcard key /** (pick_place_sim.yaml serves pick_place and teleop_collect)."""
    doc = yaml.safe_load((ROOT / "config" / yaml_name).read_text())
    return (doc.get(node_name) or doc["/**"])["ros__parameters"]
EXTERNAL_EXECUTABLES = {"rviz2", "spawner", "parameter_bridge"}  # rviz2, controller_manager, ros_gz_bridge
UPSTREAM_CONFIGS = {"ur_controllers.yaml"}  # read from ur_simulation_gz's share by sim_gz.launch.py
GENERATED_CONFIGS = {"gz_controllers.yaml"}  # written under $ROS_HOME by sim_gz.launch.py at launch
# launch arguments of the included upstream files (ur_robot_driver / realsense2_camera / ur_moveit_config, Jazzy)
UPSTREAM_ARGUMENTS = {
    "ur_control.launch.py": {"ur_type", "robot_ip", "use_mock_hardware", "initial_joint_controller", "launch_rviz",
                             "activate_joint_controller", "headless_mode", "controllers_file", "tf_prefix"},
    "rs_launch.py": {"serial_no", "align_depth.enable", "rgb_camera.color_format", "publish_tf", "camera_name",
                     "camera_namespace"},
    "ur_moveit.launch.py": {"ur_type", "launch_rviz", "use_sim_time", "launch_servo"},
}


def console_scripts():
    text = (ROOT / "setup.py").read_text()
    return set(re.findall(r'"([a-z_]+) = spatialbot_ros\.nodes\.', text))


def launch_files():
    return sorted((ROOT / "launch").glob("*.launch.py"))


@pytest.mark.core
def test_launch_files_compile_and_name_real_executables_and_configs():
    assert {f.name for f in launch_files()} >= {"ur5_cell.launch.py", "cell_emulated.launch.py", "sim_mujoco.launch.py"}
    for f in launch_files():
        tree = ast.parse(f.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
        text = f.read_text()
        for exe in re.findall(r'executable="([^"]+)"', text):
            assert exe in console_scripts() | EXTERNAL_EXECUTABLES, f"{f.name}: executable {exe} is not installed"
        for cfg in re.findall(r'"([a-z_]+\.(?:yaml|rviz))"', text) + re.findall(r'/([a-z_]+\.(?:yaml|rviz))"', text):
            assert cfg in UPSTREAM_CONFIGS | GENERATED_CONFIGS or (ROOT / "config" / cfg).exists(), \
                f"{f.name}: config/{cfg} missing"
        # every node of ours brings the launch down when it exits (a dead node must not leave the arm driven)
        ours = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "Node"
                and any(k.arg == "package" and getattr(k.value, "value", "") == "spatialbot_ros" for k in c.keywords)]
        assert ours and all(any(k.arg == "on_exit" for k in c.keywords) for c in ours), \
            f"{f.name}: a node without on_exit=Shutdown()"


def _included_arguments(tree: ast.AST) -> dict[str, set[str]]:
    """For each IncludeLaunchDescription: the upstream file name -> the launch_arguments keys."""
    out = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "IncludeLaunchDescription":
            names = [c.value for c in ast.walk(call) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            target = next((n for n in names if n.endswith(".launch.py") or n == "rs_launch.py"), None)
            args = next((kw.value for kw in call.keywords if kw.arg == "launch_arguments"), None)
            keys = set()
            if args is not None:
                d = next((n for n in ast.walk(args) if isinstance(n, ast.Dict)), None)
                keys = {k.value for k in d.keys} if d is not None else set()
            out[target] = keys
    return out


@pytest.mark.core
def test_real_cell_launch_includes_the_upstream_files_with_their_real_arguments():
    text = (ROOT / "launch/ur5_cell.launch.py").read_text()
    included = _included_arguments(ast.parse(text))
    assert set(included) == set(UPSTREAM_ARGUMENTS)
    for name, keys in included.items():
        assert keys <= UPSTREAM_ARGUMENTS[name], f"{name}: unknown arguments {keys - UPSTREAM_ARGUMENTS[name]}"
    # the scaled controller by default (pendant slider, pause, safeguard stop), the same one handed to pick_place
    assert '("controller", "scaled_joint_trajectory_controller"' in text
    assert '"initial_joint_controller": controller' in text and '"controller_name": controller' in text
    # ur_moveit_config is only looked up with use_moveit:=true (a FindPackageShare inside a conditional include)
    assert "get_package_share_directory" not in text
    assert 'condition=IfCondition(value["use_moveit"])' in text
    # the driver's default: real hardware, so a calibration is required unless mock hardware is asked for
    assert '("use_mock_hardware", "false"' in text and '"require_calibration": real' in text


@pytest.mark.ros
def test_real_cell_launch_overrides_only_declared_pick_place_parameters():
    from spatialbot_ros.nodes.pick_place_params import PARAMS

    tree = ast.parse((ROOT / "launch/ur5_cell.launch.py").read_text())
    overrides = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                     and getattr(n.targets[0], "id", "") == "pick_place_overrides")
    keys = {k.value for k in overrides.value.keys if isinstance(k, ast.Constant)}
    assert keys and keys <= set(PARAMS), keys - set(PARAMS)
    assert {"motion_backend", "gripper_backend", "controller_name", "require_calibration"} <= keys
    spread = [v.id for k, v in zip(overrides.value.keys, overrides.value.values, strict=True) if k is None]
    assert spread == ["policy"]  # the policy arguments go to both nodes


@pytest.mark.ros
@pytest.mark.parametrize("node_module, yaml_name, node_name", [
    ("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml", "spatial_policy"),
    ("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml", "mujoco_sim"),
    ("spatialbot_ros.nodes.realsense_camera", "realsense_camera.yaml", "realsense_camera"),
    ("spatialbot_ros.nodes.pick_place", "pick_place.yaml", "pick_place"),
    ("spatialbot_ros.nodes.pick_place", "pick_place_sim.yaml", "pick_place"),
    ("spatialbot_ros.nodes.teleop_collect", "pick_place_sim.yaml", "teleop_collect"),
    ("spatialbot_ros.nodes.ur_driver_emulator", "ur_driver_emulator.yaml", "ur_driver_emulator"),
])
def test_every_yaml_parameter_is_declared_by_its_node(node_module, yaml_name, node_name):
    declared = set(importlib.import_module(node_module).PARAMS)
    params = node_params(yaml_name, node_name)
    assert set(params) <= declared, f"undeclared: {set(params) - declared}"
    assert set(params) == declared, f"not in the YAML: {declared - set(params)}"


@pytest.mark.ros
def test_yaml_values_have_the_declared_types():
    from spatialbot_ros.nodes.pick_place_params import PARAMS

    for name in ("pick_place.yaml", "pick_place_sim.yaml"):
        params = node_params(name, "pick_place")
        for key, value in params.items():
            default = PARAMS[key].default
            kind = float if isinstance(default, float) else type(default)
            assert isinstance(value, kind) or (kind is float and isinstance(value, int)), (name, key, value)


@pytest.mark.ros
def test_the_maniskill_overlay_sets_declared_parameters_for_the_panda():
    from spatialbot_ros.core.kinematics import arm_kinematics
    from spatialbot_ros.core.panda_kinematics import PANDA_FINGER_JOINT_NAMES, PANDA_TCP_OFFSET_M
    from spatialbot_ros.nodes.pick_place_params import PARAMS

    over = node_params("pick_place_maniskill.yaml", "pick_place")
    assert set(over) <= set(PARAMS), set(over) - set(PARAMS)
    for key, value in over.items():
        default = PARAMS[key].default
        assert isinstance(value, float if isinstance(default, float) else type(default)), (key, value)
    assert arm_kinematics(over["arm_model"]).name == "panda"
    assert over["tcp_offset_m"] == PANDA_TCP_OFFSET_M and tuple(over["finger_joints"]) == PANDA_FINGER_JOINT_NAMES
    assert node_params("pick_place_sim.yaml", "pick_place")["motion_backend"] == "ros_topics"  # what it overlays


@pytest.mark.core
def test_sim_and_real_parameter_files_differ_only_in_the_motion_path():
    real, sim = node_params("pick_place.yaml", "pick_place"), node_params("pick_place_sim.yaml", "pick_place")
    differ = {k for k in real if real[k] != sim[k]}
    assert differ == {"motion_backend", "gripper_backend", "real_hardware", "speed_scale"}
    assert real["real_hardware"] is True and real["motion_backend"] == "joint_trajectory"
    assert real["controller_name"] == "scaled_joint_trajectory_controller"


@pytest.mark.core
def test_emulated_launch_and_up_profile_run_the_real_cell_nodes_with_the_real_cell_parameter_files():
    from spatialbot_ros.graph_up import PROFILES

    text = (ROOT / "launch/cell_emulated.launch.py").read_text()
    real = (ROOT / "launch/ur5_cell.launch.py").read_text()
    for yaml_name in ("pick_place.yaml", "spatial_policy.yaml"):
        assert f"/{yaml_name}" in text and f"/{yaml_name}" in real
    profile = {(p.module.rsplit(".", 1)[1], p.params_file) for p in PROFILES["cell-emulated"]}
    assert profile == {("ur_driver_emulator", "ur_driver_emulator.yaml"), ("spatial_policy", "spatial_policy.yaml"),
                       ("pick_place", "pick_place.yaml")}
    sim = {(p.module.rsplit(".", 1)[1], p.params_file) for p in PROFILES["sim_pick_place"]}
    assert ("pick_place", "pick_place_sim.yaml") in sim


@pytest.mark.core
def test_collect_launch_and_up_profile_start_the_teleop_collect_node():
    from spatialbot_ros.graph_up import PROFILES

    tree = ast.parse((ROOT / "launch/collect.launch.py").read_text())
    executables = {k.value.value for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Node"
                   for k in n.keywords if k.arg == "executable"}
    assert executables == {"mujoco_sim", "spatial_policy", "teleop_collect"}
    assert "teleop_collect = spatialbot_ros.nodes.teleop_collect:main" in (ROOT / "setup.py").read_text()
    profile = {(p.module.rsplit(".", 1)[1], p.params_file, p.more_files) for p in PROFILES["sim_collect"]}
    assert profile == {("mujoco_sim", "mujoco_sim.yaml", ()),
                       ("teleop_collect", "pick_place_sim.yaml", ("teleop_collect.yaml",))}
    own = node_params("teleop_collect.yaml", "teleop_collect")
    assert own["teleop.enabled"] is True and own["collect.dir"]


@pytest.mark.ros
def test_collect_launch_turns_teleop_on_for_the_sim_and_passes_real_cell_arguments_through():
    from spatialbot_ros.nodes.pick_place_params import PARAMS

    text = (ROOT / "launch/collect.launch.py").read_text()
    tree = ast.parse(text)
    teleop = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "teleop")
    keys = {k.value for k in teleop.value.keys if isinstance(k, ast.Constant)}
    assert {"teleop.enabled", "collect.dir", "collect.rosbag"} <= keys <= set(PARAMS)
    real_args = {a[0] for a in ast.literal_eval(next(
        n.value for n in ast.walk(ast.parse((ROOT / "launch/ur5_cell.launch.py").read_text()))
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ARGUMENTS"))}
    included = _included_arguments(tree)
    assert included["ur5_cell.launch.py"] <= real_args and {"teleop", "collect_dir"} <= included["ur5_cell.launch.py"]


@pytest.mark.core
def test_an_eye_in_hand_calibration_starts_no_fixed_camera_spatial_policy(tmp_path):
    import numpy as np

    from spatialbot_ros.core.hand_eye import read_calibration_yaml, write_extrinsics_yaml

    tree = ast.parse((ROOT / "launch/ur5_cell.launch.py").read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "fixed_camera_calibration")
    namespace = {"read_calibration_yaml": read_calibration_yaml}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "ur5_cell.launch.py", "exec"), namespace)  # noqa: S102
    fixed = namespace["fixed_camera_calibration"]
    write_extrinsics_yaml(tmp_path / "fixed.yaml", np.eye(4), parent_frame="base", metadata={"mode": "eye_to_hand"})
    write_extrinsics_yaml(tmp_path / "wrist.yaml", np.eye(4), parent_frame="tool0", metadata={"mode": "eye_in_hand"})
    assert fixed("") and fixed(str(tmp_path / "fixed.yaml")) and not fixed(str(tmp_path / "wrist.yaml"))
    (tmp_path / "broken.yaml").write_text("/**:\n  ros__parameters: {camera_extrinsics.parent_frame: tool0}\n")
    with pytest.raises(ValueError, match="broken.yaml: missing"):  # the launch stops with the file's fault named
        fixed(str(tmp_path / "broken.yaml"))
    text = (ROOT / "launch/ur5_cell.launch.py").read_text()
    assert 'if fixed_camera_calibration(value["calibration_file"]) else' in text
