"""realsense_camera: a pyrealsense2 driver node for cells without realsense-ros. Publishes the
same topics, encodings and frames as realsense2_camera (rgb8 colour, 16UC1 mm depth aligned to
colour, colour camera info) with sensor-data QoS. Every name is a parameter."""

from __future__ import annotations

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from spatialbot_ros.camera.realsense import RealSenseCamera, StreamConfig
from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.nodes.conversions import rgbd_to_msgs
from spatialbot_ros.nodes.runner import run_node

PARAMS = {
    "serial_no": ("", "device serial number; empty = first device"),
    "width": (640, "colour and depth width, px"),
    "height": (480, "colour and depth height, px"),
    "fps": (30, "frame rate"),
    "color_topic": ("/camera/camera/color/image_raw", "colour image topic (rgb8)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1, mm)"),
    "info_topic": ("/camera/camera/color/camera_info", "colour camera info (aligned depth shares it)"),
    "frame_id": ("camera_color_optical_frame", "optical frame of colour and aligned depth"),
}


class RealSenseCameraNode(Node):
    def __init__(self, source: object | None = None, **kwargs: object) -> None:
        super().__init__("realsense_camera", **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        for key in ("width", "height", "fps"):
            if int(p[key]) <= 0:
                raise ValueError(f"parameter {key} must be positive, got {p[key]}")
        self._pub_color = self.create_publisher(Image, p["color_topic"], qos_profile_sensor_data)
        self._pub_depth = self.create_publisher(Image, p["depth_topic"], qos_profile_sensor_data)
        self._pub_info = self.create_publisher(CameraInfo, p["info_topic"], qos_profile_sensor_data)
        self.source = source or RealSenseCamera(StreamConfig(int(p["width"]), int(p["height"]), int(p["fps"]),
                                                             str(p["serial_no"]), str(p["frame_id"])))
        self.published = 0

    def publish_next(self, timeout_ms: int = 1000) -> bool:
        """Read one aligned frame from the device and publish it; False if none came."""
        try:
            frame = self.source.read(timeout_ms)  # type: ignore[attr-defined]
        except (FrameError, RuntimeError, OSError) as exc:  # pyrealsense2: RuntimeError on timeouts and unplugs
            self.get_logger().warning(f"no frame: {str(exc)[:200]}", throttle_duration_sec=5.0)
            return False
        if not isinstance(frame, RGBDFrame):
            self.get_logger().error(f"camera source returned {type(frame).__name__}, not an RGBDFrame",
                                    throttle_duration_sec=5.0)
            return False
        color, depth, info = rgbd_to_msgs(frame, self.get_clock().now().to_msg())
        self._pub_color.publish(color)
        self._pub_depth.publish(depth)
        self._pub_info.publish(info)
        self.published += 1
        return True


def _poll(node: RealSenseCameraNode) -> None:
    while rclpy.ok():
        node.publish_next()
        rclpy.spin_once(node, timeout_sec=0.0)


def main(args: list[str] | None = None) -> None:
    run_node(RealSenseCameraNode, args, spin=_poll)


if __name__ == "__main__":
    main()
