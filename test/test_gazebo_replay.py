"""Replay of what ros_gz_bridge delivers from the gz rgbd_camera (Gazebo itself is not installable
here): rgb8 colour, 32FC1 depth in metres with +inf where there is no return, camera_info and /clock,
all stamped in sim time, rendered from the MuJoCo cell's default scene. spatial_policy on sim time
must ground the same marks as it does from the 16UC1 millimetre frames of the same render."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import spin_until

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[1]
SIM_T0 = 1234.5       # sim time of the first replayed frame (s): far from the wall clock's ~1.7e9 s
FRAME_PERIOD = 1 / 15  # the gz sensor's update_rate (urdf/ur5_gz_cell.urdf.xacro)


@pytest.fixture(scope="module")
def rendered():
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene import load_scene

    scene = load_scene(ROOT / "scenes/default.yaml")
    cell = Ur5Cell(list(scene.objects), CellConfig.from_scene(scene))
    cell.reset()
    frame = cell.render_rgbd()
    yield scene, cell, frame
    cell.close()


def depth_as_gz(depth_mm: np.ndarray) -> np.ndarray:
    """16UC1 mm -> what gz's depth_image carries: float32 metres, +inf where there is no return."""
    return np.where(depth_mm > 0, depth_mm.astype(np.float32) / np.float32(1000.0), np.float32(np.inf)).astype(np.float32)


def gz_messages(frame, stamp_s: float) -> list:
    """(colour, depth, info) as the bridge publishes them for one gz sensor frame."""
    from spatialbot_ros.nodes.conversions import array_to_image, intrinsics_to_camera_info, s_to_stamp

    stamp = s_to_stamp(stamp_s)
    return [array_to_image(frame.color_rgb, "rgb8", stamp, frame.frame_id),
            array_to_image(depth_as_gz(frame.depth_mm), "32FC1", stamp, frame.frame_id),
            intrinsics_to_camera_info(frame.intrinsics, stamp, frame.frame_id)]


def mujoco_messages(frame, stamp_s: float) -> list:
    from spatialbot_ros.nodes.conversions import rgbd_to_msgs, s_to_stamp

    return list(rgbd_to_msgs(frame, s_to_stamp(stamp_s)))


def ground_over_dds(ros, scene, frame, make_messages, stamps, use_sim_time: bool) -> dict:
    """Publish frames (and /clock when on sim time) the way the camera side does, run spatial_policy
    on the scene's instruction; returns its last JSON result, target pose, decoded frame, clock."""
    from geometry_msgs.msg import PoseStamped
    from rclpy.parameter import Parameter
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    from spatialbot_ros.core.transforms import pose_to_xyz_quat
    from spatialbot_ros.nodes.conversions import s_to_stamp
    from spatialbot_ros.nodes.spatial_policy import LATCHED, SpatialPolicyNode

    xyz, q = pose_to_xyz_quat(scene.camera.base_from_camera())
    policy = SpatialPolicyNode(parameter_overrides=[
        Parameter("use_sim_time", value=use_sim_time),
        Parameter("camera_extrinsics.xyz", value=[float(v) for v in xyz]),
        Parameter("camera_extrinsics.quat_xyzw", value=[float(v) for v in q])])
    side = ros.create_node("gz_bridge_replay")
    results, targets = [], []
    side.create_subscription(String, "/spatialbot/policy_result", lambda m: results.append(json.loads(m.data)), 10)
    side.create_subscription(PoseStamped, "/spatialbot/target_pose", targets.append, 10)
    # the bridge's publishers: default QoS (reliable, depth 10)
    pubs = [side.create_publisher(Image, "/camera/camera/color/image_raw", 10),
            side.create_publisher(Image, "/camera/camera/aligned_depth_to_color/image_raw", 10),
            side.create_publisher(CameraInfo, "/camera/camera/color/camera_info", 10)]
    clock = side.create_publisher(Clock, "/clock", 10)
    side.create_publisher(String, "/spatialbot/instruction", LATCHED).publish(String(data=scene.instruction))
    try:
        for stamp_s in stamps:
            if use_sim_time:
                clock.publish(Clock(clock=s_to_stamp(stamp_s)))
            for pub, msg in zip(pubs, make_messages(frame, stamp_s), strict=True):
                pub.publish(msg)
            if spin_until([policy, side], lambda: bool(results and targets), timeout=1.0):
                break
        spin_until([policy, side], lambda: False, timeout=0.2)  # the clock callback of the last frame
        assert results and targets, "spatial_policy produced no result"
        return {"result": results[-1], "target": targets[-1], "frame": policy._latest_frame,
                "now_s": policy.get_clock().now().nanoseconds * 1e-9, "stamps": list(stamps)}
    finally:
        policy.destroy_node()
        side.destroy_node()


