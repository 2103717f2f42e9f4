"""MoveIt 2 through move_group's ROS interfaces, for distros without moveit_py: /move_action
(MoveGroup) for pose goals, /compute_cartesian_path + /execute_trajectory for straight lines.
Needs moveit_msgs (apt ros-$ROS_DISTRO-moveit-msgs); imported only when constructed."""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus
from spatialbot_ros.motion.frames import joints_from_state, pose_stamped, tcp_pose_from_joints, tool0_goal


class MoveGroupBackend:
    name = "move_group"

    def __init__(self, node: object, group: str = "ur_manipulator", planning_frame: str = "base_link",
                 tcp_offset_m: float = 0.15, move_action: str = "/move_action",
                 cartesian_service: str = "/compute_cartesian_path", execute_action: str = "/execute_trajectory",
                 timeout_s: float = 30.0) -> None:
        try:
            from moveit_msgs.action import ExecuteTrajectory, MoveGroup
            from moveit_msgs.srv import GetCartesianPath
        except ImportError as exc:
            raise MotionBackendUnavailable("move_group backend needs moveit_msgs: "
                                           "apt install ros-$ROS_DISTRO-moveit-msgs") from exc
        from rclpy.action import ActionClient

        self.node, self.group, self.planning_frame = node, group, planning_frame
        self.tcp_offset_m, self.timeout_s = tcp_offset_m, timeout_s
        self._move = ActionClient(node, MoveGroup, move_action)
        self._exec = ActionClient(node, ExecuteTrajectory, execute_action)
        self._cart = node.create_client(GetCartesianPath, cartesian_service)  # type: ignore[attr-defined]
        self._q: np.ndarray | None = None
        self._handle: object | None = None
        from sensor_msgs.msg import JointState

        node.create_subscription(JointState, "/joint_states", self._on_joints, 10)  # type: ignore[attr-defined]

    def _on_joints(self, msg: object) -> None:
        from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

        q = joints_from_state(msg, UR_JOINT_NAMES)
        if q is not None:
            self._q = q

    def _spin(self, future: object) -> object:
        import rclpy

        rclpy.spin_until_future_complete(self.node, future, timeout_sec=self.timeout_s)
        result = future.result()  # type: ignore[attr-defined]
        if hasattr(result, "cancel_goal_async"):
            self._handle = result
        return result

    def _run_goal(self, client: object, goal: object, what: str, fail: MotionStatus) -> MotionResult:
        """Send an action goal and wait; MoveIt's error code 1 is SUCCESS."""
        handle = self._spin(client.send_goal_async(goal))  # type: ignore[attr-defined]
        if handle is None or not handle.accepted:  # type: ignore[attr-defined]
            return MotionResult(MotionStatus.ABORTED, f"{what} rejected the goal")
        res = self._spin(handle.get_result_async())  # type: ignore[attr-defined]
        code = res.result.error_code.val if res is not None else -1  # type: ignore[attr-defined]
        return MotionResult(MotionStatus.SUCCEEDED if code == 1 else fail, f"MoveItErrorCode {code}")

    def _pose_constraints(self, goal: object) -> object:
        from moveit_msgs.msg import Constraints, OrientationConstraint, PositionConstraint
        from shape_msgs.msg import SolidPrimitive

        c = Constraints()
        pc = PositionConstraint(header=goal.header, link_name="tool0")  # type: ignore[attr-defined]
        pc.constraint_region.primitives.append(SolidPrimitive(type=SolidPrimitive.SPHERE, dimensions=[0.001]))
        pc.constraint_region.primitive_poses.append(goal.pose)  # type: ignore[attr-defined]
        pc.weight = 1.0
        oc = OrientationConstraint(header=goal.header, link_name="tool0", orientation=goal.pose.orientation,  # type: ignore[attr-defined]
                                   absolute_x_axis_tolerance=0.01, absolute_y_axis_tolerance=0.01,
                                   absolute_z_axis_tolerance=0.01, weight=1.0)
        c.position_constraints.append(pc)
        c.orientation_constraints.append(oc)
        return c

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        from moveit_msgs.action import MoveGroup

        goal_pose = pose_stamped(tool0_goal(base_from_tcp, self.tcp_offset_m, self.planning_frame), self.planning_frame)
        goal = MoveGroup.Goal()
        goal.request.group_name = self.group
        goal.request.max_velocity_scaling_factor = float(speed_scale)
        goal.request.max_acceleration_scaling_factor = float(speed_scale)
        goal.request.goal_constraints.append(self._pose_constraints(goal_pose))
        return self._run_goal(self._move, goal, "move_group", MotionStatus.UNREACHABLE)

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        from moveit_msgs.action import ExecuteTrajectory
        from moveit_msgs.srv import GetCartesianPath

        goal_pose = pose_stamped(tool0_goal(base_from_tcp, self.tcp_offset_m, self.planning_frame), self.planning_frame)
        req = GetCartesianPath.Request(group_name=self.group, link_name="tool0", max_step=0.005, avoid_collisions=True)
        req.header.frame_id = self.planning_frame
        req.waypoints.append(goal_pose.pose)  # type: ignore[attr-defined]
        res = self._spin(self._cart.call_async(req))
        if res is None or res.fraction < 0.999:  # type: ignore[attr-defined]
            frac = getattr(res, "fraction", 0.0)
            return MotionResult(MotionStatus.UNREACHABLE, f"Cartesian path covers {frac:.0%} of the line")
        goal = ExecuteTrajectory.Goal(trajectory=res.solution)  # type: ignore[attr-defined]
        return self._run_goal(self._exec, goal, "execute_trajectory", MotionStatus.ABORTED)

    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        from moveit_msgs.action import MoveGroup
        from moveit_msgs.msg import Constraints, JointConstraint

        from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

        goal = MoveGroup.Goal()
        goal.request.group_name = self.group
        goal.request.max_velocity_scaling_factor = float(speed_scale)
        c = Constraints()
        for name, value in zip(UR_JOINT_NAMES, np.asarray(q, float), strict=True):
            c.joint_constraints.append(JointConstraint(joint_name=name, position=float(value), tolerance_above=1e-3,
                                                       tolerance_below=1e-3, weight=1.0))
        goal.request.goal_constraints.append(c)
        return self._run_goal(self._move, goal, "move_group", MotionStatus.UNREACHABLE)

    def current_joints(self) -> np.ndarray:
        if self._q is None:
            raise RuntimeError("no /joint_states received yet")
        return self._q.copy()

    def current_pose(self) -> np.ndarray:

        return tcp_pose_from_joints(self.current_joints(), self.tcp_offset_m)

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "move_group drives the arm only; configure a gripper backend")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        """Cancel the goal in flight (MoveIt stops the trajectory)."""
        if self._handle is not None:
            self._handle.cancel_goal_async()  # type: ignore[attr-defined]
            self._handle = None
