"""Teleoperation commands: device input (Twist, Joy, keyboard, SpaceMouse) -> a bounded, timestamped
velocity command -> one control period's end-effector delta (EEAction).

Why it looks like this: an operator's input is a *velocity* that is only valid for a short time.
Every command carries its stamp, and `command_to_action` turns a command older than
`TeleopConfig.timeout_s` (a dropped connection, a stalled device) or one without the deadman held
into zero motion, so a lost operator can never leave the arm drifting. Speeds are clipped by norm
(direction kept) so a diagonal stick push is no faster than a straight one. The safety gate
(SafeMotion) still checks every resulting pose; this module only keeps the operator's intent sane.

Conventions (shared with the ROS teleop tools people already run):
- geometry_msgs/Twist (teleop_twist_keyboard on cmd_vel, spacenav on /spacenav/twist): no deadman,
  so non-zero input engages.
- sensor_msgs/Joy (joy, /spacenav/joy): axes -1..1, buttons 0/1, a deadman button must be held.
- TeleopFrame.BASE: the twist is expressed in the robot base frame; TOOL: in the TCP frame, and it
  is rotated into the base frame with base_from_tcp before it becomes an EEAction.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand

log = logging.getLogger(__name__)

MAX_DT_S = 0.5
_MAX_QUEUED_EVENTS = 256


class TeleopFrame(enum.StrEnum):
    """Frame a teleop twist is expressed in."""

    BASE = "base"
    TOOL = "tool"


class TeleopEvent(enum.StrEnum):
    """Discrete operator decisions that ride along with the motion commands."""

    SUCCESS = "success"  # episode succeeded
    FAILURE = "failure"  # episode failed
    RERECORD = "rerecord"  # discard this episode and record it again
    STOP = "stop"  # stop teleop / collection now
    TAKE_OVER = "take_over"  # the human takes control from the policy
    HAND_BACK = "hand_back"  # control goes back to the policy


def _check_index(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < -1:
        raise ValueError(f"{name} must be an index >= 0 or -1 (unused), got {value!r}")


@dataclass(frozen=True)
class TeleopConfig:
    """Speed limits, staleness timeout and Joy mapping. Axis/button index -1 means unused."""

    frame: TeleopFrame = TeleopFrame.BASE
    max_linear_mps: float = 0.10
    max_angular_rps: float = 0.6
    timeout_s: float = 0.15
    deadband: float = 0.05  # fraction of full scale for Joy/SpaceMouse axes
    joy_linear_axes: tuple[int, int, int] = (1, 0, 4)
    joy_angular_axes: tuple[int, int, int] = (-1, -1, 3)
    joy_axis_signs: tuple[float, float, float, float, float, float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    joy_deadman_button: int = 4
    joy_open_button: int = 0
    joy_close_button: int = 1
    require_deadman: bool = True

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "frame", TeleopFrame(self.frame))
        except ValueError:
            raise ValueError(f"frame must be one of {[f.value for f in TeleopFrame]}, got {self.frame!r}") from None
        for name in ("max_linear_mps", "max_angular_rps"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")
        if not (isinstance(self.timeout_s, int | float) and 0 < self.timeout_s <= 1.0):
            raise ValueError(f"timeout_s must be in (0, 1.0] s, got {self.timeout_s!r}")
        if not (isinstance(self.deadband, int | float) and 0 <= self.deadband < 1):
            raise ValueError(f"deadband must be in [0, 1), got {self.deadband!r}")
        for name in ("joy_linear_axes", "joy_angular_axes"):
            axes = tuple(getattr(self, name))
            if len(axes) != 3:
                raise ValueError(f"{name} must have 3 entries (x, y, z), got {axes!r}")
            for i, a in enumerate(axes):
                _check_index(f"{name}[{i}]", a)
            object.__setattr__(self, name, axes)
        signs = tuple(float(s) for s in self.joy_axis_signs)
        if len(signs) != 6 or not all(math.isfinite(s) for s in signs):
            raise ValueError(f"joy_axis_signs must be 6 finite numbers, got {self.joy_axis_signs!r}")
        object.__setattr__(self, "joy_axis_signs", signs)
        for name in ("joy_deadman_button", "joy_open_button", "joy_close_button"):
            _check_index(name, getattr(self, name))
        if self.require_deadman and self.joy_deadman_button == -1:
            raise ValueError("joy_deadman_button must be set (>= 0) when require_deadman is true")


def _vec3(name: str, value: object) -> np.ndarray:
    """A finite float 3-vector copy, read-only, or ValueError."""
    try:
        v = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 3-vector of numbers, got {value!r}") from None
    if v.shape != (3,):
        raise ValueError(f"{name} must be a 3-vector, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {v.tolist()}")
    v.setflags(write=False)
    return v


def _clip_norm(v: np.ndarray, limit: float) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v * (limit / n) if n > limit else v


@dataclass(frozen=True, eq=False)
class TeleopCommand:
    """One operator command: a twist (m/s, rad/s) in `frame`, a gripper command and the events
    pressed with it. `deadman` is True when the deadman is held, or the device has none and the
    input is active. Arrays are read-only copies, so a command can be shared across threads
    (equality is identity: arrays have no single truth value)."""

    linear: np.ndarray
    angular: np.ndarray
    frame: TeleopFrame
    gripper: GripperCommand
    stamp_s: float
    deadman: bool
    events: tuple[TeleopEvent, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "linear", _vec3("linear", self.linear))
        object.__setattr__(self, "angular", _vec3("angular", self.angular))
        object.__setattr__(self, "frame", TeleopFrame(self.frame))
        object.__setattr__(self, "gripper", GripperCommand(self.gripper))
        object.__setattr__(self, "events", tuple(TeleopEvent(e) for e in self.events))
        if not math.isfinite(self.stamp_s):
            raise ValueError(f"stamp_s must be finite, got {self.stamp_s!r}")

    @property
    def active(self) -> bool:
        """Non-zero motion or a gripper OPEN/CLOSE."""
        return bool(np.any(self.linear != 0) or np.any(self.angular != 0) or self.gripper != GripperCommand.HOLD)

    @classmethod
    def idle(cls, stamp_s: float, frame: TeleopFrame = TeleopFrame.BASE) -> TeleopCommand:
        """No motion, gripper unchanged, deadman released."""
        return cls(np.zeros(3), np.zeros(3), frame, GripperCommand.HOLD, stamp_s, False)


def twist_command(
    linear: Sequence[float] | np.ndarray,
    angular: Sequence[float] | np.ndarray,
    stamp_s: float,
    cfg: TeleopConfig,
    frame: TeleopFrame | None = None,
    gripper: GripperCommand = GripperCommand.HOLD,
) -> TeleopCommand:
    """Command from a Twist-like input. A Twist has no deadman: non-zero input engages."""
    v = _clip_norm(_vec3("linear", linear), cfg.max_linear_mps)
    w = _clip_norm(_vec3("angular", angular), cfg.max_angular_rps)
    cmd = TeleopCommand(v, w, cfg.frame if frame is None else frame, gripper, stamp_s, False)
    return dataclasses.replace(cmd, deadman=cmd.active)


def _shape_axis(value: float, deadband: float) -> float:
    """Axis value (-1..1) with the deadband removed and the rest rescaled so that the edge of the
    deadband is 0 and full deflection stays 1 (no jump where the deadband ends)."""
    a = min(max(float(value), -1.0), 1.0)
    if abs(a) <= deadband:
        return 0.0
    return math.copysign((abs(a) - deadband) / (1.0 - deadband), a)


def _finite_values(name: str, values: Sequence[float]) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def _gripper_from_buttons(open_pressed: bool, close_pressed: bool) -> GripperCommand:
    """Both pressed is ambiguous and keeps the gripper as it is."""
    if open_pressed and not close_pressed:
        return GripperCommand.OPEN
    if close_pressed and not open_pressed:
        return GripperCommand.CLOSE
    return GripperCommand.HOLD


def joy_command(axes: Sequence[float], buttons: Sequence[int], stamp_s: float, cfg: TeleopConfig) -> TeleopCommand:
    """Command from a sensor_msgs/Joy: axis value 1.0 = full speed (after deadband and signs),
    gripper from the open/close buttons, deadman from joy_deadman_button. Without the deadman
    (when required) the command is zero motion and HOLD."""
    ax = _finite_values("axes", axes)
    bt = _finite_values("buttons", buttons)

    def axis(name: str, i: int, idx: int) -> float:
        if idx == -1:
            return 0.0
        if idx >= len(ax):
            raise ValueError(f"{name}[{i}]={idx} is out of range for a Joy message with {len(ax)} axes")
        return _shape_axis(ax[idx], cfg.deadband)

    def button(name: str, idx: int) -> bool:
        if idx == -1:
            return False
        if idx >= len(bt):
            raise ValueError(f"{name}={idx} is out of range for a Joy message with {len(bt)} buttons")
        return bool(bt[idx] != 0)

    raw = [axis("joy_linear_axes", i, a) for i, a in enumerate(cfg.joy_linear_axes)]
    raw += [axis("joy_angular_axes", i, a) for i, a in enumerate(cfg.joy_angular_axes)]
    scaled = np.array(raw) * np.array(cfg.joy_axis_signs)
    held = button("joy_deadman_button", cfg.joy_deadman_button)
    gripper = _gripper_from_buttons(button("joy_open_button", cfg.joy_open_button),
                                    button("joy_close_button", cfg.joy_close_button))
    if cfg.require_deadman and not held:
        return TeleopCommand.idle(stamp_s, cfg.frame)
    cmd = twist_command(scaled[:3] * cfg.max_linear_mps, scaled[3:] * cfg.max_angular_rps, stamp_s, cfg,
                        gripper=gripper)
    return dataclasses.replace(cmd, deadman=held or cmd.active)


def spacemouse_command(
    state_xyzrpy: Sequence[float],
    buttons: Sequence[int],
    stamp_s: float,
    cfg: TeleopConfig,
    axis_signs: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
) -> TeleopCommand:
    """Command from a 3Dconnexion SpaceMouse state (x, y, z, roll, pitch, yaw, each -1..1, roll/pitch/
    yaw about x/y/z of the same right-handed frame) and its buttons (0 = close, 1 = open). The cap
    has no deadman: a deflection beyond the deadband (or a gripper button) engages."""
    s = _finite_values("state_xyzrpy", state_xyzrpy)
    if s.shape != (6,):
        raise ValueError(f"state_xyzrpy must have 6 values (x, y, z, roll, pitch, yaw), got {s.size}")
    signs = _finite_values("axis_signs", axis_signs)
    if signs.shape != (6,):
        raise ValueError(f"axis_signs must have 6 values, got {signs.size}")
    bt = _finite_values("buttons", buttons)
    shaped = np.array([_shape_axis(v, cfg.deadband) for v in s]) * signs
    gripper = _gripper_from_buttons(len(bt) > 1 and bt[1] != 0, len(bt) > 0 and bt[0] != 0)
    return twist_command(shaped[:3] * cfg.max_linear_mps, shaped[3:] * cfg.max_angular_rps, stamp_s, cfg,
                         gripper=gripper)


def command_to_action(
    cmd: TeleopCommand, base_from_tcp: np.ndarray, dt_s: float, now_s: float, cfg: TeleopConfig
) -> EEAction:
    """The end-effector delta for one control period of dt_s, in the base frame (EEAction's
    convention). Zero motion and HOLD when the command is stale (|now_s - stamp| > timeout: a
    command from the future means mismatched clocks and is not trusted either) or the deadman
    is not held."""
    if not (math.isfinite(dt_s) and 0 < dt_s <= MAX_DT_S):
        raise ValueError(f"dt_s must be in (0, {MAX_DT_S}] s, got {dt_s!r}")
    if not math.isfinite(now_s):
        raise ValueError(f"now_s must be finite, got {now_s!r}")
    T = np.asarray(base_from_tcp, dtype=float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"base_from_tcp must be a finite 4x4 pose, got shape {T.shape}")
    age_s = now_s - cmd.stamp_s
    if abs(age_s) > cfg.timeout_s:
        if age_s < 0:
            log.warning("teleop command stamped %.3f s in the future: clocks differ; ignored", -age_s)
        return EEAction()
    if not cmd.deadman:
        return EEAction()
    t = _clip_norm(cmd.linear, cfg.max_linear_mps) * dt_s
    r = _clip_norm(cmd.angular, cfg.max_angular_rps) * dt_s
    if cmd.frame == TeleopFrame.TOOL:
        R = T[:3, :3]
        t, r = R @ t, R @ r  # R_now @ R(r_tool) == R(R_now @ r_tool) @ R_now
    return EEAction(np.array(t, dtype=float), np.array(r, dtype=float), cmd.gripper)


class LatestCommand:
    """Thread-safe hand-over of the newest command from an input thread (a ROS callback, a device
    poller) to the control loop. Events are queued separately so none is lost between loop ticks."""

    def __init__(self, cfg: TeleopConfig | None = None) -> None:
        self._cfg = cfg or TeleopConfig()
        self._lock = threading.Lock()
        self._latest: TeleopCommand | None = None
        self._events: collections.deque[TeleopEvent] = collections.deque()

    def put(self, cmd: TeleopCommand) -> None:
        """Store cmd as the latest (without its events) and queue its events."""
        with self._lock:
            self._latest = dataclasses.replace(cmd, events=()) if cmd.events else cmd
            for e in cmd.events:
                if len(self._events) >= _MAX_QUEUED_EVENTS:
                    dropped = self._events.popleft()
                    log.warning("teleop event queue full: dropped %s (is anyone calling pop_events?)", dropped.value)
                self._events.append(e)

    def get(self, now_s: float) -> TeleopCommand:
        """The latest command, or idle when none arrived or it is older than the timeout.
        Its events are not included: read them once with pop_events()."""
        with self._lock:
            cmd = self._latest
        if cmd is None or now_s - cmd.stamp_s > self._cfg.timeout_s:
            return TeleopCommand.idle(now_s, self._cfg.frame)
        return cmd

    def pop_events(self) -> list[TeleopEvent]:
        """Events queued since the last call, oldest first; each is returned once."""
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return out
