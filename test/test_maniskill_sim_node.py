"""sim_maniskill.launch.py's graph over real DDS: maniskill_sim (the task camera on the realsense-ros
topics with 16UC1 mm depth, camera info and the latched camera pose; the Panda's joint states and
TCP; a joint trajectory controller's topic interface) and our unchanged pick_place, which stacks
StackCube's cubes on the Panda through the ros_topics backend and the safety gate while the task's
own success flag says so. Both nodes run on the maniskill venv's python, as the launch runs them
(skipped without it; CI requires it)."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess

import numpy as np
import pytest
from conftest import spin_until, use_test_ros_domain
from test_maniskill_smoke import ROOT, maniskill_python

pytestmark = [pytest.mark.ros, pytest.mark.sim]
LAUNCH = ROOT / "launch" / "sim_maniskill.launch.py"


def _start(module: str, *ros_args: str, log_path) -> subprocess.Popen:
    """A node under the maniskill venv's python, as sim_maniskill.launch.py runs every node."""
    # the typed interfaces and tf2_msgs that scripts/env.sh puts on PYTHONPATH (built for the same python)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([maniskill_python(), "-m", module, "--ros-args", *ros_args], cwd=ROOT, env=env,
                            stdout=open(log_path, "w"), stderr=subprocess.STDOUT, text=True)  # noqa: SIM115


def _stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _launch_nodes() -> dict[str, list[str]]:
    """executable -> the parameter files sim_maniskill.launch.py gives it (os.path.join(config, NAME))."""
    out = {}
    for call in ast.walk(ast.parse(LAUNCH.read_text())):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node":
            kw = {k.arg: k.value for k in call.keywords}
            out[kw["executable"].value] = [a.args[1].value for a in ast.walk(kw["parameters"]) if isinstance(a, ast.Call)
                                           and getattr(a.func, "attr", "") == "join" and isinstance(a.args[1], ast.Constant)]
    return out


@pytest.fixture(scope="module")
def panda_cell(tmp_path_factory):
    """The launch's maniskill_sim and pick_place (StackCube-v1, seed 0), with the launch's parameter
    files and the task camera's extrinsics as the launch computes them; yields the log directory."""
    from spatialbot_ros.core.transforms import pose_to_xyz_quat
    from spatialbot_ros.sim.maniskill_env import nominal_base_from_camera, task_spec

    use_test_ros_domain()
    launch = _launch_nodes()
    assert set(launch) == {"maniskill_sim", "spatial_policy", "pick_place"}
    assert launch["pick_place"] == ["pick_place_sim.yaml", "pick_place_maniskill.yaml"]
    logs = tmp_path_factory.mktemp("maniskill_graph")
    xyz, quat = pose_to_xyz_quat(nominal_base_from_camera(task_spec("StackCube-v1")))
    extrinsics = logs / "extrinsics.yaml"
    extrinsics.write_text(json.dumps({"/**": {"ros__parameters": {
        "camera_extrinsics.xyz": [float(v) for v in xyz], "camera_extrinsics.quat_xyzw": [float(v) for v in quat]}}}))
    sim = _start("spatialbot_ros.nodes.maniskill_sim", "-p", "seed:=0", log_path=logs / "maniskill_sim.log")
    files = [a for name in launch["pick_place"] for a in ("--params-file", str(ROOT / "config" / name))]
    pick = _start("spatialbot_ros.nodes.pick_place", *files, "--params-file", str(extrinsics),
                  log_path=logs / "pick_place.log")
    yield logs
    _stop(pick, sim)


def _logs(d) -> str:
    return "\n".join(f"--- {f}\n" + (d / f).read_text()[-3000:] for f in ("pick_place.log", "maniskill_sim.log"))


