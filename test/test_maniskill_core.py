"""The ManiSkill3 adapter's pure parts: sensor conversion, frames, grasp yaw and clearance, the
remembered marks, the task instructions and the pinned requirements (no simulator needed)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.grounding import require_object_phrase
from spatialbot_ros.core.marks import DepthStats, Mark, Proposals
from spatialbot_ros.core.transforms import invert, make_pose
from spatialbot_ros.sim.maniskill_env import (
    TASKS,
    camera_from_world,
    frame_from_sensor,
    pose_from_raw,
    task_spec,
)
from spatialbot_ros.sim.maniskill_episode import (
    _moved,
    _nearest_yaw,
    _rewrite,
    choose_yaw,
    face_yaw,
    finger_clearance_m,
)

pytestmark = pytest.mark.core
ROOT = Path(__file__).resolve().parents[1]


def test_sensor_frame_keeps_depth_mm_and_intrinsics():
    rgb = np.zeros((1, 4, 6, 3), np.uint8)[0]
    depth = np.array([[[-1], [0], [500], [32767], [7], [8]]] * 4, np.int16).reshape(4, 6, 1)
    K = np.array([[10.0, 0, 3.0], [0, 11.0, 2.0], [0, 0, 1]])
    f = frame_from_sensor(rgb, depth, K)
    assert f.depth_mm.dtype == np.uint16 and f.depth_mm.shape == (4, 6)
    assert f.depth_mm[0, 0] == 0 and f.depth_mm[0, 2] == 500 and f.depth_mm[0, 3] == 32767  # negative = no data
    assert (f.intrinsics.fx, f.intrinsics.fy, f.intrinsics.cx, f.intrinsics.cy) == (10.0, 11.0, 3.0, 2.0)
    with pytest.raises(FrameError):
        frame_from_sensor(rgb, depth, np.array([[10.0, 0, 30.0], [0, 11.0, 2.0], [0, 0, 1]]))  # cx off the image


def test_raw_pose_is_xyz_then_wxyz():
    q_wxyz = [math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]  # 90 deg about z
    T = pose_from_raw(np.array([1.0, 2.0, 3.0, *q_wxyz]))
    assert np.allclose(T[:3, 3], [1, 2, 3])
    assert np.allclose(T[:3, :3] @ [1, 0, 0], [0, 1, 0], atol=1e-9)


def test_extrinsic_cv_maps_world_points_into_the_optical_frame():
    world_from_cam = make_pose([0.3, 0.0, 0.6], np.array([[0, 0, -1], [-1, 0, 0], [0, 1, 0]]).T @ np.diag([1, 1, 1]))
    extrinsic = invert(world_from_cam)[:3, :]
    cam_from_world = camera_from_world(extrinsic)
    p_world = np.array([0.1, 0.2, 0.0, 1.0])
    assert np.allclose(cam_from_world @ p_world, invert(world_from_cam) @ p_world)


def _square(centre, side, yaw, n=12):
    s = np.linspace(-side / 2, side / 2, n)
    gx, gy = np.meshgrid(s, s)
    local = np.stack([gx.ravel(), gy.ravel()], axis=1)
    c, si = math.cos(yaw), math.sin(yaw)
    xy = local @ np.array([[c, si], [-si, c]]) + centre
    return np.column_stack([xy, np.full(len(xy), 0.04)])


def test_face_yaw_finds_a_rotated_cube_side():
    pts = _square(np.array([0.5, 0.0]), 0.04, math.radians(25))
    yaw = face_yaw(pts, 0.04, 0.01)
    # a square's sides repeat every 90 degrees
    assert min(abs((yaw - math.radians(25) + math.pi / 4) % (math.pi / 2) - math.pi / 4), 1.0) < math.radians(2)


def test_nearest_yaw_turns_the_wrist_least():
    assert _nearest_yaw(0.1, math.pi / 2, math.pi / 2) == pytest.approx(0.1 + math.pi / 2)
    assert _nearest_yaw(0.1, -1.4, math.pi / 2) == pytest.approx(0.1 - math.pi / 2)


def test_yaw_avoids_a_neighbour_beside_the_fingers():
    centre = np.array([0.5, 0.0])
    neighbour = _square(np.array([0.5, 0.055]), 0.04, 0.0)[:, :2]  # 5.5 cm along +y
    # yaw 0 closes along y (fingers at +-4 cm in y: into the neighbour); pi/2 closes along x
    assert finger_clearance_m(centre, 0.0, 0.04, neighbour) < 0.01
    assert finger_clearance_m(centre, math.pi / 2, 0.04, neighbour) > 0.03
    assert choose_yaw(centre, 0.0, 0.0, 0.04, neighbour, 0.015) == pytest.approx(math.pi / 2)
    # the wrist joint turns opposite to the yaw: with it near its limit, the other way round
    assert choose_yaw(centre, 0.0, 0.0, 0.04, neighbour, 0.015, wrist_rad=-2.0) == pytest.approx(-math.pi / 2)
    # nothing near: the face nearest the current wrist yaw
    assert choose_yaw(centre, 0.0, 0.1, 0.04, np.zeros((0, 2)), 0.015) == pytest.approx(0.0)


def _mark(i, xy):
    pts_cam = np.array([[xy[0], xy[1], 0.7]] * 20)
    return Mark(id=i, mask=np.zeros((4, 4), bool), box_xyxy=(0, 0, 1, 1), centroid_px=(0.0, 0.0),
                centroid_cam=pts_cam[0].copy(), footprint_m=(0.04, 0.04), height_m=0.04, color_name="red",
                depth=DepthStats(700, 700, 700, 700, 1.0), shape="box", points_cam=pts_cam,
                centroid_base=np.array([xy[0], xy[1], 0.02]))


def test_remembered_marks_move_only_the_placed_object():
    base_from_camera = make_pose([0.0, 0.0, 0.0], np.array([[0, 1, 0], [1, 0, 0], [0, 0, -1]]))
    props = Proposals([_mark(1, (0.5, 0.0)), _mark(2, (0.6, 0.1))], None)
    moved = _moved(props, props.marks[0], np.array([0.02, -0.03, 0.05]), base_from_camera)
    assert np.allclose(moved.marks[0].centroid_base, [0.52, -0.03, 0.02])   # moved on the table, not lifted
    pts_base = (base_from_camera[:3, :3] @ moved.marks[0].points_cam.T).T
    assert np.allclose(pts_base[:, :2] - (base_from_camera[:3, :3] @ props.marks[0].points_cam.T).T[:, :2],
                       [0.02, -0.03])
    assert moved.marks[1] is props.marks[1] and np.allclose(props.marks[0].centroid_base, [0.5, 0.0, 0.02])


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_step_is_an_instruction_our_grounder_reads(task):
    spec = task_spec(task)
    for step in spec.steps:
        parts = require_object_phrase(_rewrite(step, spec.vocabulary))
        assert parts.pick_phrase
        if not spec.goal_from_task:
            assert parts.place_phrase, step


def test_unknown_task_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="StackCube-v1"):
        task_spec("OpenCabinetDrawer-v1")


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_maniskill_requirements_pin_torch_and_agree_with_base():
    ms = _pins(ROOT / "requirements" / "maniskill.txt")
    planner = _pins(ROOT / "requirements" / "maniskill-planner.txt")
    base = _pins(ROOT / "requirements" / "base.txt")
    for pins in (ms, planner):
        assert pins["torch"] == "2.13.0" and pins["sapien"] == "3.0.3" and pins["mani-skill"] == "3.0.1"
    assert planner["numpy"].startswith("1.")  # mplib 0.1.1 segfaults under numpy 2
    shared = set(ms) & set(base)
    assert {"numpy", "scipy", "ros-jazzy-rclpy"} <= shared
    assert {k: ms[k] for k in shared} == {k: base[k] for k in shared}
    assert ms["opencv-python"] == base["opencv-python-headless"]
    assert "opencv-python-headless" not in ms  # sapien needs opencv-python; two OpenCVs share one cv2


def test_the_test_command_builds_maniskill_and_requires_its_tests():
    # CI keeps the integration alive only while the test profile builds the venv and scripts/test
    # turns a missing venv into failures rather than skips
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    test_cmd = (ROOT / "scripts" / "test").read_text()
    assert re.search(r'if \[ "\$profile" = "test" \].*\n\s+scripts/setup.sh maniskill\n', setup)
    assert "export SPATIALBOT_REQUIRE_MANISKILL=1" in test_cmd
    assert test_cmd.index("scripts/setup.sh test") < test_cmd.index("SPATIALBOT_REQUIRE_MANISKILL")


def test_a_missing_maniskill_venv_fails_when_required_and_skips_otherwise(monkeypatch, tmp_path):
    import importlib.util

    from test_maniskill_smoke import maniskill_python

    if importlib.util.find_spec("mani_skill") is not None:
        pytest.skip("mani_skill imports in this interpreter: there is no missing venv to report")
    monkeypatch.setenv("MANISKILL_VENV", str(tmp_path / "no-such-venv"))
    monkeypatch.setenv("SPATIALBOT_REQUIRE_MANISKILL", "1")
    with pytest.raises(pytest.fail.Exception, match="SPATIALBOT_REQUIRE_MANISKILL=1"):
        maniskill_python()
    monkeypatch.delenv("SPATIALBOT_REQUIRE_MANISKILL")
    with pytest.raises(pytest.skip.Exception, match="scripts/setup.sh maniskill"):
        maniskill_python()
