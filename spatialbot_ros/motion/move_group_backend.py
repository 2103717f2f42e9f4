"""MoveIt 2 through move_group's ROS interfaces (any distro with move_group running).

Plan, check, execute: pose and joint goals are planned by /move_action (MoveGroup, plan_only) and
straight lines by /compute_cartesian_path (GetCartesianPath); the resulting moveit_msgs
RobotTrajectory becomes a JointPlan for the safety gate, and only a checked plan is sent to
/execute_trajectory (ExecuteTrajectory). The cell's table and camera mount reach the planning scene
through /apply_planning_scene before the first plan.

Facts this respects: a scaling factor of 0 means full speed to MoveIt (so ours are never 0);
GetCartesianPath's jump_threshold 0 disables its joint-jump check, and Jazzy's move_group ignores
the jump fields altogether (the new computeCartesianPath), so the returned path is also checked for
joint jumps here. The owning node must be spun by another thread (a MultiThreadedExecutor): every
wait here is motion/ros_futures.wait_future, never spin_until_future_complete.
Needs moveit_msgs (apt ros-$ROS_DISTRO-moveit-msgs, or interfaces/upstream built by
scripts/build_interfaces.sh); imported only when constructed.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES, dh_for
from spatialbot_ros.motion.base import (
    GripperState,
    JointPlan,
    MotionBackendUnavailable,
    MotionResult,
    MotionStatus,
    PlanKind,
    PlanningFailed,
)
from spatialbot_ros.motion.frames import joints_from_state, pose_stamped, tcp_pose_from_joints, tool0_goal
from spatialbot_ros.motion.planning_scene import CellObstacles, planning_scene_diff
from spatialbot_ros.motion.ros_futures import FutureTimeout, wait_future

log = logging.getLogger(__name__)

# moveit_msgs/MoveItErrorCodes (Jazzy): value -> name; the name, lowercased, is MotionResult.cause
MOVEIT_ERROR_CODES: dict[int, str] = {
    1: "SUCCESS", 0: "UNDEFINED", 99999: "FAILURE",
    -1: "PLANNING_FAILED", -2: "INVALID_MOTION_PLAN", -3: "MOTION_PLAN_INVALIDATED_BY_ENVIRONMENT_CHANGE",
    -4: "CONTROL_FAILED", -5: "UNABLE_TO_AQUIRE_SENSOR_DATA", -6: "TIMED_OUT", -7: "PREEMPTED",
    -10: "START_STATE_IN_COLLISION", -11: "START_STATE_VIOLATES_PATH_CONSTRAINTS", -26: "START_STATE_INVALID",
    -12: "GOAL_IN_COLLISION", -13: "GOAL_VIOLATES_PATH_CONSTRAINTS", -14: "GOAL_CONSTRAINTS_VIOLATED",
    -27: "GOAL_STATE_INVALID", -28: "UNRECOGNIZED_GOAL_TYPE",
    -15: "INVALID_GROUP_NAME", -16: "INVALID_GOAL_CONSTRAINTS", -17: "INVALID_ROBOT_STATE",
    -18: "INVALID_LINK_NAME", -19: "INVALID_OBJECT_NAME",
    -21: "FRAME_TRANSFORM_FAILURE", -22: "COLLISION_CHECKING_UNAVAILABLE", -23: "ROBOT_STATE_STALE",
    -24: "SENSOR_INFO_STALE", -25: "COMMUNICATION_FAILURE", -29: "CRASH", -30: "ABORT", -31: "NO_IK_SOLUTION",
}
SUCCESS = 1
# codes that say MoveIt cannot work right now (not that the goal is impossible)
_NOT_READY_CODES = {-5, -22, -23, -24, -25, -29}


def error_code_name(code: int) -> str:
    return MOVEIT_ERROR_CODES.get(int(code), f"UNKNOWN_{int(code)}")


def describe_error(code: int, message: str = "") -> str:
    """A readable line for a MoveItErrorCodes value (plus MoveIt's own message when it sent one)."""
    text = f"MoveIt error {error_code_name(code)} ({int(code)})"
    return f"{text}: {message}" if message else text


def planning_failure(code: int, what: str, message: str = "") -> PlanningFailed:
    status = MotionStatus.NOT_READY if int(code) in _NOT_READY_CODES else MotionStatus.UNREACHABLE
    return PlanningFailed(MotionResult(status, f"{what}: {describe_error(code, message)}",
                                       cause=error_code_name(code).lower()))


def scaling_factor(base: float, speed_scale: float) -> float:
    """MoveIt's velocity/acceleration scaling for a command: the configured base times the caller's
    speed_scale, capped at 1. Never 0: MoveIt reads 0 (or anything outside (0, 1]) as full speed."""
    if not (isinstance(speed_scale, (int, float)) and math.isfinite(speed_scale) and speed_scale > 0):
        raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"speed_scale must be a positive number, got {speed_scale!r}",
                                          cause="invalid_command"))
    return min(float(base) * float(speed_scale), 1.0)


