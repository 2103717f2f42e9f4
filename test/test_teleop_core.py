"""Teleop commands: Twist/Joy mapping, clipping, staleness, deadman, frames, LatestCommand."""

import dataclasses
import threading

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.ee_delta import apply_ee_action
from spatialbot_ros.core.teleop import (
    LatestCommand,
    TeleopCommand,
    TeleopConfig,
    TeleopEvent,
    TeleopFrame,
    command_to_action,
    joy_command,
    twist_command,
)
from spatialbot_ros.core.transforms import make_pose

pytestmark = pytest.mark.core
CFG = TeleopConfig()
TOOL_YAW90 = make_pose([0.4, 0.1, 0.3], Rotation.from_euler("z", 90, degrees=True))


def test_base_frame_twist_becomes_velocity_times_dt():
    cmd = twist_command([0.05, 0.0, -0.02], [0.0, 0.0, 0.3], 10.0, CFG)
    act = command_to_action(cmd, TOOL_YAW90, 0.1, 10.05, CFG)
    np.testing.assert_allclose(act.delta_translation_m, [0.005, 0.0, -0.002])
    np.testing.assert_allclose(act.delta_rotvec, [0.0, 0.0, 0.03])
    assert act.gripper == GripperCommand.HOLD


def test_tool_frame_x_with_tcp_yawed_90_moves_along_base_y():
    cmd = twist_command([0.1, 0.0, 0.0], [0.0, 0.0, 0.0], 0.0, CFG, frame=TeleopFrame.TOOL)
    act = command_to_action(cmd, TOOL_YAW90, 0.1, 0.0, CFG)
    np.testing.assert_allclose(act.delta_translation_m, [0.0, 0.01, 0.0], atol=1e-12)


def test_tool_frame_rotation_matches_scipy_right_multiplication():
    """A tool-frame angular velocity rotates the TCP about its own axes: R_next = R_now @ R(w dt)."""
    R_now = Rotation.from_euler("xyz", [20, -35, 110], degrees=True)
    pose = make_pose([0.5, 0.0, 0.2], R_now)
    w_tool = np.array([0.2, -0.3, 0.4])
    cmd = twist_command([0.02, 0.03, -0.01], w_tool, 0.0, CFG, frame=TeleopFrame.TOOL)
    act = command_to_action(cmd, pose, 0.2, 0.0, CFG)
    nxt = apply_ee_action(pose, act)
    expected_R = (R_now * Rotation.from_rotvec(w_tool * 0.2)).as_matrix()
    np.testing.assert_allclose(nxt[:3, :3], expected_R, atol=1e-12)
    np.testing.assert_allclose(nxt[:3, 3], pose[:3, 3] + R_now.apply([0.004, 0.006, -0.002]), atol=1e-12)


def test_linear_and_angular_norms_are_clipped_keeping_direction():
    cmd = twist_command([1.0, 1.0, 0.0], [0.0, 3.0, 4.0], 0.0, CFG)
    assert np.linalg.norm(cmd.linear) == pytest.approx(CFG.max_linear_mps)
    np.testing.assert_allclose(cmd.linear / np.linalg.norm(cmd.linear), [2**-0.5, 2**-0.5, 0.0])
    assert np.linalg.norm(cmd.angular) == pytest.approx(CFG.max_angular_rps)
    np.testing.assert_allclose(cmd.angular / np.linalg.norm(cmd.angular), [0.0, 0.6, 0.8])
    slow = twist_command([0.01, 0.0, 0.0], [0.0, 0.0, 0.1], 0.0, CFG)
    np.testing.assert_allclose(slow.linear, [0.01, 0.0, 0.0])  # under the limit: untouched


def test_action_clips_a_hand_built_command_too():
    cmd = TeleopCommand(np.array([5.0, 0, 0]), np.array([0, 0, 9.0]), TeleopFrame.BASE, GripperCommand.HOLD, 0.0, True)
    act = command_to_action(cmd, np.eye(4), 0.1, 0.0, CFG)
    assert np.linalg.norm(act.delta_translation_m) == pytest.approx(CFG.max_linear_mps * 0.1)
    assert np.linalg.norm(act.delta_rotvec) == pytest.approx(CFG.max_angular_rps * 0.1)


