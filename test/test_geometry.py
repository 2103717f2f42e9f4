"""Camera geometry (core/geometry.py) and the frame validation it relies on (core/frame.py)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.errors import FrameError, SpatialBotError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.geometry import deproject, depth_image_to_points, project, roi_points, to_base
from spatialbot_ros.core.transforms import invert, make_pose, transform_points

pytestmark = pytest.mark.core
K = CameraIntrinsics(640, 480, 615.0, 612.0, 322.5, 241.0)  # non-square pixels, off-centre principal point


@st.composite
def intrinsics(draw) -> CameraIntrinsics:
    w = draw(st.integers(16, 1920))
    h = max(8, round(w * draw(st.floats(0.5, 1.0))))  # landscape sensors, 1:1 .. 2:1
    fx = draw(st.floats(0.3 * w, 3.0 * w))
    fy = fx * draw(st.floats(0.9, 1.1))
    return CameraIntrinsics(w, h, fx, fy, draw(st.floats(0.0, w)), draw(st.floats(0.0, h)))


# ---- deproject / project ------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(intrinsics(), st.floats(0, 1), st.floats(0, 1), st.floats(0.1, 10.0))
def test_deproject_then_project_is_the_identity(k, fu, fv, z):
    u, v = fu * (k.width - 1), fv * (k.height - 1)
    p = deproject(u, v, z, k)
    assert p.shape == (3,) and p[2] == pytest.approx(z)
    assert np.allclose(project(p, k), [u, v], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(intrinsics(), st.floats(-2, 2), st.floats(-2, 2), st.floats(0.05, 10.0))
def test_project_then_deproject_is_the_identity(k, x, y, z):
    uv = project(np.array([x, y, z]), k)
    assert np.allclose(deproject(uv[0], uv[1], z, k), [x, y, z], atol=1e-9 * max(1.0, abs(x), abs(y)) + 1e-9)


def test_optical_frame_convention_x_right_y_down_z_forward():
    assert np.allclose(deproject(K.cx, K.cy, 2.0, K), [0, 0, 2.0])
    right, down = deproject(K.cx + 100, K.cy, 1.0, K), deproject(K.cx, K.cy + 100, 1.0, K)
    assert right[0] == pytest.approx(100 / K.fx) and right[1] == 0
    assert down[1] == pytest.approx(100 / K.fy) and down[0] == 0
    # depth is along z, not along the ray: a corner pixel at 1 m is farther than 1 m from the camera
    corner = deproject(0, 0, 1.0, K)
    assert corner[2] == 1.0 and np.linalg.norm(corner) > 1.0


def test_deproject_broadcasts_and_project_keeps_leading_shape():
    u = np.arange(6.0).reshape(2, 3)
    pts = deproject(u, 10.0, 0.5, K)
    assert pts.shape == (2, 3, 3) and np.allclose(pts[..., 2], 0.5)
    assert project(pts, K).shape == (2, 3, 2)


@pytest.mark.parametrize("points, match", [
    (np.array([0.1, 0.0, 0.0]), "behind"),
    (np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -0.5]]), "behind"),
    (np.array([0.0, 0.0, np.nan]), "NaN"),
    (np.array([np.inf, 0.0, 1.0]), "NaN or infinite"),
    (np.array([0.0, 1.0]), r"\(\.\.\., 3\)"),
])
def test_project_refuses_points_it_cannot_image(points, match):
    with pytest.raises(FrameError, match=match):
        project(points, K)


# ---- organised clouds and regions ---------------------------------------------------------------

def test_organised_cloud_equals_deproject_at_every_pixel():
    k = CameraIntrinsics(8, 6, 7.0, 7.5, 3.2, 2.7)
    rng = np.random.default_rng(3)
    d = rng.integers(1, 4000, size=(6, 8)).astype(np.uint16)
    d[rng.random(d.shape) < 0.3] = 0
    pts, valid = depth_image_to_points(d, k)
    assert np.array_equal(valid, d > 0)
    v, u = np.nonzero(valid)
    assert np.allclose(pts[v, u], deproject(u, v, d[v, u] * 1e-3, k), atol=1e-6)
    assert np.isnan(pts[~valid]).all()
    sub, sub_valid = depth_image_to_points(d, k, stride=3)  # pixel coordinates stay full-resolution
    assert sub.shape == (2, 3, 3) and np.array_equal(sub_valid, valid[::3, ::3])
    assert np.allclose(sub[sub_valid], pts[::3, ::3][sub_valid], atol=1e-6)


@pytest.mark.parametrize("stride", [0, -1, 1.5, True])
def test_organised_cloud_refuses_bad_strides(stride):
    with pytest.raises(FrameError, match="stride"):
        depth_image_to_points(np.ones((480, 640), np.uint16), K, stride=stride)


def test_organised_cloud_refuses_depth_of_another_camera():
    with pytest.raises(FrameError, match="does not match intrinsics"):
        depth_image_to_points(np.ones((240, 320), np.uint16), K)


@pytest.fixture()
def patch_depth():
    d = np.zeros((480, 640), np.uint16)
    d[100:110, 200:210] = 500
    d[104, 204] = 0  # one hole inside the patch
    return d


def test_roi_points_with_mask_and_box(patch_depth):
    d = patch_depth
    mask = np.zeros((480, 640), np.uint8)
    mask[100:105, 200:210] = 1  # top half of the patch, non-bool mask
    top = roi_points(d, K, mask=mask)
    assert top.shape == (49, 3)  # 50 pixels minus the hole
    v, u = np.nonzero(mask.astype(bool) & (d > 0))
    assert np.allclose(top, deproject(u, v, 0.5, K))
    assert len(roi_points(d, K, box_xyxy=(200, 100, 205, 110))) == 49  # x1, y1 exclusive
    assert len(roi_points(d, K, mask=mask, box_xyxy=(200, 100, 205, 110))) == 24
    assert len(roi_points(d, K, box_xyxy=(-50, -50, 205, 105))) == 24  # clipped to the image
    assert roi_points(d, K, box_xyxy=(300, 300, 200, 200)).shape == (0, 3)  # empty, not an error
    assert roi_points(d, K, box_xyxy=(0, 0, 100, 100)).shape == (0, 3)
    assert np.allclose(roi_points(d, K)[:, 2], 0.5) and len(roi_points(d, K)) == 99


def test_roi_points_refuse_bad_regions(patch_depth):
    with pytest.raises(FrameError, match="mask"):
        roi_points(patch_depth, K, mask=np.ones((240, 320), bool))
    with pytest.raises(FrameError, match="4 finite"):
        roi_points(patch_depth, K, box_xyxy=(0, 0, float("nan"), 10))


# ---- extrinsics ---------------------------------------------------------------------------------

def test_to_base_applies_a_4x4_and_inverts_cleanly():
    base_from_camera = make_pose([0.9, -0.1, 0.7], Rotation.from_euler("xyz", [-2.4, 0.1, 1.6]))
    rng = np.random.default_rng(1)
    p_cam = rng.uniform(-1, 1, size=(20, 3))
    p_base = to_base(p_cam, base_from_camera)
    expected = (base_from_camera @ np.c_[p_cam, np.ones(20)].T).T[:, :3]
    assert np.allclose(p_base, expected)
    assert np.allclose(transform_points(invert(base_from_camera), p_base), p_cam)
    assert np.allclose(to_base(p_cam[0], base_from_camera), p_base[0])  # a single (3,) point
    assert np.allclose(to_base(np.zeros(3), base_from_camera), [0.9, -0.1, 0.7])  # camera origin
    # a calibration file rounded to 6 decimals is still accepted
    assert to_base(p_cam, np.round(base_from_camera, 6)).shape == (20, 3)


def _extrinsic_with(row: int, col: int | slice, value) -> np.ndarray:
    T = make_pose([0.5, 0.0, 0.6], Rotation.from_euler("x", 180, degrees=True))  # looking straight down
    T[row, col] = value(T[row, col]) if callable(value) else value
    return T


@pytest.mark.parametrize("T, match", [
    (np.eye(3), "4x4"),
    (np.ones((4, 4)), "4x4"),
    (_extrinsic_with(slice(0, 3), slice(0, 3), lambda R: R * 1.01), "not rigid"),  # a scale
    (_extrinsic_with(slice(0, 3), 0, lambda c: -c), "not rigid"),                   # a mirror
    (_extrinsic_with(0, 1, 0.3), "not rigid"),                                        # a shear
    (_extrinsic_with(1, 3, np.nan), "NaN"),
])
def test_to_base_refuses_non_rigid_extrinsics(T, match):
    with pytest.raises(FrameError, match=match):
        to_base(np.zeros((2, 3)), T)


def test_to_base_refuses_points_of_the_wrong_shape():
    with pytest.raises(FrameError, match=r"\(N,3\)"):
        to_base(np.zeros((2, 4)), np.eye(4))


# ---- frame and intrinsics validation ------------------------------------------------------------

def good(**overrides) -> dict:
    kw = dict(color_rgb=np.zeros((480, 640, 3), np.uint8), depth_mm=np.zeros((480, 640), np.uint16), intrinsics=K)
    kw.update(overrides)
    return kw


@pytest.mark.parametrize("overrides, match", [
    (dict(color_rgb=np.zeros((480, 640, 4), np.uint8)), "HxWx3 uint8"),          # RGBA
    (dict(color_rgb=np.zeros((480, 640, 3), np.uint16)), "HxWx3 uint8"),
    (dict(color_rgb=np.zeros((480, 640, 3), np.uint8).tolist()), "numpy arrays"),
    (dict(depth_mm=np.zeros((480, 640), np.float32)), "uint16 millimetres"),   # metres by mistake
    (dict(depth_mm=np.zeros((480, 640), np.int16)), "uint16"),
    (dict(depth_mm=np.zeros((480, 640), np.dtype(">u2"))), "uint16"),            # byte-swapped
    (dict(depth_mm=np.zeros((480, 640, 1), np.uint16)), "HxW uint16"),
    (dict(depth_mm=np.zeros((481, 640), np.uint16)), "sizes differ"),
    (dict(color_rgb=np.zeros((480, 0, 3), np.uint8), depth_mm=np.zeros((480, 0), np.uint16)), "empty"),
    (dict(intrinsics=CameraIntrinsics(1280, 720, 900.0, 900.0, 640.0, 360.0)), "intrinsics are for 1280x720"),
    (dict(intrinsics=K.K), "CameraIntrinsics"),
    (dict(stamp_s=float("nan")), "stamp"),
])
def test_malformed_frames_are_refused(overrides, match):
    with pytest.raises(FrameError, match=match):
        RGBDFrame(**good(**overrides))


def test_frame_errors_are_value_errors_a_caller_can_catch():
    assert issubclass(FrameError, SpatialBotError) and issubclass(FrameError, ValueError)
    f = RGBDFrame(**good(stamp_s=12.5))
    assert f.shape == (480, 640) and f.valid_depth_fraction == 0.0


@pytest.mark.parametrize("args, match", [
    ((640, 480, 20.0, 465.0, 320.0, 240.0), "absurd"),        # fx far too short
    ((640, 480, 1e5, 1e5, 320.0, 240.0), "absurd"),           # far too long
    ((640, 480, 465.0, 15.0, 320.0, 240.0), "absurd"),        # only fy wrong
    ((640, 480, 465.0, 465.0, -1.0, 240.0), "outside"),
    ((640, 480, 465.0, 465.0, 320.0, 481.0), "outside"),
    ((640, 480, 465.0, math.inf, 320.0, 240.0), "not finite"),
    ((640, -480, 465.0, 465.0, 320.0, 240.0), "positive"),
    ((640.5, 480, 465.0, 465.0, 320.0, 240.0), "whole number"),
    (("640", 480, 465.0, 465.0, 320.0, 240.0), "whole number"),
])
def test_absurd_intrinsics_are_refused(args, match):
    with pytest.raises(FrameError, match=match):
        CameraIntrinsics(*args)


@pytest.mark.parametrize("hfov", [0.0, 1.0, 179.0, 200.0, float("nan")])
def test_impossible_fields_of_view_are_refused(hfov):
    with pytest.raises(FrameError, match="FOV"):
        CameraIntrinsics.from_hfov(640, 480, hfov)


def test_numpy_integer_sizes_are_accepted_and_scaling_keeps_the_field_of_view():
    k = CameraIntrinsics(np.int64(640), np.int32(480), 615.0, 612.0, 322.5, 241.0)
    small = k.scaled(320, 240)
    assert (small.fx, small.fy, small.cx, small.cy) == (307.5, 306.0, 161.25, 120.5)
    assert small.vfov_deg == pytest.approx(k.vfov_deg)
    p = np.array([0.1, -0.05, 0.8])
    assert np.allclose(project(p, small), project(p, k) / 2)
    assert np.array_equal(k.K, [[615.0, 0, 322.5], [0, 612.0, 241.0], [0, 0, 1]])
