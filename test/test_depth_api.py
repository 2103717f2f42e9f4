import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.depth_api import DepthAPI, DepthRequest, find_depth_requests
from spatialbot_ros.core.errors import DepthQueryError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame

pytestmark = pytest.mark.core
K = CameraIntrinsics.from_hfov(640, 480, 69.0)


def make_api(depth: np.ndarray, **kwargs) -> DepthAPI:
    h, w = depth.shape
    k = K if (h, w) == (480, 640) else CameraIntrinsics.from_hfov(w, h, 69.0)
    return DepthAPI(RGBDFrame(np.zeros((h, w, 3), np.uint8), depth, k), **kwargs)


@pytest.fixture()
def api():
    d = np.full((480, 640), 1500, np.uint16)
    d[:, 320:] = 900          # right half nearer
    d[100:140, 100:140] = 600  # a box
    d[240, 100] = 0           # a hole
    d[400:480, 0:40] = 0      # a big hole
    return make_api(d)


# ---- points ------------------------------------------------------------------------------------

def test_point_queries_normalised_and_pixels(api):
    assert api.depth_at(0.25, 0.5) == 1500
    assert api.depth_at(0.75, 0.5) == 900
    assert api.depth_at(120, 120, normalized=False) == 600
    # x is the column, y the row: (0.2, 0.25) is pixel (128, 120) inside the box, (0.25, 0.2) is not
    assert api.depth_at(0.2, 0.25) == 600 and api.depth_at(0.19, 0.5) == 1500
    assert api.depth_at(1.0, 1.0) == 900  # the far edge is the last pixel, not out of range


def test_holes_fall_back_to_neighbours_and_big_holes_raise(api):
    assert api.depth_at(100, 240, normalized=False) == 1500
    with pytest.raises(DepthQueryError, match="no valid depth"):
        api.depth_at(5, 470, normalized=False)
    for bad in [(1.2, 0.5), (-0.01, 0.5), (0.5, float("nan"))]:
        with pytest.raises(DepthQueryError, match="outside|not finite"):
            api.depth_at(*bad)
    with pytest.raises(DepthQueryError, match="outside"):
        api.depth_at(640, 10, normalized=False)


def test_hole_answer_is_the_median_of_the_smallest_window_with_data():
    d = np.zeros((30, 40), np.uint16)
    d[10, 11], d[11, 9] = 700, 800  # row, column: both within radius 1 of the hole at (10, 10)
    api = make_api(d)
    assert api.depth_at(10, 10, normalized=False) == 750.0  # median(700, 800)
    d[8, 8:13] = 2000  # radius 2 has more (and farther) data, but radius 1 already answers
    assert make_api(d).depth_at(10, 10, normalized=False) == 750.0
    d2 = np.zeros((30, 40), np.uint16)
    d2[5, 5] = 1234
    assert make_api(d2).depth_at(8, 5, normalized=False) == 1234  # found at radius 3
    assert make_api(d2, max_radius_px=7).depth_at(12, 12, normalized=False) == 1234  # radius 7: the limit
    with pytest.raises(DepthQueryError):
        make_api(d2, max_radius_px=2).depth_at(8, 5, normalized=False)
    with pytest.raises(DepthQueryError):
        make_api(d2).depth_at(13, 5, normalized=False)  # radius 8 > default 7


def test_construction_is_cheap_and_validates_its_parameter(api):
    with pytest.raises(ValueError, match="max_radius_px"):
        DepthAPI(api.frame, max_radius_px=-1)
    with pytest.raises(TypeError):
        DepthAPI(np.zeros((4, 4)))  # type: ignore[arg-type]


