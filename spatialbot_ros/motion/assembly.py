"""The one motion path of a node, assembled from its parameters: an arm backend and a gripper
backend from the registries, combined, behind the one SafeMotion gate (dry-run until armed on real
hardware, e-stop and watchdogs preempting every motion).

Only the mapping from flat node parameters to each backend's constructor lives here, so every node
and every backend meet in one place and a new backend is one registry line plus its entry below."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spatialbot_ros.core.kinematics import ArmKinematics, arm_kinematics
from spatialbot_ros.core.safety import EStop, SafetyChecker, Watchdog
from spatialbot_ros.motion.base import JointPlan
from spatialbot_ros.motion.registry import REAL_HARDWARE, make_gripper_backend, make_motion_backend
from spatialbot_ros.motion.safety_gate import SafeMotion

# the simulator's JTC topic interface and Float64 gripper (nodes/mujoco_sim.py): arm and gripper in one
TOPIC_BACKEND = "ros_topics"


@dataclass(frozen=True)
class MotionSettings:
    motion_backend: str = "joint_trajectory"
    gripper_backend: str = "robotiq_action"
    real_hardware: bool = True
    ur_type: str = "ur5"
    arm_model: str = ""      # core.kinematics model; "" = the UR of ur_type (panda: the ros_topics backend only)
    tcp_offset_m: float = 0.128
    joint_states_topic: str = "/joint_states"
    controller_name: str = "scaled_joint_trajectory_controller"
    speed_scaling_topic: str = "/speed_scaling_state_broadcaster/speed_scaling"
    program_running_topic: str = "/io_and_status_controller/robot_program_running"
    trajectory_topic: str = "/joint_trajectory_controller/joint_trajectory"
    robot_ip: str = ""
    planning_group: str = "ur_manipulator"
    planning_frame: str = "base_link"
    moveit_velocity_scaling: float = 0.1
    moveit_acceleration_scaling: float = 0.1
    gripper_action_name: str = "/robotiq_gripper_controller/gripper_cmd"
    gripper_action_type: str = "gripper_command"
    gripper_joint: str = "robotiq_85_left_knuckle_joint"
    gripper_max_effort_n: float = 60.0
    gripper_topic: str = "/gripper/opening_command"
    finger_joints: tuple[str, ...] = ("left_finger_joint", "right_finger_joint")
    gripper_max_opening_m: float = 0.085
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def arm(self) -> ArmKinematics:
        return arm_kinematics(self.arm_model or self.ur_type)


def motion_settings(p: dict[str, Any]) -> MotionSettings:
    """From a node's parameter values (nodes/pick_place_params.py names)."""
    return MotionSettings(
        motion_backend=str(p["motion_backend"]), gripper_backend=str(p["gripper_backend"]),
        real_hardware=bool(p["real_hardware"]), ur_type=str(p["ur_type"]), arm_model=str(p["arm_model"]),
        tcp_offset_m=float(p["tcp_offset_m"]),
        joint_states_topic=str(p["joint_states_topic"]), controller_name=str(p["controller_name"]),
        speed_scaling_topic=str(p["speed_scaling_topic"]), program_running_topic=str(p["program_running_topic"]),
        trajectory_topic=str(p["trajectory_topic"]), robot_ip=str(p["robot_ip"]),
        planning_group=str(p["moveit.planning_group"]), planning_frame=str(p["moveit.planning_frame"]),
        moveit_velocity_scaling=float(p["moveit.velocity_scaling"]),
        moveit_acceleration_scaling=float(p["moveit.acceleration_scaling"]),
        gripper_action_name=str(p["gripper_action_name"]), gripper_action_type=str(p["gripper_action_type"]),
        gripper_joint=str(p["gripper_joint"]), gripper_max_effort_n=float(p["gripper_max_effort_n"]),
        gripper_topic=str(p["gripper_topic"]), finger_joints=tuple(str(j) for j in p["finger_joints"]),
        gripper_max_opening_m=float(p["gripper_max_opening_m"]))


