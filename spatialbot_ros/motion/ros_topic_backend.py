"""MotionBackend over plain ROS topics: trajectories to a joint trajectory controller's topic
interface (`/<controller>/joint_trajectory`, trajectory_msgs/JointTrajectory), completion read from
/joint_states, gripper opening on a std_msgs/Float64 topic. Works with ros2_control's JTC (whose
topic interface needs no control_msgs), the mujoco_sim node (UR5) and the maniskill_sim node (Panda):
the arm's joint names, IK and forward kinematics come from its core.kinematics model (`arm_model`).

It implements the plan / execute protocol (motion/base.py) and checks nothing itself: wrap it in
SafeMotion. The owning node must be spun by another thread (a MultiThreadedExecutor): execute()
waits for joint states that arrive through its callbacks and polls the stop flag every poll_s, so
stop() from another thread preempts within one poll (and publishes a hold at once).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64
from trajectory_msgs.msg import JointTrajectory

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.kinematics import arm_kinematics
from spatialbot_ros.core.safety import tcp_path
from spatialbot_ros.motion.base import (
    GripperState,
    JointPlan,
    MotionResult,
    MotionStatus,
    PlanKind,
    PlanningFailed,
)
from spatialbot_ros.motion.frames import joints_from_state, tcp_pose_from_joints, tool0_pose_for_tcp
from spatialbot_ros.motion.joint_trajectory import (
    TrajectoryConfig,
    build_joint_trajectory,
    plan_linear,
    time_parameterize,
)

FINGER_JOINTS = ("left_finger_joint", "right_finger_joint")


@dataclass(frozen=True)
class TopicMotionConfig:
    trajectory_topic: str = "/joint_trajectory_controller/joint_trajectory"
    joint_states_topic: str = "/joint_states"
    gripper_topic: str = "/gripper/opening_command"
    arm_model: str = "ur5"             # core.kinematics: ur5, ur5e or panda
    tcp_offset_m: float = 0.128
    max_opening_m: float = 0.085
    finger_joints: tuple[str, ...] = FINGER_JOINTS  # in /joint_states; the opening is their sum
    tolerance_rad: float = 0.03        # tracking error accepted at the timeout
    settled_rad: float = 0.003         # error at which a motion counts as finished
    settle_timeout_s: float = 1.0
    gripper_settle_s: float = 0.8
    poll_s: float = 0.01               # execute() looks at the stop flag and the joints this often


class RosTopicMotionBackend:
    name = "ros_topics"

    def __init__(self, node: object, config: TopicMotionConfig | None = None) -> None:
        self.node = node
        self.cfg = config or TopicMotionConfig()
        self.kinematics = arm_kinematics(self.cfg.arm_model)
        self.traj_cfg = TrajectoryConfig(tcp_offset_m=self.cfg.tcp_offset_m, joint_names=self.kinematics.joint_names)
        self._lock = threading.Lock()
        self._q: np.ndarray | None = None
        self._fingers = np.full(len(self.cfg.finger_joints), self.cfg.max_opening_m / max(1, len(self.cfg.finger_joints)))
        self._stop = threading.Event()
        self._traj_pub = node.create_publisher(JointTrajectory, self.cfg.trajectory_topic, 10)  # type: ignore[attr-defined]
        self._grip_pub = node.create_publisher(Float64, self.cfg.gripper_topic, 10)  # type: ignore[attr-defined]
        node.create_subscription(JointState, self.cfg.joint_states_topic, self._on_joints, 10)  # type: ignore[attr-defined]

    def _on_joints(self, msg: JointState) -> None:
        q = joints_from_state(msg, self.kinematics.joint_names)
        f = joints_from_state(msg, self.cfg.finger_joints)
        with self._lock:
            if q is not None:
                self._q = q
            if f is not None:
                self._fingers = f

    def wait_for_joint_states(self, timeout_s: float = 10.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                if self._q is not None:
                    return True
            time.sleep(0.02)
        return False

    @property
    def tcp_offset_m(self) -> float:
        return self.cfg.tcp_offset_m

    def current_joints(self) -> np.ndarray:
        with self._lock:
            if self._q is None:
                raise RuntimeError(f"no joint states on {self.cfg.joint_states_topic} yet")
            return self._q.copy()

    def current_pose(self) -> np.ndarray:
        return tcp_pose_from_joints(self.current_joints(), self.cfg.tcp_offset_m, self.kinematics)

    # -- planning (nothing is sent) ------------------------------------------------------------
    def _start(self, q_start: np.ndarray | None) -> np.ndarray:
        self._stop.clear()  # a stop before this plan belongs to an earlier motion
        if q_start is not None:
            return np.asarray(q_start, float).copy()
        with self._lock:
            q = None if self._q is None else self._q.copy()
        if q is None:
            raise PlanningFailed(MotionResult(MotionStatus.NOT_READY,
                                              f"no joint states on {self.cfg.joint_states_topic}: is the driver running?",
                                              "no_joint_states"))
        return q

    def _timed(self, kind: PlanKind, q0: np.ndarray, waypoints: np.ndarray, speed_scale: float,
               target_tcp: np.ndarray | None) -> JointPlan:
        tcp_lengths = tcp_path(q0, waypoints, self.cfg.tcp_offset_m, self.kinematics).segment_lengths_m
        times, vel = time_parameterize(q0, waypoints, self.traj_cfg, speed_scale, tcp_lengths)
        return JointPlan(kind, q0, np.asarray(waypoints, float), times, speed_scale,
                         None if target_tcp is None else np.asarray(target_tcp, float).copy(),
                         native=build_joint_trajectory(waypoints, times, vel, self.kinematics.joint_names))

    def plan_joints(self, q: np.ndarray, speed_scale: float, *, q_start: np.ndarray | None = None) -> JointPlan:
        q0 = self._start(q_start)
        return self._timed(PlanKind.JOINTS, q0, np.asarray(q, float).reshape(1, self.kinematics.n_joints), speed_scale, None)

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float, *,
                  q_start: np.ndarray | None = None) -> JointPlan:
        q0 = self._start(q_start)
        q = self.kinematics.ik_nearest(tool0_pose_for_tcp(base_from_tcp, self.cfg.tcp_offset_m), q0)
        if q is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "no IK solution within joint limits", "no_ik"))
        return self._timed(PlanKind.POSE, q0, q[None], speed_scale, base_from_tcp)

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float, *,
                    q_start: np.ndarray | None = None) -> JointPlan:
        q0 = self._start(q_start)
        start_tcp = tcp_pose_from_joints(q0, self.cfg.tcp_offset_m, self.kinematics)
        wp = plan_linear(q0, start_tcp, base_from_tcp, self.traj_cfg, self.kinematics)
        if wp is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "straight line leaves the reachable space",
                                              "no_ik"))
        return self._timed(PlanKind.LINEAR, q0, wp, speed_scale, base_from_tcp)

    # -- execution ---------------------------------------------------------------------------------
    def execute(self, plan: JointPlan) -> MotionResult:
        """Publish the trajectory and wait for the joints to settle at its end; ABORTED within one
        poll of stop()."""
        if self._stop.is_set():
            return MotionResult(MotionStatus.ABORTED, "stopped before the trajectory was sent", "stopped")
        msg = plan.native if isinstance(plan.native, JointTrajectory) else build_joint_trajectory(
            plan.positions, plan.times_s, np.zeros_like(plan.positions), self.kinematics.joint_names)
        self._traj_pub.publish(msg)
        goal = np.asarray(plan.positions[-1], float)
        done_at = time.monotonic() + plan.duration_s  # the controller needs the whole duration
        end = done_at + self.cfg.settle_timeout_s
        while time.monotonic() < end:
            if self._stop.wait(self.cfg.poll_s):
                return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
            err = float(np.max(np.abs(self.current_joints() - goal)))
            if time.monotonic() >= done_at and err <= self.cfg.settled_rad:
                return MotionResult(MotionStatus.SUCCEEDED)
        err = float(np.max(np.abs(self.current_joints() - goal)))
        if err <= self.cfg.tolerance_rad:
            return MotionResult(MotionStatus.SUCCEEDED, f"settled within {err:.3f} rad")
        return MotionResult(MotionStatus.ABORTED, f"joints {err:.3f} rad from the trajectory's end", "tracking")

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.HOLD:
            return MotionResult(MotionStatus.SUCCEEDED)
        self._stop.clear()
        self._grip_pub.publish(Float64(data=0.0 if command == GripperCommand.CLOSE else self.cfg.max_opening_m))
        if self._stop.wait(self.cfg.gripper_settle_s):
            return MotionResult(MotionStatus.ABORTED, "stopped while the gripper moved", "stopped")
        return MotionResult(MotionStatus.SUCCEEDED)

    def gripper_state(self) -> GripperState:
        with self._lock:
            width = float(np.sum(self._fingers))
        return GripperState(width, width < self.cfg.max_opening_m / 2)

    def stop(self) -> None:
        """Hold where the arm is: a one-point trajectory at the current joints."""
        self._stop.set()
        try:
            q = self.current_joints()
        except RuntimeError:
            return
        self._traj_pub.publish(build_joint_trajectory(q[None], np.array([0.05]), np.zeros((1, len(q))),
                                                      self.kinematics.joint_names))
