"""The Gazebo entry (launch/sim_gz.launch.py, config/gz_bridge.yaml, urdf/ur5_gz_cell.urdf.xacro)
agrees with the upstream files it includes and with our own nodes and cell, checked statically:
Gazebo, ros_gz and launch are not installable here."""

from __future__ import annotations

import ast
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_launch_config import _included_arguments

from spatialbot_ros.core.robotiq import KNUCKLE_CLOSED_RAD, KNUCKLE_JOINT, width_from_knuckle
from spatialbot_ros.core.transforms import extrinsic_from_params
from spatialbot_ros.sim.scene import load_scene

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch/sim_gz.launch.py"
XACRO = ROOT / "urdf/ur5_gz_cell.urdf.xacro"
XACRO_NS = "{http://wiki.ros.org/xacro}"

# Read from UniversalRobots/Universal_Robots_ROS2_GZ_Simulation at 54a6a11a88b886f886cfa098bb21bf8448ea8c18
# (branch ros2, 2024-10-17): ur_simulation_gz/launch/ur_sim_control.launch.py's DeclareLaunchArgument names,
UPSTREAM_SIM_CONTROL_ARGUMENTS = {
    "ur_type", "safety_limits", "safety_pos_margin", "safety_k_position", "controllers_file", "tf_prefix",
    "activate_joint_controller", "initial_joint_controller", "description_file", "launch_rviz", "rviz_config_file",
    "gazebo_gui", "world_file",
}
# the xacro arguments that launch file passes to description_file,
UPSTREAM_XACRO_ARGUMENTS = {"safety_limits", "safety_pos_margin", "safety_k_position", "name", "ur_type", "tf_prefix",
                            "simulation_controllers"}
# and the controllers of ur_simulation_gz/config/ur_controllers.yaml (controller_manager section).
UPSTREAM_CONTROLLERS = {
    "joint_state_broadcaster", "io_and_status_controller", "speed_scaling_state_broadcaster",
    "force_torque_sensor_broadcaster", "joint_trajectory_controller", "scaled_joint_trajectory_controller",
    "forward_velocity_controller", "forward_position_controller",
}
# ros_gz_bridge (gazebosim/ros_gz README, a4d00a90a1a5f753a0d0fbfe8e1e142540aebadd): the ROS <-> gz type pairs
BRIDGE_TYPES = {"sensor_msgs/msg/Image": "gz.msgs.Image", "sensor_msgs/msg/CameraInfo": "gz.msgs.CameraInfo",
                "rosgraph_msgs/msg/Clock": "gz.msgs.Clock"}
# gz-sensors' rgbd_camera publishes <topic>/image, <topic>/depth_image, <topic>/camera_info, <topic>/points
RGBD_SUFFIX = {"color_topic": "image", "depth_topic": "depth_image", "info_topic": "camera_info"}
# gz's camera looks along its link's +x with +z up; the optical frame has z forward, x right, y down
LINK_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def launch_tree() -> ast.Module:
    return ast.parse(LAUNCH.read_text())


def launch_constants() -> dict:
    """The launch file's ALL-CAPS literal constants (ARGUMENTS, GRIPPER_CONTROLLER, ...)."""
    out = {}
    for node in launch_tree().body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper():
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def launch_function(name: str):
    """A pure helper of the launch file, compiled on its own (launch itself has no wheel)."""
    fn = next(n for n in launch_tree().body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"Path": Path, **launch_constants()}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(LAUNCH), "exec"), namespace)  # noqa: S102
    return namespace[name]


def node_parameters() -> dict[str, ast.Call]:
    """executable -> its Node(...) call."""
    return {next(k.value.value for k in c.keywords if k.arg == "executable"): c
            for c in ast.walk(launch_tree()) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "Node"}


def pick_place_overrides() -> dict:
    node = next(n for n in ast.walk(launch_tree()) if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", "") == "pick_place_overrides")
    return {k.value: v for k, v in zip(node.value.keys, node.value.values, strict=True) if isinstance(k, ast.Constant)}


def xacro() -> ET.Element:
    return ET.parse(XACRO).getroot()


def joint(name: str) -> ET.Element:
    return next(j for j in xacro().iter("joint") if j.get("name") == name and j.find("parent") is not None)


def rpy_matrix(r: float, p: float, y: float) -> np.ndarray:
    """URDF rpy: R = Rz(y) Ry(p) Rx(r)."""
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return rz @ ry @ rx


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split()]


def yaml_params(name: str, node: str) -> dict:
    doc = yaml.safe_load((ROOT / "config" / name).read_text())
    return (doc.get(node) or doc["/**"])["ros__parameters"]  # pick_place_sim.yaml: /** (any node name)


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip((np.trace(a.T @ b) - 1.0) / 2.0, -1.0, 1.0)))


