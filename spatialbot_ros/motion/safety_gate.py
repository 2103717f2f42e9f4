"""SafeMotion: the one safety gate every motion goes through, simulator and real robot alike.

Each command is planned by the backend (nothing moves), the whole plan is checked by
core.safety.SafetyChecker (every waypoint, the TCP along the path, speeds, travel), and only then
executed. On real hardware an unarmed gate dry-runs instead: the plan goes to a preview callback,
nothing is sent, and a shadow state lets a whole goal be walked. The latched e-stop disarms and
stops the backend from its listener (preempting the running execute); named watchdogs refuse
commands while expired and stop a running motion when they expire.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from inspect import signature

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.ee_delta import apply_ee_action
from spatialbot_ros.core.kinematics import ArmKinematics
from spatialbot_ros.core.safety import EStop, SafetyChecker, SafetyReason, SafetyViolation, Watchdog
from spatialbot_ros.core.ur_kinematics import UR5_DH
from spatialbot_ros.motion.base import (
    GripperState,
    JointPlan,
    MotionBackend,
    MotionResult,
    MotionStatus,
    PlanningFailed,
)

log = logging.getLogger(__name__)

MAX_GRIPPER_FORCE_N = 235.0  # Robotiq 2F-85 upper grip force


def _refused(exc: SafetyViolation, what: str = "") -> MotionResult:
    return MotionResult(MotionStatus.REFUSED, f"{what}: {exc}" if what else str(exc), exc.reason.value)


@dataclass
class _Shadow:
    """Where a dry run has left the arm and gripper (nothing real moved)."""

    joints: np.ndarray
    gripper: GripperState


class SafeMotion:
    """Wraps any MotionBackend; refused commands return MotionResult(REFUSED, cause=reason) and
    nothing reaches the backend's execute()."""

    def __init__(self, backend: MotionBackend, checker: SafetyChecker | None = None, estop: EStop | None = None,
                 armed: bool = False, real_hardware: bool = True, *,
                 watchdogs: dict[str, Watchdog] | None = None,
                 preview: Callable[[JointPlan], None] | None = None,
                 tcp_offset_m: float | None = None, kinematics: ArmKinematics | None = None,
                 monitor_period_s: float = 0.01, gripper_open_width_m: float = 0.085) -> None:
        """tcp_offset_m / kinematics: the TCP and the arm's kinematics (core.kinematics) the plan check
        uses (defaults: the backend's own `tcp_offset_m` and `kinematics`, else `dh`, attributes; else the UR5).
        preview: called with every dry-run plan."""
        self.backend = backend
        self.checker = checker or SafetyChecker()
        self.estop = estop or EStop()
        self.real_hardware = bool(real_hardware)
        self._armed = False
        self.arm(armed)
        self.preview = preview
        self.watchdogs: dict[str, Watchdog] = dict(watchdogs or {})
        offset = tcp_offset_m if tcp_offset_m is not None else getattr(backend, "tcp_offset_m", None)
        if offset is None:  # a silent 0 would check tool0 instead of the fingertips
            raise ValueError("SafeMotion needs the TCP offset: pass tcp_offset_m= or give the backend a "
                             "tcp_offset_m attribute")
        self.tcp_offset_m = float(offset)
        self.kinematics: ArmKinematics = (kinematics or getattr(backend, "kinematics", None) or getattr(backend, "dh", None)
                                          or UR5_DH)
        if not math.isfinite(self.tcp_offset_m) or not 0.0 <= self.tcp_offset_m < 0.5:
            raise ValueError(f"tcp_offset_m must be in [0, 0.5) m, got {self.tcp_offset_m}")
        if not 0.001 <= monitor_period_s <= 0.05:
            raise ValueError(f"monitor_period_s must be in [0.001, 0.05] s, got {monitor_period_s}")
        self.monitor_period_s = monitor_period_s
        self.gripper_open_width_m = gripper_open_width_m
        self.name = f"safe({getattr(backend, 'name', type(backend).__name__)})"
        self.sent: list[str] = []           # commands that reached the backend, for logs and tests
        self.dry_run_count = 0              # commands validated and not sent
        self._shadow: _Shadow | None = None
        self._plans_from = {kind: "q_start" in signature(getattr(backend, f"plan_{kind}")).parameters
                            for kind in ("joints", "pose", "linear") if hasattr(backend, f"plan_{kind}")}
        self.estop.add_listener(self._on_estop)
        interlock = getattr(backend, "set_interlock", None)
        if callable(interlock):  # the backend re-checks the e-stop right before it sends a motion
            interlock(lambda: self.estop.engaged)

    # -- arming ---------------------------------------------------------------------------
    @property
    def armed(self) -> bool:
        return self._armed

    @armed.setter
    def armed(self, value: bool) -> None:
        self.arm(value)

    def arm(self, value: bool) -> None:
        """Only a real bool arms real hardware: 'false', 1 or None from a config file must not.
        Arming and disarming both drop the dry-run shadow: the real state is the truth again."""
        if not isinstance(value, bool):
            raise TypeError(f"armed must be True or False, got {value!r} ({type(value).__name__})")
        if value and self.estop.engaged:
            raise RuntimeError("cannot arm while the e-stop is engaged: reset it first")
        self._armed = value
        self._shadow = None

    def reset_shadow(self) -> None:
        """Forget where a dry run left the arm (a new goal starts from the real state)."""
        self._shadow = None

    @property
    def dry_run(self) -> bool:
        return self.real_hardware and not self._armed

    def _on_estop(self, reason: str) -> None:
        self._armed = False
        self.backend.stop()  # first: the log line can wait, the arm cannot
        log.error("e-stop (%s): disarmed, stopped %s", reason, self.name)

    # -- watchdogs ------------------------------------------------------------------------
    def add_watchdog(self, name: str, timeout_s: float, clock: Callable[[], float] | None = None) -> Watchdog:
        """A named input that must keep arriving (fed by the node: camera, joint_states...)."""
        wd = Watchdog(timeout_s) if clock is None else Watchdog(timeout_s, clock=clock)
        self.watchdogs[name] = wd
        return wd

    def feed(self, name: str) -> None:
        self.watchdogs[name].feed()

    def _expired_watchdog(self) -> str | None:
        for name, wd in self.watchdogs.items():
            if wd.expired():
                return name
        return None

    def _gate(self) -> MotionResult | None:
        """E-stop and watchdogs: checked before planning and again right before execution."""
        if self.estop.engaged:
            return MotionResult(MotionStatus.REFUSED, f"estopped: {self.estop.reason}", SafetyReason.ESTOPPED.value)
        name = self._expired_watchdog()
        if name is not None:
            age = self.watchdogs[name].age_s()
            return MotionResult(MotionStatus.REFUSED, f"stale_input: watchdog '{name}' expired "
                                f"({age:.2f} s without input, limit {self.watchdogs[name].timeout_s:.2f} s)",
                                SafetyReason.STALE_INPUT.value)
        return None

    # -- state (the dry-run shadow when there is one) ---------------------------------------
    def current_joints(self) -> np.ndarray:
        return self._shadow.joints.copy() if self._shadow is not None else self.backend.current_joints()

    def current_pose(self) -> np.ndarray:
        if self._shadow is None:
            return self.backend.current_pose()
        tool0_from_tcp = np.eye(4)
        tool0_from_tcp[2, 3] = self.tcp_offset_m
        return self.kinematics.fk(self._shadow.joints) @ tool0_from_tcp

    def gripper_state(self) -> GripperState:
        return self._shadow.gripper if self._shadow is not None else self.backend.gripper_state()

    def stop(self) -> None:
        self.backend.stop()  # stopping is always allowed

    def _ensure_shadow(self) -> _Shadow:
        if self._shadow is None:
            self._shadow = _Shadow(np.asarray(self.backend.current_joints(), float).copy(), self.backend.gripper_state())
        return self._shadow

    # -- arm motion -------------------------------------------------------------------------
    def move_joints(self, q: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        try:
            q = np.asarray(q, dtype=float)
            self.checker.check_joint_target(q, arm=self.kinematics)
        except (SafetyViolation, TypeError, ValueError) as exc:
            return self._bad_input(exc, "joint target")
        return self._move("joints", q, speed_scale)

    def move_to_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._move_pose("pose", base_from_tcp, speed_scale)

    def move_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0) -> MotionResult:
        return self._move_pose("linear", base_from_tcp, speed_scale)

    def move_by_delta(self, action: EEAction, speed_scale: float = 1.0) -> MotionResult:
        """The policy's 6-DoF delta from where the arm is: per-step limits, then a straight line."""
        try:
            self.checker.check_delta(action)
        except SafetyViolation as exc:
            return _refused(exc, "delta")
        return self._move_pose("linear", apply_ee_action(self.current_pose(), action), speed_scale)

    def _bad_input(self, exc: Exception, what: str) -> MotionResult:
        if isinstance(exc, SafetyViolation):
            return _refused(exc, what)
        return MotionResult(MotionStatus.REFUSED, f"{what}: {exc}", SafetyReason.INVALID_COMMAND.value)

    def _move_pose(self, kind: str, base_from_tcp: np.ndarray, speed_scale: float) -> MotionResult:
        try:
            target = np.asarray(base_from_tcp, dtype=float)
            self.checker.check_pose(target)
        except (SafetyViolation, TypeError, ValueError) as exc:
            return self._bad_input(exc, "pose target")
        return self._move(kind, target, speed_scale)

    def _move(self, kind: str, goal: np.ndarray, speed_scale: float) -> MotionResult:
        try:
            scale = self.checker.check_speed_scale(speed_scale)
        except SafetyViolation as exc:
            return _refused(exc)
        refusal = self._gate()
        if refusal is not None:
            return refusal
        try:
            plan = self._plan(kind, goal, scale)
        except PlanningFailed as exc:
            return exc.result
        q_now = self.current_joints()
        try:
            self.checker.check_plan(plan, tcp_offset_m=self.tcp_offset_m, arm=self.kinematics, q_now=q_now)
        except SafetyViolation as exc:
            log.warning("refused %s plan: %s", kind, exc)
            return _refused(exc, f"{kind} plan")
        if self.dry_run:
            return self._dry_run_plan(kind, plan)
        return self._execute(kind, plan)

    def _plan(self, kind: str, goal: np.ndarray, scale: float) -> JointPlan:
        """The backend's plan, from the dry-run shadow when there is one (backends that take a
        keyword q_start plan from it; others only while the shadow has not left the real joints)."""
        planner = getattr(self.backend, f"plan_{kind}")
        if self._shadow is None:
            return planner(goal, scale)
        if self._plans_from.get(kind):
            return planner(goal, scale, q_start=self._shadow.joints.copy())
        if np.allclose(self._shadow.joints, self.backend.current_joints(), atol=1e-3):
            return planner(goal, scale)
        raise PlanningFailed(MotionResult(
            MotionStatus.REFUSED, f"dry run: backend '{getattr(self.backend, 'name', '?')}' cannot plan from the "
            "dry-run state (its plan_* take no q_start); arm the robot or preview one motion at a time",
            SafetyReason.NOT_ARMED.value))

    def _dry_run_plan(self, kind: str, plan: JointPlan) -> MotionResult:
        shadow = self._ensure_shadow()
        if self.preview is not None:
            self.preview(plan)
        shadow.joints = np.asarray(plan.positions[-1], float).copy()
        self.dry_run_count += 1
        log.info("dry-run (not armed): %s plan of %d waypoints, %.2f s validated, not sent",
                 kind, len(plan.positions), plan.duration_s)
        return MotionResult(MotionStatus.DRY_RUN, f"not armed: {kind} plan validated, not sent", SafetyReason.NOT_ARMED.value)

    def _execute(self, kind: str, plan: JointPlan) -> MotionResult:
        refusal = self._gate()  # the e-stop may have been pressed while planning
        if refusal is not None:
            return refusal
        tripped: list[str] = []
        done = threading.Event()
        monitor = threading.Thread(target=self._monitor, args=(done, tripped), name="safe-motion-monitor", daemon=True)
        monitor.start()
        self.sent.append(kind)
        try:
            result = self.backend.execute(plan)
        finally:
            done.set()
            monitor.join()
        if self.estop.engaged:
            return MotionResult(MotionStatus.ABORTED, f"estopped during {kind}: {self.estop.reason}",
                                SafetyReason.ESTOPPED.value)
        if tripped:
            return MotionResult(MotionStatus.ABORTED, f"stale_input: watchdog '{tripped[0]}' expired during {kind}",
                                SafetyReason.STALE_INPUT.value)
        return result

    def _monitor(self, done: threading.Event, tripped: list[str]) -> None:
        """Poll while a motion runs: an expired watchdog or an engaged e-stop stops the backend
        (the e-stop listener already did; repeating the stop covers one that raced the start)."""
        while not done.wait(self.monitor_period_s):
            if self.estop.engaged:
                self.backend.stop()
                continue
            name = self._expired_watchdog()
            if name is not None:
                if not tripped:
                    log.error("watchdog '%s' expired mid-motion: stopping", name)
                    tripped.append(name)
                self.backend.stop()

    # -- gripper ------------------------------------------------------------------------------
    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if not isinstance(command, GripperCommand):
            return MotionResult(MotionStatus.REFUSED, f"gripper command must be a GripperCommand, got {command!r}",
                                SafetyReason.INVALID_COMMAND.value)
        if force_n is not None:
            if isinstance(force_n, bool) or not isinstance(force_n, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(float(force_n)):
                return MotionResult(MotionStatus.REFUSED, f"not_finite: gripper force {force_n!r}",
                                    SafetyReason.NOT_FINITE.value)
            if not 0.0 < float(force_n) <= MAX_GRIPPER_FORCE_N:
                return MotionResult(MotionStatus.REFUSED, f"invalid_command: gripper force {force_n} N outside "
                                    f"(0, {MAX_GRIPPER_FORCE_N:.0f}]", SafetyReason.INVALID_COMMAND.value)
        refusal = self._gate()
        if refusal is not None:
            return refusal
        if self.dry_run:
            shadow = self._ensure_shadow()
            if command == GripperCommand.OPEN:
                shadow.gripper = GripperState(self.gripper_open_width_m, False)
            elif command == GripperCommand.CLOSE:
                shadow.gripper = GripperState(0.0, True)
            self.dry_run_count += 1
            log.info("dry-run (not armed): gripper %s validated, not sent", command.name)
            return MotionResult(MotionStatus.DRY_RUN, f"not armed: gripper {command.name} validated, not sent",
                                SafetyReason.NOT_ARMED.value)
        self.sent.append(f"gripper {command.name}")
        result = self.backend.gripper(command, force_n)
        if self.estop.engaged:
            return MotionResult(MotionStatus.ABORTED, f"estopped during gripper {command.name}: {self.estop.reason}",
                                SafetyReason.ESTOPPED.value)
        return result
