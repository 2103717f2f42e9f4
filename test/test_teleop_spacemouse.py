"""SpaceMouse: the pure state mapping, and the lazily imported library (fabricated, not installed)."""

import sys
import types

import numpy as np
import pytest

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.teleop import TeleopConfig, TeleopEvent, TeleopFrame
from spatialbot_ros.teleop.spacemouse import SpaceMouseTeleop, SpaceMouseUnavailable, spacemouse_command

pytestmark = pytest.mark.core
CFG = TeleopConfig(deadband=0.1)


def test_full_deflection_is_max_speed_on_each_axis():
    for i in range(6):
        state = [0.0] * 6
        state[i] = -1.0
        cmd = spacemouse_command(state, [0, 0], 0.0, CFG)
        expected = np.zeros(6)
        expected[i] = -(CFG.max_linear_mps if i < 3 else CFG.max_angular_rps)
        np.testing.assert_allclose(np.concatenate([cmd.linear, cmd.angular]), expected, err_msg=f"axis {i}")
        assert cmd.deadman


def test_deadband_and_norm_clip():
    resting = spacemouse_command([0.05, -0.09, 0.1, 0.02, 0.0, -0.08], [0, 0], 0.0, CFG)
    assert not resting.active and not resting.deadman  # cap noise inside the deadband does not engage
    push = spacemouse_command([1.0, 1.0, 1.0, 0, 0, 0], [0, 0], 0.0, CFG)
    assert np.linalg.norm(push.linear) == pytest.approx(CFG.max_linear_mps)
    half = spacemouse_command([0.55, 0, 0, 0, 0, 0], [0, 0], 0.0, CFG)
    np.testing.assert_allclose(half.linear, [0.5 * CFG.max_linear_mps, 0, 0])  # (0.55-0.1)/(1-0.1)


def test_buttons_close_and_open_the_gripper_and_engage():
    close = spacemouse_command([0.0] * 6, [1, 0], 0.0, CFG)
    assert close.gripper == GripperCommand.CLOSE and close.deadman
    assert spacemouse_command([0.0] * 6, [0, 1], 0.0, CFG).gripper == GripperCommand.OPEN
    assert spacemouse_command([0.0] * 6, [1, 1], 0.0, CFG).gripper == GripperCommand.HOLD
    assert spacemouse_command([0.0] * 6, [], 0.0, CFG).gripper == GripperCommand.HOLD  # a model without buttons


def test_axis_signs_and_frame():
    cfg = TeleopConfig(frame=TeleopFrame.TOOL)
    cmd = spacemouse_command([1.0, 0, 0, 0, 0, 1.0], [0, 0], 0.0, cfg, axis_signs=(-1, 1, 1, 1, 1, -1))
    np.testing.assert_allclose(cmd.linear, [-cfg.max_linear_mps, 0, 0])
    np.testing.assert_allclose(cmd.angular, [0, 0, -cfg.max_angular_rps])
    assert cmd.frame is TeleopFrame.TOOL


def test_bad_state_is_refused():
    with pytest.raises(ValueError, match="6 values"):
        spacemouse_command([0.0] * 5, [0, 0], 0.0, CFG)
    with pytest.raises(ValueError, match="finite"):
        spacemouse_command([float("nan")] + [0.0] * 5, [0, 0], 0.0, CFG)


def test_open_without_pyspacemouse_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspacemouse", None)  # import now raises ImportError
    with pytest.raises(SpaceMouseUnavailable, match="pip install pyspacemouse") as info:
        SpaceMouseTeleop(CFG).open()
    assert "udev" in str(info.value)


class _FakeDevice:
    def __init__(self, states):
        self.states = list(states)
        self.closed = False

    def read(self):
        if not self.states:
            raise OSError("device unplugged")
        return self.states.pop(0)

    def close(self):
        self.closed = True


def _fake_library(monkeypatch, open_fn):
    lib = types.ModuleType("pyspacemouse")
    lib.open = open_fn
    monkeypatch.setitem(sys.modules, "pyspacemouse", lib)
    return lib


def test_polls_a_device_and_stops_once_when_it_is_unplugged(monkeypatch):
    state = types.SimpleNamespace(x=0.0, y=1.0, z=0.0, roll=0.0, pitch=0.0, yaw=0.0, buttons=[1, 0])
    dev = _FakeDevice([state])
    _fake_library(monkeypatch, lambda **kw: dev)
    with SpaceMouseTeleop(CFG) as sm:
        cmd = sm.poll(3.0)
        np.testing.assert_allclose(cmd.linear, [0, CFG.max_linear_mps, 0])
        assert cmd.gripper == GripperCommand.CLOSE and cmd.stamp_s == 3.0
        lost = sm.poll(3.1)
        assert lost.events == (TeleopEvent.STOP,) and not lost.active
        assert dev.closed
        assert sm.poll(3.2).events == ()


def test_no_device_found_is_unavailable_with_the_udev_hint(monkeypatch):
    def no_device(**kw):
        raise RuntimeError("No connected or supported devices found.")

    _fake_library(monkeypatch, no_device)
    with pytest.raises(SpaceMouseUnavailable, match="No connected") as info:
        SpaceMouseTeleop(CFG).open()
    assert "udev" in str(info.value)
    _fake_library(monkeypatch, lambda **kw: None)  # pyspacemouse 1.x: None when nothing is found
    with pytest.raises(SpaceMouseUnavailable, match="no SpaceMouse found"):
        SpaceMouseTeleop(CFG).open()
