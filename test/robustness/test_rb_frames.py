"""RGB-D frames, camera models and sensor_msgs conversions: malformed input is a FrameError (or a
valid frame), never another exception, and never a huge allocation from a small message."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame

pytestmark = [pytest.mark.surface("frames")]

K = CameraIntrinsics(64, 48, 60.0, 60.0, 31.5, 23.5)
RGB = np.zeros((48, 64, 3), np.uint8)
DEPTH = np.full((48, 64), 800, np.uint16)

INTRINSICS_CASES = [
    (0, 48, 60, 60, 31, 23), (64, 0, 60, 60, 31, 23), (-64, 48, 60, 60, 31, 23), (64.0, 48, 60, 60, 31, 23),
    (True, 48, 60, 60, 31, 23), ("64", 48, 60, 60, 31, 23), (64, 48, float("nan"), 60, 31, 23),
    (64, 48, 60, float("inf"), 31, 23), (64, 48, 0.0, 60, 31, 23), (64, 48, -60, 60, 31, 23),
    (64, 48, 1e9, 60, 31, 23), (64, 48, 60, 60, -1, 23), (64, 48, 60, 60, 31, 1e6),
    (64, 48, 60, 60, float("nan"), 23), (64, 48, 60, 60, 31, float("-inf")),
]


@pytest.mark.core
@pytest.mark.parametrize("args", INTRINSICS_CASES, ids=[str(a)[:30] for a in INTRINSICS_CASES])
def test_bad_intrinsics(args):
    with pytest.raises(FrameError):
        CameraIntrinsics(*args)


FRAME_CASES = {
    "color_float": dict(color_rgb=RGB.astype(np.float32)),
    "color_gray": dict(color_rgb=RGB[..., 0]),
    "color_rgba": dict(color_rgb=np.zeros((48, 64, 4), np.uint8)),
    "color_list": dict(color_rgb=RGB.tolist()),
    "color_empty": dict(color_rgb=np.zeros((0, 64, 3), np.uint8)),
    "color_object": dict(color_rgb=np.empty((48, 64, 3), object)),
    "depth_float": dict(depth_mm=DEPTH.astype(np.float32)),
    "depth_int32": dict(depth_mm=DEPTH.astype(np.int32)),
    "depth_3d": dict(depth_mm=DEPTH[..., None]),
    "depth_misaligned": dict(depth_mm=np.zeros((24, 32), np.uint16)),
    "depth_none": dict(depth_mm=None),
    "intrinsics_other_size": dict(intrinsics=CameraIntrinsics(128, 96, 120, 120, 63, 47)),
    "intrinsics_dict": dict(intrinsics={"fx": 60}),
    "stamp_nan": dict(stamp_s=float("nan")),
    "stamp_inf": dict(stamp_s=float("inf")),
}


@pytest.mark.core
@pytest.mark.parametrize("name", sorted(FRAME_CASES))
def test_bad_frames(name):
    kwargs = dict(color_rgb=RGB, depth_mm=DEPTH, intrinsics=K, **{})
    kwargs.update(FRAME_CASES[name])
    with pytest.raises(FrameError):
        RGBDFrame(**kwargs)


@pytest.mark.core
def test_hfov_out_of_range():
    for hfov in (0.0, -5.0, 180.0, float("nan"), 1e9):
        with pytest.raises(FrameError):
            CameraIntrinsics.from_hfov(64, 48, hfov)


# ---- sensor_msgs conversions (message classes only; no DDS) ---------------------------------------

def _image(width=64, height=48, encoding="rgb8", step=None, data=None, bigendian=0, frame_id="cam"):
    from sensor_msgs.msg import Image

    ch = {"rgb8": 3, "bgr8": 3, "16UC1": 2, "mono16": 2, "32FC1": 4, "mono8": 1}.get(encoding, 3)
    msg = Image()
    msg.width, msg.height, msg.encoding, msg.is_bigendian = width, height, encoding, bigendian
    msg.step = width * ch if step is None else step
    msg.header.frame_id = frame_id
    msg.data = bytes(msg.step * height) if data is None else data
    return msg


def _info(width=64, height=48, k=(60.0, 0, 31.5, 0, 60.0, 23.5, 0, 0, 1)):
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo()
    msg.width, msg.height, msg.k = width, height, [float(v) for v in k]
    return msg


IMAGE_CASES = {
    "step_too_small": dict(step=10),
    "step_zero": dict(step=0),
    "data_short": dict(data=bytes(100)),
    "data_empty": dict(data=b""),
    "zero_size": dict(width=0, height=0, data=b""),
    "zero_width": dict(width=0, data=b""),
    "huge_size_no_data": dict(width=2**31 - 1, height=2**31 - 1, data=bytes(16)),
    "huge_height": dict(height=2**32 - 1, data=bytes(64 * 3)),
    "encoding_unknown": dict(encoding="yuv422"),
    "encoding_empty": dict(encoding=""),
    "encoding_huge": dict(encoding="x" * 100_000),
    "encoding_jpeg": dict(encoding="jpeg"),
}


@pytest.mark.ros
@pytest.mark.parametrize("name", sorted(IMAGE_CASES))
def test_malformed_image_is_a_frame_error(name):
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd

    bad = _image(**IMAGE_CASES[name])
    with pytest.raises(FrameError):
        msgs_to_rgbd(bad, _image(encoding="16UC1"), _info())
    bad_depth = _image(**{"encoding": "16UC1", **IMAGE_CASES[name]})
    with pytest.raises(FrameError):
        msgs_to_rgbd(_image(), bad_depth, _info())


PAIR_CASES = {
    "color_is_depth": (dict(encoding="16UC1"), dict(encoding="16UC1")),
    "depth_is_color": (dict(), dict(encoding="rgb8")),
    "depth_mono8": (dict(), dict(encoding="mono8")),
    "frames_differ": (dict(frame_id="a"), dict(encoding="16UC1", frame_id="b")),
    "sizes_differ": (dict(), dict(encoding="16UC1", width=32, height=24)),
}


@pytest.mark.ros
@pytest.mark.parametrize("name", sorted(PAIR_CASES))
def test_mismatched_color_depth(name):
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd

    c, d = PAIR_CASES[name]
    with pytest.raises(FrameError):
        msgs_to_rgbd(_image(**c), _image(**d), _info())


INFO_CASES = {
    "k_zero": dict(k=(0,) * 9),
    "k_nan": dict(k=(float("nan"), 0, 31.5, 0, 60, 23.5, 0, 0, 1)),
    "k_inf": dict(k=(float("inf"), 0, 31.5, 0, 60, 23.5, 0, 0, 1)),
    "k_negative": dict(k=(-60, 0, 31.5, 0, -60, 23.5, 0, 0, 1)),
    "k_principal_outside": dict(k=(60, 0, 1e6, 0, 60, 23.5, 0, 0, 1)),
    "width_zero": dict(width=0),
    "height_zero": dict(height=0),
    "size_other": dict(width=640, height=480),
    "size_huge": dict(width=2**32 - 1, height=2**32 - 1),
}


@pytest.mark.ros
@pytest.mark.parametrize("name", sorted(INFO_CASES))
def test_malformed_camera_info(name):
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd

    with pytest.raises(FrameError):
        msgs_to_rgbd(_image(), _image(encoding="16UC1"), _info(**INFO_CASES[name]))


@pytest.mark.ros
def test_float_depth_nan_inf_negative_become_no_data():
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd

    d = np.array([np.nan, np.inf, -np.inf, -1.0, 0.0, 1e9, 0.5, 1.0], np.float32)
    d = np.resize(d, 64 * 48)
    frame = msgs_to_rgbd(_image(), _image(encoding="32FC1", data=d.tobytes()), _info())
    flat = frame.depth_mm.ravel()[:8]
    assert flat.tolist() == [0, 0, 0, 0, 0, 65535, 500, 1000]


@pytest.mark.ros
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(0, 5000) | st.just(2**32 - 1), height=st.integers(0, 5000) | st.just(2**32 - 1),
       step=st.integers(0, 20000), n=st.integers(0, 4096), big=st.integers(0, 1),
       encoding=st.sampled_from(["rgb8", "bgr8", "16UC1", "mono16", "32FC1", "mono8", "8UC3", "rgba8", "", "\x00"]))
def test_fuzzed_images_convert_or_refuse(width, height, step, n, big, encoding, probes):
    """Any header + a small payload: an array of exactly the declared shape, or a FrameError."""
    from spatialbot_ros.nodes.conversions import image_to_array

    probes(1)
    msg = _image(width=width, height=height, encoding=encoding, step=step, data=bytes(n), bigendian=big)
    try:
        arr = image_to_array(msg)
    except FrameError:
        return
    assert arr.shape[:2] == (height, width)


@pytest.mark.ros
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=9, max_size=9),
       w=st.integers(0, 2**32 - 1), h=st.integers(0, 2**32 - 1))
def test_fuzzed_camera_info(k, w, h, probes):
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd

    probes(1)
    try:
        frame = msgs_to_rgbd(_image(), _image(encoding="16UC1"), _info(w, h, k))
    except FrameError:
        return
    assert frame.intrinsics.width == 64 and np.isfinite(frame.intrinsics.K).all()
