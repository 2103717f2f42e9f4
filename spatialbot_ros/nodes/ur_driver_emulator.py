"""ur_driver_emulator: the MuJoCo cell on ROS as a real UR5 cell speaks (ur_robot_driver Jazzy +
Robotiq ROS 2 driver + realsense-ros), so the pick_place node can be tested against it over DDS.
The controller behaviour lives in sim/ur_driver_emulator.py; this node converts messages."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

from control_msgs.action import FollowJointTrajectory, GripperCommand, ParallelGripperCommand
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_system_default,
)
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float64, String
from trajectory_msgs.msg import JointTrajectoryPoint

from spatialbot_ros.core.robotiq import KNUCKLE_JOINT
from spatialbot_ros.nodes.conversions import rgbd_to_msgs, s_to_stamp, stamp_to_s
from spatialbot_ros.nodes.runner import run_node, spin_multithreaded
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.scene import default_scene_path, load_scene
from spatialbot_ros.sim.ur_driver_emulator import (
    EmulatorConfig,
    GoalState,
    JointTolerance,
    Tolerances,
    TrajectoryExecution,
    TrajectoryGoal,
    TrajectoryPoint,
    UrDriverEmulator,
)

PARAMS = {
    "scene_file": ("", "scene YAML/JSON; empty = the package's scenes/default.yaml"),
    "controller_name": ("scaled_joint_trajectory_controller", "serves /<controller_name>/follow_joint_trajectory"),
    "joint_states_topic": ("/joint_states", "arm joints + robotiq_85_left_knuckle_joint (joint_state_broadcaster)"),
    "speed_scaling_topic": ("/speed_scaling_state_broadcaster/speed_scaling", "std_msgs/Float64, percent (0..100)"),
    "program_running_topic": ("/io_and_status_controller/robot_program_running", "std_msgs/Bool, latched"),
    "gripper_action": ("/robotiq_gripper_controller/gripper_cmd", "Robotiq 2F-85 gripper action"),
    "gripper_action_type": ("gripper_command", "gripper_command (control_msgs/GripperCommand, "
                            "gripper_action_controller) or parallel_gripper_command (ParallelGripperCommand)"),
    "color_topic": ("/camera/camera/color/image_raw", "colour image (rgb8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1, mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info"),
    "aligned_depth_info_topic": ("/camera/camera/aligned_depth_to_color/camera_info",
                                 "aligned depth camera info (the colour intrinsics, as realsense-ros publishes it)"),
    "ground_truth_topic": ("/sim/ground_truth", "JSON object positions for scoring (never used for acting)"),
    "physics_rate_hz": (100.0, "physics loop and joint state / speed scaling publish rate; physics follows wall time"),
    "camera_rate_hz": (10.0, "rendering rate of the simulated camera"),
    "speed_scaling": (1.0, "runtime: teach-pendant speed slider, 0..1 (scaled JTC time runs this fast)"),
    "program_running": (True, "runtime: the External Control program runs; false deactivates the trajectory controller"),
    "camera_enabled": (True, "runtime: false stops the camera frames (fault injection: camera unplugged)"),
    "remove_object": ("", "runtime: knock this scene object out of the cell (fault injection: a grasp finds nothing)"),
    "invalid_goal_response": ("reject", "runtime: reject (JTC) or abort (accept, end with INVALID_JOINTS / INVALID_GOAL)"),
    "path_tolerance_rad": (0.2, "default trajectory (path) position tolerance per joint"),
    "goal_tolerance_rad": (0.1, "default goal position tolerance per joint"),
    "stopped_velocity_tolerance": (0.2, "default goal velocity tolerance, rad/s"),
    "goal_time_s": (0.0, "default goal_time_tolerance; 0 waits for the goal tolerance indefinitely"),
    "gripper_goal_tolerance": (0.01, "knuckle error (rad) that counts as reached"),
    "gripper_allow_stalling": (False, "a stall ends the gripper goal succeeded instead of aborted"),
    "gripper_stall_timeout_s": (1.0, "knuckle still this long short of the goal = stalled"),
    "gripper_stall_velocity_threshold": (0.001, "knuckle speed (rad/s) below which it counts as still"),
    "action_monitor_rate_hz": (20.0, "feedback / result polling rate of the action servers"),
}
LATCHED = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
CAMERA_INFO_QOS = QoSProfile(depth=10)  # realsense-ros "DEFAULT" for camera_info
_GOAL_TO_STATE = {GoalState.SUCCEEDED: "succeed", GoalState.ABORTED: "abort", GoalState.CANCELED: "canceled"}


def _duration_s(d: object) -> float:
    return float(d.sec) + float(d.nanosec) * 1e-9  # type: ignore[attr-defined]


def trajectory_goal_from_msg(goal: FollowJointTrajectory.Goal) -> TrajectoryGoal:
    traj = goal.trajectory
    points = tuple(TrajectoryPoint(_duration_s(p.time_from_start), tuple(p.positions), tuple(p.velocities),
                                   tuple(p.accelerations), tuple(p.effort)) for p in traj.points)

    def tols(entries: list) -> tuple[JointTolerance, ...]:
        return tuple(JointTolerance(t.name, t.position, t.velocity, t.acceleration) for t in entries)

    return TrajectoryGoal(tuple(traj.joint_names), points, stamp_to_s(traj.header.stamp),
                          tols(goal.path_tolerance), tols(goal.goal_tolerance), _duration_s(goal.goal_time_tolerance))


class UrDriverEmulatorNode(Node):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("ur_driver_emulator", **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        self._p = p
        if p["gripper_action_type"] not in ("gripper_command", "parallel_gripper_command"):
            raise ValueError(f"gripper_action_type must be gripper_command or parallel_gripper_command, "
                             f"got {p['gripper_action_type']!r}")
        for rate in ("physics_rate_hz", "camera_rate_hz", "action_monitor_rate_hz"):
            if not 0.1 <= float(p[rate]) <= 1000.0:
                raise ValueError(f"parameter {rate} must be in [0.1, 1000], got {p[rate]}")
        scene = load_scene(Path(p["scene_file"]) if p["scene_file"] else default_scene_path())
        cell_config = CellConfig.from_scene(scene)
        cell = Ur5Cell(scene.objects, cell_config)
        cell.reset()
        config = EmulatorConfig(
            tolerances=Tolerances.defaults(p["path_tolerance_rad"], p["goal_tolerance_rad"],
                                           p["stopped_velocity_tolerance"], p["goal_time_s"]),
            invalid_goal_response=p["invalid_goal_response"], gripper_goal_tolerance=p["gripper_goal_tolerance"],
            gripper_allow_stalling=p["gripper_allow_stalling"], gripper_stall_timeout_s=p["gripper_stall_timeout_s"],
            gripper_stall_velocity_threshold=p["gripper_stall_velocity_threshold"])
        self.emulator = UrDriverEmulator(cell, config, render_twin=Ur5Cell(scene.objects, cell_config))
        self.emulator.speed_scaling = float(p["speed_scaling"])
        self.emulator.set_program_running(bool(p["program_running"]))
        self.camera_enabled = bool(p["camera_enabled"])

        self._pub_joints = self.create_publisher(JointState, p["joint_states_topic"], qos_profile_system_default)
        self._pub_scaling = self.create_publisher(Float64, p["speed_scaling_topic"], qos_profile_system_default)
        self._pub_program = self.create_publisher(Bool, p["program_running_topic"], LATCHED)
        self._pub_color = self.create_publisher(Image, p["color_topic"], qos_profile_system_default)
        self._pub_depth = self.create_publisher(Image, p["depth_topic"], qos_profile_system_default)
        self._pub_info = self.create_publisher(CameraInfo, p["info_topic"], CAMERA_INFO_QOS)
        self._pub_depth_info = self.create_publisher(CameraInfo, p["aligned_depth_info_topic"], CAMERA_INFO_QOS)
        self._pub_truth = self.create_publisher(String, p["ground_truth_topic"], 10)
        self._pub_program.publish(Bool(data=self.emulator.program_running))
        self.add_on_set_parameters_callback(self._on_parameters)

        group = ReentrantCallbackGroup()
        self._executions: dict[bytes, object] = {}
        self._cancel_requested: set[bytes] = set()
        self._traj_server = ActionServer(
            self, FollowJointTrajectory, f"/{p['controller_name']}/follow_joint_trajectory",
            execute_callback=self._execute_trajectory, goal_callback=self._on_trajectory_goal,
            cancel_callback=self._on_cancel, callback_group=group)
        gripper_type = ParallelGripperCommand if p["gripper_action_type"] == "parallel_gripper_command" else GripperCommand
        self._gripper_server = ActionServer(
            self, gripper_type, p["gripper_action"], execute_callback=self._execute_gripper,
            goal_callback=self._on_gripper_goal, cancel_callback=self._on_cancel, callback_group=group)

        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self.emulator.run, args=(float(p["physics_rate_hz"]), self._stop, self._publish_state),
                             name="ur_emulator_physics", daemon=True),
            threading.Thread(target=self._camera_loop, name="ur_emulator_camera", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- parameters -------------------------------------------------------------------------
    def _on_parameters(self, params: list) -> SetParametersResult:
        for prm in params:
            try:
                if prm.name == "speed_scaling":
                    self.emulator.speed_scaling = float(prm.value)
                elif prm.name == "program_running":
                    if not isinstance(prm.value, bool):
                        raise ValueError("program_running must be a bool")
                    self.emulator.set_program_running(prm.value)
                    self._pub_program.publish(Bool(data=prm.value))
                elif prm.name == "invalid_goal_response":
                    if prm.value not in ("reject", "abort"):
                        raise ValueError("invalid_goal_response must be reject or abort")
                    self.emulator.config.invalid_goal_response = prm.value
                elif prm.name == "remove_object":
                    if prm.value:
                        self.emulator.remove_object(str(prm.value))
                elif prm.name == "camera_enabled":
                    if not isinstance(prm.value, bool):
                        raise ValueError("camera_enabled must be a bool")
                    self.camera_enabled = prm.value
            except (TypeError, ValueError) as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    # -- publishers (physics and camera threads) --------------------------------------------
    def _publish_state(self) -> None:
        if not self.context.ok():  # shutting down (Ctrl-C shuts the context before destroy_node)
            return
        snap = self.emulator.joint_snapshot()
        js = JointState(name=list(snap.names), position=list(snap.positions), velocity=list(snap.velocities))
        js.header.stamp = s_to_stamp(snap.stamp_s)
        self._pub_joints.publish(js)
        self._pub_scaling.publish(Float64(data=self.emulator.speed_scaling * 100.0))

    def _camera_loop(self) -> None:
        period = 1.0 / float(self._p["camera_rate_hz"])
        try:
            self._publish_frames(period)
        finally:
            self.emulator.close_rendering()

    def _publish_frames(self, period: float) -> None:
        while not self._stop.wait(period) and self.context.ok():
            try:
                self._pub_truth.publish(String(data=json.dumps(self.emulator.ground_truth())))
                if self.camera_enabled:
                    color, depth, info = rgbd_to_msgs(self.emulator.render_rgbd())  # one stamp per frameset
                    self._pub_color.publish(color)
                    self._pub_depth.publish(depth)
                    self._pub_info.publish(info)
                    self._pub_depth_info.publish(info)
            except Exception as exc:  # a lagging reliable subscriber must not end the camera
                self.get_logger().warning(f"camera frame not published: {exc}", throttle_duration_sec=5.0)

    # -- actions ----------------------------------------------------------------------------
    def _on_trajectory_goal(self, goal: FollowJointTrajectory.Goal) -> GoalResponse:
        reason = self.emulator.admit_trajectory(trajectory_goal_from_msg(goal))
        if reason:
            self.get_logger().error(f"trajectory goal rejected: {reason}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_gripper_goal(self, goal: object) -> GoalResponse:
        if isinstance(goal, ParallelGripperCommand.Goal) and len(goal.command.position) != 1:
            self.get_logger().error(f"gripper goal rejected: expects 1 position, got {len(goal.command.position)}")
            return GoalResponse.REJECT
        position = goal.command.position[0] if isinstance(goal, ParallelGripperCommand.Goal) else goal.command.position  # type: ignore[attr-defined]
        if not math.isfinite(position):  # refused here, not raised later in the execute callback
            self.get_logger().error(f"gripper goal rejected: position {position} is not finite")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle: object) -> CancelResponse:
        key = bytes(goal_handle.goal_id.uuid)  # type: ignore[attr-defined]
        ex = self._executions.get(key)
        if ex is not None:
            self._cancel_requested.add(key)
            cancel = (self.emulator.cancel_trajectory if isinstance(ex, TrajectoryExecution)
                      else self.emulator.cancel_gripper)
            cancel(ex)  # holds at once; the execute callback then ends the goal canceled
        return CancelResponse.ACCEPT

    def _wait(self, goal_handle: object, ex: object, on_feedback: object = None) -> None:
        key = bytes(goal_handle.goal_id.uuid)  # type: ignore[attr-defined]
        self._executions[key] = ex
        period = 1.0 / float(self._p["action_monitor_rate_hz"])
        try:
            while not ex.done.wait(period):  # type: ignore[attr-defined]
                if on_feedback is not None:
                    on_feedback()
        finally:
            self._executions.pop(key, None)
        if ex.state is GoalState.CANCELED:  # type: ignore[attr-defined]
            if key not in self._cancel_requested:  # a gripper goal preempted by the next one
                goal_handle.abort()  # type: ignore[attr-defined]
                return
            self._cancel_requested.discard(key)
            end = time.monotonic() + 2.0  # rclpy moves the goal to CANCELING right after _on_cancel
            while not goal_handle.is_cancel_requested and time.monotonic() < end:  # type: ignore[attr-defined]
                time.sleep(0.002)
        getattr(goal_handle, _GOAL_TO_STATE[ex.state])()  # type: ignore[attr-defined]

    def _execute_trajectory(self, goal_handle: object) -> FollowJointTrajectory.Result:
        ex = self.emulator.start_trajectory(trajectory_goal_from_msg(goal_handle.request))  # type: ignore[attr-defined]

        def feedback() -> None:
            fb = ex.feedback
            if fb is None:
                return
            msg = FollowJointTrajectory.Feedback(joint_names=list(self.emulator.config.joints))
            msg.header.stamp = s_to_stamp(fb.stamp_s)
            msg.desired = JointTrajectoryPoint(positions=fb.desired[0].tolist(), velocities=fb.desired[1].tolist(),
                                               accelerations=fb.desired[2].tolist())
            msg.actual = JointTrajectoryPoint(positions=fb.actual[0].tolist(), velocities=fb.actual[1].tolist())
            msg.error = JointTrajectoryPoint(positions=fb.error[0].tolist(), velocities=fb.error[1].tolist())
            goal_handle.publish_feedback(msg)  # type: ignore[attr-defined]

        self._wait(goal_handle, ex, feedback)
        if ex.state is GoalState.CANCELED:
            return FollowJointTrajectory.Result()  # JTC answers a cancel with an empty result
        return FollowJointTrajectory.Result(error_code=int(ex.code), error_string=ex.message)

    def _execute_gripper(self, goal_handle: object) -> object:
        goal = goal_handle.request  # type: ignore[attr-defined]
        if isinstance(goal, ParallelGripperCommand.Goal):
            effort = goal.command.effort[0] if len(goal.command.effort) else 0.0
            ex = self.emulator.submit_gripper(float(goal.command.position[0]), float(effort))
        else:
            ex = self.emulator.submit_gripper(float(goal.command.position), float(goal.command.max_effort))
        self._wait(goal_handle, ex)
        if isinstance(goal, ParallelGripperCommand.Goal):
            state = JointState(name=[KNUCKLE_JOINT], position=[ex.position_rad], effort=[ex.effort])
            return ParallelGripperCommand.Result(state=state, stalled=ex.stalled, reached_goal=ex.reached_goal)
        return GripperCommand.Result(position=ex.position_rad, effort=ex.effort, stalled=ex.stalled,
                                     reached_goal=ex.reached_goal)

    def destroy_node(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        for server in (self._traj_server, self._gripper_server):
            server.destroy()  # rclpy's destroy_node leaves action servers discoverable
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(UrDriverEmulatorNode, args, spin=lambda node: spin_multithreaded(node, threads=6))


if __name__ == "__main__":
    main()
