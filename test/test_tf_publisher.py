"""TF without tf2_ros: 4x4 <-> TransformStamped, and latched static transforms that a subscriber
joining later still receives (tf2_ros's /tf_static QoS), dynamic ones on /tf."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import spin_until
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.transforms import look_at, make_pose

pytestmark = pytest.mark.ros

CAMERA = look_at((1.15, 0.0, 0.62), (0.5, 0.0, 0.0))  # base_link_from_camera_color_optical_frame


def test_matrix_and_transform_stamped_round_trip_with_xyzw_quaternions():
    from builtin_interfaces.msg import Time

    from spatialbot_ros.nodes.tf_publisher import matrix_from_transform, transform_from_matrix

    quarter_turn_z = make_pose([0.1, -0.2, 0.3], np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    msg = transform_from_matrix("base_link", "tool0", quarter_turn_z, Time(sec=5))
    r = msg.transform.rotation
    assert (msg.header.frame_id, msg.child_frame_id, msg.header.stamp.sec) == ("base_link", "tool0", 5)
    assert (r.x, r.y) == (0.0, 0.0) and r.z == pytest.approx(math.sqrt(0.5)) and r.w == pytest.approx(math.sqrt(0.5))
    assert msg.transform.translation.y == pytest.approx(-0.2)
    assert np.allclose(matrix_from_transform(transform_from_matrix("a", "b", CAMERA, Time())), CAMERA)
    with pytest.raises(ValueError):
        transform_from_matrix("a", "a", CAMERA, Time())
    with pytest.raises(ValueError):
        transform_from_matrix("a", "b", np.full((4, 4), np.nan), Time())


def test_static_transform_parameter_strings_parse_and_bad_ones_are_refused():
    from spatialbot_ros.nodes.tf_publisher import parse_static_transform

    parent, child, T = parse_static_transform("base_link camera_link 1 2 3 0 0 0 1")
    assert (parent, child) == ("base_link", "camera_link") and np.allclose(T, make_pose([1, 2, 3]))
    for bad in ("base_link camera_link 1 2 3", "a b 1 2 3 0 0 0 2", "a b x 2 3 0 0 0 1"):
        with pytest.raises(ValueError):
            parse_static_transform(bad)


def test_a_late_subscriber_receives_every_static_transform_and_dynamic_ones_arrive(ros):
    pytest.importorskip("tf2_msgs", reason="tf2_msgs not built: scripts/build_interfaces.sh")
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from tf2_msgs.msg import TFMessage

    from spatialbot_ros.nodes.tf_publisher import STATIC_QOS, TfPublisherNode, matrix_from_transform

    q = Rotation.from_matrix(CAMERA[:3, :3]).as_quat()
    camera = " ".join(str(v) for v in ["base_link", "camera_color_optical_frame", *CAMERA[:3, 3], *q])
    node = TfPublisherNode(parameter_overrides=[Parameter("static_transforms", value=[camera])])
    node.tf.publish_static([("tool0", "tcp", make_pose([0.0, 0.0, 0.15]))])  # accumulates beside the camera
    assert not node.tf.uses_tf2_ros  # no tf2_ros wheel: the TFMessage publishers

    late = Node("late_tf_listener")  # joins after everything was published
    static: list[TFMessage] = []
    dynamic: list[TFMessage] = []
    late.create_subscription(TFMessage, "/tf_static", static.append, STATIC_QOS)
    late.create_subscription(TFMessage, "/tf", dynamic.append, QoSProfile(depth=100))
    assert STATIC_QOS.durability == DurabilityPolicy.TRANSIENT_LOCAL and STATIC_QOS.depth == 1
    try:
        assert spin_until([node, late], lambda: bool(static), timeout=10.0)
        by_child = {t.child_frame_id: t for t in static[-1].transforms}
        assert set(by_child) == {"camera_color_optical_frame", "tcp"}
        assert by_child["camera_color_optical_frame"].header.frame_id == "base_link"
        assert np.allclose(matrix_from_transform(by_child["camera_color_optical_frame"]), CAMERA, atol=1e-9)
        assert by_child["tcp"].transform.translation.z == pytest.approx(0.15)

        wrist = make_pose([0.4, 0.0, 0.3])

        def sent() -> bool:
            node.tf.publish([("base_link", "tool0", wrist)])
            return bool(dynamic)

        assert spin_until([node, late], sent, timeout=10.0)
        t = dynamic[-1].transforms[0]
        assert (t.header.frame_id, t.child_frame_id) == ("base_link", "tool0")
        assert np.allclose(matrix_from_transform(t), wrist)
    finally:
        late.destroy_node()
        node.destroy_node()