# -- launch --------------------------------------------------------------------------------------

@pytest.mark.core
def test_launch_includes_ur_sim_control_with_its_real_arguments():
    included = _included_arguments(launch_tree())
    assert set(included) == {"ur_sim_control.launch.py"}
    keys = included["ur_sim_control.launch.py"]
    assert keys <= UPSTREAM_SIM_CONTROL_ARGUMENTS, f"unknown upstream arguments {keys - UPSTREAM_SIM_CONTROL_ARGUMENTS}"
    assert {"ur_type", "description_file", "controllers_file", "initial_joint_controller", "launch_rviz",
            "gazebo_gui"} <= keys
    text = LAUNCH.read_text()
    assert '"description_file": f"{share}/urdf/ur5_gz_cell.urdf.xacro"' in text and XACRO.exists()
    assert '"launch_rviz": "false"' in text and '"gazebo_gui": value["gazebo_gui"]' in text
    # one controller name for both: the one ur_sim_control starts and the one pick_place sends to
    assert '"initial_joint_controller": controller' in text and '"controller_name": controller' in text
    arguments = {name: default for name, default, _ in launch_constants()["ARGUMENTS"]}
    assert {"ur_type", "gazebo_gui", "controller"} <= set(arguments)
    assert arguments["controller"] in UPSTREAM_CONTROLLERS and arguments["ur_type"] == "ur5"


@pytest.mark.core
def test_our_nodes_run_on_sim_time_shut_the_launch_down_and_take_the_repo_configs():
    nodes = node_parameters()
    assert {"spatial_policy", "pick_place", "parameter_bridge", "spawner"} <= set(nodes)
    assert launch_constants()["SIM_TIME"] == {"use_sim_time": True}
    for exe in ("spatial_policy", "pick_place"):
        call = nodes[exe]
        assert any(k.arg == "on_exit" and ast.unparse(k.value) == "Shutdown()" for k in call.keywords), exe
        params = ast.unparse(next(k.value for k in call.keywords if k.arg == "parameters"))
        assert params.startswith(f"[f'{{config}}/{exe}.yaml'") and params.endswith("SIM_TIME]"), params
    bridge = ast.unparse(next(k.value for k in nodes["parameter_bridge"].keywords if k.arg == "parameters"))
    assert "config_file" in bridge and "gz_bridge.yaml" in bridge and "SIM_TIME" in bridge
    text = LAUNCH.read_text()
    for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"):
        assert f'"{var}"' in text
    assert '"config", "fastdds.xml"' in text


@pytest.mark.ros
def test_pick_place_overrides_are_declared_and_fit_the_simulated_robot():
    from spatialbot_ros.nodes.pick_place_params import PARAMS

    overrides = pick_place_overrides()
    assert set(overrides) <= set(PARAMS), set(overrides) - set(PARAMS)
    literal = {k: ast.literal_eval(v) for k, v in overrides.items() if isinstance(v, ast.Constant)}
    assert literal["real_hardware"] is False and literal["require_calibration"] is False
    assert literal["motion_backend"] == "joint_trajectory" and literal["gripper_backend"] == "robotiq_action"
    # gz has no speed scaling broadcaster or robot program: pick_place must not wait for them
    assert literal["speed_scaling_topic"] == "" and literal["program_running_topic"] == ""
    c = launch_constants()
    action = ast.unparse(overrides["gripper_action_name"])
    assert action == "f'/{GRIPPER_CONTROLLER}/gripper_cmd'"
    assert f"/{c['GRIPPER_CONTROLLER']}/gripper_cmd" == PARAMS["gripper_action_name"].default
    assert literal["gripper_action_type"] == "gripper_command"
    assert c["GRIPPER_CONTROLLER_TYPE"] == "position_controllers/GripperActionController"  # GripperCommand action
    assert c["GRIPPER_CONTROLLER_PARAMS"]["joint"] == KNUCKLE_JOINT == PARAMS["gripper_joint"].default


