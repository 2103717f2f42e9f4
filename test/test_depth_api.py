import numpy as np
import pytest

from spatialbot_ros.core.depth_api import DepthAPI, find_depth_requests
from spatialbot_ros.core.errors import DepthQueryError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame

pytestmark = pytest.mark.core
K = CameraIntrinsics.from_hfov(640, 480, 69.0)


@pytest.fixture()
def api():
    d = np.full((480, 640), 1500, np.uint16)
    d[:, 320:] = 900          # right half nearer
    d[100:140, 100:140] = 600  # a box
    d[240, 100] = 0           # a hole
    d[400:480, 0:40] = 0      # a big hole
    return DepthAPI(RGBDFrame(np.zeros((480, 640, 3), np.uint8), d, K))


def test_point_queries_normalised_and_pixels(api):
    assert api.depth_at(0.25, 0.5) == 1500
    assert api.depth_at(0.75, 0.5) == 900
    assert api.depth_at(120, 120, normalized=False) == 600


def test_holes_fall_back_to_neighbours_and_big_holes_raise(api):
    assert api.depth_at(100, 240, normalized=False) == 1500
    with pytest.raises(DepthQueryError, match="no valid depth"):
        api.depth_at(5, 470, normalized=False)
    with pytest.raises(DepthQueryError, match="outside"):
        api.depth_at(1.2, 0.5)


def test_batch_agrees_with_scalar_and_marks_missing_as_nan(api):
    pts = np.array([[0.25, 0.5], [0.75, 0.5], [100 / 640, 240 / 480], [2 / 640, 470 / 480], [1.5, 0.2]])
    out = api.depth_at_batch(pts)
    assert out[:3].tolist() == [api.depth_at(*pts[0]), api.depth_at(*pts[1]), api.depth_at(*pts[2])]
    assert np.isnan(out[3]) and np.isnan(out[4])


def test_region_stats_ignore_invalid_pixels(api):
    s = api.region_stats(box_xyxy=(90, 90, 150, 150))
    assert (s.min_mm, s.max_mm, s.center_mm) == (600, 1500, 600)
    assert 600 < s.mean_mm < 1500
    mask = np.zeros((480, 640), bool)
    mask[400:480, 0:50] = True  # mostly a hole
    s = api.region_stats(mask=mask)
    assert s.min_mm == s.max_mm == 1500 and s.valid_fraction == pytest.approx(10 / 50)
    with pytest.raises(DepthQueryError, match="no valid depth"):
        api.region_stats(box_xyxy=(0, 400, 40, 480))


def test_depth_requests_in_model_text_are_answered(api):
    text = "The cup is at Depth(0.75, 0.5) and the box at Depth(0.25,0.5)=1500. Far: Depth(1.5,0.5)"
    out = api.resolve_depth_requests(text)
    assert "Depth(0.75,0.5)=900" in out
    assert "Depth(0.25,0.5)=1500" in out and out.count("=1500") == 1
    assert "Depth(1.5,0.5)=unknown" in out
    reqs = find_depth_requests(text)
    assert [r.answered for r in reqs] == [False, True, False]


def test_bare_final_depth_answer_is_resolved(api):
    assert api.resolve_depth_requests("Depth(0.2,0.25)") == "Depth(0.2,0.25)=600"
    assert api.resolve_depth_requests("no request here (Depth of field)") == "no request here (Depth of field)"