def seconds(duration: Any) -> float:
    """builtin_interfaces/Duration -> s."""
    return float(duration.sec) + float(duration.nanosec) * 1e-9


def joint_plan_from_trajectory(kind: PlanKind, joint_trajectory: Any, q_now: np.ndarray, speed_scale: float,
                               native: Any, target_tcp: np.ndarray | None = None,
                               joint_names: tuple[str, ...] = UR_JOINT_NAMES) -> JointPlan:
    """A trajectory_msgs/JointTrajectory (MoveIt's plan) as a JointPlan in UR joint order.

    MoveIt's first point is the start state at t = 0: it becomes q_start; a trajectory that starts
    later starts from q_now. Joint order is mapped by name (MoveIt orders by its model)."""
    names = list(joint_trajectory.joint_names)
    missing = [j for j in joint_names if j not in names]
    if missing:
        raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, f"planned trajectory lacks joints {missing}",
                                          cause="bad_trajectory"))
    points = list(joint_trajectory.points)
    if not points:
        raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "planner returned an empty trajectory",
                                          cause="bad_trajectory"))
    idx = [names.index(j) for j in joint_names]
    positions = np.array([[float(p.positions[i]) for i in idx] for p in points])
    times = np.array([seconds(p.time_from_start) for p in points])
    if times[0] <= 0.0:
        q_start, positions, times = positions[0], positions[1:], times[1:]
    else:
        q_start = np.asarray(q_now, float)
    return JointPlan(kind=kind, q_start=q_start, positions=positions, times_s=times, speed_scale=float(speed_scale),
                     target_tcp=None if target_tcp is None else np.asarray(target_tcp, float), native=native)


def largest_joint_step(plan: JointPlan) -> float:
    """The largest joint change (rad) between consecutive waypoints, start included."""
    if len(plan.positions) == 0:
        return 0.0
    pts = np.vstack([plan.q_start[None], plan.positions])
    return float(np.max(np.abs(np.diff(pts, axis=0))))


def _cancel_if_accepted(send_future: Any) -> None:
    handle = send_future.result()
    if handle is not None and handle.accepted:
        handle.cancel_goal_async()


