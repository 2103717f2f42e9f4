"""Camera ingestion: conversions, the librealsense software device, and the camera node over DDS."""

import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ros_domain import Slot, use_ros_domain

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame

pytestmark = pytest.mark.ros
K = CameraIntrinsics.from_hfov(640, 480, 69.0)


def scene_images(seed=0):
    rng = np.random.default_rng(seed)
    d = np.full((480, 640), 900, np.uint16)
    d[150:260, 200:320] = 620
    d[rng.random(d.shape) < 0.01] = 0
    c = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    return c, d


def test_conversions_round_trip_and_refuse_bad_encodings():
    from spatialbot_ros.nodes.conversions import array_to_image, msgs_to_rgbd, rgbd_to_msgs, s_to_stamp

    c, d = scene_images()
    frame = RGBDFrame(c, d, K, stamp_s=12.25)
    color, depth, info = rgbd_to_msgs(frame)
    assert (color.encoding, depth.encoding, depth.step) == ("rgb8", "16UC1", 1280)
    back = msgs_to_rgbd(color, depth, info)
    assert np.array_equal(back.color_rgb, c) and np.array_equal(back.depth_mm, d)
    assert back.intrinsics == K and back.stamp_s == pytest.approx(12.25)
    bgr = array_to_image(c[..., ::-1], "bgr8", s_to_stamp(1.0), frame.frame_id)
    assert np.array_equal(msgs_to_rgbd(bgr, depth, info).color_rgb, c)
    metres = array_to_image(np.where(d > 0, d / 1000.0, np.nan).astype(np.float32), "32FC1", s_to_stamp(1.0),
                            frame.frame_id)
    assert np.array_equal(msgs_to_rgbd(color, metres, info).depth_mm, d)
    padded = array_to_image(np.pad(d, ((0, 0), (0, 16))), "16UC1", s_to_stamp(1.0), frame.frame_id)
    padded.width = 640  # rows padded to 656 px: step says so
    assert np.array_equal(msgs_to_rgbd(color, padded, info).depth_mm, d)
    with pytest.raises(FrameError, match="unsupported image encoding"):
        msgs_to_rgbd(array_to_image(c, "yuv422", s_to_stamp(1.0), "x"), depth, info)
    depth.header.frame_id = "camera_depth_optical_frame"
    with pytest.raises(FrameError, match="aligned depth"):
        msgs_to_rgbd(color, depth, info)


def synced_software_camera():
    from spatialbot_ros.camera.realsense import SoftwareRealSense

    cam = SoftwareRealSense(K)
    c, d = scene_images()
    for i in range(10):  # the librealsense syncer drops frames while it learns the streams
        cam.inject(c, d, (i + 1) / 30)
        try:
            cam.read(100)
            return cam, i + 1
        except FrameError:
            continue
    raise AssertionError("software device never produced a synced pair")


def mostly_equal(aligned, injected, frac=0.95):
    """rs.align maps depth onto the colour grid: every measured depth it keeps is exact; around
    holes (0) it drops or borrows a few pixels, so only a few percent differ."""
    kept = (aligned > 0) & (injected > 0)
    return bool(np.array_equal(aligned[kept], injected[kept]) and np.mean(aligned == injected) >= frac)


def test_software_device_frames_go_through_sync_and_align():
    cam, n = synced_software_camera()
    pairs = {}
    for i in range(12):
        t = n + i + 1
        c, d = scene_images(t)
        d = np.where(d > 0, d + t, 0).astype(np.uint16)  # depth tells which injection it came from
        cam.inject(c, d, t / 30)
        try:
            f = cam.read(150)
        except FrameError:
            continue
        k = round(f.stamp_s * 30)
        pairs[k] = f
        c_k, d_k = scene_images(k)
        assert np.array_equal(f.color_rgb, c_k), "colour and depth of one instant stay together"
        assert mostly_equal(f.depth_mm, np.where(d_k > 0, d_k + k, 0))
        assert f.intrinsics.fx == pytest.approx(K.fx, abs=1e-3)
    assert len(pairs) >= 4


def test_camera_node_publishes_like_realsense2_camera():
    use_ros_domain(Slot.CAMERA)
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from spatialbot_ros.core.frame_sync import ApproximateTimeSync
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd, stamp_to_s
    from spatialbot_ros.nodes.realsense_camera import PARAMS, RealSenseCameraNode

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "realsense_camera.yaml").read_text())
    assert set(config["realsense_camera"]["ros__parameters"]) == set(PARAMS)
    rclpy.init()
    try:
        cam, n = synced_software_camera()
        node = RealSenseCameraNode(source=cam)
        listener = rclpy.create_node("listener")
        sync, got = ApproximateTimeSync(slop_s=0.001), []

        def on(stream):
            def cb(msg):
                out = sync.add(stream, stamp_to_s(msg.header.stamp), msg)
                if out:
                    got.append(out)
            return cb

        listener.create_subscription(Image, PARAMS["color_topic"][0], on("color"), qos_profile_sensor_data)
        listener.create_subscription(Image, PARAMS["depth_topic"][0], on("depth"), qos_profile_sensor_data)
        listener.create_subscription(CameraInfo, PARAMS["info_topic"][0], on("info"), qos_profile_sensor_data)
        c, d = scene_images(2)
        end, i = time.monotonic() + 10, 0
        while not got and time.monotonic() < end:
            cam.inject(c, d, (n + i + 1) / 30)
            i += 1
            node.publish_next(200)
            for _ in range(5):
                rclpy.spin_once(listener, timeout_sec=0.02)
        assert got, "no synced colour/depth/info triple arrived over DDS"
        frame = msgs_to_rgbd(got[0]["color"], got[0]["depth"], got[0]["info"])
        assert mostly_equal(frame.depth_mm, d) and np.array_equal(frame.color_rgb, c)
        assert got[0]["color"].header.frame_id == "camera_color_optical_frame"
        with pytest.raises(ValueError, match="width must be positive"):
            from rclpy.parameter import Parameter

            RealSenseCameraNode(source=cam, parameter_overrides=[Parameter("width", value=0)])
    finally:
        rclpy.shutdown()
