"""pick_place: the executive as a node, on the real cell and in simulation alike.

Motion goes through ONE path assembled from parameters (motion/assembly.py): the arm backend
(`motion_backend`), the gripper backend (`gripper_backend`) and the SafeMotion gate in front of both,
in dry-run until a person arms it through `arm_service` (std_srvs/SetBool). The e-stop bridge, the
camera and joint-state watchdogs and the cancel path all stop the motion in progress. Goals arrive
as the spatialbot_interfaces/PickPlace action (when built) and on a JSON topic. Conversion and
wiring only: the state machine is spatialbot_ros.executive, the checks are core.safety.

The camera extrinsics come from the calibration file: base_from_camera for a camera fixed in the
cell (eye_to_hand), tool0_from_camera for a wrist camera (eye_in_hand), whose pose for each frame is
composed from the joint states at that frame's stamp (core.hand_eye.JointHistory)."""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from spatialbot_ros.callback_guard import guarded, loggable
from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.frame_sync import ApproximateTimeSync
from spatialbot_ros.core.hand_eye import JointHistory, wrist_camera_pose
from spatialbot_ros.core.kinematics import arm_kinematics
from spatialbot_ros.core.safety import EStop, SafetyChecker, Watchdog
from spatialbot_ros.core.task import FailureReason
from spatialbot_ros.core.transforms import extrinsic_from_params, make_pose
from spatialbot_ros.executive.pick_place import ExecutiveConfig, PickPlaceExecutive, StepRecord
from spatialbot_ros.motion.assembly import build_cell_motion, motion_settings
from spatialbot_ros.motion.base import JointPlan
from spatialbot_ros.motion.frames import joints_from_state
from spatialbot_ros.nodes import pick_place_params as params
from spatialbot_ros.nodes.conversions import msgs_to_rgbd, stamp_to_s
from spatialbot_ros.nodes.estop_bridge import COMMAND_QOS, LATCHED_QOS, EStopNode
from spatialbot_ros.nodes.motion_preview import plan_to_markers, plan_to_trajectory
from spatialbot_ros.nodes.pick_place_action import PickPlaceActionServer, goal_from_json, step_detail
from spatialbot_ros.nodes.runner import run_node, spin_multithreaded
from spatialbot_ros.nodes.tf_extrinsics import TfExtrinsics
from spatialbot_ros.nodes.tf_publisher import TfPublisher
from spatialbot_ros.nodes.typed_interfaces import interfaces_available, policy_step_to_msg
from spatialbot_ros.policy.registry import make_policy_from_params

PARAMS = params.PARAMS