@pytest.mark.core
def test_controllers_file_keeps_upstream_and_adds_the_gripper_controller():
    merge = launch_function("controllers_with_gripper")
    upstream = {"controller_manager": {"ros__parameters": {"update_rate": 500, **{
        name: {"type": f"pkg/{name}"} for name in UPSTREAM_CONTROLLERS}}},
        "joint_trajectory_controller": {"ros__parameters": {"joints": ["shoulder_pan_joint"]}}}
    out = merge(upstream)
    c = launch_constants()
    manager = out["controller_manager"]["ros__parameters"]
    assert set(manager) == {"update_rate", c["GRIPPER_CONTROLLER"]} | UPSTREAM_CONTROLLERS
    assert manager[c["GRIPPER_CONTROLLER"]] == {"type": c["GRIPPER_CONTROLLER_TYPE"]}
    assert out[c["GRIPPER_CONTROLLER"]]["ros__parameters"]["joint"] == KNUCKLE_JOINT
    assert out["joint_trajectory_controller"] == upstream["joint_trajectory_controller"]
    assert c["GRIPPER_CONTROLLER"] not in upstream["controller_manager"]["ros__parameters"]  # input left alone
    spawner = ast.unparse(next(k.value for k in node_parameters()["spawner"].keywords if k.arg == "arguments"))
    assert spawner.startswith("[GRIPPER_CONTROLLER, '-c', '/controller_manager'")


@pytest.mark.core
def test_controllers_file_is_one_per_user_not_one_per_launch():
    path = launch_function("controllers_path")
    assert path({"ROS_HOME": "/r"}) == Path("/r/spatialbot_ros/gz_controllers.yaml")
    assert path({"HOME": "/home/u"}) == Path("/home/u/.ros/spatialbot_ros/gz_controllers.yaml")
    assert "tempfile" not in LAUNCH.read_text()


# -- bridge --------------------------------------------------------------------------------------

def bridge() -> list[dict]:
    return yaml.safe_load((ROOT / "config/gz_bridge.yaml").read_text())


@pytest.mark.core
def test_bridge_maps_the_gz_rgbd_topics_onto_the_topics_our_nodes_subscribe_to():
    sensor = next(s for s in xacro().iter("sensor") if s.get("type") == "rgbd_camera")
    gz_topic = sensor.findtext("topic")
    by_ros = {e["ros_topic_name"]: e for e in bridge()}
    assert len(by_ros) == len(bridge()) == 4
    for node, cfg in (("spatial_policy", "spatial_policy.yaml"), ("pick_place", "pick_place.yaml"),
                      ("pick_place", "pick_place_sim.yaml")):
        params = yaml_params(cfg, node)
        for param, suffix in RGBD_SUFFIX.items():
            entry = by_ros[params[param]]
            assert entry["gz_topic_name"] == f"{gz_topic}/{suffix}", (cfg, param)
            want = "sensor_msgs/msg/CameraInfo" if param == "info_topic" else "sensor_msgs/msg/Image"
            assert entry["ros_type_name"] == want, (cfg, param)
    assert by_ros["/clock"]["gz_topic_name"] == "/clock" and by_ros["/clock"]["ros_type_name"] == "rosgraph_msgs/msg/Clock"
    for e in bridge():
        assert e["gz_type_name"] == BRIDGE_TYPES[e["ros_type_name"]], e
        assert e["direction"] == "GZ_TO_ROS", e


@pytest.mark.ros
def test_bridge_topics_equal_the_node_parameter_defaults():
    from spatialbot_ros.nodes.pick_place_params import PARAMS as PICK
    from spatialbot_ros.nodes.spatial_policy import PARAMS as POLICY

    ros_topics = {e["ros_topic_name"] for e in bridge()}
    for param in RGBD_SUFFIX:
        assert POLICY[param][0] in ros_topics and PICK[param].default in ros_topics, param


# -- cell description ----------------------------------------------------------------------------

@pytest.mark.core
def test_xacro_takes_the_arguments_ur_sim_control_passes():
    root = xacro()
    declared = {a.get("name") for a in root.iter(f"{XACRO_NS}arg")}
    assert UPSTREAM_XACRO_ARGUMENTS <= declared, UPSTREAM_XACRO_ARGUMENTS - declared
    includes = {i.get("filename") for i in root.iter(f"{XACRO_NS}include")}
    assert "$(find ur_description)/urdf/ur_macro.xacro" in includes
    assert "$(find ur_simulation_gz)/urdf/ur_gz.ros2_control.xacro" in includes
    plugins = {p.get("filename"): p for p in root.iter("plugin")}
    assert plugins["gz_ros2_control-system"].findtext("parameters") == "$(arg simulation_controllers)"
    assert plugins["gz-sim-sensors-system"].get("name") == "gz::sim::systems::Sensors"
    # mounted turned by pi: ur_description's `base` (turned by pi from base_link) is the world frame
    mount = next(root.iter(f"{XACRO_NS}ur_robot")).find("origin")
    assert mount.get("rpy") == "0 0 ${pi}" and floats(mount.get("xyz")) == [0.0, 0.0, 0.0]