def marks_by_id(result: dict) -> dict[int, dict]:
    return {m["id"]: m for m in result["marks"]}


def test_gz_bridge_frames_on_sim_time_ground_like_the_mujoco_frames(ros, rendered):
    from spatialbot_ros.nodes.conversions import stamp_to_s

    scene, cell, frame = rendered
    assert (frame.depth_mm == 0).any(), "the render has no pixel without a return: +inf would go untested"
    reference = ground_over_dds(ros, scene, frame, mujoco_messages, [frame.stamp_s + 100.0 + i for i in range(30)],
                                use_sim_time=False)
    stamps = [SIM_T0 + i * FRAME_PERIOD for i in range(30)]
    gz = ground_over_dds(ros, scene, frame, gz_messages, stamps, use_sim_time=True)

    ref, got = reference["result"], gz["result"]
    assert ref["error"] == "" and got["error"] == "", (ref["error"], got["error"])
    # +inf (no return) decodes to 0 mm and the metres round-trip to the very millimetres
    assert np.array_equal(gz["frame"].depth_mm, frame.depth_mm)
    # sim time throughout: the node's clock follows /clock, the result and target carry the frame's sim stamp
    assert SIM_T0 <= gz["now_s"] <= stamps[-1] + 1e-6
    assert min(abs(got["stamp_s"] - s) for s in gz["stamps"]) < 1e-6
    assert stamp_to_s(gz["target"].header.stamp) == pytest.approx(got["stamp_s"], abs=1e-6)
    # the same marks, the same target mark, its 3-D point within 1 cm
    assert len(got["marks"]) == len(ref["marks"]) == len(scene.objects)
    assert sorted((m["label"], m["color"]) for m in got["marks"]) == sorted((m["label"], m["color"]) for m in ref["marks"])
    assert got["pick_mark_id"] == ref["pick_mark_id"]
    chosen_ref, chosen = marks_by_id(ref)[ref["pick_mark_id"]], marks_by_id(got)[got["pick_mark_id"]]
    assert np.linalg.norm(np.subtract(chosen["centroid_base"], chosen_ref["centroid_base"])) < 0.01
    assert got["place"]["kind"] == ref["place"]["kind"] == "on" and got["place"]["mark_id"] == ref["place"]["mark_id"]
    # and it is the scene's expected object
    expected = cell.object_pose(scene.expected.pick)[:3, 3]
    assert np.hypot(*(np.asarray(chosen["centroid_base"][:2]) - expected[:2])) < 0.015


def test_depth_as_gz_marks_no_return_as_inf_and_keeps_metres():
    depth_mm = np.array([[0, 1, 1500], [65535, 0, 999]], dtype=np.uint16)
    m = depth_as_gz(depth_mm)
    assert m.dtype == np.float32 and np.array_equal(np.isinf(m), depth_mm == 0) and (m[np.isinf(m)] > 0).all()
    assert np.allclose(m[depth_mm > 0], depth_mm[depth_mm > 0] / 1000.0, rtol=1e-7)
