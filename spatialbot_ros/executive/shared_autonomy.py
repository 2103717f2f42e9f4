"""Shared autonomy: the policy acts, an operator may take over at any step, steer the arm and the
gripper, and hand back; the executive then resumes from the state the operator left.

The operator's commands are teleop commands (core/teleop.py: twists with a deadman, gripper
open/close, events) turned into clipped end-effector deltas and sent through the same safety gate
as the policy's. Who resumes where is decided from the state, not from the operator's intent:
holding an object -> the policy lifts and carries it; having let go of one -> it retreats; empty
hands -> it grounds the instruction again from a fresh frame (the operator may have moved the
objects or the arm is somewhere new).
"""

from __future__ import annotations

import dataclasses
import enum
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.core.teleop import (
    TeleopCommand,
    TeleopConfig,
    TeleopEvent,
    TeleopFrame,
    command_to_action,
)
from spatialbot_ros.policy.base import PolicyStep


class Control(enum.StrEnum):
    """Who commands the arm this step."""

    POLICY = "policy"
    OPERATOR = "operator"


class EpisodeLabel(enum.StrEnum):
    """The operator's verdict on an episode, when they give one (keys y / n / b / Escape)."""

    NONE = "none"
    SUCCESS = "success"
    FAILURE = "failure"
    RERECORD = "rerecord"
    STOP = "stop"


_LABEL_BY_EVENT = {TeleopEvent.SUCCESS: EpisodeLabel.SUCCESS, TeleopEvent.FAILURE: EpisodeLabel.FAILURE,
                   TeleopEvent.RERECORD: EpisodeLabel.RERECORD, TeleopEvent.STOP: EpisodeLabel.STOP}


@dataclass
class OperatorView:
    """What an operator sees at a step: the phase, the arm, and what the policy would do now."""

    phase: TaskPhase
    tcp_pose_base: np.ndarray
    gripper_width_m: float
    gripper_closed: bool
    proposal: PolicyStep | None = None
    in_control: bool = False


class Operator(Protocol):
    """A person behind a device, or a scripted stand-in for one."""

    name: str       # who: "scripted", "keyboard", ...
    device: str     # what with: "sim-truth", "terminal", "spacemouse", "/cmd_vel", ...
    realtime: bool  # a person: the loop is paced at the control period while they steer

    def reset(self, instruction: str) -> None: ...

    def wants_control(self, view: OperatorView, now_s: float) -> bool: ...

    def command(self, view: OperatorView, now_s: float) -> TeleopCommand: ...


@dataclass(frozen=True)
class SharedAutonomyConfig:
    teleop: TeleopConfig = field(default_factory=TeleopConfig)
    control_period_s: float = 0.1
    max_operator_steps: int = 600      # one intervention; then the run ends in timeout
    max_interventions: int = 6         # per episode; beyond it the operator is not asked again

    def __post_init__(self) -> None:
        if not 0.0 < self.control_period_s <= 0.5:
            raise ValueError(f"control_period_s must be in (0, 0.5], got {self.control_period_s}")
        if self.max_operator_steps < 1 or self.max_interventions < 0:
            raise ValueError("max_operator_steps must be >= 1 and max_interventions >= 0")


@dataclass
class Intervention:
    """One take-over: where it started, how long it lasted, where the policy resumed."""

    phase: TaskPhase
    steps: int = 0
    resumed_at: TaskPhase | None = None


@dataclass
class SharedAutonomyLog:
    interventions: list[Intervention] = field(default_factory=list)
    label: EpisodeLabel = EpisodeLabel.NONE
    control: Control = Control.POLICY

    @property
    def count(self) -> int:
        return len(self.interventions)


def labelled(events: tuple[TeleopEvent, ...]) -> EpisodeLabel:
    """The last episode verdict among a command's events (NONE when it carries none)."""
    out = EpisodeLabel.NONE
    for ev in events:
        out = _LABEL_BY_EVENT.get(ev, out)
    return out


def operator_action(cmd: TeleopCommand, tcp_pose_base: np.ndarray, now_s: float,
                    config: SharedAutonomyConfig) -> EEAction:
    """The clipped end-effector delta of one control period (zero when stale or deadman released)."""
    return command_to_action(cmd, tcp_pose_base, config.control_period_s, now_s, config.teleop)


def resume_phase(holding: bool, released: bool, pick_only: bool) -> TaskPhase:
    """Where the policy takes over again after a hand-back, from the state alone."""
    if holding:
        return TaskPhase.LIFT
    if released and not pick_only:
        return TaskPhase.RETREAT
    return TaskPhase.APPROACH


class Pacer:
    """Keeps a person's control loop at the control period (the simulator would otherwise run the
    operator's commands as fast as it computes)."""

    def __init__(self, period_s: float, enabled: bool) -> None:
        self.period_s = period_s
        self.enabled = enabled
        self._next = time.monotonic()

    def wait(self) -> None:
        if not self.enabled:
            return
        self._next += self.period_s
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            self._next = time.monotonic()


def gripper_change(cmd: TeleopCommand, closed: bool) -> GripperCommand | None:
    """The gripper command to send, or None when the operator asks for what the gripper already does."""
    if cmd.gripper == GripperCommand.CLOSE and not closed:
        return GripperCommand.CLOSE
    if cmd.gripper == GripperCommand.OPEN and closed:
        return GripperCommand.OPEN
    return None


class TeleopOperator:
    """A person behind a device: takes over on the first active input or a take-over key, hands back
    on the hand-back key or (devices with a deadman) after hand_back_idle_s without input."""

    realtime = True

    def __init__(self, source: Any, name: str, device: str, hand_back_idle_s: float | None) -> None:
        self.source = source  # has poll(now_s) -> TeleopCommand, on the wall clock
        self.name = name
        self.device = device
        self.hand_back_idle_s = hand_back_idle_s
        self._last_active = 0.0
        self._pending: tuple[TeleopEvent, ...] = ()

    def reset(self, instruction: str) -> None:
        self._pending = ()

    def _poll(self, now_s: float) -> TeleopCommand:
        cmd = self.source.poll(time.monotonic())
        if cmd.active:
            self._last_active = time.monotonic()
        return dataclasses.replace(cmd, stamp_s=now_s)  # fresh on the episode's clock

    def wants_control(self, view: OperatorView, now_s: float) -> bool:
        cmd = self._poll(now_s)
        verdict = tuple(e for e in cmd.events if e not in (TeleopEvent.TAKE_OVER, TeleopEvent.HAND_BACK))
        if verdict:  # y / n / b / Escape while the policy drives: the segment ends the episode at once
            self._pending = verdict
            return True
        return cmd.active or TeleopEvent.TAKE_OVER in cmd.events

    def command(self, view: OperatorView, now_s: float) -> TeleopCommand:
        if self._pending:
            cmd = dataclasses.replace(TeleopCommand.idle(now_s, TeleopFrame.BASE), events=self._pending)
            self._pending = ()
            return cmd
        cmd = self._poll(now_s)
        idle = self.hand_back_idle_s is not None and time.monotonic() - self._last_active > self.hand_back_idle_s
        if idle and TeleopEvent.HAND_BACK not in cmd.events:
            cmd = dataclasses.replace(cmd, events=(*cmd.events, TeleopEvent.HAND_BACK))
        return cmd
