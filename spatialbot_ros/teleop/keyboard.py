"""Terminal keyboard teleop: no X server, works over ssh.

The terminal is put in cbreak mode (single key presses, no echo; Ctrl-C still interrupts) and read
without blocking. A terminal sends no key-up events, only the auto-repeat of a held key, so a key
press means "move for one timeout period" (TeleopConfig.timeout_s): holding a key moves steadily,
releasing it stops within the timeout.

Keys (axes of TeleopConfig.frame, the robot base frame by default):
    w / s   +x / -x            a / d   +y / -y            r / f   +z / -z
    q / e   yaw + / - (about z)
    space   toggle the gripper (close, then open, ...)
    t       take over from the policy        h   hand back to the policy
    y       episode success                  n   episode failure
    b       re-record the episode (back)
    Esc, x  stop
Any other key (arrows, function keys included) is ignored.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import select
import sys
import termios
import tty
from types import TracebackType

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.teleop import TeleopCommand, TeleopConfig, TeleopEvent, twist_command

log = logging.getLogger(__name__)

KEY_HELP = """\
Keyboard teleop (press keys in this terminal; a key moves for one short period, hold it to keep moving)
  w/s  +x/-x      a/d  +y/-y      r/f  +z/-z      q/e  yaw +/-
  space  toggle gripper close/open
  t  take over     h  hand back     y  success     n  failure     b  re-record
  Esc or x  stop"""

# key -> (linear direction, angular direction), unit vectors in the teleop frame
_MOTION_KEYS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "w": ((1, 0, 0), (0, 0, 0)),
    "s": ((-1, 0, 0), (0, 0, 0)),
    "a": ((0, 1, 0), (0, 0, 0)),
    "d": ((0, -1, 0), (0, 0, 0)),
    "r": ((0, 0, 1), (0, 0, 0)),
    "f": ((0, 0, -1), (0, 0, 0)),
    "q": ((0, 0, 0), (0, 0, 1)),
    "e": ((0, 0, 0), (0, 0, -1)),
}
_EVENT_KEYS: dict[str, TeleopEvent] = {
    "t": TeleopEvent.TAKE_OVER,
    "h": TeleopEvent.HAND_BACK,
    "y": TeleopEvent.SUCCESS,
    "n": TeleopEvent.FAILURE,
    "b": TeleopEvent.RERECORD,
    "x": TeleopEvent.STOP,
    "\x1b": TeleopEvent.STOP,
}
_GRIPPER_KEY = " "
_ESC = "\x1b"
_READ_CHUNK = 1024


class KeyboardUnavailable(RuntimeError):
    """The input is not a terminal, so single key presses cannot be read."""


def split_keys(text: str) -> list[str]:
    """Single keys from terminal input; escape sequences (arrows, function keys: ESC [ ... or
    ESC O x) come out whole so they are not mistaken for a lone Escape."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == _ESC and i + 1 < len(text) and text[i + 1] in "[O":
            j = i + 2
            if text[i + 1] == "[":
                while j < len(text) and not ("\x40" <= text[j] <= "\x7e"):
                    j += 1
            keys.append(text[i : j + 1])
            i = j + 1
            continue
        keys.append(c)
        i += 1
    return keys


class KeyboardTeleop:
    """Reads key presses from a terminal file descriptor (default stdin) and turns them into
    TeleopCommands. Use as a context manager (or open()/close()): the terminal mode is restored
    on close, also when the body raises."""

    def __init__(self, cfg: TeleopConfig | None = None, fd: int | None = None, gripper_closed: bool = False) -> None:
        self._cfg = cfg or TeleopConfig()
        if fd is None:
            try:
                fd = sys.stdin.fileno()
            except (AttributeError, ValueError, OSError):
                raise KeyboardUnavailable(
                    "keyboard teleop needs a terminal but stdin is closed: run it in a terminal or use --teleop ros"
                ) from None
        if not os.isatty(fd):
            raise KeyboardUnavailable(
                "keyboard teleop needs a terminal (stdin is not a tty): run it in a terminal or use --teleop ros"
            )
        self._fd = fd
        self._saved: list | None = None
        self._pressed_at: dict[str, float] = {}  # motion key -> time of its last press
        self._gripper_closed = gripper_closed
        self._gripper_at: float | None = None  # time of the last toggle
        self._lost = False

    def open(self) -> KeyboardTeleop:
        """Switch the terminal to cbreak mode (no line buffering, no echo)."""
        if self._saved is None:
            self._saved = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd, termios.TCSANOW)
        return self

    def close(self) -> None:
        """Restore the terminal mode saved by open()."""
        if self._saved is not None:
            try:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            except termios.error as exc:  # the terminal went away
                log.warning("could not restore the terminal mode: %s", exc)
            self._saved = None

    def __enter__(self) -> KeyboardTeleop:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _read_available(self, wait_s: float) -> str:
        """All bytes waiting on the terminal ('' if none); waits up to wait_s for the first."""
        chunks: list[bytes] = []
        timeout = max(wait_s, 0.0)
        while select.select([self._fd], [], [], timeout)[0]:
            try:
                data = os.read(self._fd, _READ_CHUNK)
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EBADF):
                    raise
                data = b""
            if not data:  # end of input: the terminal hung up
                self._lost = True
                break
            chunks.append(data)
            timeout = 0.0
        return b"".join(chunks).decode("utf-8", errors="replace")

    def poll(self, now_s: float, wait_s: float = 0.0) -> TeleopCommand:
        """Read the keys pressed since the last poll (waiting up to wait_s for one) and return the
        command of the keys pressed within the last timeout, with the events of the new keys."""
        if self._saved is None:
            raise RuntimeError("KeyboardTeleop.poll() before open(): use it as a context manager")
        if self._lost:
            return TeleopCommand.idle(now_s, self._cfg.frame)
        events: list[TeleopEvent] = []
        for key in split_keys(self._read_available(wait_s)):
            k = key.lower() if len(key) == 1 else key
            if k in _MOTION_KEYS:
                self._pressed_at[k] = now_s
            elif k == _GRIPPER_KEY:
                self._gripper_closed = not self._gripper_closed
                self._gripper_at = now_s
            elif k in _EVENT_KEYS:
                events.append(_EVENT_KEYS[k])
            else:
                log.debug("ignored key %r", key)
        if self._lost:
            log.error("keyboard input ended (terminal closed): stopping")
            self._pressed_at.clear()
            events.append(TeleopEvent.STOP)
        return self._command(now_s, tuple(events))

    def _command(self, now_s: float, events: tuple[TeleopEvent, ...]) -> TeleopCommand:
        timeout = self._cfg.timeout_s
        live = [k for k, t in self._pressed_at.items() if now_s - t <= timeout]
        linear = sum((np.array(_MOTION_KEYS[k][0], float) for k in live), np.zeros(3))
        angular = sum((np.array(_MOTION_KEYS[k][1], float) for k in live), np.zeros(3))
        gripper = GripperCommand.HOLD
        stamps = [self._pressed_at[k] for k in live]
        if self._gripper_at is not None and now_s - self._gripper_at <= timeout:
            gripper = GripperCommand.CLOSE if self._gripper_closed else GripperCommand.OPEN
            stamps.append(self._gripper_at)
        cmd = twist_command(
            linear * self._cfg.max_linear_mps,
            angular * self._cfg.max_angular_rps,
            max(stamps) if stamps else now_s,
            self._cfg,
            gripper=gripper,
        )
        return dataclasses.replace(cmd, events=events) if events else cmd
