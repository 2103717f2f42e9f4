"""pick_place assembles its one motion path from parameters: every motion_backend and
gripper_backend by name, always behind the SafeMotion gate, dry-run on robot backends, refusals of
impossible combinations at start, and the scaling each backend gets from the node's parameters."""

from __future__ import annotations

import pytest
from rclpy.parameter import Parameter

pytestmark = pytest.mark.ros


def make_node(**overrides):
    from spatialbot_ros.nodes.pick_place import PickPlaceNode

    return PickPlaceNode(parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()],
                         cli_args=["--ros-args", "-r", "__node:=pick_place_under_test"])


@pytest.mark.parametrize("backend, gripper, arm_class, gripper_class", [
    ("joint_trajectory", "robotiq_action", "JointTrajectoryBackend", "RobotiqActionGripper"),
    ("move_group", "none", "MoveGroupBackend", "NoGripper"),
])
def test_the_node_builds_the_named_backends_behind_the_gate_in_dry_run(ros, backend, gripper, arm_class, gripper_class):
    from spatialbot_ros.motion.safety_gate import SafeMotion

    node = make_node(motion_backend=backend, gripper_backend=gripper)
    try:
        assert isinstance(node.motion, SafeMotion)
        assert type(node.motion.backend.arm).__name__ == arm_class
        assert type(node.motion.backend.gripper_backend).__name__ == gripper_class
        assert node.motion.real_hardware and not node.motion.armed and node.motion.dry_run
        assert node.motion.tcp_offset_m == pytest.approx(0.128)
        if backend == "move_group":
            assert node.motion.backend.arm.cfg.velocity_scaling == pytest.approx(0.1)
    finally:
        node.destroy_node()


def test_the_node_builds_ur_rtde_with_the_robot_ip_and_moveit_py_with_its_scaling(ros, monkeypatch):
    from test_moveit_backends import FakeMoveIt, install_fake_moveit
    from test_ur_rtde_backend import HOME_Q, FakeArm, install_fake_rtde

    install_fake_rtde(monkeypatch, FakeArm(HOME_Q))
    node = make_node(motion_backend="ur_rtde", gripper_backend="none", robot_ip="192.0.2.10")
    try:
        assert type(node.motion.backend.arm).__name__ == "UrRtdeBackend" and node.motion.dry_run
    finally:
        node.destroy_node()
    fake = FakeMoveIt()
    install_fake_moveit(monkeypatch, fake)
    node = make_node(motion_backend="moveit_py", gripper_backend="none", **{"moveit.velocity_scaling": 0.2})
    try:
        arm = node.motion.backend.arm
        assert type(arm).__name__ == "MoveItPyBackend" and arm.cfg.velocity_scaling == pytest.approx(0.2)
        assert ("get_planning_component", "ur_manipulator") in fake.calls
    finally:
        node.destroy_node()


@pytest.mark.parametrize("overrides, message", [
    ({"motion_backend": "ur_rtde", "gripper_backend": "none"}, "robot_ip"),
    ({"motion_backend": "joint_trajectory", "real_hardware": False}, "dry-run until armed"),
    ({"motion_backend": "ros_topics", "gripper_backend": "robotiq_action"}, "gripper_backend topic"),
    ({"motion_backend": "teleport"}, "unknown"),
    ({"require_calibration": True}, "calibrate"),
    ({"calibration.mode": "eye_in_hand"}, "parent_frame must be tool0"),  # extrinsics given in base: not a wrist camera
    ({"calibration.mode": "hand_in_eye"}, "eye_to_hand or eye_in_hand"),
    ({"speed_scale": 3.0}, "speed_scale"),
    ({"safety.workspace_min_m": [0.9, -0.6, 0.0]}, "workspace"),
])
def test_impossible_or_unsafe_configurations_refuse_to_start_naming_the_parameter(ros, overrides, message):
    with pytest.raises(ValueError, match=message):
        make_node(**overrides)