@pytest.mark.core
def test_camera_sensor_matches_the_scene_camera_and_the_default_extrinsics():
    scene = load_scene(ROOT / "scenes/default.yaml")
    root = xacro()
    sensor = next(s for s in root.iter("sensor") if s.get("type") == "rgbd_camera")
    cam = sensor.find("camera")
    assert int(cam.findtext("image/width")) == scene.camera.width == 640
    assert int(cam.findtext("image/height")) == scene.camera.height == 480
    assert math.degrees(float(cam.findtext("horizontal_fov"))) == pytest.approx(scene.camera.hfov_deg, abs=0.01)
    assert sensor.findtext("gz_frame_id") == yaml_params("pick_place.yaml", "pick_place")["camera_extrinsics.child_frame"]
    link = next(g for g in root.iter("gazebo") if g.find("sensor") is sensor).get("reference")
    mount = next(j for j in root.iter("joint") if j.find("child") is not None and j.find("child").get("link") == link)
    assert mount.find("parent").get("link") == "world" and mount.get("type") == "fixed"
    origin = mount.find("origin")
    position = np.array(floats(origin.get("xyz")))
    rotation = rpy_matrix(*floats(origin.get("rpy"))) @ LINK_FROM_OPTICAL  # world (= base) from optical
    looked_at = scene.camera.base_from_camera()
    assert np.linalg.norm(position - looked_at[:3, 3]) < 1e-3
    assert angle_between(rotation, looked_at[:3, :3]) < 0.05
    for cfg, node in (("pick_place.yaml", "pick_place"), ("spatial_policy.yaml", "spatial_policy"),
                      ("pick_place_sim.yaml", "pick_place")):
        p = yaml_params(cfg, node)
        extr = extrinsic_from_params(p["camera_extrinsics.xyz"], p["camera_extrinsics.quat_xyzw"])
        assert np.linalg.norm(position - extr[:3, 3]) < 1e-3, cfg
        assert angle_between(rotation, extr[:3, :3]) < 0.05, cfg


@pytest.mark.core
def test_link_from_optical_is_the_gz_camera_convention():
    """Guards the conversion the camera test relies on: optical z is the link's forward +x, optical
    y (down) is the link's -z, and it is a proper rotation."""
    assert np.allclose(LINK_FROM_OPTICAL @ [0, 0, 1], [1, 0, 0]) and np.allclose(LINK_FROM_OPTICAL @ [0, 1, 0], [0, 0, -1])
    assert np.linalg.det(LINK_FROM_OPTICAL) == pytest.approx(1.0)


@pytest.mark.ros
def test_gripper_joint_ros2_control_and_mimic_fingers_match_the_robotiq_model():
    from spatialbot_ros.nodes.pick_place_params import PARAMS

    knuckle = joint(KNUCKLE_JOINT)
    assert knuckle.get("type") == "revolute"
    limit = knuckle.find("limit")
    assert float(limit.get("lower")) == 0.0 and float(limit.get("upper")) == pytest.approx(KNUCKLE_CLOSED_RAD)
    block = next(b for b in xacro().iter("ros2_control") if any(j.get("name") == KNUCKLE_JOINT for j in b.iter("joint")))
    assert block.findtext("hardware/plugin") == "gz_ros2_control/GazeboSimSystem"
    commanded = [j for j in block.iter("joint") if j.find("command_interface") is not None]
    assert [j.get("name") for j in commanded] == [KNUCKLE_JOINT]
    assert commanded[0].find("command_interface").get("name") == "position"
    fingers = [j for j in xacro().iter("joint") if j.find("mimic") is not None]
    assert len(fingers) == 2 and {tuple(floats(f.find("axis").get("xyz"))) for f in fingers} == {(0, 1, 0), (0, -1, 0)}
    for q in (0.0, 0.3, KNUCKLE_CLOSED_RAD):
        slides = []
        for f in fingers:
            m = f.find("mimic")
            assert m.get("joint") == KNUCKLE_JOINT
            slides.append(float(m.get("multiplier")) * q + float(m.get("offset")))
        # pads on opposite sides move together: the opening is the Robotiq map's width
        assert sum(slides) == pytest.approx(width_from_knuckle(q), abs=1e-4)
        assert all(0.0 - 1e-6 <= s <= float(f.find("limit").get("upper")) + 1e-6 for s, f in zip(slides, fingers, strict=True))
    for f in fingers:  # the pads sit at pick_place's TCP offset along tool0
        palm = joint(f.find("parent").get("link") + "_joint")
        assert palm.find("parent").get("link") == "tool0" and palm.find("origin").get("rpy") == "0 0 0"
        z = floats(palm.find("origin").get("xyz"))[2] + floats(f.find("origin").get("xyz"))[2]
        assert z == pytest.approx(PARAMS["tcp_offset_m"].default)