def test_camera_joint_states_and_our_panda_kinematics_over_dds(panda_cell, ros):
    from geometry_msgs.msg import PoseStamped
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, JointState
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    from spatialbot_ros.core.panda_kinematics import PANDA, PANDA_TCP_OFFSET_M
    from spatialbot_ros.core.transforms import make_pose, pose_from_xyz_quat
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd
    from spatialbot_ros.policy.geometric import GeometricPolicy
    from spatialbot_ros.sim.maniskill_env import nominal_base_from_camera, task_spec

    node = ros.create_node("maniskill_probe")
    got: dict = {}
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
    for key, kind, topic, qos in (
            ("color", Image, "/camera/camera/color/image_raw", qos_profile_sensor_data),
            ("depth", Image, "/camera/camera/aligned_depth_to_color/image_raw", qos_profile_sensor_data),
            ("info", CameraInfo, "/camera/camera/color/camera_info", qos_profile_sensor_data),
            ("joints", JointState, "/joint_states", 10), ("tcp", PoseStamped, "/maniskill/tcp_pose", 10),
            ("camera", PoseStamped, "/maniskill/camera_pose", latched)):
        node.create_subscription(kind, topic, lambda m, k=key: got.__setitem__(k, m), qos)
    assert spin_until([node], lambda: len(got) == 6, timeout=150), f"only {sorted(got)} arrived\n{_logs(panda_cell)}"
    assert got["depth"].encoding == "16UC1" and (got["depth"].width, got["depth"].height) == (640, 480)
    assert list(got["joints"].name) == [f"panda_joint{i}" for i in range(1, 8)] + \
        ["panda_finger_joint1", "panda_finger_joint2"]
    cam = got["camera"].pose
    base_from_camera = pose_from_xyz_quat([cam.position.x, cam.position.y, cam.position.z],
                                          [cam.orientation.x, cam.orientation.y, cam.orientation.z, cam.orientation.w])
    assert np.allclose(base_from_camera, nominal_base_from_camera(task_spec("StackCube-v1")), atol=1e-4)

    # our Panda kinematics (what pick_place's safety gate checks plans with) against ManiSkill's own TCP
    q = np.array(got["joints"].position[:7])
    tcp = got["tcp"].pose
    ours = PANDA.fk(q) @ make_pose([0.0, 0.0, PANDA_TCP_OFFSET_M])
    assert np.allclose(ours[:3, 3], [tcp.position.x, tcp.position.y, tcp.position.z], atol=2e-3)

    # our grounding on the frames it publishes, as spatial_policy and pick_place do in the launch
    frame = msgs_to_rgbd(got["color"], got["depth"], got["info"])
    proposals, grounding = GeometricPolicy().ground(frame, "stack the red cube on the green cube", base_from_camera)
    assert proposals.by_id(grounding.pick_mark_id).color_name == "red"
    assert proposals.by_id(grounding.place.mark_id).color_name == "green"

    # a trajectory outside the Panda's joint limits is refused whole: the arm stays where it is
    pub = node.create_publisher(JointTrajectory, "/joint_trajectory_controller/joint_trajectory", 10)
    assert spin_until([node], lambda: pub.get_subscription_count() >= 1, timeout=10)
    bad = JointTrajectory(joint_names=[f"panda_joint{i}" for i in range(1, 8)])
    bad.points = [JointTrajectoryPoint(positions=[float(v) for v in q[:3]] + [0.5] + [float(v) for v in q[4:]])]
    bad.points[0].time_from_start.sec = 1
    pub.publish(bad)  # joint 4 of a Panda is always negative
    spin_until([node], lambda: False, timeout=1.5)
    assert np.allclose(np.array(got["joints"].position[:7]), q, atol=0.01), _logs(panda_cell)
    assert "positions outside the Panda's joint limits" in (panda_cell / "maniskill_sim.log").read_text()
    node.destroy_node()


def test_pick_place_stacks_the_cube_on_the_panda_through_the_safety_gate(panda_cell, ros):
    from std_msgs.msg import Bool, String

    from spatialbot_ros.nodes.estop_bridge import COMMAND_QOS

    node = ros.create_node("maniskill_goal_probe")
    got: dict = {"phases": []}
    node.create_subscription(String, "/pick_place/result", lambda m: got.setdefault("result", json.loads(m.data)), 10)
    node.create_subscription(String, "/pick_place/feedback",
                             lambda m: got["phases"].append(json.loads(m.data)["phase"]), 10)
    node.create_subscription(Bool, "/maniskill/success", lambda m: got.__setitem__("success", m.data), 10)
    pub = node.create_publisher(String, "/pick_place/goal", COMMAND_QOS)
    assert spin_until([node], lambda: pub.get_subscription_count() > 0 and "success" in got, timeout=150), \
        _logs(panda_cell)
    assert got["success"] is False  # the cubes start apart
    pub.publish(String(data=json.dumps({"id": "stack", "instruction": "stack the red cube on the green cube"})))
    assert spin_until([node], lambda: "result" in got, timeout=240), _logs(panda_cell)
    result = got["result"]
    assert result["succeeded"], (result, _logs(panda_cell))
    assert {"approach", "descend", "close", "lift", "verify", "carry", "place", "retreat"} <= set(got["phases"])
    assert spin_until([node], lambda: got["success"] is True, timeout=5), "ManiSkill's info['success'] stayed false"
    node.destroy_node()
