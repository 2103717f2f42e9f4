"""A UR cell driver emulator over the MuJoCo Ur5Cell: what ur_robot_driver (Jazzy) with its
scaled_joint_trajectory_controller, the Robotiq 2F-85 gripper action controller and the speed
scaling / program state broadcasters do, without ROS (nodes/ur_driver_emulator.py is the glue).

Behaviour follows the upstream controllers (ros2_controllers jazzy joint_trajectory_controller,
ur_controllers, gripper_action_controller / parallel_gripper_action_controller):
- goals are validated as JTC's validate_trajectory_msg does and rejected when invalid (or, with
  `invalid_goal_response="abort"`, accepted and ended with INVALID_JOINTS / INVALID_GOAL);
- the trajectory is sampled as JTC samples it: from the measured state at the first sample, linear
  between points with positions only, cubic with velocities, quintic with accelerations;
- trajectory time advances by period x speed scaling (scaled JTC), so 50 % takes twice as long;
- path / goal / goal-time tolerances resolve from the goal over the controller defaults
  (0 = default, -1 = erased) and end the goal PATH_TOLERANCE_VIOLATED / GOAL_TOLERANCE_VIOLATED;
- cancel holds the measured position at once; a new goal preempts the active one (aborted);
- robot program not running: ur_robot_driver's controller_stopper deactivates the trajectory
  controller, so new goals are rejected and an active goal is aborted (INVALID_GOAL), holding;
- the gripper succeeds within goal_tolerance of the knuckle target, and otherwise reports a stall
  when the knuckle stops moving for stall_timeout (aborted, or succeeded with allow_stalling).
Physics steps follow the wall clock; every physics step (2 ms) is one controller update.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.robotiq import (
    KNUCKLE_CLOSED_RAD,
    KNUCKLE_JOINT,
    STROKE_M,
    knuckle_from_width,
    width_from_knuckle,
)
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
from spatialbot_ros.sim.cell import Ur5Cell

log = logging.getLogger(__name__)


class JtcCode(enum.IntEnum):
    """control_msgs/FollowJointTrajectory.Result error codes."""

    SUCCESSFUL = 0
    INVALID_GOAL = -1
    INVALID_JOINTS = -2
    OLD_HEADER_TIMESTAMP = -3
    PATH_TOLERANCE_VIOLATED = -4
    GOAL_TOLERANCE_VIOLATED = -5


class GoalState(enum.Enum):
    ACTIVE = "active"
    SUCCEEDED = "succeeded"
    ABORTED = "aborted"
    CANCELED = "canceled"


@dataclass(frozen=True)
class TrajectoryPoint:
    time_from_start_s: float
    positions: tuple[float, ...]
    velocities: tuple[float, ...] = ()
    accelerations: tuple[float, ...] = ()
    effort: tuple[float, ...] = ()


@dataclass(frozen=True)
class JointTolerance:
    """control_msgs/JointTolerance: 0 = use the controller default, -1 = no check."""

    name: str
    position: float = 0.0
    velocity: float = 0.0
    acceleration: float = 0.0


@dataclass(frozen=True)
class TrajectoryGoal:
    joint_names: tuple[str, ...]
    points: tuple[TrajectoryPoint, ...]
    start_time_s: float = 0.0  # header.stamp; 0 = start at the first sample
    path_tolerance: tuple[JointTolerance, ...] = ()
    goal_tolerance: tuple[JointTolerance, ...] = ()
    goal_time_tolerance_s: float = 0.0


@dataclass
class Tolerances:
    """Per joint (position, velocity, acceleration); 0 = not checked. Goal time 0 = wait forever."""

    path: np.ndarray
    goal: np.ndarray
    goal_time_s: float

    @classmethod
    def defaults(cls, trajectory: float = 0.2, goal: float = 0.1, stopped_velocity: float = 0.2,
                 goal_time_s: float = 0.0, n: int = 6) -> Tolerances:
        """ur_robot_driver's ur_controllers.yaml constraints for the scaled JTC."""
        path = np.zeros((n, 3))
        path[:, 0] = trajectory
        goal_tol = np.zeros((n, 3))
        goal_tol[:, 0], goal_tol[:, 1] = goal, stopped_velocity
        return cls(path, goal_tol, goal_time_s)


def _resolve(default: float, value: float) -> float:
    if value > 0.0:
        return value
    if abs(value + 1.0) < 1e-7:
        return 0.0
    if value < 0.0:
        raise ValueError(f"illegal tolerance {value}")
    return default