def test_timeout_stale_command_gives_zero_motion():
    cfg = TeleopConfig(timeout_s=0.15)
    cmd = twist_command([0.05, 0, 0], [0, 0, 0], 100.0, cfg, gripper=GripperCommand.CLOSE)
    fresh = command_to_action(cmd, np.eye(4), 0.05, 100.14, cfg)
    assert not fresh.is_zero_motion and fresh.gripper == GripperCommand.CLOSE
    stale = command_to_action(cmd, np.eye(4), 0.05, 100.16, cfg)
    assert stale.is_zero_motion and stale.gripper == GripperCommand.HOLD
    future = command_to_action(cmd, np.eye(4), 0.05, 99.0, cfg)  # clocks disagree: not trusted
    assert future.is_zero_motion


def test_deadman_released_gives_zero_motion_and_hold():
    cmd = TeleopCommand(np.array([0.05, 0, 0]), np.zeros(3), TeleopFrame.BASE, GripperCommand.OPEN, 0.0, False)
    act = command_to_action(cmd, np.eye(4), 0.1, 0.0, CFG)
    assert act.is_zero_motion and act.gripper == GripperCommand.HOLD


def test_twist_engages_only_when_active():
    assert twist_command([0, 0, 0.01], [0, 0, 0], 0.0, CFG).deadman
    assert twist_command([0, 0, 0], [0, 0, 0], 0.0, CFG, gripper=GripperCommand.OPEN).deadman
    zero = twist_command([0, 0, 0], [0, 0, 0], 0.0, CFG)
    assert not zero.deadman and not zero.active


def _joy(axes_values: dict[int, float], pressed: tuple[int, ...], n_axes=8, n_buttons=11):
    axes = [0.0] * n_axes
    for i, v in axes_values.items():
        axes[i] = v
    buttons = [1 if i in pressed else 0 for i in range(n_buttons)]
    return axes, buttons


def test_joy_full_stick_is_max_speed_with_deadman():
    axes, buttons = _joy({1: 1.0}, pressed=(4,))
    cmd = joy_command(axes, buttons, 1.0, CFG)
    np.testing.assert_allclose(cmd.linear, [CFG.max_linear_mps, 0, 0])
    assert cmd.deadman and cmd.gripper == GripperCommand.HOLD
    axes, buttons = _joy({3: -1.0, 0: 0.5}, pressed=(4,))
    cmd = joy_command(axes, buttons, 1.0, CFG)
    np.testing.assert_allclose(cmd.angular, [0, 0, -CFG.max_angular_rps])
    half = (0.5 - CFG.deadband) / (1 - CFG.deadband)  # rescaled past the deadband
    np.testing.assert_allclose(cmd.linear, [0, half * CFG.max_linear_mps, 0])


def test_joy_deadband_and_signs():
    cfg = TeleopConfig(deadband=0.1, joy_axis_signs=(-1, 1, 1, 1, 1, 1))
    axes, buttons = _joy({1: 0.09, 0: -0.08, 4: 1.0}, pressed=(4,))
    cmd = joy_command(axes, buttons, 0.0, cfg)
    np.testing.assert_allclose(cmd.linear, [0, 0, cfg.max_linear_mps])  # small axes inside the deadband
    axes, buttons = _joy({1: 1.0}, pressed=(4,))
    np.testing.assert_allclose(joy_command(axes, buttons, 0.0, cfg).linear, [-cfg.max_linear_mps, 0, 0])


def test_joy_without_deadman_is_zero_motion_and_hold():
    axes, buttons = _joy({1: 1.0, 3: 1.0}, pressed=(1,))
    cmd = joy_command(axes, buttons, 0.0, CFG)
    assert not cmd.deadman and not cmd.active
    assert command_to_action(cmd, np.eye(4), 0.1, 0.0, CFG).is_zero_motion


def test_joy_gripper_buttons():
    assert joy_command(*_joy({}, pressed=(4, 0)), 0.0, CFG).gripper == GripperCommand.OPEN
    assert joy_command(*_joy({}, pressed=(4, 1)), 0.0, CFG).gripper == GripperCommand.CLOSE
    assert joy_command(*_joy({}, pressed=(4, 0, 1)), 0.0, CFG).gripper == GripperCommand.HOLD  # ambiguous


