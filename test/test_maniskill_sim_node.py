"""maniskill_sim over real DDS: the task camera on the realsense-ros topics (16UC1 mm depth, camera
info, the latched camera pose), joint states, TCP-delta commands that move the Panda, and our
grounding on the frames it publishes. The node runs in the maniskill venv (skipped without it)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest
from conftest import spin_until
from test_maniskill_smoke import ROOT, maniskill_python

pytestmark = [pytest.mark.ros, pytest.mark.sim]


@pytest.fixture()
def sim_node(ros):
    py = maniskill_python()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([py, "-m", "spatialbot_ros.nodes.maniskill_sim", "--ros-args", "-p", "camera_rate_hz:=2.0"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


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