def test_batch_agrees_with_scalar_and_marks_missing_as_nan(api):
    pts = np.array([[0.25, 0.5], [0.75, 0.5], [100 / 640, 240 / 480], [2 / 640, 470 / 480], [1.5, 0.2],
                    [np.nan, 0.5], [1e300, -1e300]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN / huge inputs must not trip numpy cast warnings
        out = api.depth_at_batch(pts)
    assert out.shape == (7,)
    assert out[:3].tolist() == [api.depth_at(*pts[0]), api.depth_at(*pts[1]), api.depth_at(*pts[2])]
    assert np.isnan(out[3:]).all()
    assert api.depth_at_batch(np.zeros((0, 2))).shape == (0,)
    assert api.depth_at_batch([0.25, 0.5]).tolist() == [1500.0]
    with pytest.raises(DepthQueryError, match=r"\(N,2\)"):
        api.depth_at_batch(np.zeros((2, 3)))  # must not be silently reshaped to (3, 2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), hole_fraction=st.sampled_from([0.3, 0.8, 0.97]),
       radius=st.integers(0, 4), normalized=st.booleans())
def test_batch_equals_scalar_on_random_holey_frames(seed, hole_fraction, radius, normalized):
    rng = np.random.default_rng(seed)
    d = rng.integers(200, 5000, size=(24, 32)).astype(np.uint16)
    d[rng.random(d.shape) < hole_fraction] = 0
    api = make_api(d, max_radius_px=radius)
    scale = np.array([1.0, 1.0]) if normalized else np.array([32.0, 24.0])
    pts = rng.uniform(-0.1, 1.1, size=(60, 2)) * scale
    pts[:5] = np.array([[0, 0], [1, 1], [0.5, 0.5], [1, 0], [0, 1]]) * (scale - (0 if normalized else 1))
    batch = api.depth_at_batch(pts, normalized=normalized)
    for p, b in zip(pts, batch, strict=True):
        try:
            expected = api.depth_at(*p, normalized=normalized)
        except DepthQueryError:
            expected = np.nan
        assert (np.isnan(b) and np.isnan(expected)) or b == expected, (p, b, expected)


# ---- regions -----------------------------------------------------------------------------------

@pytest.fixture()
def step():
    d = np.full((480, 640), 1000, np.uint16)
    d[:, 320:] = 2000
    return d


def test_region_stats_on_a_step_image(step):
    api = make_api(step)
    s = api.region_stats(box_xyxy=(300, 100, 360, 200))  # 20 columns at 1000, 40 at 2000
    assert (s.min_mm, s.max_mm) == (1000, 2000)
    assert s.mean_mm == pytest.approx((20 * 1000 + 40 * 2000) / 60)
    assert s.center_mm == 2000 and s.valid_fraction == 1.0  # centre column 329.5 -> 330
    assert api.region_stats(box_xyxy=(300 / 640, 100 / 480, 360 / 640, 200 / 480), normalized=True) == s
    whole = api.region_stats()
    assert whole.mean_mm == pytest.approx(1500) and whole.min_mm == 1000 and whole.max_mm == 2000


def test_region_stats_ignore_invalid_pixels(api):
    s = api.region_stats(box_xyxy=(90, 90, 150, 150))
    assert (s.min_mm, s.max_mm, s.center_mm) == (600, 1500, 600)
    assert s.mean_mm == pytest.approx((40 * 40 * 600 + (60 * 60 - 40 * 40) * 1500) / 3600)
    mask = np.zeros((480, 640), bool)
    mask[400:480, 0:50] = True  # mostly a hole
    s = api.region_stats(mask=mask)
    assert s.min_mm == s.max_mm == s.center_mm == 1500 and s.valid_fraction == pytest.approx(10 / 50)
    s = api.region_stats(box_xyxy=(0, 440, 80, 480))  # a box half in the hole: the fraction says so
    assert s.valid_fraction == pytest.approx(0.5) and s.mean_mm == 1500
    with pytest.raises(DepthQueryError, match="no valid depth"):
        api.region_stats(box_xyxy=(0, 400, 40, 480))


def test_region_is_the_intersection_of_box_and_mask(step):
    api = make_api(step)
    mask = np.zeros((480, 640), np.uint8)
    mask[:, 330:400] = 255  # non-bool masks count as nonzero
    s = api.region_stats(box_xyxy=(300, 0, 340, 10), mask=mask)
    assert s.min_mm == s.max_mm == 2000 and s.valid_fraction == 1.0
    with pytest.raises(DepthQueryError, match="empty"):
        api.region_stats(box_xyxy=(0, 0, 100, 100), mask=mask)


def test_region_centre_reads_the_object_not_the_background_through_a_hole():
    d = np.full((480, 640), 1500, np.uint16)
    d[100:105, 100:141] = 600  # a thin bar
    d[100:105, 115:126] = 0    # with a hole across its middle
    mask = np.zeros_like(d, bool)
    mask[100:105, 100:141] = True
    api = make_api(d)
    assert api.depth_at(120, 102, normalized=False) == 1500  # a point query sees the background first
    s = api.region_stats(mask=mask)
    assert s.center_mm == 600 and s.min_mm == s.max_mm == 600
    assert s.valid_fraction == pytest.approx(30 / 41)


@pytest.mark.parametrize("kwargs, match", [
    (dict(box_xyxy=(700, 0, 800, 10)), "empty or outside"),
    (dict(box_xyxy=(10, 10, 5, 20)), "empty or outside"),
    (dict(box_xyxy=(0, 0, float("nan"), 10)), "finite"),
    (dict(box_xyxy=(0, 0, 10)), "4 finite"),
    (dict(mask=np.ones((240, 320), bool)), "does not match"),
    (dict(mask=np.zeros((480, 640), bool)), "empty"),
])
def test_bad_regions_are_refused(step, kwargs, match):
    with pytest.raises(DepthQueryError, match=match):
        make_api(step).region_stats(**kwargs)


# ---- model text --------------------------------------------------------------------------------

def test_depth_requests_in_model_text_are_answered(api):
    text = "The cup is at Depth(0.75, 0.5) and the box at Depth(0.25,0.5)=1500. Far: Depth(1.5,0.5)"
    out = api.resolve_depth_requests(text)
    assert out == ("The cup is at Depth(0.75, 0.5)=900 and the box at Depth(0.25,0.5)=1500. "
                   "Far: Depth(1.5,0.5)=unknown")
    reqs = find_depth_requests(text)
    assert [(r.x, r.y, r.answered) for r in reqs] == [(0.75, 0.5, False), (0.25, 0.5, True), (1.5, 0.5, False)]
    assert text[slice(*reqs[1].span)] == "Depth(0.25,0.5)=1500"
    assert all(r.answered for r in find_depth_requests(out))


@pytest.mark.parametrize("text, expected", [
    ("Depth(0.2,0.25)", "Depth(0.2,0.25)=600"),                       # a bare final answer
    ("Depth( 0.2 , 0.25 )", "Depth( 0.2 , 0.25 )=600"),               # spaces kept as generated
    ("Depth(.2,.25).", "Depth(.2,.25)=600."),
    ("Depth(1,0)", "Depth(1,0)=900"),
    ("Depth(0.2,0.25)=", "Depth(0.2,0.25)=600"),                      # a dangling '=' is filled
    ("Depth(0.2,0.25) = 123 mm", "Depth(0.2,0.25) = 123 mm"),         # answered: untouched
    ("Depth(0.2,0.25)=unknown", "Depth(0.2,0.25)=unknown"),
    ("Depth(0.2,0.25)=-1", "Depth(0.2,0.25)=-1"),
    ("Depth(0.01,0.99)", "Depth(0.01,0.99)=unknown"),                 # in the big hole
    ("Depth(-0.2,0.5)", "Depth(-0.2,0.5)=unknown"),
    ("Depth(0.2,0.25)Depth(0.75,0.5)", "Depth(0.2,0.25)=600Depth(0.75,0.5)=900"),
])
def test_request_forms(api, text, expected):
    assert api.resolve_depth_requests(text) == expected


@pytest.mark.parametrize("text", [
    "no request here (Depth of field)", "Depth(0.5)", "Depth(a,b)", "Depth(0.1,0.2,0.3)", "Depth(0.1;0.2)",
    "MaxDepth(0.5,0.5)", "Depth(0.5, )", "Depth 0.5,0.5", "Depth(1e-1,0.5)", "",
])
def test_malformed_requests_are_ignored(api, text):
    assert find_depth_requests(text) == []
    assert api.resolve_depth_requests(text) == text


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.one_of(
    st.text(alphabet="abc ,.()=0123456789", max_size=12),
    st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5), st.sampled_from(["", " ", "=", "=77"])),
), max_size=6))
def test_resolution_keeps_the_model_text_and_is_idempotent(parts):
    d = np.full((48, 64), 1000, np.uint16)
    d[:, 32:] = 0  # right half unknown
    api = make_api(d)
    text = " ".join(p if isinstance(p, str) else f"Depth({p[0]:.3f},{p[1]:.3f}){p[2]}" for p in parts)
    out = api.resolve_depth_requests(text)
    assert api.resolve_depth_requests(out) == out
    before, after = find_depth_requests(text), find_depth_requests(out)
    assert len(after) == len(before) and all(r.answered for r in after)
    # only answers were appended: the text between requests is unchanged, each request kept verbatim
    restored, pos = [], 0
    for orig, new in zip(before, after, strict=True):
        orig_text, new_text = text[slice(*orig.span)], out[slice(*new.span)]
        assert new_text.startswith(orig_text)
        if orig.answered:
            assert new_text == orig_text
        else:
            assert re.fullmatch(r"=?(\d+|unknown)", new_text[len(orig_text):]), new_text
        restored += [out[pos:new.span[0]], orig_text]
        pos = new.span[1]
    assert "".join(restored) + out[pos:] == text


def test_depth_request_is_a_plain_dataclass():
    r = find_depth_requests("x Depth(0.52, 0.31) y")[0]
    assert r == DepthRequest(0.52, 0.31, (2, 19), False)
