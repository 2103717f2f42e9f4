"""spatial_policy: RGB-D from the camera topics + the current instruction -> Set-of-Mark overlay,
RViz marks, the grounded target pose and a JSON result, per frame; with spatialbot_interfaces built,
also the typed marks and policy step, and the Depth API as a DepthQuery service on the latest frame.
Conversion and publishing only; perception and grounding live in the policy/core."""

from __future__ import annotations

from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from spatialbot_ros.core.errors import SpatialBotError, bounded_message
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.frame_sync import ApproximateTimeSync
from spatialbot_ros.core.som_overlay import draw_marks
from spatialbot_ros.core.transforms import extrinsic_from_params
from spatialbot_ros.nodes.conversions import array_to_image, msgs_to_rgbd, stamp_to_s
from spatialbot_ros.nodes.markers import grounding_json, marks_to_marker_array, target_pose
from spatialbot_ros.nodes.runner import run_node
from spatialbot_ros.nodes.typed_interfaces import (
    answer_depth_query,
    grounding_to_step_msg,
    interfaces_available,
    marks_to_msg,
)
from spatialbot_ros.policy.registry import make_perceiver_from_params

PARAMS = {
    "color_topic": ("/camera/camera/color/image_raw", "colour image (rgb8/bgr8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1 mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info"),
    "instruction_topic": ("/spatialbot/instruction", "std_msgs/String instruction (latched)"),
    "overlay_topic": ("/spatialbot/som_overlay", "SoM-annotated colour image"),
    "marks_topic": ("/spatialbot/marks", "visualization_msgs/MarkerArray of the marks"),
    "target_topic": ("/spatialbot/target_pose", "grounded pick target (base frame)"),
    "result_topic": ("/spatialbot/policy_result", "JSON: marks, pick/place, explanation, error"),
    "base_frame": ("base", "robot base frame the extrinsics are given in"),
    "typed_marks_topic": ("/spatialbot/marks_typed", "spatialbot_interfaces/MarkArray (when the package is built)"),
    "policy_step_topic": ("/spatialbot/policy_step", "spatialbot_interfaces/PolicyStep per frame (when built)"),
    "depth_service": ("/spatialbot/depth_query", "spatialbot_interfaces/DepthQuery on the latest frame (when built)"),
    "sync_slop_s": (0.01, "max stamp difference between colour, depth and info"),
    "policy": ("geometric", "policy backend: geometric, onnx, spatialbot, transformers, openai, magma"),
    "model_dir": ("", "onnx: trained model directory (empty = shipped); VLM backends: model directory or hub id"),
    "backend_config": ("", "YAML file with a section of options per backend: onnx providers (TensorRT fp16, engine cache), VLM models (config/policy_backends.yaml)"),
    "camera_extrinsics.xyz": ([1.15, 0.0, 0.62], "camera position in the base frame (m)"),
    "camera_extrinsics.quat_xyzw": ([0.0, 0.0, 0.0, 1.0], "camera optical frame orientation in the base frame"),
    "camera_extrinsics.parent_frame": ("base", "frame the extrinsics are given in: must be base_frame (a fixed "
                                       "camera); an eye-in-hand calibration (tool0) is pick_place's"),
}
MAX_INSTRUCTION_CHARS = 2000
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class SpatialPolicyNode(Node):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("spatial_policy", **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        if float(p["sync_slop_s"]) < 0:
            raise ValueError("parameter sync_slop_s must be >= 0")
        self.base_from_camera = extrinsic_from_params(p["camera_extrinsics.xyz"], p["camera_extrinsics.quat_xyzw"])
        self.base_frame = str(p["base_frame"])
        if p["camera_extrinsics.parent_frame"] != self.base_frame:
            raise ValueError(f"camera_extrinsics.parent_frame is {p['camera_extrinsics.parent_frame']!r}: spatial_policy "
                             f"grounds with a fixed camera whose pose is given in {self.base_frame!r}; a wrist camera's "
                             "pose changes with the arm, and pick_place (which has the joint states) grounds for it")
        self.policy = make_perceiver_from_params(str(p["policy"]), str(p["model_dir"]), str(p["backend_config"]))
        self.instruction = ""
        self._sync = ApproximateTimeSync(slop_s=float(p["sync_slop_s"]))
        self.create_subscription(Image, p["color_topic"], lambda m: self._on("color", m), qos_profile_sensor_data)
        self.create_subscription(Image, p["depth_topic"], lambda m: self._on("depth", m), qos_profile_sensor_data)
        self.create_subscription(CameraInfo, p["info_topic"], lambda m: self._on("info", m), qos_profile_sensor_data)
        self.create_subscription(String, p["instruction_topic"], self._on_instruction, LATCHED)
        self._pub_overlay = self.create_publisher(Image, p["overlay_topic"], qos_profile_sensor_data)
        self._pub_marks = self.create_publisher(MarkerArray, p["marks_topic"], 10)
        self._pub_target = self.create_publisher(PoseStamped, p["target_topic"], 10)
        self._pub_result = self.create_publisher(String, p["result_topic"], 10)
        self._latest_frame: RGBDFrame | None = None
        self._pub_typed_marks = self._pub_step = None
        if interfaces_available():
            from spatialbot_interfaces.msg import MarkArray, PolicyStep
            from spatialbot_interfaces.srv import DepthQuery

            self._pub_typed_marks = self.create_publisher(MarkArray, p["typed_marks_topic"], 10)
            self._pub_step = self.create_publisher(PolicyStep, p["policy_step_topic"], 10)
            self.create_service(DepthQuery, p["depth_service"],
                                lambda req, res: answer_depth_query(req, res, self._latest_frame))
        else:
            self.get_logger().info("spatialbot_interfaces not built: JSON result topic only, no DepthQuery service")

    def _on_instruction(self, msg: String) -> None:
        if len(msg.data) > MAX_INSTRUCTION_CHARS:
            self.get_logger().error(f"instruction refused: {len(msg.data)} characters, at most "
                                    f"{MAX_INSTRUCTION_CHARS}", throttle_duration_sec=2.0)
            self.instruction = ""
            return
        self.instruction = msg.data

    def _on(self, stream: str, msg: object) -> None:
        triple = self._sync.add(stream, stamp_to_s(msg.header.stamp), msg)  # type: ignore[attr-defined]
        if triple is not None and self.instruction:
            self._process(triple)

    def _process(self, triple: dict) -> None:
        stamp = triple["color"].header.stamp
        try:
            frame = msgs_to_rgbd(triple["color"], triple["depth"], triple["info"])
            self._latest_frame = frame
            proposals, grounding = self.policy.ground(frame, self.instruction, self.base_from_camera)
        except Exception as exc:  # noqa: BLE001 - bad frame or instruction (or a policy bug): report, keep serving
            if not isinstance(exc, SpatialBotError):
                self.get_logger().error(f"policy failed on a frame ({type(exc).__name__}: {str(exc)[:200]}); "
                                        "reported as an error result", throttle_duration_sec=2.0)
                exc = SpatialBotError(f"internal error ({type(exc).__name__}): {str(exc)[:200]}")
            text = bounded_message(str(exc))
            self._pub_result.publish(grounding_json(self.instruction, [], None, text, stamp_s=stamp_to_s(stamp)))
            if self._pub_step is not None:
                self._pub_step.publish(grounding_to_step_msg(self.instruction, [], None, text, self.base_frame, stamp))
            self.get_logger().warning(text, throttle_duration_sec=2.0)
            return
        chosen = proposals.by_id(grounding.pick_mark_id)
        if self._pub_overlay.get_subscription_count() > 0:  # drawing and sending 1 MB costs ms: only when watched
            overlay = draw_marks(frame.color_rgb, proposals.marks, chosen_id=chosen.id)
            self._pub_overlay.publish(array_to_image(overlay, "rgb8", stamp, frame.frame_id))
        if self._pub_marks.get_subscription_count() > 0:
            self._pub_marks.publish(marks_to_marker_array(proposals.marks, self.base_frame, stamp, chosen.id))
        self._pub_target.publish(target_pose(chosen, self.base_frame, stamp))
        self._pub_result.publish(grounding_json(self.instruction, proposals.marks, grounding, stamp_s=stamp_to_s(stamp)))
        if self._pub_step is not None and self._pub_typed_marks is not None:
            self._pub_typed_marks.publish(marks_to_msg(proposals.marks, self.base_frame, stamp))
            self._pub_step.publish(grounding_to_step_msg(self.instruction, proposals.marks, grounding, "",
                                                         self.base_frame, stamp))


def main(args: list[str] | None = None) -> None:
    run_node(SpatialPolicyNode, args)


if __name__ == "__main__":
    main()
