"""The pure parts of the stop path: when a braking arm counts as at rest, joint velocities from a
JointState, and SafeMotion handing its e-stop to the backend as a pre-send interlock."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from spatialbot_ros.core.safety import EStop
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
from spatialbot_ros.motion.frames import velocities_from_state
from spatialbot_ros.motion.joint_trajectory import came_to_rest
from spatialbot_ros.motion.safety_gate import SafeMotion

pytestmark = pytest.mark.core


def test_at_rest_once_slow_or_once_the_motion_turns_back():
    v0 = np.array([0.0, 0.25, -0.24, 0.0, 0.0, 0.03])
    assert not came_to_rest(v0 * 0.5, v0, 0.02)                    # still braking forward
    assert came_to_rest(np.full(6, 0.019), v0, 0.02)               # every joint slow
    assert came_to_rest(np.array([0.0, -0.03, 0.03, 0, 0, 0]), v0, 0.02)  # pulled back: past its stopping point
    assert not came_to_rest(np.array([0.0, 0.03, 0.0, 0, 0, 0]), v0, 0.02)


def test_velocities_come_by_name_and_a_missing_field_reads_as_none():
    names = ["robotiq_85_left_knuckle_joint", *reversed(UR_JOINT_NAMES)]
    msg = SimpleNamespace(name=names, position=[0.0] * 7, velocity=[9.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    assert np.allclose(velocities_from_state(msg, UR_JOINT_NAMES), [1, 2, 3, 4, 5, 6])
    assert velocities_from_state(SimpleNamespace(name=names, position=[0.0] * 7, velocity=[]), UR_JOINT_NAMES) is None
    msg.velocity[3] = float("nan")
    assert velocities_from_state(msg, UR_JOINT_NAMES) is None


class _Backend:
    tcp_offset_m = 0.15

    def __init__(self) -> None:
        self.interlock = None
        self.stops = 0

    def set_interlock(self, engaged):
        self.interlock = engaged

    def stop(self) -> None:
        self.stops += 1

    def plan_joints(self, q, speed_scale=1.0):  # pragma: no cover - not called
        raise AssertionError


def test_safe_motion_hands_its_estop_to_the_backend_as_interlock():
    backend, estop = _Backend(), EStop()
    SafeMotion(backend, estop=estop)
    assert backend.interlock is not None and backend.interlock() is False
    estop.engage("test")
    assert backend.interlock() is True and backend.stops == 1
    estop.reset()
    assert backend.interlock() is False
