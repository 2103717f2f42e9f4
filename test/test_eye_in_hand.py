"""Eye-in-hand camera poses: the joints at a frame's stamp from the joint-state history, the wrist
camera's pose from them, and a point seen by the wrist camera landing where it is in the base frame."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.geometry import deproject
from spatialbot_ros.core.hand_eye import JointHistory, wrist_camera_pose
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.core.ur_kinematics import UR5_DH, fk

pytestmark = pytest.mark.core

Q0 = np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0])
# a wrist mount: camera 8 cm along tool0 x, 3 cm along z, looking along tool0 z (rotated 90 deg about z)
TOOL0_FROM_CAMERA = make_pose([0.08, 0.0, 0.03], np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))


def test_joints_at_a_stamp_are_interpolated_and_uncovered_stamps_are_refused():
    h = JointHistory(horizon_s=2.0, max_gap_s=0.05)
    for i in range(11):                       # 100 Hz, the first joint sweeping at 1 rad/s
        h.add(10.0 + 0.01 * i, Q0 + np.array([0.01 * i, 0, 0, 0, 0, 0]))
    assert np.allclose(h.at(10.035), Q0 + [0.035, 0, 0, 0, 0, 0])
    assert np.allclose(h.at(10.13), Q0 + [0.10, 0, 0, 0, 0, 0])     # just after the newest: the newest
    assert h.at(10.2) is None and h.at(9.99) is None                # too far after / before the history
    h.add(10.05, Q0 + 5.0)                                          # out of order: ignored
    assert np.allclose(h.latest()[1], Q0 + [0.10, 0, 0, 0, 0, 0])
    h.add(10.3, Q0)                                                 # a 200 ms hole in the joint states
    assert h.at(10.2) is None and np.allclose(h.at(10.3), Q0)
    h.add(13.0, Q0)                                                 # older than the horizon is forgotten
    assert h.at(10.05) is None


def test_a_point_seen_by_the_wrist_camera_lands_where_it_is_in_the_base_frame():
    q = Q0 + np.array([0.3, 0.2, -0.1, 0.1, 0.2, 0.4])
    base_from_camera = wrist_camera_pose(q, TOOL0_FROM_CAMERA, UR5_DH)
    assert np.allclose(base_from_camera, fk(q, UR5_DH) @ TOOL0_FROM_CAMERA)
    k = CameraIntrinsics(640, 480, 465.0, 465.0, 320.0, 240.0)
    target_base = base_from_camera @ np.array([0.05, -0.02, 0.4, 1.0])   # a point 40 cm in front of the lens
    p_cam = np.linalg.inv(base_from_camera) @ target_base
    u, v = k.fx * p_cam[0] / p_cam[2] + k.cx, k.fy * p_cam[1] / p_cam[2] + k.cy
    seen = deproject(u, v, p_cam[2], k)
    assert np.allclose((base_from_camera @ np.append(seen, 1.0))[:3], target_base[:3], atol=1e-9)
    # with the joints of another moment the same pixel lands elsewhere: the stamp matters
    moved = wrist_camera_pose(q + np.array([0.05, 0, 0, 0, 0, 0]), TOOL0_FROM_CAMERA, UR5_DH)
    assert np.linalg.norm((moved @ np.append(seen, 1.0))[:3] - target_base[:3]) > 0.01  # 14 mm for 0.05 rad
