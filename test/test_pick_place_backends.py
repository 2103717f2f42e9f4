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
    ({"calibration.mode": "eye_in_hand"}, "eye_in_hand"),
    ({"speed_scale": 3.0}, "speed_scale"),
    ({"safety.workspace_min_m": [0.9, -0.6, 0.0]}, "workspace"),
])
def test_impossible_or_unsafe_configurations_refuse_to_start_naming_the_parameter(ros, overrides, message):
    with pytest.raises(ValueError, match=message):
        make_node(**overrides)
