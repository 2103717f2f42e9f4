"""The one interface every motion backend implements. Poses are base_from_tcp 4x4 matrices in the
robot base frame; the TCP is the grasp centre between the fingertips (tool0 offset by tcp_offset).

Motion is planned, checked, then executed: a backend turns a goal into a JointPlan (joint
waypoints with times, whatever planned them: our IK, MoveIt, the simulator) without moving, the
one safety gate (motion/safety_gate.py, SafeMotion) checks every waypoint of the plan, and only
then does the backend execute it. Execution blocks until the motion ends and returns early,
ABORTED, when stop() is called from another thread (e-stop, cancel, watchdog).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from spatialbot_ros.core.actions import GripperCommand


class MotionStatus(enum.Enum):
    SUCCEEDED = "succeeded"
    REFUSED = "refused"            # a safety check rejected the command; nothing was sent
    UNREACHABLE = "unreachable"    # no IK solution / planning failed
    ABORTED = "aborted"            # stopped mid-way (e-stop, watchdog, cancel, controller error)
    DRY_RUN = "dry_run"            # real-hardware backend not armed: command validated, not sent
    NOT_READY = "not_ready"        # the robot cannot take commands (program not running, no driver)


@dataclass(frozen=True)
class MotionResult:
    status: MotionStatus
    message: str = ""
    cause: str = ""  # machine-readable why, e.g. a SafetyReason value ("estopped", "stale_input") or a controller code

    @property
    def ok(self) -> bool:
        return self.status in (MotionStatus.SUCCEEDED, MotionStatus.DRY_RUN)


class PlanKind(enum.Enum):
    JOINTS = "joints"    # joint-space move to a joint target
    POSE = "pose"        # joint-space move to a TCP pose (IK or planner)
    LINEAR = "linear"    # straight TCP line (Cartesian path / Pilz LIN / moveL)


@dataclass(frozen=True)
class JointPlan:
    """A motion as the backend will execute it: joint waypoints (N, 6) in UR joint order reached at
    times_s (N,) from the start (strictly increasing), starting from q_start. `native` carries what
    the backend executes (a FollowJointTrajectory goal, a MoveIt RobotTrajectory, a moveL call)."""

    kind: PlanKind
    q_start: np.ndarray
    positions: np.ndarray
    times_s: np.ndarray
    speed_scale: float = 1.0
    target_tcp: np.ndarray | None = None
    native: Any = field(default=None, compare=False)

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1]) if len(self.times_s) else 0.0


@dataclass(frozen=True)
class GripperState:
    width_m: float
    closed: bool


class PlanningFailed(Exception):
    """A backend could not plan: carries the MotionResult (UNREACHABLE, NOT_READY, ...) to return."""

    def __init__(self, result: MotionResult) -> None:
        super().__init__(result.message)
        self.result = result


class MotionBackend(Protocol):
    """What a backend provides; SafeMotion turns it into move_* calls for the executive."""

    name: str

    def current_joints(self) -> np.ndarray: ...

    def current_pose(self) -> np.ndarray:
        """base_from_tcp now."""
        ...

    def plan_joints(self, q: np.ndarray, speed_scale: float, *, q_start: np.ndarray | None = None) -> JointPlan:
        """Raises PlanningFailed when no plan exists. q_start: plan from there instead of the current
        joints (the dry run walks a goal from where its previous, unsent motion ended)."""
        ...

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float, *,
                  q_start: np.ndarray | None = None) -> JointPlan: ...

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float, *,
                    q_start: np.ndarray | None = None) -> JointPlan:
        """Straight-line TCP motion (Cartesian path / Pilz LIN / moveL), sampled densely enough to check."""
        ...

    def execute(self, plan: JointPlan) -> MotionResult:
        """Run a plan (blocking); ABORTED promptly when stop() is called from another thread."""
        ...

    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult: ...

    def gripper_state(self) -> GripperState: ...

    def stop(self) -> None:
        """Stop now (thread-safe): preempt the running execute() and hold position."""
        ...


class MotionBackendUnavailable(RuntimeError):
    """A backend's optional packages are missing; the message names what to install."""