def resolve_tolerances(defaults: Tolerances, goal: TrajectoryGoal, joints: tuple[str, ...]) -> Tolerances:
    """The goal's tolerances over the defaults; any illegal entry or unknown joint -> the defaults."""
    out = Tolerances(defaults.path.copy(), defaults.goal.copy(), defaults.goal_time_s)
    try:
        out.goal_time_s = _resolve(defaults.goal_time_s, goal.goal_time_tolerance_s)
        for table, default_table, entries in ((out.path, defaults.path, goal.path_tolerance),
                                              (out.goal, defaults.goal, goal.goal_tolerance)):
            for tol in entries:
                i = joints.index(tol.name)
                for k, value in enumerate((tol.position, tol.velocity, tol.acceleration)):
                    table[i, k] = _resolve(default_table[i, k], value)
    except ValueError as exc:
        log.warning("goal tolerances ignored (%s): using the defaults", exc)
        return defaults
    return out


def validate_goal(goal: TrajectoryGoal, joints: tuple[str, ...], now_s: float) -> tuple[JtcCode, str]:
    """JTC's validate_trajectory_msg (partial goals off, positions required, no effort, zero end
    velocity); SUCCESSFUL when the goal may run."""
    names = goal.joint_names
    if len(names) != len(joints):
        return JtcCode.INVALID_JOINTS, "Joints on incoming trajectory don't match the controller joints."
    if not names:
        return JtcCode.INVALID_JOINTS, "Empty joint names on incoming trajectory."
    if not goal.points:
        return JtcCode.INVALID_GOAL, "Empty trajectory received."
    for name in names:
        if name not in joints:
            return JtcCode.INVALID_JOINTS, f"Incoming joint {name} doesn't match the controller's joints."
    if len(set(names)) != len(names):
        return JtcCode.INVALID_JOINTS, "Duplicate joint names on incoming trajectory."
    if any(abs(v) > np.finfo(np.float32).eps for v in goal.points[-1].velocities):
        return JtcCode.INVALID_GOAL, "Velocity of last trajectory point is not zero."
    if goal.start_time_s != 0.0 and goal.start_time_s + goal.points[-1].time_from_start_s < now_s:
        return JtcCode.INVALID_GOAL, "Received trajectory with non-zero start time that ends in the past."
    previous = 0.0
    for i, pt in enumerate(goal.points):
        if i > 0 and pt.time_from_start_s <= previous:
            return JtcCode.INVALID_GOAL, f"Time between points {i - 1} and {i} is not strictly increasing."
        previous = pt.time_from_start_s
        if len(pt.positions) != len(names):
            return JtcCode.INVALID_GOAL, f"Mismatch between joint_names and positions at point #{i}."
        for label, values in (("velocities", pt.velocities), ("accelerations", pt.accelerations)):
            if values and len(values) != len(names):
                return JtcCode.INVALID_GOAL, f"Mismatch between joint_names and {label} at point #{i}."
        if pt.effort:
            return JtcCode.INVALID_GOAL, "Trajectories with effort fields need an effort command interface."
        if not all(math.isfinite(v) for v in (*pt.positions, *pt.velocities, *pt.accelerations)):
            return JtcCode.INVALID_GOAL, f"Non-finite value at point #{i}."
    return JtcCode.SUCCESSFUL, ""


@dataclass(frozen=True)
class _Knot:
    t: float
    q: np.ndarray
    v: np.ndarray | None
    a: np.ndarray | None


