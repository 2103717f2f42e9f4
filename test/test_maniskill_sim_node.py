"""maniskill_sim over real DDS: the task camera on the realsense-ros topics (16UC1 mm depth, camera
info, the latched camera pose), joint states, TCP-delta commands that move the Panda, and our
grounding on the frames it publishes; and sim_maniskill.launch.py's graph, where our unchanged
pick_place stacks StackCube's cubes on the Panda through its joint trajectory interface and the
task's own success flag says so. The nodes run in the maniskill venv (skipped without it)."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from conftest import spin_until
from test_maniskill_smoke import ROOT, maniskill_python

pytestmark = [pytest.mark.ros, pytest.mark.sim]


def _start(module: str, *ros_args: str, log_path=None) -> subprocess.Popen:
    """A node under the maniskill venv's python, as sim_maniskill.launch.py runs every node."""
    # the typed interfaces and tf2_msgs that scripts/env.sh puts on PYTHONPATH (built for the same python)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.PIPE if log_path is None else open(log_path, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([maniskill_python(), "-m", module, "--ros-args", *ros_args], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT, text=True)


def _stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def sim_node(ros):
    proc = _start("spatialbot_ros.nodes.maniskill_sim", "-p", "camera_rate_hz:=2.0")
    yield proc
    _stop(proc)


def test_camera_joints_and_tcp_deltas_over_dds(sim_node, ros):
    from geometry_msgs.msg import PoseStamped, TwistStamped
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, JointState

    from spatialbot_ros.core.transforms import pose_from_xyz_quat
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd
    from spatialbot_ros.policy.geometric import GeometricPolicy
    from spatialbot_ros.sim.maniskill_env import nominal_base_from_camera, task_spec

    node = ros.create_node("maniskill_probe")
    got: dict = {}
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, "/camera/camera/color/image_raw", lambda m: got.__setitem__("color", m),
                             qos_profile_sensor_data)
    node.create_subscription(Image, "/camera/camera/aligned_depth_to_color/image_raw",
                             lambda m: got.__setitem__("depth", m), qos_profile_sensor_data)
    node.create_subscription(CameraInfo, "/camera/camera/color/camera_info", lambda m: got.__setitem__("info", m),
                             qos_profile_sensor_data)
    node.create_subscription(JointState, "/joint_states", lambda m: got.__setitem__("joints", m), 10)
    node.create_subscription(PoseStamped, "/maniskill/tcp_pose", lambda m: got.__setitem__("tcp", m), 10)
    node.create_subscription(PoseStamped, "/maniskill/camera_pose", lambda m: got.__setitem__("camera", m), latched)
    pub = node.create_publisher(TwistStamped, "/maniskill/tcp_delta", 10)
    want = ("color", "depth", "info", "joints", "tcp", "camera")
    assert spin_until([node], lambda: all(k in got for k in want), timeout=150), \
        f"only {sorted(got)} arrived; node output: {sim_node.stdout.read() if sim_node.poll() is not None else ''}"
    assert got["depth"].encoding == "16UC1" and (got["depth"].width, got["depth"].height) == (640, 480)
    assert list(got["joints"].name)[:1] == ["panda_joint1"] and len(got["joints"].name) == 9
    cam = got["camera"].pose
    base_from_camera = pose_from_xyz_quat([cam.position.x, cam.position.y, cam.position.z],
                                          [cam.orientation.x, cam.orientation.y, cam.orientation.z, cam.orientation.w])
    assert np.allclose(base_from_camera, nominal_base_from_camera(task_spec("StackCube-v1")), atol=1e-4)
    # our Panda kinematics (what pick_place's safety gate checks plans with) against ManiSkill's own TCP
    from spatialbot_ros.core.panda_kinematics import PANDA, PANDA_TCP_OFFSET_M
    from spatialbot_ros.core.transforms import make_pose

    spin_until([node], lambda: False, timeout=0.3)
    q = np.array(got["joints"].position[:7])
    tcp = got["tcp"].pose
    ours = PANDA.fk(q) @ make_pose([0.0, 0.0, PANDA_TCP_OFFSET_M])
    assert np.allclose(ours[:3, 3], [tcp.position.x, tcp.position.y, tcp.position.z], atol=2e-3)

    # our grounding on the frames it publishes, as spatial_policy does in sim_maniskill.launch.py
    frame = msgs_to_rgbd(got["color"], got["depth"], got["info"])
    proposals, grounding = GeometricPolicy().ground(frame, "stack the red cube on the green cube", base_from_camera)
    assert proposals.by_id(grounding.pick_mark_id).color_name == "red"
    assert proposals.by_id(grounding.place.mark_id).color_name == "green"

    z0 = got["tcp"].pose.position.z
    deadline = time.monotonic() + 60  # a render blocks the node's control steps for ~0.2 s (longer under load)
    while time.monotonic() < deadline and got["tcp"].pose.position.z <= z0 + 0.06:
        msg = TwistStamped()
        msg.twist.linear.z = 0.02
        pub.publish(msg)
        spin_until([node], lambda: False, timeout=0.05)
    assert got["tcp"].pose.position.z > z0 + 0.06  # +2 cm a step, commanded in the base frame: the TCP rose
    node.destroy_node()


