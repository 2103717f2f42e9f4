import numpy as np
import pytest

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.geometry import deproject, depth_image_to_points, project, roi_points, to_base
from spatialbot_ros.core.transforms import invert, look_at, transform_points

pytestmark = pytest.mark.core
K = CameraIntrinsics.from_hfov(640, 480, 69.0)


def frame(depth=None, color=None, k=K):
    depth = np.full((480, 640), 800, np.uint16) if depth is None else depth
    color = np.zeros((480, 640, 3), np.uint8) if color is None else color
    return RGBDFrame(color, depth, k)


def test_d435_like_intrinsics():
    assert K.fx == pytest.approx(465.6, abs=1.0)  # 640 px at 69 deg: design fact fx ~ 465
    assert K.fy == K.fx and K.cx == pytest.approx(319.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(color=np.zeros((480, 640), np.uint8)), "HxWx3 uint8"),
    (dict(color=np.zeros((480, 640, 3), np.float32)), "HxWx3 uint8"),
    (dict(depth=np.zeros((480, 640), np.float32)), "uint16"),
    (dict(depth=np.zeros((240, 320), np.uint16)), "sizes differ"),
    (dict(depth=np.zeros((0, 640), np.uint16), color=np.zeros((0, 640, 3), np.uint8)), "empty"),
    (dict(k=CameraIntrinsics.from_hfov(320, 240, 69.0)), "intrinsics are for 320x240"),
])
def test_bad_frames_are_refused_with_a_reason(kwargs, match):
    with pytest.raises(FrameError, match=match):
        frame(**kwargs)


@pytest.mark.parametrize("args, match", [
    ((640, 480, 1.0, 465.0, 320, 240), "absurd"),
    ((640, 480, 465.0, 465.0, 900, 240), "outside"),
    ((640, 480, float("nan"), 465.0, 320, 240), "not finite"),
    ((0, 480, 465.0, 465.0, 0, 240), "positive"),
])
def test_absurd_intrinsics_are_refused(args, match):
    with pytest.raises(FrameError, match=match):
        CameraIntrinsics(*args)


def test_deproject_project_round_trip():
    rng = np.random.default_rng(0)
    uv = rng.uniform([0, 0], [639, 479], size=(500, 2))
    z = rng.uniform(0.2, 3.0, size=500)
    pts = deproject(uv[:, 0], uv[:, 1], z, K)
    assert np.allclose(pts[:, 2], z)
    assert np.allclose(project(pts, K), uv, atol=1e-9)
    with pytest.raises(FrameError, match="behind"):
        project(np.array([0.0, 0.0, -1.0]), K)


def test_organised_cloud_marks_holes_and_strides():
    d = np.full((480, 640), 1000, np.uint16)
    d[10, 20] = 0
    pts, valid = depth_image_to_points(d, K)
    assert pts.shape == (480, 640, 3) and not valid[10, 20] and np.isnan(pts[10, 20]).all()
    assert pts[240, 320, 2] == pytest.approx(1.0)
    sub, _ = depth_image_to_points(d, K, stride=4)
    assert sub.shape == (120, 160, 3) and np.allclose(sub[1, 1], pts[4, 4])


def test_roi_points_respect_mask_box_and_holes():
    d = np.zeros((480, 640), np.uint16)
    d[100:110, 200:210] = 500
    mask = np.zeros((480, 640), bool)
    mask[100:105, 200:210] = True
    assert len(roi_points(d, K, mask=mask)) == 50
    assert len(roi_points(d, K, box_xyxy=(200, 100, 205, 110))) == 50
    assert len(roi_points(d, K, mask=mask, box_xyxy=(200, 100, 205, 110))) == 25
    assert np.allclose(roi_points(d, K)[:, 2], 0.5)


def test_to_base_matches_the_extrinsic_and_rejects_non_rigid():
    base_from_camera = look_at([1.15, 0.0, 0.62], [0.5, 0.0, 0.0])
    p_base = np.array([0.5, 0.1, 0.05])
    p_cam = transform_points(invert(base_from_camera), p_base)
    assert np.allclose(to_base(p_cam, base_from_camera), p_base)
    with pytest.raises(FrameError):
        to_base(p_cam, np.ones((3, 3)))


def test_depth_in_metres_has_nan_holes():
    d = np.full((480, 640), 750, np.uint16)
    d[0, 0] = 0
    f = frame(depth=d)
    m = f.depth_m()
    assert np.isnan(m[0, 0]) and m[1, 1] == pytest.approx(0.75)
    assert f.valid_depth_fraction == pytest.approx(1 - 1 / d.size)