def _interpolate(k0: _Knot, k1: _Knot, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """JTC's interpolate_between_points: linear, cubic (velocities at both ends) or quintic
    (velocities and accelerations at both ends); clamped to the segment."""
    T = k1.t - k0.t
    s = min(max(t - k0.t, 0.0), T)
    has_v = k0.v is not None and k1.v is not None and 0.0 < t - k0.t < T
    has_a = k0.a is not None and k1.a is not None and has_v
    if not has_v or T <= 0.0:
        slope = (k1.q - k0.q) / T if T > 0.0 else np.zeros_like(k0.q)
        return k0.q + slope * s, slope, np.zeros_like(k0.q)
    q0, q1, v0, v1 = k0.q, k1.q, k0.v, k1.v
    if not has_a:
        c2 = (-3 * q0 + 3 * q1 - 2 * v0 * T - v1 * T) / T**2
        c3 = (2 * q0 - 2 * q1 + v0 * T + v1 * T) / T**3
        return q0 + v0 * s + c2 * s**2 + c3 * s**3, v0 + 2 * c2 * s + 3 * c3 * s**2, 2 * c2 + 6 * c3 * s
    a0, a1 = k0.a, k1.a
    c3 = (-20 * q0 + 20 * q1 - 3 * a0 * T**2 + a1 * T**2 - 12 * v0 * T - 8 * v1 * T) / (2 * T**3)
    c4 = (30 * q0 - 30 * q1 + 3 * a0 * T**2 - 2 * a1 * T**2 + 16 * v0 * T + 14 * v1 * T) / (2 * T**4)
    c5 = (-12 * q0 + 12 * q1 - a0 * T**2 + a1 * T**2 - 6 * v0 * T - 6 * v1 * T) / (2 * T**5)
    q = q0 + v0 * s + a0 / 2 * s**2 + c3 * s**3 + c4 * s**4 + c5 * s**5
    v = v0 + a0 * s + 3 * c3 * s**2 + 4 * c4 * s**3 + 5 * c5 * s**4
    a = a0 + 6 * c3 * s + 12 * c4 * s**2 + 20 * c5 * s**3
    return q, v, a


class SampledTrajectory:
    """A goal's points in controller joint order, sampled as JTC does from the state before it."""

    def __init__(self, goal: TrajectoryGoal, joints: tuple[str, ...]) -> None:
        order = [goal.joint_names.index(j) for j in joints]

        def arr(values: tuple[float, ...]) -> np.ndarray | None:
            return np.array([values[i] for i in order], dtype=float) if values else None

        self.start_time_s = goal.start_time_s
        self.knots = [_Knot(p.time_from_start_s, arr(p.positions), arr(p.velocities), arr(p.accelerations))
                      for p in goal.points]
        self._before: _Knot | None = None

    @property
    def started(self) -> bool:
        return self._before is not None

    def start(self, t_s: float, q: np.ndarray, v: np.ndarray) -> None:
        """First sample: the measured state becomes the segment into the first point."""
        if self.start_time_s == 0.0:
            self.start_time_s = t_s
        first = self.knots[0]
        self._before = _Knot(t_s - self.start_time_s, np.asarray(q, float), np.asarray(v, float),
                             np.zeros_like(q) if first.a is not None else None)

    @property
    def end_time_s(self) -> float:
        return self.start_time_s + self.knots[-1].t

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(positions, velocities, accelerations, before_last_point) at controller time t_s."""
        if self._before is None:
            raise RuntimeError("sample before start")
        t = t_s - self.start_time_s
        if t < self.knots[0].t:
            return (*_interpolate(self._before, self.knots[0], t), True)
        for k0, k1 in zip(self.knots, self.knots[1:], strict=False):
            if k0.t <= t < k1.t:
                return (*_interpolate(k0, k1, t), True)
        last = self.knots[-1]
        zeros = np.zeros_like(last.q)
        return (last.q.copy(), zeros if last.v is None else last.v.copy(),
                zeros if last.a is None else last.a.copy(), False)


@dataclass
class TrajectoryFeedback:
    stamp_s: float
    desired: tuple[np.ndarray, np.ndarray, np.ndarray]
    actual: tuple[np.ndarray, np.ndarray]
    error: tuple[np.ndarray, np.ndarray]


@dataclass
class TrajectoryExecution:
    """One accepted FollowJointTrajectory goal, updated by the physics thread."""

    trajectory: SampledTrajectory | None  # None: ended before it started (invalid goal, no program)
    tolerances: Tolerances
    state: GoalState = GoalState.ACTIVE
    code: JtcCode = JtcCode.SUCCESSFUL
    message: str = ""
    traj_time_s: float = 0.0
    feedback: TrajectoryFeedback | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def finish(self, state: GoalState, code: JtcCode, message: str) -> None:
        if self.state is GoalState.ACTIVE:
            self.state, self.code, self.message = state, code, message
            self.done.set()


@dataclass
class GripperExecution:
    """One gripper goal: the result fields of control_msgs GripperCommand / ParallelGripperCommand."""

    target_rad: float
    max_effort: float
    state: GoalState = GoalState.ACTIVE
    position_rad: float = 0.0
    effort: float = 0.0
    stalled: bool = False
    reached_goal: bool = False
    last_moved_s: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)

    def finish(self, state: GoalState) -> None:
        if self.state is GoalState.ACTIVE:
            self.state = state
            self.done.set()


@dataclass
class EmulatorConfig:
    joints: tuple[str, ...] = UR_JOINT_NAMES
    tolerances: Tolerances = field(default_factory=Tolerances.defaults)
    invalid_goal_response: str = "reject"  # "reject" (JTC) or "abort" (accept, end with the error code)
    gripper_goal_tolerance: float = 0.01  # rad, gripper_action_controller default
    gripper_allow_stalling: bool = False
    gripper_stall_velocity_threshold: float = 0.001  # rad/s
    gripper_stall_timeout_s: float = 1.0
    gripper_default_effort: float = 10.0
    max_catch_up_s: float = 0.1  # physics never jumps further than this behind the wall clock

    def __post_init__(self) -> None:
        if self.invalid_goal_response not in ("reject", "abort"):
            raise ValueError(f"invalid_goal_response must be 'reject' or 'abort', got {self.invalid_goal_response!r}")


@dataclass(frozen=True)
class JointSnapshot:
    stamp_s: float
    names: tuple[str, ...]
    positions: tuple[float, ...]
    velocities: tuple[float, ...]


class UrDriverEmulator:
    """Thread-safe: the node's action callbacks admit, start and cancel goals, one physics thread calls
    advance() (or run()), one camera thread calls render_rgbd()."""

    def __init__(self, cell: Ur5Cell, config: EmulatorConfig | None = None,
                 render_twin: Ur5Cell | None = None, clock: Callable[[], float] = time.time) -> None:
        self.cell = cell
        self.config = config or EmulatorConfig()
        self.clock = clock
        self._twin = render_twin  # same model, own MjData + renderer: renders while physics steps
        self._lock = threading.RLock()
        self._speed_scaling = 1.0
        self._program_running = True
        self._traj: TrajectoryExecution | None = None
        self._grip: GripperExecution | None = None
        self._sim_time_s = clock()
        self._hold(cell.joint_positions())

    # -- state the broadcasters publish -----------------------------------------------------
    @property
    def speed_scaling(self) -> float:
        return self._speed_scaling

    @speed_scaling.setter
    def speed_scaling(self, factor: float) -> None:
        if not (math.isfinite(factor) and 0.0 <= factor <= 1.0):
            raise ValueError(f"speed scaling must be in [0, 1], got {factor}")
        self._speed_scaling = float(factor)

    @property
    def program_running(self) -> bool:
        return self._program_running

    def set_program_running(self, running: bool) -> None:
        """Stopping the program deactivates the trajectory controller (controller_stopper)."""
        with self._lock:
            self._program_running = bool(running)
            if not running and self._traj is not None:
                self._traj.finish(GoalState.ABORTED, JtcCode.INVALID_GOAL,
                                  "Current goal cancelled during deactivate transition.")
                self._traj = None
                self._hold(self.cell.joint_positions())

    def remove_object(self, name: str) -> None:
        """Fault injection: knock an object out of the cell (the render twin copies the state)."""
        with self._lock:
            self.cell.remove_object(name)

    def joint_snapshot(self) -> JointSnapshot:
        """Arm joints, then the Robotiq knuckle (from the simulated fingers' opening)."""
        with self._lock:
            q, v = self.cell.joint_positions(), self.cell.joint_velocities()
            knuckle, knuckle_v = self._knuckle_state()
            return JointSnapshot(self._sim_time_s, (*self.config.joints, KNUCKLE_JOINT),
                                 (*map(float, q), knuckle), (*map(float, v), knuckle_v))

    def ground_truth(self) -> dict[str, list[float]]:
        with self._lock:
            return {n: self.cell.object_pose(n)[:3, 3].round(4).tolist() for n in self.cell.object_names}

    # -- trajectory controller --------------------------------------------------------------
    def admit_trajectory(self, goal: TrajectoryGoal) -> str:
        """JTC's goal_received: "" to accept, else why the goal is rejected. In "abort" mode an
        invalid goal is accepted and start_trajectory() ends it with its error code."""
        with self._lock:
            if not self._program_running:
                return "Can't accept new action goals. Controller is not running."
            code, message = validate_goal(goal, self.config.joints, self._sim_time_s)
            if code is not JtcCode.SUCCESSFUL and self.config.invalid_goal_response == "reject":
                return message
            return ""

    def start_trajectory(self, goal: TrajectoryGoal) -> TrajectoryExecution:
        """JTC's goal_accepted: preempts (aborts) the active goal; the returned execution ends
        when the physics thread finishes it, or at once when the goal is invalid / no program runs."""
        with self._lock:
            code, message = validate_goal(goal, self.config.joints, self._sim_time_s)
            if not self._program_running:
                code, message = JtcCode.INVALID_GOAL, "Controller is not running."
            if code is not JtcCode.SUCCESSFUL:
                ended = TrajectoryExecution(None, self.config.tolerances)
                ended.finish(GoalState.ABORTED, code, message)
                return ended
            if self._traj is not None:
                self._traj.finish(GoalState.ABORTED, JtcCode.INVALID_GOAL, "Current goal preempted by new incoming action.")
            self._traj = TrajectoryExecution(SampledTrajectory(goal, self.config.joints),
                                             resolve_tolerances(self.config.tolerances, goal, self.config.joints))
            return self._traj

    def cancel_trajectory(self, execution: TrajectoryExecution) -> None:
        """JTC's cancel: the active goal ends canceled and the arm holds where it is measured."""
        with self._lock:
            if execution is self._traj:
                execution.finish(GoalState.CANCELED, JtcCode.SUCCESSFUL, "")
                self._traj = None
                self._hold(self.cell.joint_positions())

    # -- gripper ----------------------------------------------------------------------------
    def submit_gripper(self, target_rad: float, max_effort: float) -> GripperExecution:
        """A new gripper goal preempts the previous one (canceled), as the gripper controllers do."""
        if not math.isfinite(target_rad):
            raise ValueError(f"gripper position must be finite, got {target_rad}")
        with self._lock:
            if self._grip is not None:
                self._grip.finish(GoalState.CANCELED)
            effort = max_effort if max_effort > 0.0 else self.config.gripper_default_effort
            target = min(max(target_rad, 0.0), KNUCKLE_CLOSED_RAD)
            self._grip = GripperExecution(target, effort, last_moved_s=self._sim_time_s)
            self.cell.command_gripper(width_from_knuckle(target))
            return self._grip

    def cancel_gripper(self, execution: GripperExecution) -> None:
        with self._lock:
            if execution is self._grip:
                execution.finish(GoalState.CANCELED)
                self._grip = None
                knuckle, _ = self._knuckle_state()
                self.cell.command_gripper(width_from_knuckle(knuckle))

    # -- physics ----------------------------------------------------------------------------
    def advance(self, now_s: float | None = None) -> float:
        """Step physics (one controller update per step) until the sim clock reaches now_s (the
        wall clock by default), at most max_catch_up_s at once; returns the sim clock."""
        dt = float(self.cell.model.opt.timestep)
        with self._lock:
            target = self.clock() if now_s is None else now_s
            self._sim_time_s = max(self._sim_time_s, target - self.config.max_catch_up_s)
            while self._sim_time_s + dt <= target + 1e-9:
                self._control_update(dt)
                mujoco.mj_step(self.cell.model, self.cell.data)
                self._sim_time_s += dt
            return self._sim_time_s

    def run(self, rate_hz: float, stop: threading.Event, on_tick: Callable[[], None]) -> None:
        """Physics loop on the caller's thread: advance to the wall clock, then on_tick(), at rate_hz."""
        period = 1.0 / rate_hz
        next_tick = time.monotonic()
        while not stop.is_set():
            self.advance()
            try:
                on_tick()
            except Exception:  # a failing publisher must not stop the physics
                log.exception("physics tick callback failed")
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay < -period:
                next_tick = time.monotonic()
            stop.wait(max(delay, 0.0))

    def _hold(self, q: np.ndarray) -> None:
        self._hold_q = np.asarray(q, float).copy()
        self.cell.command_joints(self._hold_q)

    def _knuckle_state(self) -> tuple[float, float]:
        knuckle = knuckle_from_width(self.cell.gripper_opening())
        return knuckle, -self.cell.gripper_opening_rate() * KNUCKLE_CLOSED_RAD / STROKE_M

    def _control_update(self, dt: float) -> None:
        if self._traj is not None:
            self._trajectory_update(self._traj, dt)
        if self._grip is not None:
            self._gripper_update(self._grip)

    def _trajectory_update(self, ex: TrajectoryExecution, dt: float) -> None:
        q, v = self.cell.joint_positions(), self.cell.joint_velocities()
        traj, now = ex.trajectory, self._sim_time_s
        assert traj is not None  # only started executions become active
        first = not traj.started
        if first:
            traj.start(now, q, v)
            ex.traj_time_s = now
        else:
            ex.traj_time_s += dt * self._speed_scaling
        qd, vd, ad, before_last = traj.sample(ex.traj_time_s)
        err_q, err_v = qd - q, vd - v
        ex.feedback = TrajectoryFeedback(now, (qd, vd, ad), (q, v), (err_q, err_v))
        tol = ex.tolerances
        path_violated = (before_last or first) and not _within(err_q, err_v, tol.path)
        outside_goal = not before_last and not _within(err_q, err_v, tol.goal)
        overdue = ex.traj_time_s - traj.end_time_s
        late = outside_goal and tol.goal_time_s != 0.0 and overdue > tol.goal_time_s
        if path_violated:
            ex.finish(GoalState.ABORTED, JtcCode.PATH_TOLERANCE_VIOLATED, "Aborted due to path tolerance violation")
        elif not before_last and not outside_goal:
            ex.finish(GoalState.SUCCEEDED, JtcCode.SUCCESSFUL, "Goal successfully reached!")
        elif late:
            ex.finish(GoalState.ABORTED, JtcCode.GOAL_TOLERANCE_VIOLATED,
                      f"Aborted due to goal_time_tolerance exceeding by {overdue:.6f} seconds")
        if ex.state is GoalState.ACTIVE:
            q_next, _, _, _ = traj.sample(ex.traj_time_s + dt)
            self.cell.command_joints(q_next)
            return
        self._traj = None
        if ex.state is GoalState.SUCCEEDED:
            self._hold(traj.sample(traj.end_time_s)[0])
        else:
            self._hold(q)

    def _gripper_update(self, g: GripperExecution) -> None:
        knuckle, knuckle_v = self._knuckle_state()
        g.position_rad, g.effort = knuckle, g.max_effort
        c = self.config
        if abs(g.target_rad - knuckle) < c.gripper_goal_tolerance:
            g.reached_goal, g.stalled = True, False
            g.finish(GoalState.SUCCEEDED)
        elif abs(knuckle_v) > c.gripper_stall_velocity_threshold:
            g.last_moved_s = self._sim_time_s
        elif self._sim_time_s - g.last_moved_s > c.gripper_stall_timeout_s:
            g.reached_goal, g.stalled = False, True
            g.finish(GoalState.SUCCEEDED if c.gripper_allow_stalling else GoalState.ABORTED)
        if g.state is not GoalState.ACTIVE:
            self._grip = None

    # -- camera -----------------------------------------------------------------------------
    def render_rgbd(self) -> RGBDFrame:
        """One frameset (colour + aligned depth) of the current state, stamped with the sim clock.
        With a render twin only copying the state holds the lock; physics steps during rendering."""
        if self._twin is None:
            with self._lock:
                return self.cell.render_rgbd(stamp_s=self._sim_time_s)
        twin = self._twin
        with self._lock:
            stamp = self._sim_time_s
            twin.data.qpos[:] = self.cell.data.qpos
            twin.data.qvel[:] = self.cell.data.qvel
        mujoco.mj_forward(twin.model, twin.data)
        return twin.render_rgbd(stamp_s=stamp)

    def close_rendering(self) -> None:
        """Release the renderer; call it on the thread that rendered (an EGL context is bound to it)."""
        (self._twin or self.cell).close()


def _within(err_q: np.ndarray, err_v: np.ndarray, tol: np.ndarray) -> bool:
    """JTC's check_state_tolerance_per_joint over all joints (a 0 tolerance is not checked; the
    measured state carries no accelerations, so acceleration tolerances are not either)."""
    pos, vel = tol[:, 0], tol[:, 1]
    return not (np.any((pos > 0) & (np.abs(err_q) > pos)) or np.any((vel > 0) & (np.abs(err_v) > vel)))


__all__ = ["EmulatorConfig", "GoalState", "GripperExecution", "JointTolerance", "JtcCode", "JointSnapshot",
           "SampledTrajectory", "Tolerances", "TrajectoryExecution", "TrajectoryGoal", "TrajectoryPoint",
           "UrDriverEmulator", "resolve_tolerances", "validate_goal"]