def _launch_nodes() -> dict[str, list[str]]:
    """executable -> the parameter files sim_maniskill.launch.py gives it (os.path.join(config, NAME))."""
    tree = ast.parse((ROOT / "launch" / "sim_maniskill.launch.py").read_text())
    out = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node":
            kw = {k.arg: k.value for k in call.keywords}
            files = [a.args[1].value for a in ast.walk(kw["parameters"]) if isinstance(a, ast.Call)
                     and getattr(a.func, "attr", "") == "join" and isinstance(a.args[1], ast.Constant)]
            out[kw["executable"].value] = files
    return out


@pytest.fixture()
def panda_cell(ros, tmp_path):
    """sim_maniskill.launch.py's maniskill_sim and pick_place, with the launch's parameter files and
    the task camera's extrinsics as the launch computes them."""
    from spatialbot_ros.core.transforms import pose_to_xyz_quat
    from spatialbot_ros.sim.maniskill_env import nominal_base_from_camera, task_spec

    launch = _launch_nodes()
    assert launch["pick_place"] == ["pick_place_sim.yaml", "pick_place_maniskill.yaml"]
    assert "pd_joint_pos" in (ROOT / "launch" / "sim_maniskill.launch.py").read_text()
    xyz, quat = pose_to_xyz_quat(nominal_base_from_camera(task_spec("StackCube-v1")))
    extrinsics = tmp_path / "extrinsics.yaml"
    extrinsics.write_text(json.dumps({"/**": {"ros__parameters": {
        "camera_extrinsics.xyz": [float(v) for v in xyz], "camera_extrinsics.quat_xyzw": [float(v) for v in quat]}}}))
    sim = _start("spatialbot_ros.nodes.maniskill_sim", "-p", "control_mode:=pd_joint_pos", "-p", "seed:=0",
                 log_path=tmp_path / "maniskill_sim.log")
    files = [a for name in launch["pick_place"] for a in ("--params-file", str(ROOT / "config" / name))]
    pick = _start("spatialbot_ros.nodes.pick_place", *files, "--params-file", str(extrinsics),
                  log_path=tmp_path / "pick_place.log")
    yield tmp_path
    _stop(pick, sim)


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
    assert spin_until([node], lambda: pub.get_subscription_count() > 0 and "success" in got, timeout=150)
    assert got["success"] is False  # the cubes start apart
    pub.publish(String(data=json.dumps({"id": "stack", "instruction": "stack the red cube on the green cube"})))
    logs = lambda: "\n".join((panda_cell / f).read_text()[-3000:] for f in ("pick_place.log", "maniskill_sim.log"))  # noqa: E731
    assert spin_until([node], lambda: "result" in got, timeout=240), logs()
    result = got["result"]
    assert result["succeeded"], (result, logs())
    assert {"approach", "descend", "close", "lift", "verify", "carry", "place", "retreat"} <= set(got["phases"])
    assert spin_until([node], lambda: got["success"] is True, timeout=5), "ManiSkill's info['success'] stayed false"
    node.destroy_node()
