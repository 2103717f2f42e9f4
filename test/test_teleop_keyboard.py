"""Keyboard teleop driven through a real pseudo-terminal."""

import os
import termios

import numpy as np
import pytest

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.teleop import TeleopConfig, TeleopEvent
from spatialbot_ros.teleop.keyboard import KEY_HELP, KeyboardTeleop, KeyboardUnavailable, split_keys

pytestmark = pytest.mark.core
CFG = TeleopConfig(timeout_s=0.15)
WAIT_S = 2.0  # generous: only waits when the bytes have not arrived yet


@pytest.fixture()
def pty_pair():
    master, slave = os.openpty()
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def press(master: int, kb: KeyboardTeleop, keys: bytes, now_s: float):
    os.write(master, keys)
    return kb.poll(now_s, wait_s=WAIT_S)


def test_w_moves_plus_x_for_one_timeout_period(pty_pair):
    master, slave = pty_pair
    with KeyboardTeleop(CFG, fd=slave) as kb:
        assert not kb.poll(9.0).active  # nothing pressed yet
        cmd = press(master, kb, b"w", 10.0)
        np.testing.assert_allclose(cmd.linear, [CFG.max_linear_mps, 0, 0])
        assert cmd.deadman and cmd.stamp_s == 10.0
        np.testing.assert_allclose(kb.poll(10.1).linear, [CFG.max_linear_mps, 0, 0])  # within the timeout
        assert not kb.poll(10.2).active  # released: no key repeat arrived


def test_motion_keys_map_to_their_axes(pty_pair):
    master, slave = pty_pair
    lin, ang = CFG.max_linear_mps, CFG.max_angular_rps
    expected = {
        b"s": ([-lin, 0, 0], [0, 0, 0]),
        b"a": ([0, lin, 0], [0, 0, 0]),
        b"d": ([0, -lin, 0], [0, 0, 0]),
        b"r": ([0, 0, lin], [0, 0, 0]),
        b"f": ([0, 0, -lin], [0, 0, 0]),
        b"q": ([0, 0, 0], [0, 0, ang]),
        b"e": ([0, 0, 0], [0, 0, -ang]),
    }
    with KeyboardTeleop(CFG, fd=slave) as kb:
        for i, (key, (v, w)) in enumerate(expected.items()):
            cmd = press(master, kb, key, 100.0 + i)  # 1 s apart: the previous key has expired
            np.testing.assert_allclose(cmd.linear, v, err_msg=key.decode())
            np.testing.assert_allclose(cmd.angular, w, err_msg=key.decode())


def test_two_keys_combine_and_are_clipped_to_max_speed(pty_pair):
    master, slave = pty_pair
    with KeyboardTeleop(CFG, fd=slave) as kb:
        cmd = press(master, kb, b"wa", 1.0)
        assert np.linalg.norm(cmd.linear) == pytest.approx(CFG.max_linear_mps)
        assert cmd.linear[0] == pytest.approx(cmd.linear[1])


def test_space_toggles_the_gripper(pty_pair):
    master, slave = pty_pair
    with KeyboardTeleop(CFG, fd=slave) as kb:
        first = press(master, kb, b" ", 1.0)
        assert first.gripper == GripperCommand.CLOSE and first.active
        assert kb.poll(1.5).gripper == GripperCommand.HOLD  # a toggle is reported for one period
        assert press(master, kb, b" ", 2.0).gripper == GripperCommand.OPEN
        assert press(master, kb, b" ", 3.0).gripper == GripperCommand.CLOSE


@pytest.mark.parametrize(
    ("key", "event"),
    [
        (b"t", TeleopEvent.TAKE_OVER),
        (b"h", TeleopEvent.HAND_BACK),
        (b"y", TeleopEvent.SUCCESS),
        (b"n", TeleopEvent.FAILURE),
        (b"b", TeleopEvent.RERECORD),
        (b"x", TeleopEvent.STOP),
        (b"\x1b", TeleopEvent.STOP),
    ],
)
def test_event_keys_produce_their_event_once(pty_pair, key, event):
    master, slave = pty_pair
    with KeyboardTeleop(CFG, fd=slave) as kb:
        cmd = press(master, kb, key, 1.0)
        assert cmd.events == (event,)
        assert not cmd.active  # an event is not motion
        assert kb.poll(1.01).events == ()


def test_unknown_keys_and_arrow_sequences_are_ignored(pty_pair):
    master, slave = pty_pair
    with KeyboardTeleop(CFG, fd=slave) as kb:
        cmd = press(master, kb, b"z1\x1b[A\x1bOP", 1.0)  # z, 1, arrow up, F1
        assert not cmd.active and cmd.events == ()


def test_split_keys_keeps_escape_sequences_whole():
    assert split_keys("w\x1b[1;5Cx\x1b") == ["w", "\x1b[1;5C", "x", "\x1b"]


def test_terminal_mode_is_restored_on_close_and_on_exception(pty_pair):
    _, slave = pty_pair
    before = termios.tcgetattr(slave)
    with KeyboardTeleop(CFG, fd=slave):
        inside = termios.tcgetattr(slave)
        assert not inside[3] & termios.ECHO and not inside[3] & termios.ICANON  # cbreak, no echo
    assert termios.tcgetattr(slave) == before
    with pytest.raises(ZeroDivisionError), KeyboardTeleop(CFG, fd=slave):
        _ = 1 / 0
    assert termios.tcgetattr(slave) == before


def test_closed_terminal_stops_once(pty_pair):
    master, slave = pty_pair
    with KeyboardTeleop(CFG, fd=slave) as kb:
        os.write(master, b"w")
        assert kb.poll(1.0, wait_s=WAIT_S).active
        os.close(master)
        cmd = kb.poll(1.05, wait_s=WAIT_S)
        assert cmd.events == (TeleopEvent.STOP,) and not cmd.active
        assert kb.poll(1.1).events == ()


def test_non_tty_fd_raises_keyboard_unavailable(tmp_path):
    r, w = os.pipe()
    try:
        with pytest.raises(KeyboardUnavailable, match="--teleop ros"):
            KeyboardTeleop(CFG, fd=r)
    finally:
        os.close(r)
        os.close(w)
    with open(tmp_path / "f", "w") as f, pytest.raises(KeyboardUnavailable, match="terminal"):
        KeyboardTeleop(CFG, fd=f.fileno())


def test_poll_before_open_is_an_error(pty_pair):
    _, slave = pty_pair
    with pytest.raises(RuntimeError, match="open"):
        KeyboardTeleop(CFG, fd=slave).poll(0.0)


def test_key_help_names_every_key():
    for key in ("w/s", "a/d", "r/f", "q/e", "space", "t ", "h ", "y ", "n ", "b ", "Esc", "x"):
        assert key in KEY_HELP