def _arm_params(s: MotionSettings, node: Any) -> dict[str, Any]:
    if s.motion_backend == "joint_trajectory":
        return {"node": node, "controller_name": s.controller_name, "ur_type": s.ur_type,
                "tcp_offset_m": s.tcp_offset_m, "joint_states_topic": s.joint_states_topic,
                "speed_scaling_topic": s.speed_scaling_topic, "program_running_topic": s.program_running_topic}
    if s.motion_backend == "move_group":
        return {"node": node, "tcp_offset_m": s.tcp_offset_m, "ur_type": s.ur_type, "group": s.planning_group,
                "planning_frame": s.planning_frame, "joint_states_topic": s.joint_states_topic,
                "velocity_scaling": s.moveit_velocity_scaling, "acceleration_scaling": s.moveit_acceleration_scaling}
    if s.motion_backend == "moveit_py":
        return {"tcp_offset_m": s.tcp_offset_m, "ur_type": s.ur_type, "group": s.planning_group,
                "planning_frame": s.planning_frame,
                "velocity_scaling": s.moveit_velocity_scaling, "acceleration_scaling": s.moveit_acceleration_scaling}
    if s.motion_backend == "ur_rtde":
        if not s.robot_ip:
            raise ValueError("motion_backend ur_rtde needs parameter robot_ip")
        return {"robot_ip": s.robot_ip, "tcp_offset_m": s.tcp_offset_m, "ur_type": s.ur_type}
    raise ValueError(f"unknown motion_backend '{s.motion_backend}'; available: joint_trajectory, move_group, "
                     f"moveit_py, ur_rtde, {TOPIC_BACKEND}")


def _gripper_params(s: MotionSettings, node: Any) -> dict[str, Any]:
    if s.gripper_backend == "robotiq_action":
        return {"node": node, "action_name": s.gripper_action_name, "interface": s.gripper_action_type,
                "joint_name": s.gripper_joint, "joint_states_topic": s.joint_states_topic,
                "max_effort_n": s.gripper_max_effort_n}
    if s.gripper_backend == "robotiq_socket":
        if not s.robot_ip:
            raise ValueError("gripper_backend robotiq_socket needs parameter robot_ip")
        return {"host": s.robot_ip}
    if s.gripper_backend == "none":
        return {}
    raise ValueError(f"unknown gripper_backend '{s.gripper_backend}'; available: robotiq_action, robotiq_socket, "
                     f"none (topic with motion_backend {TOPIC_BACKEND})")


def build_backend(node: Any, s: MotionSettings) -> Any:
    """The arm + gripper backend the settings name (not yet behind the gate)."""
    if s.motion_backend == TOPIC_BACKEND:
        if s.gripper_backend != "topic":
            raise ValueError(f"motion_backend {TOPIC_BACKEND} drives the gripper on its topic: set gripper_backend topic")
        from spatialbot_ros.motion.ros_topic_backend import RosTopicMotionBackend, TopicMotionConfig

        return RosTopicMotionBackend(node, TopicMotionConfig(
            trajectory_topic=s.trajectory_topic, joint_states_topic=s.joint_states_topic, gripper_topic=s.gripper_topic,
            arm_model=s.arm.name, tcp_offset_m=s.tcp_offset_m, max_opening_m=s.gripper_max_opening_m,
            finger_joints=s.finger_joints))
    if s.arm.name not in ("ur5", "ur5e"):
        raise ValueError(f"arm_model {s.arm_model}: motion_backend {s.motion_backend} drives a UR arm; "
                         f"a {s.arm.name} goes through motion_backend {TOPIC_BACKEND}")
    if s.gripper_backend == "topic":
        raise ValueError(f"gripper_backend topic only goes with motion_backend {TOPIC_BACKEND}")
    from spatialbot_ros.motion.arm_and_gripper import ArmWithGripper

    arm = make_motion_backend(s.motion_backend, **_arm_params(s, node))
    gripper = make_gripper_backend(s.gripper_backend, **_gripper_params(s, node))
    return ArmWithGripper(arm, gripper)


def build_cell_motion(node: Any, s: MotionSettings, checker: SafetyChecker, estop: EStop,
                      watchdogs: dict[str, Watchdog], preview: Callable[[JointPlan], None] | None = None) -> SafeMotion:
    """The node's one motion path: backend -> SafeMotion. Real-hardware backends start disarmed."""
    if not s.real_hardware and s.motion_backend in REAL_HARDWARE:
        raise ValueError(f"real_hardware false with motion_backend {s.motion_backend}: a robot backend always starts "
                         "in dry-run until armed (real_hardware false is for the simulator's topic backend only)")
    backend = build_backend(node, s)
    return SafeMotion(backend, checker, estop, armed=False, real_hardware=s.real_hardware, watchdogs=watchdogs,
                      preview=preview, tcp_offset_m=s.tcp_offset_m, kinematics=s.arm)