class PickPlaceNode(Node):
    def __init__(self, node_name: str = "pick_place", defaults: Mapping[str, Any] | None = None,
                 **kwargs: object) -> None:
        """defaults: other default values for some parameters (a node built on this one, e.g. teleop_collect)."""
        super().__init__(node_name, **kwargs)
        p = params.declare(self, defaults)
        self.validate_start(p)
        self.add_on_set_parameters_callback(params.on_set_parameters)
        self.p = p
        self.base_frame = str(p["base_frame"])
        # parent_frame -> camera: base_from_camera (eye_to_hand) or tool0_from_camera (eye_in_hand)
        self._extrinsics = extrinsic_from_params(p["camera_extrinsics.xyz"], p["camera_extrinsics.quat_xyzw"])
        self._eye_in_hand = p["calibration.mode"] == "eye_in_hand"
        self._joint_history = JointHistory()
        self._frame_camera_pose: Any = None  # eye_in_hand: base_from_camera of the frame last handed out
        self.policy = make_policy_from_params(str(p["policy"]), str(p["model_dir"]), str(p["backend_config"]))
        self.checker = SafetyChecker(params.safety_limits(p))
        self.estop = EStop()
        safety_group = MutuallyExclusiveCallbackGroup()  # arming and cancel never wait behind a goal
        self.watchdogs = {"camera": Watchdog(float(p["frame_timeout_s"])),
                          "joint_states": Watchdog(float(p["joint_states_timeout_s"]))}
        self._arm = arm_kinematics(str(p["arm_model"] or p["ur_type"]))
        self._pub_preview = self.create_publisher(JointTrajectory, p["preview_topic"], 10)
        self._pub_preview_markers = self.create_publisher(MarkerArray, p["preview_markers_topic"], 10)
        self.motion = build_cell_motion(self, motion_settings(p), self.checker, self.estop, self.watchdogs,
                                        preview=self._publish_preview)
        self._operator, self._shared, self._recorder = self._teleop_collection(p)
        # the e-stop has a node and an executor thread of its own: it never queues behind the joint-state
        # and camera callbacks (hundreds a second) that this node's executor serves. Started after the
        # refusals above, so a node that refuses to start leaves no thread and no node behind.
        self._estop_node = EStopNode(self, self.estop, str(p["estop_topic"]), str(p["estop_state_topic"]),
                                     str(p["reset_estop_service"]))
        self._pub_armed = self.create_publisher(Bool, p["armed_state_topic"], LATCHED_QOS)
        self.create_service(SetBool, p["arm_service"], guarded(self, self._on_arm, lambda _q, res: res),
                            callback_group=safety_group)
        self.estop.add_listener(lambda _reason: self._publish_armed())
        self._publish_armed()

        self._sync = ApproximateTimeSync(slop_s=float(p["sync_slop_s"]))
        self._latest: tuple | None = None
        self._lock = threading.Lock()
        sensors = ReentrantCallbackGroup()
        for stream, topic, kind in (("color", "color_topic", Image), ("depth", "depth_topic", Image),
                                    ("info", "info_topic", CameraInfo)):
            self.create_subscription(kind, p[topic], guarded(self, lambda m, s=stream: self._on_camera(s, m)),
                                     qos_profile_sensor_data, callback_group=sensors)
        self.create_subscription(JointState, p["joint_states_topic"], guarded(self, self._on_joint_state), 10,
                                 callback_group=sensors)
        self.create_subscription(String, p["goal_topic"], guarded(self, self._on_goal), COMMAND_QOS)
        self.create_subscription(String, p["cancel_topic"], guarded(self, self._on_cancel), COMMAND_QOS,
                                 callback_group=safety_group)
        self._pub_feedback = self.create_publisher(String, p["feedback_topic"], 10)
        self._pub_result = self.create_publisher(String, p["result_topic"], 10)
        self._tf = TfPublisher(self)
        self._tf_extrinsics = (TfExtrinsics(self, str(p["camera_extrinsics.parent_frame"]),
                                            str(p["camera_extrinsics.child_frame"])) if p["extrinsics_from_tf"] else None)
        if p["publish_camera_tf"]:
            self._tf.publish_static([(str(p["camera_extrinsics.parent_frame"]), str(p["camera_extrinsics.child_frame"]),
                                      self._extrinsics)])
        self._executive: PickPlaceExecutive | None = None
        self._goal_id = ""
        self._busy = threading.Lock()
        self._action = self._pub_step = None
        if interfaces_available():
            from spatialbot_interfaces.msg import PolicyStep

            self._action = PickPlaceActionServer(self, str(p["action_name"]), self)
            self._pub_step = self.create_publisher(PolicyStep, p["policy_step_topic"], 10)
        mode = "dry-run until armed" if p["real_hardware"] else "simulation (no arming needed)"
        self.get_logger().info(f"{node_name} ready: motion {self.motion.name}, {mode}, policy {p['policy']}")

    def validate_start(self, p: dict[str, Any]) -> None:
        """Refuse to start on parameters that cannot work (ValueError naming the parameter)."""
        params.validate_start(p)

    def _teleop_collection(self, p: dict[str, Any]) -> tuple[Any, Any, Any]:
        """Shared autonomy (Twist/Joy take over goals) and recording of goals, when configured."""
        operator = shared = recorder = None
        if p["teleop.enabled"]:
            from spatialbot_ros.core.teleop import TeleopFrame
            from spatialbot_ros.executive.shared_autonomy import SharedAutonomyConfig, TeleopOperator
            from spatialbot_ros.teleop.ros_topics import TeleopSubscriptions

            cfg = params.teleop_config(p)
            subs = TeleopSubscriptions(self, cfg, TeleopFrame(p["teleop.frame"]), str(p["teleop.twist_topic"]),
                                       str(p["teleop.twist_stamped_topic"]), str(p["teleop.joy_topic"]))
            operator = TeleopOperator(subs, "ros", "ros-topics", float(p["teleop.hand_back_idle_s"]))
            shared = SharedAutonomyConfig(teleop=cfg)
        if p["collect.dir"]:
            from spatialbot_ros.learn.collect import GateView, GoalRecorder

            recorder = GoalRecorder(Path(str(p["collect.dir"])), GateView(self, self.motion),
                                    "ros" if operator is not None else "none",
                                    "ros-topics" if operator is not None else "none", str(p["policy"]),
                                    rosbag=bool(p["collect.rosbag"]))
        return operator, shared, recorder

    # -- arming and previews ----------------------------------------------------------------
    def _on_arm(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        want = bool(request.data)
        if want and self.estop.engaged:
            response.success, response.message = False, "refused: the e-stop is engaged (reset it first)"
        else:
            self.motion.arm(want)
            response.success = True
            response.message = "armed: motions are sent to the robot" if want else "disarmed: dry-run"
        # one call site per severity: rclpy raises when a log call site changes severity
        if want:
            self.get_logger().warning(f"arm request true: {response.message}")
        else:
            self.get_logger().info(f"arm request false: {response.message}")
        self._publish_armed()
        return response

    def _publish_armed(self) -> None:
        self._pub_armed.publish(Bool(data=bool(self.motion.armed)))

    def _publish_preview(self, plan: JointPlan, dry_run: bool = True) -> None:
        stamp = self.get_clock().now().to_msg()
        self._pub_preview.publish(plan_to_trajectory(plan, self.base_frame, stamp, self._arm.joint_names))
        self._pub_preview_markers.publish(plan_to_markers(plan, self._arm, float(self.p["tcp_offset_m"]),
                                                          self.base_frame, stamp, dry_run))

    def destroy_node(self) -> None:
        if self._action is not None:
            self._action.destroy()
        self._estop_node.close()
        super().destroy_node()

    def safe_stop(self) -> None:
        """Called by the runner on the way out: stop the arm."""
        self.motion.stop()

    # -- sensors: the FrameSource for the executive, and the watchdogs ------------------------
    def _on_camera(self, stream: str, msg: Any) -> None:
        triple = self._sync.add(stream, stamp_to_s(msg.header.stamp), msg)
        if triple is not None:
            with self._lock:
                self._latest = (triple["color"], triple["depth"], triple["info"])
            self.watchdogs["camera"].feed()

    def _on_joint_state(self, msg: JointState) -> None:
        q = joints_from_state(msg, self._arm.joint_names)
        if q is not None:
            self.watchdogs["joint_states"].feed()
            if self._eye_in_hand:
                with self._lock:
                    self._joint_history.add(stamp_to_s(msg.header.stamp), q)

    @property
    def base_from_camera(self) -> Any:
        """The camera pose in the base frame that goes with the frame last handed out: the calibrated
        extrinsics for a fixed camera; for a wrist camera, composed from the joints at that frame's
        stamp (before any frame: at the newest joint state)."""
        if not self._eye_in_hand:
            return self._extrinsics
        with self._lock:
            pose, latest = self._frame_camera_pose, self._joint_history.latest()
        if pose is not None:
            return pose
        if latest is None:
            raise FrameError("eye_in_hand: no joint states yet, so no camera pose")
        return wrist_camera_pose(latest[1], self._extrinsics, self._arm)

    def latest_frame(self) -> RGBDFrame:
        with self._lock:
            latest = self._latest
        if latest is None:
            raise FrameError("no camera frame received yet")
        frame = msgs_to_rgbd(*latest)
        if self._eye_in_hand:
            with self._lock:
                q = self._joint_history.at(frame.stamp_s)
            if q is None:
                raise FrameError(f"eye_in_hand: no joint state around the frame's stamp {frame.stamp_s:.3f} s, so "
                                 "no camera pose for it (joint states and camera on one clock?)")
            pose = wrist_camera_pose(q, self._extrinsics, self._arm)
            with self._lock:
                self._frame_camera_pose = pose
        return frame

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # -- goals --------------------------------------------------------------------------------
    def _on_goal(self, msg: String) -> None:
        goal_id, instruction, pick_only = goal_from_json(msg.data)
        goal_id = goal_id or uuid.uuid4().hex[:8]
        busy = self.start_goal(goal_id, instruction, pick_only, lambda rec: self._feedback(goal_id, rec),
                               self._publish_result)
        if busy:
            self._publish_result({"id": goal_id, "succeeded": False, "failure_reason": FailureReason.REJECTED.value,
                                  "message": busy})

    def _on_cancel(self, msg: String) -> None:
        if msg.data in ("", self._goal_id):
            self.cancel_goal()

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def start_goal(self, goal_id: str, instruction: str, pick_only: bool, on_step: Callable[[StepRecord], None],
                   on_done: Callable[[dict], None]) -> str:
        """Run a goal in its own thread; '' when started, else why not (busy)."""
        if not self._busy.acquire(blocking=False):
            return f"busy with goal {self._goal_id}"
        self._goal_id = goal_id
        p = self.p
        if self._tf_extrinsics is not None:
            from_tf = self._tf_extrinsics.lookup()
            if from_tf is not None:
                self._extrinsics = from_tf
        frame_timeout = float(self.get_parameter("frame_timeout_s").value)
        self.watchdogs["camera"].timeout_s = frame_timeout

        record = self._recorder.start() if self._recorder is not None else None

        def step_out(rec: StepRecord) -> None:
            if record is not None:
                record(rec)
            if self._pub_step is not None:
                self._pub_step.publish(policy_step_to_msg(instruction, rec.phase.value, rec.step, self.base_frame,
                                                          self.get_clock().now().to_msg()))
            self._publish_step_frames(rec)
            on_step(rec)

        config = ExecutiveConfig(frame_max_age_s=frame_timeout, speed_scale=float(self.get_parameter("speed_scale").value),
                                 observe_tcp_xyz=tuple(float(v) for v in p["observe_tcp_xyz"]))  # type: ignore[arg-type]
        self._executive = PickPlaceExecutive(self.policy, self.motion, self, self.checker, config, estop=self.estop,
                                             on_step=step_out, operator=self._operator, shared=self._shared)
        threading.Thread(target=self._run, args=(goal_id, instruction, pick_only, on_done), daemon=True).start()
        return ""

    def cancel_goal(self) -> None:
        if self._executive is not None:
            self._executive.cancel()

    def _feedback(self, goal_id: str, rec: StepRecord) -> None:
        self._pub_feedback.publish(String(data=json.dumps(
            {"id": goal_id, "phase": rec.phase.value, "step": rec.index, "detail": step_detail(rec)})))

    def _publish_step_frames(self, rec: StepRecord) -> None:
        frames = []
        if rec.step.target is not None:
            frames.append((self.base_frame, str(self.p["target_frame"]), make_pose(rec.step.target.point_base)))
        goal = rec.step.goal_pose
        if goal is not None:
            frames.append((self.base_frame, str(self.p["grasp_frame"]), goal))
        if frames:
            self._tf.publish(frames, self.get_clock().now().to_msg())

    def _run(self, goal_id: str, instruction: str, pick_only: bool, on_done: Callable[[dict], None]) -> None:
        executive = self._executive
        try:
            joints = self.watchdogs["joint_states"]
            if len(instruction) > int(self.p["max_instruction_chars"]):
                result = {"id": goal_id, "succeeded": False, "failure_reason": FailureReason.BAD_INPUT.value,
                          "message": f"instruction of {len(instruction)} characters refused "
                                     f"(limit {self.p['max_instruction_chars']})"}
            elif not _wait(lambda: joints.age_s() < math.inf, float(self.p["robot_wait_s"])):
                result = {"id": goal_id, "succeeded": False, "failure_reason": FailureReason.ROBOT_NOT_READY.value,
                          "message": f"no joint states on {self.p['joint_states_topic']} for "
                                     f"{self.p['robot_wait_s']} s: is the robot driver running?"}
            elif not _wait(lambda: self.watchdogs["camera"].age_s() < math.inf, float(self.p["robot_wait_s"])):
                result = {"id": goal_id, "succeeded": False, "failure_reason": FailureReason.STALE_FRAME.value,
                          "message": f"no synchronised camera frames on {self.p['color_topic']} for "
                                     f"{self.p['robot_wait_s']} s: is the camera driver running (aligned depth on)?"}
            else:
                # False: the config's default; anything not a bool is refused by the executive
                r = executive.run(instruction, pick_only=None if pick_only is False else pick_only)  # type: ignore[union-attr]
                result = {"id": goal_id, "succeeded": r.succeeded, "failure_reason": r.reason.value,
                          "message": r.message, "explanation": r.explanation, "target_mark_id": r.target_mark_id,
                          "steps": r.steps, "interventions": r.interventions}
                if self._recorder is not None:
                    episode = self._recorder.finish(instruction, r.succeeded, r.interventions, r.reason.value,
                                                    r.operator_label.value)
                    result["episode_index"] = -1 if episode is None else episode
        except Exception as exc:  # noqa: BLE001 - a goal always ends with a result, the node keeps serving
            self.motion.stop()
            self.get_logger().error(loggable(f"goal {goal_id}: internal error: {type(exc).__name__}: {exc}"))
            result = {"id": goal_id, "succeeded": False, "failure_reason": FailureReason.INTERNAL_ERROR.value,
                      "message": f"{type(exc).__name__}: {exc}"[:500]}
        finally:
            self._executive = None
            self._busy.release()
        on_done(result)

    def _publish_result(self, data: dict) -> None:
        self._pub_result.publish(String(data=json.dumps(data)))
        self.get_logger().info(loggable(f"goal {data['id']}: "
                                        f"{data['failure_reason'] if not data['succeeded'] else 'succeeded'}"
                                        + (f" ({data.get('message', '')})" if not data["succeeded"] else "")))


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def main(args: list[str] | None = None) -> None:
    # several threads: goals wait on motion while camera, joint-state, e-stop and arm callbacks run
    run_node(PickPlaceNode, args, spin=spin_multithreaded)


if __name__ == "__main__":
    main()