@dataclass(frozen=True)
class MoveGroupConfig:
    group: str = "ur_manipulator"
    ur_type: str = "ur5"                    # kinematics of current_pose() and the gate's checks
    planning_frame: str = "base_link"
    ee_link: str = "tool0"
    move_action: str = "/move_action"
    execute_action: str = "/execute_trajectory"
    cartesian_service: str = "/compute_cartesian_path"
    apply_scene_service: str = "/apply_planning_scene"
    joint_states_topic: str = "/joint_states"
    velocity_scaling: float = 0.1           # times speed_scale, capped at 1 (never 0: MoveIt reads 0 as 1)
    acceleration_scaling: float = 0.1
    pipeline_id: str = ""                   # "" = move_group's default pipeline
    planner_id: str = ""
    planning_time_s: float = 5.0
    planning_attempts: int = 1
    position_tolerance_m: float = 0.001
    orientation_tolerance_rad: float = 0.01
    joint_tolerance_rad: float = 0.001
    cartesian_max_step_m: float = 0.005
    cartesian_jump_threshold: float = 5.0   # relative; 0 would disable MoveIt's check (where it applies it)
    cartesian_revolute_jump_threshold_rad: float = 0.5
    cartesian_min_fraction: float = 0.999
    max_joint_step_rad: float = 0.5         # our own jump check on every returned Cartesian path
    avoid_collisions: bool = True
    controller_names: tuple[str, ...] = ()  # ExecuteTrajectory.controller_names; () = MoveIt's choice
    start_tolerance_rad: float = 0.05       # a plan whose start is further from the arm is stale
    server_timeout_s: float = 5.0
    execution_timeout_margin_s: float = 10.0
    apply_scene: bool = True

    def __post_init__(self) -> None:
        for name in ("velocity_scaling", "acceleration_scaling"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0.0 < v <= 1.0):
                raise ValueError(f"move_group: {name} must be in (0, 1], got {v!r} (0 means full speed to MoveIt)")
        if self.cartesian_max_step_m <= 0:
            raise ValueError("move_group: cartesian_max_step_m must be > 0")
        if self.cartesian_jump_threshold <= 0 and self.cartesian_revolute_jump_threshold_rad <= 0:
            raise ValueError("move_group: set cartesian_jump_threshold or cartesian_revolute_jump_threshold_rad "
                             "(both 0 disables MoveIt's joint-jump check)")
        tool0_goal(np.eye(4), 0.0, self.planning_frame)  # raises for an unknown planning frame
        dh_for(self.ur_type)                              # raises for an unknown arm


