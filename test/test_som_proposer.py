import numpy as np
import pytest

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.som_overlay import draw_marks, mark_legend
from spatialbot_ros.core.som_proposer import GeometricProposer
from spatialbot_ros.sim.cell import Ur5Cell

pytestmark = pytest.mark.sim
EXPECTED_SHAPE = {"cup": "cylinder", "box": "box", "sphere": "sphere", "plate": "plate", "bowl": "bowl"}


@pytest.fixture(scope="module")
def proposals(six_object_cell):
    cell, objects, frame = six_object_cell
    return GeometricProposer().propose(frame, cell.base_from_camera)


def test_one_mark_per_object_with_position_colour_and_shape(six_object_cell, proposals):
    cell, objects, _ = six_object_cell
    assert len(proposals.marks) == len(objects)
    for o in objects:
        true_xy = np.array(o.position)
        m = min(proposals.marks, key=lambda m: np.linalg.norm(m.centroid_base[:2] - true_xy))
        assert np.linalg.norm(m.centroid_base[:2] - true_xy) < 0.015, o.name
        assert m.color_name == o.color, o.name
        assert m.shape == EXPECTED_SHAPE[o.kind], o.name
        assert m.depth.min_mm <= m.depth.center_mm <= m.depth.max_mm


def test_marks_are_numbered_left_to_right_and_stable(six_object_cell, proposals):
    cell, _, frame = six_object_cell
    us = [m.centroid_px[0] for m in proposals.marks]
    assert [m.id for m in proposals.marks] == list(range(1, len(us) + 1)) and us == sorted(us)
    again = GeometricProposer().propose(frame, cell.base_from_camera)
    assert [(m.id, m.color_name, m.shape) for m in again.marks] == [(m.id, m.color_name, m.shape) for m in proposals.marks]


def test_support_plane_is_the_table(six_object_cell, proposals):
    cell, _, _ = six_object_cell
    up_cam = np.linalg.inv(cell.base_from_camera)[:3, :3] @ np.array([0, 0, 1.0])
    assert proposals.plane.normal @ up_cam == pytest.approx(1.0, abs=2e-3)
    cam_height = cell.base_from_camera[2, 3]
    assert proposals.plane.offset == pytest.approx(cam_height, abs=3e-3)


def test_empty_table_gives_no_marks_and_no_depth_is_an_error():
    cell = Ur5Cell([])
    cell.reset()
    frame = cell.render_rgbd()
    assert GeometricProposer().propose(frame, cell.base_from_camera).marks == []
    blank = RGBDFrame(frame.color_rgb, np.zeros_like(frame.depth_mm), frame.intrinsics)
    with pytest.raises(FrameError, match="no support plane"):
        GeometricProposer().propose(blank)


def test_holes_in_depth_are_tolerated(six_object_cell):
    cell, objects, frame = six_object_cell
    rng = np.random.default_rng(0)
    d = frame.depth_mm.copy()
    d[rng.random(d.shape) < 0.03] = 0
    props = GeometricProposer().propose(RGBDFrame(frame.color_rgb, d, frame.intrinsics), cell.base_from_camera)
    assert len(props.marks) == len(objects)


def test_overlay_draws_numbers_without_touching_the_input(six_object_cell, proposals):
    _, _, frame = six_object_cell
    before = frame.color_rgb.copy()
    img = draw_marks(frame.color_rgb, proposals.marks, chosen_id=2, place_point_px=(100, 400))
    assert np.array_equal(frame.color_rgb, before)
    assert img.shape == before.shape and np.count_nonzero(np.any(img != before, axis=2)) > 2000
    m2 = proposals.by_id(2)
    u, v = (int(c) for c in m2.centroid_px)
    assert np.any(img[v - 8:v + 8, u - 8:u + 8] != before[v - 8:v + 8, u - 8:u + 8])
    assert mark_legend(proposals.marks)[0].startswith("1: ")
