"""pick_place: the executive as a node. Goals arrive as a spatialbot_interfaces/PickPlace action
(feedback per step, cancel, a result naming the failure reason) when the typed package is built,
and always on a topic (JSON {"id", "instruction"} or plain text) with JSON feedback/result and a
cancel topic. Motion goes to a joint trajectory controller's topic interface, frames come from the
camera topics. Only conversion and wiring here: the state machine is spatialbot_ros.executive."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.frame_sync import ApproximateTimeSync
from spatialbot_ros.core.safety import EStop, SafetyChecker
from spatialbot_ros.core.transforms import extrinsic_from_params
from spatialbot_ros.executive.pick_place import ExecutiveConfig, PickPlaceExecutive, StepRecord
from spatialbot_ros.motion.ros_topic_backend import RosTopicMotionBackend, TopicMotionConfig
from spatialbot_ros.motion.safety_gate import SafeMotion
from spatialbot_ros.nodes.conversions import msgs_to_rgbd, stamp_to_s
from spatialbot_ros.nodes.estop_bridge import EStopBridge
from spatialbot_ros.nodes.pick_place_action import PickPlaceActionServer, step_detail
from spatialbot_ros.nodes.runner import run_node, spin_multithreaded
from spatialbot_ros.nodes.typed_interfaces import interfaces_available, policy_step_to_msg
from spatialbot_ros.policy.registry import POLICY_BACKENDS, make_policy_from_params

PARAMS = {
    "color_topic": ("/camera/camera/color/image_raw", "colour image (rgb8/bgr8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1 mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info"),
    "action_name": ("/pick_place", "spatialbot_interfaces/PickPlace action (when the package is built)"),
    "policy_step_topic": ("/pick_place/policy_step", "spatialbot_interfaces/PolicyStep per executed step (when built)"),
    "base_frame": ("base", "frame of the published targets and deltas"),
    "goal_topic": ("/pick_place/goal", "goals: JSON {id, instruction} or plain text"),
    "cancel_topic": ("/pick_place/cancel", "goal id to cancel (empty: the running goal)"),
    "feedback_topic": ("/pick_place/feedback", "JSON per step: id, phase, step, detail"),
    "result_topic": ("/pick_place/result", "JSON: id, succeeded, failure_reason, message, explanation"),
    "trajectory_topic": ("/joint_trajectory_controller/joint_trajectory", "JTC topic interface"),
    "joint_states_topic": ("/joint_states", "joint states of arm and fingers"),
    "gripper_topic": ("/gripper/opening_command", "std_msgs/Float64 gripper opening, m"),
    "ur_type": ("ur5", "ur5 or ur5e (DH table for IK)"),
    "tcp_offset_m": (0.128, "fingertip centre along tool0 z, m"),
    "frame_timeout_s": (1.0, "abort with stale_frame when the newest camera frame is older"),
    "sync_slop_s": (0.01, "max stamp difference between colour, depth and info"),
    "policy": ("geometric", "policy backend: geometric, onnx, spatialbot, transformers, openai, magma"),
    "model_dir": ("", "onnx: trained model directory (empty = shipped); VLM backends: model directory or hub id"),
    "backend_config": ("", "YAML file with a section of options per backend: onnx providers (TensorRT fp16, engine cache), VLM models (config/policy_backends.yaml)"),
    "camera_extrinsics.xyz": ([1.15, 0.0, 0.62], "camera position in the base frame (m)"),
    "camera_extrinsics.quat_xyzw": ([0.650041, 0.650041, -0.278293, -0.278293], "camera orientation in the base frame"),
}


class PickPlaceNode(Node):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("pick_place", **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        if float(p["frame_timeout_s"]) <= 0:
            raise ValueError("parameter frame_timeout_s must be positive")
        self.base_from_camera = extrinsic_from_params(p["camera_extrinsics.xyz"], p["camera_extrinsics.quat_xyzw"])
        self.frame_timeout_s = float(p["frame_timeout_s"])
        if p["policy"] not in POLICY_BACKENDS:
            raise ValueError(f"parameter policy must be one of {sorted(POLICY_BACKENDS)}, got '{p['policy']}'")
        self.policy = make_policy_from_params(str(p["policy"]), str(p["model_dir"]), str(p["backend_config"]))
        self.estop = EStop()
        EStopBridge(self, self.estop)
        self.motion = RosTopicMotionBackend(self, TopicMotionConfig(
            trajectory_topic=p["trajectory_topic"], joint_states_topic=p["joint_states_topic"],
            gripper_topic=p["gripper_topic"], ur_type=p["ur_type"], tcp_offset_m=float(p["tcp_offset_m"])))
        # every motion through the one safety gate (TODO lead: real_hardware/armed parameters, watchdogs)
        self.gate = SafeMotion(self.motion, SafetyChecker(), self.estop, real_hardware=False)
        self._sync = ApproximateTimeSync(slop_s=float(p["sync_slop_s"]))
        self._latest: tuple | None = None
        self._lock = threading.Lock()
        for stream, topic, kind in (("color", "color_topic", Image), ("depth", "depth_topic", Image),
                                    ("info", "info_topic", CameraInfo)):
            self.create_subscription(kind, p[topic], lambda m, s=stream: self._on_camera(s, m), qos_profile_sensor_data)
        self.create_subscription(String, p["goal_topic"], self._on_goal, 10)
        self.create_subscription(String, p["cancel_topic"], self._on_cancel, 10)
        self._pub_feedback = self.create_publisher(String, p["feedback_topic"], 10)
        self._pub_result = self.create_publisher(String, p["result_topic"], 10)
        self._executive: PickPlaceExecutive | None = None
        self._goal_id = ""
        self._busy = threading.Lock()
        self._action = self._pub_step = None
        self.base_frame = str(p["base_frame"])
        if interfaces_available():
            from spatialbot_interfaces.msg import PolicyStep

            self._action = PickPlaceActionServer(self, str(p["action_name"]), self)
            self._pub_step = self.create_publisher(PolicyStep, p["policy_step_topic"], 10)

    # -- FrameSource for the executive ------------------------------------------------------
    def _on_camera(self, stream: str, msg: object) -> None:
        triple = self._sync.add(stream, stamp_to_s(msg.header.stamp), msg)  # type: ignore[attr-defined]
        if triple is not None:
            with self._lock:
                self._latest = (triple["color"], triple["depth"], triple["info"])

    def latest_frame(self) -> RGBDFrame:
        with self._lock:
            latest = self._latest
        if latest is None:
            raise FrameError("no camera frame received yet")
        return msgs_to_rgbd(*latest)

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # -- goals --------------------------------------------------------------------------------
    def _on_goal(self, msg: String) -> None:
        try:
            data = json.loads(msg.data)
            goal_id, instruction = str(data.get("id") or uuid.uuid4().hex[:8]), data.get("instruction", "")
        except (json.JSONDecodeError, AttributeError):
            goal_id, instruction = uuid.uuid4().hex[:8], msg.data
        busy = self.start_goal(goal_id, str(instruction), lambda rec: self._feedback(goal_id, rec), self._publish_result)
        if busy:
            self._publish_result({"id": goal_id, "succeeded": False, "failure_reason": "rejected", "message": busy})

    def _on_cancel(self, msg: String) -> None:
        if msg.data in ("", self._goal_id):
            self.cancel_goal()

    # -- one goal at a time, whichever interface it came from ---------------------------------
    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def start_goal(self, goal_id: str, instruction: str, on_step: Callable[[StepRecord], None],
                   on_done: Callable[[dict], None]) -> str:
        """Run a goal in its own thread; '' when started, else why not (busy)."""
        if not self._busy.acquire(blocking=False):
            return f"busy with goal {self._goal_id}"
        self._goal_id = goal_id

        def step_out(rec: StepRecord) -> None:
            if self._pub_step is not None:
                self._pub_step.publish(policy_step_to_msg(instruction, rec.phase.value, rec.step, self.base_frame,
                                                          self.get_clock().now().to_msg()))
            on_step(rec)

        self._executive = PickPlaceExecutive(
            self.policy, self.gate, self, config=ExecutiveConfig(frame_max_age_s=self.frame_timeout_s), on_step=step_out)
        threading.Thread(target=self._run, args=(goal_id, instruction, on_done), daemon=True).start()
        return ""

    def cancel_goal(self) -> None:
        if self._executive is not None:
            self._executive.cancel()

    def _feedback(self, goal_id: str, rec: StepRecord) -> None:
        self._pub_feedback.publish(String(data=json.dumps(
            {"id": goal_id, "phase": rec.phase.value, "step": rec.index, "detail": step_detail(rec)})))

    def _run(self, goal_id: str, instruction: str, on_done: Callable[[dict], None]) -> None:
        executive = self._executive
        assert executive is not None
        try:
            if not self.motion.wait_for_joint_states(10.0):
                result = {"id": goal_id, "succeeded": False, "failure_reason": "bad_input",
                          "message": "no joint states: is the robot driver running?"}
            else:
                r = executive.run(instruction)
                result = {"id": goal_id, "succeeded": r.succeeded, "failure_reason": r.reason.value,
                          "message": r.message, "explanation": r.explanation, "target_mark_id": r.target_mark_id,
                          "steps": r.steps}
        finally:
            self._executive = None
            self._busy.release()
        on_done(result)

    def _publish_result(self, data: dict) -> None:
        self._pub_result.publish(String(data=json.dumps(data)))
        self.get_logger().info(f"goal {data['id']}: {data['failure_reason'] if not data['succeeded'] else 'succeeded'}")


def main(args: list[str] | None = None) -> None:
    # several threads: the action's execute callback waits while camera and joint-state callbacks run
    run_node(PickPlaceNode, args, spin=spin_multithreaded)


if __name__ == "__main__":
    main()
