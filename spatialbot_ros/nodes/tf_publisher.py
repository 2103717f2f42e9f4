"""TF for the cell without requiring tf2_ros: static transforms on /tf_static and dynamic ones on /tf
with the QoS tf2_ros's broadcasters use (static: reliable, transient local, keep last 1, every
static transform in one accumulated TFMessage; dynamic: reliable, volatile, keep last 100).
tf2_ros's broadcasters are used when importable (a ROS install), tf2_msgs/TFMessage publishers
otherwise. 4x4 <-> TransformStamped conversion lives here too (quaternions x, y, z, w).

The node `tf_publisher` latches the transforms of its `static_transforms` parameter, each
"parent child x y z qx qy qz qw" as static_transform_publisher takes them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from geometry_msgs.msg import TransformStamped
from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile

from spatialbot_ros.core.transforms import extrinsic_from_params, pose_from_xyz_quat, pose_to_xyz_quat
from spatialbot_ros.nodes.runner import run_node

log = logging.getLogger(__name__)

STATIC_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST)
DYNAMIC_QOS = QoSProfile(depth=100)


def transform_from_matrix(parent: str, child: str, parent_from_child: np.ndarray, stamp: object) -> TransformStamped:
    """TransformStamped (header.frame_id = parent) from the 4x4 that maps child points into parent."""
    T = np.asarray(parent_from_child, dtype=float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"transform {parent} -> {child} must be a finite 4x4, got shape {T.shape}")
    if not parent or not child or parent == child:
        raise ValueError(f"transform needs two different frame names, got {parent!r} -> {child!r}")
    xyz, q = pose_to_xyz_quat(T)
    msg = TransformStamped()
    msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp, parent, child
    t, r = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = (float(v) for v in xyz)
    r.x, r.y, r.z, r.w = (float(v) for v in q)
    return msg


def matrix_from_transform(msg: TransformStamped) -> np.ndarray:
    """parent_from_child 4x4 of a TransformStamped (the quaternion is normalised)."""
    t, r = msg.transform.translation, msg.transform.rotation
    return pose_from_xyz_quat([t.x, t.y, t.z], [r.x, r.y, r.z, r.w])


def parse_static_transform(text: str) -> tuple[str, str, np.ndarray]:
    """"parent child x y z qx qy qz qw" -> (parent, child, parent_from_child)."""
    parts = text.split()
    if len(parts) != 9:
        raise ValueError(f"static transform must be 'parent child x y z qx qy qz qw', got {text!r}")
    try:
        values = [float(v) for v in parts[2:]]
        return parts[0], parts[1], extrinsic_from_params(values[:3], values[3:])
    except ValueError as exc:
        raise ValueError(f"static transform {text!r}: {exc}") from None


class TfPublisher:
    """Static and dynamic transforms for one node, through tf2_ros when it is importable."""

    def __init__(self, node: Node, static_topic: str = "/tf_static", dynamic_topic: str = "/tf",
                 use_tf2_ros: bool | None = None) -> None:
        self._node = node
        self._static: dict[str, TransformStamped] = {}
        self._tf2 = None
        if use_tf2_ros is not False and (static_topic, dynamic_topic) == ("/tf_static", "/tf"):
            try:
                import tf2_ros

                self._tf2 = (tf2_ros.StaticTransformBroadcaster(node), tf2_ros.TransformBroadcaster(node))
            except ImportError:
                if use_tf2_ros:
                    raise
        if self._tf2 is None:
            from tf2_msgs.msg import TFMessage

            self._msg_type = TFMessage
            self._pub_static = node.create_publisher(TFMessage, static_topic, STATIC_QOS)
            self._pub_dynamic = node.create_publisher(TFMessage, dynamic_topic, DYNAMIC_QOS)

    @property
    def uses_tf2_ros(self) -> bool:
        return self._tf2 is not None

    def publish_static(self, transforms: Iterable[tuple[str, str, np.ndarray]]) -> None:
        """Latch these (parent, child, parent_from_child) beside the ones sent before (one
        accumulated TFMessage, as a late subscriber gets only the last). Without tf2_ros a child
        sent again replaces its earlier transform; jazzy's tf2_ros keeps the first."""
        stamp = self._node.get_clock().now().to_msg()
        msgs = [transform_from_matrix(p, c, T, stamp) for p, c, T in transforms]
        if self._tf2 is not None:
            self._tf2[0].sendTransform(msgs)
            return
        for m in msgs:
            self._static[m.child_frame_id] = m
        self._pub_static.publish(self._msg_type(transforms=list(self._static.values())))

    def publish(self, transforms: Iterable[tuple[str, str, np.ndarray]], stamp: object | None = None) -> None:
        """Send time-varying transforms on /tf (stamp: now by default)."""
        stamp = stamp if stamp is not None else self._node.get_clock().now().to_msg()
        msgs = [transform_from_matrix(p, c, T, stamp) for p, c, T in transforms]
        if self._tf2 is not None:
            self._tf2[1].sendTransform(msgs)
        else:
            self._pub_dynamic.publish(self._msg_type(transforms=msgs))


class TfPublisherNode(Node):
    """Latches the `static_transforms` parameter on /tf_static (the cell's fixed frames)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("tf_publisher", **kwargs)
        self.declare_parameter("static_transforms", [""], ParameterDescriptor(
            type=ParameterType.PARAMETER_STRING_ARRAY,
            description="each 'parent child x y z qx qy qz qw' (metres, quaternion x,y,z,w); empty entries ignored"))
        self.declare_parameter("static_topic", "/tf_static", ParameterDescriptor(description="static TF topic"))
        self.declare_parameter("dynamic_topic", "/tf", ParameterDescriptor(description="dynamic TF topic"))
        entries = [s for s in self.get_parameter("static_transforms").value if s.strip()]
        transforms = [parse_static_transform(s) for s in entries]
        self.tf = TfPublisher(self, self.get_parameter("static_topic").value, self.get_parameter("dynamic_topic").value)
        if transforms:
            self.tf.publish_static(transforms)
        self.get_logger().info(f"latched {len(transforms)} static transform(s)"
                               f"{' through tf2_ros' if self.tf.uses_tf2_ros else ''}")


def main(args: list[str] | None = None) -> None:
    run_node(TfPublisherNode, args)


if __name__ == "__main__":
    main()