def test_an_eye_in_hand_calibration_is_accepted_and_each_frame_gets_the_camera_pose_at_its_stamp(ros):
    """The wrist camera's pose for a frame: base_from_tool0 at the joints of the frame's stamp (between
    two joint states) times the calibrated tool0_from_camera; a frame the joint states do not cover
    is refused (stale_frame), never given the arm's pose of another moment."""
    import numpy as np
    from sensor_msgs.msg import JointState

    from spatialbot_ros.core.errors import FrameError
    from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
    from spatialbot_ros.core.geometry import deproject
    from spatialbot_ros.core.transforms import pose_from_xyz_quat
    from spatialbot_ros.core.ur_kinematics import UR5_DH, UR_JOINT_NAMES, fk
    from spatialbot_ros.nodes.conversions import rgbd_to_msgs, s_to_stamp

    xyz, quat = [0.08, 0.0, 0.03], [0.0, 0.0, 0.70710678, 0.70710678]
    node = make_node(**{"calibration.mode": "eye_in_hand", "camera_extrinsics.parent_frame": "tool0",
                        "camera_extrinsics.xyz": xyz, "camera_extrinsics.quat_xyzw": quat})
    try:
        q0 = np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0])
        for i, t in enumerate((100.00, 100.01, 100.02)):
            js = JointState(name=list(UR_JOINT_NAMES), position=[float(v) for v in q0 + [0.1 * i, 0, 0, 0, 0, 0]])
            js.header.stamp = s_to_stamp(t)
            node._on_joint_state(js)
        k = CameraIntrinsics(64, 48, 46.5, 46.5, 32.0, 24.0)
        depth = np.full((48, 64), 400, np.uint16)

        def show(stamp_s):
            for stream, msg in zip(("color", "depth", "info"), rgbd_to_msgs(RGBDFrame(
                    np.zeros((48, 64, 3), np.uint8), depth, k, stamp_s=stamp_s)), strict=True):
                node._on_camera(stream, msg)

        show(100.015)  # half-way between the 2nd and 3rd joint states
        frame = node.latest_frame()
        q_then = q0 + [0.15, 0, 0, 0, 0, 0]
        expected = fk(q_then, UR5_DH) @ pose_from_xyz_quat(xyz, quat)
        assert np.allclose(node.base_from_camera, expected, atol=1e-9)
        # the target point under the image centre, 0.4 m out, lands in the base frame through that pose
        p_cam = deproject(32.0, 24.0, frame.depth_m()[24, 32], k)
        assert np.allclose((node.base_from_camera @ np.append(p_cam, 1.0))[:3], (expected @ [0, 0, 0.4, 1.0])[:3])
        newest = fk(q0 + [0.2, 0, 0, 0, 0, 0], UR5_DH) @ pose_from_xyz_quat(xyz, quat)
        assert np.linalg.norm(node.base_from_camera[:3, 3] - newest[:3, 3]) > 0.01  # not the arm's pose of now
        show(101.0)  # a second after the newest joint state
        with pytest.raises(FrameError, match="no joint state around the frame's stamp"):
            node.latest_frame()
    finally:
        node.destroy_node()


def test_a_destroyed_or_refused_node_leaves_no_action_server_and_no_estop_thread(ros):
    """rclpy's destroy_node keeps action servers alive: a destroyed pick_place still offered /pick_place
    and took goals it never ran (the next test's commander found it before the real node was up). A node
    that refuses to start leaves no e-stop thread behind either."""
    import threading

    from spatialbot_ros.commander import PickPlaceCommander

    with pytest.raises(ValueError, match="speed_scale"):
        make_node(speed_scale=3.0)
    with pytest.raises(ValueError, match="unknown"):
        make_node(motion_backend="teleport")  # refused while the motion path is built
    assert not [t for t in threading.enumerate() if t.name == "estop-executor"]
    node = make_node()
    assert node._action is not None, "typed interfaces are built by scripts/setup.sh"
    node.destroy_node()
    probe = ros.create_node("zombie_probe")
    try:
        commander = PickPlaceCommander(node=probe, transport="action")
        assert not commander.wait_for_server(2.0), "a destroyed pick_place still offers its action server"
    finally:
        probe.destroy_node()