def test_joy_without_required_deadman_engages_on_input():
    cfg = TeleopConfig(require_deadman=False, joy_deadman_button=-1)
    assert joy_command(*_joy({1: 1.0}, pressed=()), 0.0, cfg).deadman
    assert not joy_command(*_joy({}, pressed=()), 0.0, cfg).deadman


def test_joy_index_out_of_range_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"joy_linear_axes\[2\]=4"):
        joy_command([0.0] * 3, [0] * 11, 0.0, CFG)
    with pytest.raises(ValueError, match="joy_deadman_button=4"):
        joy_command([0.0] * 8, [0] * 2, 0.0, CFG)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_linear_mps": 0.0}, "max_linear_mps"),
        ({"max_angular_rps": -1.0}, "max_angular_rps"),
        ({"max_linear_mps": float("nan")}, "max_linear_mps"),
        ({"timeout_s": 0.0}, "timeout_s"),
        ({"timeout_s": 1.5}, "timeout_s"),
        ({"deadband": 1.0}, "deadband"),
        ({"joy_linear_axes": (1, 0)}, "joy_linear_axes"),
        ({"joy_angular_axes": (-1, -2, 3)}, r"joy_angular_axes\[1\]"),
        ({"joy_axis_signs": (1, 1, 1)}, "joy_axis_signs"),
        ({"joy_deadman_button": -1}, "joy_deadman_button"),
        ({"frame": "world"}, "frame"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TeleopConfig(**kwargs)


def test_config_accepts_frame_as_string():
    assert TeleopConfig(frame="tool").frame is TeleopFrame.TOOL


@pytest.mark.parametrize(
    ("linear", "angular", "match"),
    [
        ([float("nan"), 0, 0], [0, 0, 0], "linear must be finite"),
        ([0, 0, 0], [0, float("inf"), 0], "angular must be finite"),
        ([0, 0], [0, 0, 0], "linear must be a 3-vector"),
        ([0, 0, 0], [[0, 0, 0]], "angular must be a 3-vector"),
        (["a", 0, 0], [0, 0, 0], "linear must be a 3-vector of numbers"),
    ],
)
def test_bad_twist_is_refused(linear, angular, match):
    with pytest.raises(ValueError, match=match):
        twist_command(linear, angular, 0.0, CFG)


def test_bad_joy_and_action_inputs_are_refused():
    with pytest.raises(ValueError, match="axes must be finite"):
        joy_command([float("nan")] * 8, [0] * 11, 0.0, CFG)
    cmd = twist_command([0.01, 0, 0], [0, 0, 0], 0.0, CFG)
    for dt in (0.0, -0.01, 0.6, float("nan")):
        with pytest.raises(ValueError, match="dt_s"):
            command_to_action(cmd, np.eye(4), dt, 0.0, CFG)
    with pytest.raises(ValueError, match="base_from_tcp"):
        command_to_action(cmd, np.eye(3), 0.1, 0.0, CFG)


def test_command_arrays_are_read_only_copies():
    v = np.array([0.01, 0.0, 0.0])
    cmd = twist_command(v, [0, 0, 0], 0.0, CFG)
    v[0] = 5.0
    assert cmd.linear[0] == pytest.approx(0.01)
    with pytest.raises(ValueError):
        cmd.linear[0] = 1.0


def test_latest_command_idles_when_empty_or_stale_and_returns_events_once():
    latest = LatestCommand(CFG)
    assert not latest.get(5.0).active and latest.pop_events() == []
    cmd = twist_command([0.05, 0, 0], [0, 0, 0], 5.0, CFG)
    latest.put(dataclasses.replace(cmd, events=(TeleopEvent.TAKE_OVER, TeleopEvent.SUCCESS)))
    got = latest.get(5.1)
    np.testing.assert_allclose(got.linear, [0.05, 0, 0])
    assert got.events == ()  # events travel only through pop_events
    assert not latest.get(5.2).active  # older than the 0.15 s timeout
    assert latest.pop_events() == [TeleopEvent.TAKE_OVER, TeleopEvent.SUCCESS]
    assert latest.pop_events() == []


def test_latest_command_keeps_every_event_from_concurrent_producers():
    latest = LatestCommand(CFG)
    stop = dataclasses.replace(TeleopCommand.idle(0.0), events=(TeleopEvent.STOP,))

    def produce():
        for _ in range(50):
            latest.put(stop)

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert latest.pop_events() == [TeleopEvent.STOP] * 200
