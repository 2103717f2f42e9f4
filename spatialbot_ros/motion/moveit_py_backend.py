"""MoveIt 2 through moveit_py (Jazzy and newer), in process.

Plan, check, execute: the `ur_manipulator` planning component plans to a tool0 pose or a joint
goal (the pipeline of the PlanRequestParameters namespace) and straight lines with Pilz LIN (there
is no Cartesian-path binding); the plan's RobotTrajectory becomes a JointPlan for the safety gate
and only a checked plan is executed. MoveItPy.execute returns an ExecutionStatus that is checked: a
failed or preempted execution is ABORTED. stop() stops the trajectory execution manager.

Bindings as in Jazzy: PlanRequestParameters(moveit_py, namespace) loads
`<namespace>.plan_request_params.*` (scaling defaults to 1.0 there, so ours are always set), and
execute(robot_trajectory, controllers) blocks until the motion ends.
Needs a MoveIt install (apt ros-$ROS_DISTRO-moveit-py and the UR MoveIt config); imported only when
constructed.
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
from spatialbot_ros.motion.frames import pose_stamped, tcp_pose_from_joints, tool0_goal
from spatialbot_ros.motion.move_group_backend import (
    joint_plan_from_trajectory,
    planning_failure,
    scaling_factor,
)
from spatialbot_ros.motion.planning_scene import CellObstacles, collision_objects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MoveItPyConfig:
    node_name: str = "spatialbot_moveit_py"
    group: str = "ur_manipulator"
    ur_type: str = "ur5"                     # kinematics of current_pose() and the gate's checks
    ee_link: str = "tool0"
    planning_frame: str = "base_link"
    plan_namespace: str = ""                 # PlanRequestParameters namespace for pose/joint goals
    lin_namespace: str = ""                  # ... and for straight lines (pipeline/planner set below)
    lin_pipeline: str = "pilz_industrial_motion_planner"
    lin_planner: str = "LIN"
    velocity_scaling: float = 0.1            # times speed_scale, capped at 1 (never 0: MoveIt reads 0 as 1)
    acceleration_scaling: float = 0.1
    controllers: tuple[str, ...] = ()        # MoveItPy.execute controllers; () = MoveIt's choice
    start_tolerance_rad: float = 0.05
    apply_scene: bool = True

    def __post_init__(self) -> None:
        for name in ("velocity_scaling", "acceleration_scaling"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0.0 < v <= 1.0):
                raise ValueError(f"moveit_py: {name} must be in (0, 1], got {v!r} (0 means full speed to MoveIt)")
        tool0_goal(np.eye(4), 0.0, self.planning_frame)  # raises for an unknown planning frame
        dh_for(self.ur_type)                              # raises for an unknown arm


class MoveItPyBackend:
    """MotionBackend over moveit_py. Arm only: the gripper is a separate backend."""

    name = "moveit_py"
    config_type = MoveItPyConfig   # flat parameters fill it (motion/registry.py)

    def __init__(self, tcp_offset_m: float, config: MoveItPyConfig | None = None,
                 obstacles: CellObstacles | None = None, moveit: Any = None) -> None:
        """`moveit`: an existing MoveItPy instance to share (one per process); else one is made."""
        try:
            from moveit.planning import MoveItPy, PlanRequestParameters
        except ImportError as exc:
            raise MotionBackendUnavailable("moveit_py backend needs MoveIt 2 Python bindings: "
                                           "apt install ros-$ROS_DISTRO-moveit-py (Jazzy or newer)") from exc
        if not math.isfinite(tcp_offset_m) or tcp_offset_m < 0:
            raise ValueError(f"moveit_py: tcp_offset_m must be a finite length >= 0, got {tcp_offset_m!r}")
        self.tcp_offset_m = float(tcp_offset_m)
        self.cfg = config or MoveItPyConfig()
        self.dh = dh_for(self.cfg.ur_type)
        self.obstacles = obstacles or CellObstacles()
        self._robot = moveit if moveit is not None else MoveItPy(node_name=self.cfg.node_name)
        self._arm = self._robot.get_planning_component(self.cfg.group)
        self._params_cls = PlanRequestParameters
        self._stopped = threading.Event()
        self._scene_applied = not self.cfg.apply_scene

    # -- state ----------------------------------------------------------------------------
    def current_joints(self) -> np.ndarray:
        with self._robot.get_planning_scene_monitor().read_only() as scene:
            positions = dict(scene.current_state.joint_positions)
        missing = [j for j in UR_JOINT_NAMES if j not in positions]
        if missing:
            raise RuntimeError(f"MoveIt's current state lacks joints {missing}")
        return np.array([float(positions[j]) for j in UR_JOINT_NAMES])

    def current_pose(self) -> np.ndarray:
        return tcp_pose_from_joints(self.current_joints(), self.tcp_offset_m, self.dh)

    def apply_planning_scene(self) -> None:
        """Add the table and camera mount to MoveIt's world (once; the first plan calls it)."""
        if self._scene_applied:
            return
        monitor = self._robot.get_planning_scene_monitor()
        for obj in collision_objects(self.obstacles, self.cfg.planning_frame):
            monitor.process_collision_object(obj)
        self._scene_applied = True
        log.info("planning scene: added %s", ", ".join(o.name for o in self.obstacles.obstacles))

    # -- planning -------------------------------------------------------------------------
    def _params(self, namespace: str, speed_scale: float, linear: bool) -> Any:
        params = self._params_cls(self._robot, namespace)
        params.max_velocity_scaling_factor = scaling_factor(self.cfg.velocity_scaling, speed_scale)
        params.max_acceleration_scaling_factor = scaling_factor(self.cfg.acceleration_scaling, speed_scale)
        if linear:
            params.planning_pipeline = self.cfg.lin_pipeline
            params.planner_id = self.cfg.lin_planner
        return params

    def _robot_state(self, q: np.ndarray) -> Any:
        from moveit.core.robot_state import RobotState

        state = RobotState(self._robot.get_robot_model())
        state.set_to_default_values()
        state.joint_positions = {name: float(v) for name, v in zip(UR_JOINT_NAMES, np.asarray(q, float), strict=True)}
        state.update()
        return state

    def _set_start(self, q_start: np.ndarray | None) -> np.ndarray:
        """Plan from the current state, or from q_start (a dry run walking a task from its shadow)."""
        if q_start is None:
            try:
                q_now = self.current_joints()
            except RuntimeError as exc:
                raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, str(exc), cause="no_joint_states")) from exc
            self._arm.set_start_state_to_current_state()
            return q_now
        q = np.asarray(q_start, float)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"q_start must be 6 finite values, got {q}",
                                              cause="invalid_command"))
        self._arm.set_start_state(robot_state=self._robot_state(q))
        return q

    def _plan(self, kind: PlanKind, params: Any, target_tcp: np.ndarray | None, speed_scale: float,
              q_now: np.ndarray) -> JointPlan:
        response = self._arm.plan(single_plan_parameters=params)
        if not response:
            code = getattr(response.error_code, "val", response.error_code)
            raise planning_failure(int(code), f"moveit_py found no {kind.value} plan")
        msg = response.trajectory.get_robot_trajectory_msg()
        return joint_plan_from_trajectory(kind, msg.joint_trajectory, q_now, speed_scale, native=response.trajectory,
                                          target_tcp=target_tcp)

    def _plan_pose_goal(self, kind: PlanKind, namespace: str, base_from_tcp: np.ndarray, speed_scale: float,
                        q_start: np.ndarray | None) -> JointPlan:
        self.apply_planning_scene()
        params = self._params(namespace, speed_scale, linear=kind == PlanKind.LINEAR)
        q_now = self._set_start(q_start)
        goal = pose_stamped(tool0_goal(base_from_tcp, self.tcp_offset_m, self.cfg.planning_frame), self.cfg.planning_frame)
        self._arm.set_goal_state(pose_stamped_msg=goal, pose_link=self.cfg.ee_link)
        return self._plan(kind, params, base_from_tcp, speed_scale, q_now)

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0,
                  q_start: np.ndarray | None = None) -> JointPlan:
        return self._plan_pose_goal(PlanKind.POSE, self.cfg.plan_namespace, base_from_tcp, speed_scale, q_start)

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0,
                    q_start: np.ndarray | None = None) -> JointPlan:
        return self._plan_pose_goal(PlanKind.LINEAR, self.cfg.lin_namespace, base_from_tcp, speed_scale, q_start)

    def plan_joints(self, q: np.ndarray, speed_scale: float = 1.0, q_start: np.ndarray | None = None) -> JointPlan:
        self.apply_planning_scene()
        params = self._params(self.cfg.plan_namespace, speed_scale, linear=False)
        q_now = self._set_start(q_start)
        self._arm.set_goal_state(robot_state=self._robot_state(q))
        return self._plan(PlanKind.JOINTS, params, None, speed_scale, q_now)

    # -- execution ------------------------------------------------------------------------
    def execute(self, plan: JointPlan) -> MotionResult:
        if plan.native is None or not hasattr(plan.native, "get_robot_trajectory_msg"):
            return MotionResult(MotionStatus.REFUSED, "plan was not made by moveit_py (no RobotTrajectory)",
                                cause="foreign_plan")
        self._stopped.clear()
        try:
            q_now = self.current_joints()
        except RuntimeError as exc:
            return MotionResult(MotionStatus.NOT_READY, str(exc), cause="no_joint_states")
        offset = float(np.max(np.abs(q_now - plan.q_start)))
        if offset > self.cfg.start_tolerance_rad:
            return MotionResult(MotionStatus.REFUSED, f"the arm is {offset:.3f} rad from the plan's start: replan",
                                cause="stale_plan")
        if self._stopped.is_set():   # stop() came before the motion: send nothing
            return MotionResult(MotionStatus.ABORTED, "stopped", cause="stopped")
        status = self._robot.execute(plan.native, controllers=list(self.cfg.controllers))
        if self._stopped.is_set():
            return MotionResult(MotionStatus.ABORTED, "stopped", cause="stopped")
        if not status:
            text = str(getattr(status, "status", "FAILED"))
            return MotionResult(MotionStatus.ABORTED, f"MoveIt execution ended {text}", cause=text.lower())
        return MotionResult(MotionStatus.SUCCEEDED)

    # -- gripper and stop -----------------------------------------------------------------
    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "moveit_py drives the arm only; configure a gripper backend",
                            cause="no_gripper")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        """Stop the running trajectory (thread-safe in MoveIt; execute() then returns ABORTED)."""
        self._stopped.set()
        self._robot.get_trajectory_execution_manager().stop_execution(True)
