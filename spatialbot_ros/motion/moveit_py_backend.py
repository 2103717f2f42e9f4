"""MoveIt 2 through moveit_py (Jazzy and newer): pose goals on tool0 for the `ur_manipulator`
group, straight-line moves with the Pilz LIN planner. Needs a MoveIt install
(apt ros-$ROS_DISTRO-moveit-py and the UR MoveIt config); imported only when constructed."""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus
from spatialbot_ros.motion.frames import pose_stamped, tcp_pose_from_joints, tool0_goal


class MoveItPyBackend:
    name = "moveit_py"

    def __init__(self, node_name: str = "spatialbot_moveit_py", group: str = "ur_manipulator",
                 planning_frame: str = "base_link", tcp_offset_m: float = 0.15, lin_planner: str = "LIN",
                 lin_pipeline: str = "pilz_industrial_motion_planner") -> None:
        try:
            from moveit.planning import MoveItPy, PlanRequestParameters
        except ImportError as exc:
            raise MotionBackendUnavailable("moveit_py backend needs MoveIt 2 Python bindings: "
                                           "apt install ros-$ROS_DISTRO-moveit-py (Jazzy or newer)") from exc
        self._robot = MoveItPy(node_name=node_name)
        self._arm = self._robot.get_planning_component(group)
        self._params_cls = PlanRequestParameters
        self.planning_frame, self.tcp_offset_m = planning_frame, tcp_offset_m
        self.lin_planner, self.lin_pipeline = lin_planner, lin_pipeline

    def _plan_and_execute(self, base_from_tcp: np.ndarray, linear: bool, speed_scale: float) -> MotionResult:
        goal = pose_stamped(tool0_goal(base_from_tcp, self.tcp_offset_m, self.planning_frame), self.planning_frame)
        self._arm.set_start_state_to_current_state()
        self._arm.set_goal_state(pose_stamped_msg=goal, pose_link="tool0")
        params = self._params_cls(self._robot)
        params.max_velocity_scaling_factor = float(speed_scale)
        params.max_acceleration_scaling_factor = float(speed_scale)
        if linear:
            params.planning_pipeline = self.lin_pipeline
            params.planner_id = self.lin_planner
        plan = self._arm.plan(single_plan_parameters=params)
        if not plan:
            return MotionResult(MotionStatus.UNREACHABLE, "MoveIt found no plan")
        self._robot.execute(plan.trajectory, controllers=[])
        return MotionResult(MotionStatus.SUCCEEDED)

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._plan_and_execute(base_from_tcp, False, speed_scale)

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._plan_and_execute(base_from_tcp, True, speed_scale)

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        from moveit.core.robot_state import RobotState

        state = RobotState(self._robot.get_robot_model())
        state.set_joint_group_positions("ur_manipulator", np.asarray(q, float))
        self._arm.set_start_state_to_current_state()
        self._arm.set_goal_state(robot_state=state)
        plan = self._arm.plan()
        if not plan:
            return MotionResult(MotionStatus.UNREACHABLE, "MoveIt found no plan")
        self._robot.execute(plan.trajectory, controllers=[])
        return MotionResult(MotionStatus.SUCCEEDED)

    def current_joints(self) -> np.ndarray:
        with self._robot.get_planning_scene_monitor().read_only() as scene:
            return np.asarray(scene.current_state.get_joint_group_positions("ur_manipulator"))

    def current_pose(self) -> np.ndarray:

        return tcp_pose_from_joints(self.current_joints(), self.tcp_offset_m)

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "moveit_py drives the arm only; configure a gripper backend")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        self._robot.get_trajectory_execution_manager().stop_execution(True)