class MoveGroupBackend:
    """MotionBackend over move_group. Arm only: the gripper is a separate backend."""

    name = "move_group"
    config_type = MoveGroupConfig   # flat parameters fill it (motion/registry.py)

    def __init__(self, node: Any, tcp_offset_m: float, config: MoveGroupConfig | None = None,
                 obstacles: CellObstacles | None = None) -> None:
        try:
            from moveit_msgs.action import ExecuteTrajectory, MoveGroup
            from moveit_msgs.srv import ApplyPlanningScene, GetCartesianPath
        except ImportError as exc:
            raise MotionBackendUnavailable("move_group backend needs moveit_msgs: apt install ros-$ROS_DISTRO-moveit-msgs "
                                           "(or scripts/build_interfaces.sh for interfaces/upstream)") from exc
        from rclpy.action import ActionClient
        from sensor_msgs.msg import JointState

        if not math.isfinite(tcp_offset_m) or tcp_offset_m < 0:
            raise ValueError(f"move_group: tcp_offset_m must be a finite length >= 0, got {tcp_offset_m!r}")
        self.node, self.tcp_offset_m = node, float(tcp_offset_m)
        self.cfg = config or MoveGroupConfig()
        self.dh = dh_for(self.cfg.ur_type)
        self.obstacles = obstacles or CellObstacles()
        self._move = ActionClient(node, MoveGroup, self.cfg.move_action)
        self._exec = ActionClient(node, ExecuteTrajectory, self.cfg.execute_action)
        self._cart = node.create_client(GetCartesianPath, self.cfg.cartesian_service)
        self._scene = node.create_client(ApplyPlanningScene, self.cfg.apply_scene_service)
        self._scene_applied = not self.cfg.apply_scene
        self._lock = threading.Lock()
        self._q: np.ndarray | None = None
        self._handle: Any = None          # the goal in flight (planning or execution)
        self._cancel = threading.Event()
        node.create_subscription(JointState, self.cfg.joint_states_topic, self._on_joints, 10)

    # -- state ----------------------------------------------------------------------------
    def _on_joints(self, msg: Any) -> None:
        q = joints_from_state(msg, UR_JOINT_NAMES)
        if q is not None:
            with self._lock:
                self._q = q

    def current_joints(self) -> np.ndarray:
        with self._lock:
            if self._q is None:
                raise RuntimeError(f"no {self.cfg.joint_states_topic} received yet")
            return self._q.copy()

    def current_pose(self) -> np.ndarray:
        return tcp_pose_from_joints(self.current_joints(), self.tcp_offset_m, self.dh)

    def _q_now(self) -> np.ndarray:
        try:
            return self.current_joints()
        except RuntimeError as exc:
            raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, str(exc), cause="no_joint_states")) from exc

    def _start(self, q_start: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """The joints a plan starts from and the moveit_msgs/RobotState saying so: the current
        state (an empty diff), or q_start (a dry run walking a whole task from its shadow state)."""
        from moveit_msgs.msg import RobotState

        state = RobotState(is_diff=True)
        if q_start is None:
            return self._q_now(), state
        q = np.asarray(q_start, float)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"q_start must be 6 finite values, got {q}",
                                              cause="invalid_command"))
        state.joint_state.name = list(UR_JOINT_NAMES)
        state.joint_state.position = [float(v) for v in q]
        return q, state

    # -- waiting --------------------------------------------------------------------------
    def _wait(self, future: Any, timeout_s: float, what: str) -> Any:
        """The future's result; None when stop() cancelled the wait; NOT_READY on timeout."""
        try:
            return wait_future(future, timeout_s, self._cancel)
        except FutureTimeout as exc:
            raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, f"{what}: {exc}", cause="timeout")) from exc

    def _server_ready(self, client: Any, name: str) -> None:
        ready = (client.wait_for_server(timeout_sec=self.cfg.server_timeout_s) if hasattr(client, "wait_for_server")
                 else client.wait_for_service(timeout_sec=self.cfg.server_timeout_s))
        if not ready:
            raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, f"no MoveIt server at {name} (is move_group running?)",
                                              cause="no_server"))

    def apply_planning_scene(self) -> None:
        """Add the table and camera mount to MoveIt's world (once; the first plan calls it)."""
        from moveit_msgs.srv import ApplyPlanningScene

        if self._scene_applied:
            return
        self._server_ready(self._scene, self.cfg.apply_scene_service)
        req = ApplyPlanningScene.Request(scene=planning_scene_diff(self.obstacles, self.cfg.planning_frame))
        res = self._wait(self._scene.call_async(req), self.cfg.server_timeout_s, "apply_planning_scene")
        if res is None:
            raise PlanningFailed(MotionResult(MotionStatus.ABORTED, "stopped while applying the planning scene",
                                              cause="stopped"))
        if not res.success:
            raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, "move_group refused the cell's collision objects",
                                              cause="planning_scene"))
        self._scene_applied = True
        log.info("planning scene: added %s", ", ".join(o.name for o in self.obstacles.obstacles))

    # -- planning -------------------------------------------------------------------------
    def _motion_plan_goal(self, speed_scale: float, start_state: Any) -> Any:
        from moveit_msgs.action import MoveGroup

        goal = MoveGroup.Goal()
        req = goal.request
        req.group_name = self.cfg.group
        req.pipeline_id, req.planner_id = self.cfg.pipeline_id, self.cfg.planner_id
        req.num_planning_attempts = int(self.cfg.planning_attempts)
        req.allowed_planning_time = float(self.cfg.planning_time_s)
        req.max_velocity_scaling_factor = scaling_factor(self.cfg.velocity_scaling, speed_scale)
        req.max_acceleration_scaling_factor = scaling_factor(self.cfg.acceleration_scaling, speed_scale)
        req.start_state = start_state
        goal.planning_options.plan_only = True      # the gate checks before anything moves
        goal.planning_options.planning_scene_diff.is_diff = True
        goal.planning_options.planning_scene_diff.robot_state.is_diff = True
        return goal

    def _pose_constraints(self, base_from_tcp: np.ndarray) -> Any:
        from moveit_msgs.msg import Constraints, OrientationConstraint, PositionConstraint
        from shape_msgs.msg import SolidPrimitive

        goal = pose_stamped(tool0_goal(base_from_tcp, self.tcp_offset_m, self.cfg.planning_frame), self.cfg.planning_frame)
        pc = PositionConstraint(header=goal.header, link_name=self.cfg.ee_link, weight=1.0)
        pc.constraint_region.primitives.append(
            SolidPrimitive(type=SolidPrimitive.SPHERE, dimensions=[float(self.cfg.position_tolerance_m)]))
        pc.constraint_region.primitive_poses.append(goal.pose)
        tol = float(self.cfg.orientation_tolerance_rad)
        oc = OrientationConstraint(header=goal.header, link_name=self.cfg.ee_link, orientation=goal.pose.orientation,
                                   absolute_x_axis_tolerance=tol, absolute_y_axis_tolerance=tol,
                                   absolute_z_axis_tolerance=tol, weight=1.0)
        return Constraints(position_constraints=[pc], orientation_constraints=[oc])

    def _joint_constraints(self, q: np.ndarray) -> Any:
        from moveit_msgs.msg import Constraints, JointConstraint

        tol = float(self.cfg.joint_tolerance_rad)
        return Constraints(joint_constraints=[
            JointConstraint(joint_name=name, position=float(v), tolerance_above=tol, tolerance_below=tol, weight=1.0)
            for name, v in zip(UR_JOINT_NAMES, np.asarray(q, float), strict=True)])

    def _run_goal(self, client: Any, goal: Any, name: str, result_timeout_s: float) -> Any:
        """Send an action goal and wait for its result (None when stop() cut the wait)."""
        self._server_ready(client, name)
        sent = client.send_goal_async(goal)
        try:
            handle = self._wait(sent, self.cfg.server_timeout_s, name)
        except PlanningFailed:
            sent.add_done_callback(_cancel_if_accepted)   # an answer after the timeout must not run
            raise
        if handle is None:
            sent.add_done_callback(_cancel_if_accepted)   # stopped before the server answered
            return None
        if not handle.accepted:
            raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, f"{name} rejected the goal", cause="rejected"))
        with self._lock:
            self._handle = handle
        try:
            if self._cancel.is_set():   # stop() came between send and accept
                handle.cancel_goal_async()
                return None
            return self._wait(handle.get_result_async(), result_timeout_s, name)
        except PlanningFailed:
            handle.cancel_goal_async()   # no answer in time: do not leave it running
            raise
        finally:
            with self._lock:
                self._handle = None

    def _plan_move_group(self, kind: PlanKind, constraints: Any, speed_scale: float,
                         target_tcp: np.ndarray | None, q_start: np.ndarray | None) -> JointPlan:
        self._cancel.clear()
        q_now, start_state = self._start(q_start)
        self.apply_planning_scene()
        goal = self._motion_plan_goal(speed_scale, start_state)
        goal.request.goal_constraints.append(constraints)
        wrapped = self._run_goal(self._move, goal, self.cfg.move_action, self.cfg.planning_time_s + self.cfg.server_timeout_s)
        if wrapped is None:
            raise PlanningFailed(MotionResult(MotionStatus.ABORTED, "stopped while planning", cause="stopped"))
        res = wrapped.result
        if res.error_code.val != SUCCESS:
            raise planning_failure(res.error_code.val, "move_group found no plan", res.error_code.message)
        start = joints_from_state(res.trajectory_start.joint_state, UR_JOINT_NAMES)
        return joint_plan_from_trajectory(kind, res.planned_trajectory.joint_trajectory,
                                          q_now if start is None else start, speed_scale,
                                          native=res.planned_trajectory, target_tcp=target_tcp)

    def plan_joints(self, q: np.ndarray, speed_scale: float = 1.0, q_start: np.ndarray | None = None) -> JointPlan:
        return self._plan_move_group(PlanKind.JOINTS, self._joint_constraints(q), speed_scale, None, q_start)

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0,
                  q_start: np.ndarray | None = None) -> JointPlan:
        return self._plan_move_group(PlanKind.POSE, self._pose_constraints(base_from_tcp), speed_scale, base_from_tcp,
                                     q_start)

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0,
                    q_start: np.ndarray | None = None) -> JointPlan:
        from moveit_msgs.srv import GetCartesianPath

        self._cancel.clear()
        q_now, start_state = self._start(q_start)
        self.apply_planning_scene()
        goal = pose_stamped(tool0_goal(base_from_tcp, self.tcp_offset_m, self.cfg.planning_frame), self.cfg.planning_frame)
        req = GetCartesianPath.Request()
        req.header.frame_id = self.cfg.planning_frame
        req.start_state = start_state
        req.group_name, req.link_name = self.cfg.group, self.cfg.ee_link
        req.waypoints = [goal.pose]
        req.max_step = float(self.cfg.cartesian_max_step_m)
        req.jump_threshold = float(self.cfg.cartesian_jump_threshold)
        req.revolute_jump_threshold = float(self.cfg.cartesian_revolute_jump_threshold_rad)
        req.prismatic_jump_threshold = 0.0   # the UR has no prismatic joints
        req.avoid_collisions = bool(self.cfg.avoid_collisions)
        req.max_velocity_scaling_factor = scaling_factor(self.cfg.velocity_scaling, speed_scale)
        req.max_acceleration_scaling_factor = scaling_factor(self.cfg.acceleration_scaling, speed_scale)
        self._server_ready(self._cart, self.cfg.cartesian_service)
        res = self._wait(self._cart.call_async(req), self.cfg.planning_time_s + self.cfg.server_timeout_s,
                         self.cfg.cartesian_service)
        if res is None:
            raise PlanningFailed(MotionResult(MotionStatus.ABORTED, "stopped while planning", cause="stopped"))
        if res.error_code.val != SUCCESS:
            raise planning_failure(res.error_code.val, "no Cartesian path", res.error_code.message)
        if res.fraction < self.cfg.cartesian_min_fraction:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE,
                                              f"the straight line is only {res.fraction:.1%} feasible "
                                              "(collision, joint limit or singularity on the way)", cause="partial_path"))
        start = joints_from_state(res.start_state.joint_state, UR_JOINT_NAMES)
        plan = joint_plan_from_trajectory(PlanKind.LINEAR, res.solution.joint_trajectory,
                                          q_now if start is None else start, speed_scale,
                                          native=res.solution, target_tcp=base_from_tcp)
        step = largest_joint_step(plan)
        if step > self.cfg.max_joint_step_rad:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE,
                                              f"the Cartesian path jumps {step:.2f} rad between waypoints "
                                              f"(limit {self.cfg.max_joint_step_rad:.2f}): a configuration flip",
                                              cause="joint_jump"))
        return plan

    # -- execution ------------------------------------------------------------------------
    def execute(self, plan: JointPlan) -> MotionResult:
        from moveit_msgs.action import ExecuteTrajectory

        if plan.native is None or not hasattr(plan.native, "joint_trajectory"):
            return MotionResult(MotionStatus.REFUSED, "plan was not made by move_group (no RobotTrajectory)",
                                cause="foreign_plan")
        self._cancel.clear()
        try:
            q_now = self._q_now()
        except PlanningFailed as exc:
            return exc.result
        offset = float(np.max(np.abs(q_now - plan.q_start)))
        if offset > self.cfg.start_tolerance_rad:
            return MotionResult(MotionStatus.REFUSED, f"the arm is {offset:.3f} rad from the plan's start: replan",
                                cause="stale_plan")
        goal = ExecuteTrajectory.Goal(trajectory=plan.native, controller_names=list(self.cfg.controller_names))
        timeout = plan.duration_s * 1.5 + self.cfg.execution_timeout_margin_s
        try:
            wrapped = self._run_goal(self._exec, goal, self.cfg.execute_action, timeout)
        except PlanningFailed as exc:
            if exc.result.cause == "timeout":
                return MotionResult(MotionStatus.ABORTED, exc.result.message, cause="timeout")
            return exc.result
        if wrapped is None:
            return MotionResult(MotionStatus.ABORTED, "stopped", cause="stopped")
        code, message = wrapped.result.error_code.val, wrapped.result.error_code.message
        if code == SUCCESS:
            return MotionResult(MotionStatus.SUCCEEDED)
        return MotionResult(MotionStatus.ABORTED, f"execution failed: {describe_error(code, message)}",
                            cause=error_code_name(code).lower())

    # -- gripper and stop -----------------------------------------------------------------
    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "move_group drives the arm only; configure a gripper backend",
                            cause="no_gripper")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        """Cancel the goal in flight (MoveIt stops the trajectory); a waiting plan or execute returns."""
        self._cancel.set()
        with self._lock:
            handle = self._handle
        if handle is not None:
            handle.cancel_goal_async()
