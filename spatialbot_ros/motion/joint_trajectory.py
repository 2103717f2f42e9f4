"""The default real-cell arm path: our closed-form IK and time-parameterised joint trajectories,
sent to the UR driver's trajectory controller over control_msgs/FollowJointTrajectory.

The controller is `scaled_joint_trajectory_controller` with ur_robot_driver (the only one that
honours the pendant's speed slider, pause and safeguard stop) and `joint_trajectory_controller` on
plain ros2_control / mock hardware: it is a parameter, like every topic and number here.

Before a goal is sent the UR program must be running (io_and_status_controller's latched
`~/robot_program_running`); while it runs, the driver's speed scaling (speed_scaling_state_broadcaster,
std_msgs/Float64 in percent) stretches the wait: at 50 % a trajectory takes twice as long, at 0 %
it is paused and the goal is given up after a pause timeout. The node is spun by another executor;
this code only waits on futures (motion/ros_futures.py).

A stop cancels the goal at once (JTC then holds the position measured at the cancel) and, once the
arm has come to rest, sends a one-point trajectory holding the position where it came to rest: held
at the cancel-time position, a servo pulls the braking arm back over its stopping distance, which is
motion after the stop (on the emulated cell most of the e-stop-to-standstill time; bench/bench_estop.py).

Trajectory maths and the result mapping are pure and tested without ROS; control_msgs
(apt ros-$ROS_DISTRO-control-msgs, or the definitions built by scripts/build_interfaces.sh) is
imported only when the backend is constructed.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.kinematics import ArmKinematics
from spatialbot_ros.core.safety import tcp_path
from spatialbot_ros.core.timestamps import split_seconds
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.core.ur_kinematics import (
    UR5_DH,
    UR5_JOINT_LIMITS,
    UR_JOINT_NAMES,
    DHParams,
    dh_for,
    ik_nearest,
)
from spatialbot_ros.motion.base import (
    GripperState,
    JointPlan,
    MotionBackendUnavailable,
    MotionResult,
    MotionStatus,
    PlanKind,
    PlanningFailed,
)
from spatialbot_ros.motion.frames import (
    joints_from_state,
    tcp_pose_from_joints,
    tool0_pose_for_tcp,
    velocities_from_state,
)
from spatialbot_ros.motion.ros_futures import FutureTimeout, wait_future

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrajectoryConfig:
    """Every name and number of the trajectory path. An empty topic name skips what it feeds
    (no program-running check on mock hardware or a plain JTC; speed scaling taken as 100 %)."""

    controller_name: str = "scaled_joint_trajectory_controller"
    joint_names: tuple[str, ...] = UR_JOINT_NAMES
    ur_type: str = "ur5"
    tcp_offset_m: float = 0.15
    max_joint_speed_rad_s: float = 1.0
    max_joint_accel_rad_s2: float = 2.0
    # mean TCP speed per segment; the controller's cubic spline peaks at up to 1.5x the mean on a
    # rest-to-rest segment, so 0.16 m/s keeps the peak under the safety gate's 0.25 m/s
    max_tcp_speed_m_s: float = 0.16
    linear_step_m: float = 0.01           # straight lines: one IK waypoint per cm ...
    linear_step_rad: float = 0.05         # ... and per 0.05 rad of TCP rotation
    max_linear_joint_jump_rad: float = 0.5  # a bigger jump between line waypoints is a singularity
    path_tolerance_rad: float = 0.2       # per joint while moving (ur_robot_driver's default)
    goal_tolerance_rad: float = 0.005     # per joint at the end ...
    # ... and slower than this: a goal ends only once the arm has stopped (the driver's default, 0.2 rad/s,
    # ends it while the arm still settles into the end point, when a stop has no goal left to cancel)
    goal_velocity_tolerance_rad_s: float = 0.05
    goal_time_tolerance_s: float = 1.0    # time after the end to get within goal tolerance
    start_tolerance_rad: float = 0.05     # the arm may not have moved more since planning
    joint_states_topic: str = "/joint_states"
    joint_states_max_age_s: float = 1.0
    speed_scaling_topic: str = "/speed_scaling_state_broadcaster/speed_scaling"
    speed_scaling_full: float = 100.0     # the broadcaster publishes percent
    program_running_topic: str = "/io_and_status_controller/robot_program_running"
    server_timeout_s: float = 2.0         # wait for the action server
    goal_response_timeout_s: float = 5.0  # wait for the goal to be accepted
    result_margin_s: float = 5.0          # beyond the (scaled) duration and goal time tolerance
    pause_timeout_s: float = 30.0         # speed scaling at 0 % this long: give the goal up
    # after a stop: hold where the arm came to rest (see the module docstring); False: the cancel only
    rest_hold: bool = True
    rest_speed_rad_s: float = 0.02        # at rest: every joint slower than this, or the velocities reversed
    rest_timeout_s: float = 0.5           # hold wherever the arm is after this long, at rest or not
    rest_hold_time_s: float = 0.004       # time_from_start of the hold point: two 500 Hz controller cycles
    rest_window_s: float = 1.0            # a stop this soon after one of our goals ended still settles the arm

    @property
    def action_name(self) -> str:
        return f"/{self.controller_name}/follow_joint_trajectory"


def hermite_peak_speeds(p0: np.ndarray, p1: np.ndarray, v0: np.ndarray, v1: np.ndarray,
                        durations: np.ndarray) -> np.ndarray:
    """Largest |velocity| per segment (N,) of the cubic Hermite splines a joint trajectory controller
    runs between waypoints given positions and velocities: it peaks inside a segment, up to 1.5x
    the mean speed when both ends are at rest."""
    T = durations[:, None]
    dp = (p0 - p1) / T
    a = 6.0 * dp + 3.0 * v0 + 3.0 * v1                       # velocity(s) = a s^2 + b s + c, s in [0, 1]
    b = -6.0 * dp - 4.0 * v0 - 2.0 * v1
    c = v0
    with np.errstate(divide="ignore", invalid="ignore"):
        s_star = np.where(np.abs(a) > 1e-12, -b / (2.0 * a), 0.0)
    s_star = np.clip(s_star, 0.0, 1.0)
    peak = np.maximum.reduce([np.abs(c), np.abs(a + b + c), np.abs(a * s_star**2 + b * s_star + c)])
    return peak.max(axis=1)


def time_parameterize(q_start: np.ndarray, waypoints: np.ndarray, cfg: TrajectoryConfig,
                      speed_scale: float = 1.0,
                      tcp_segment_lengths_m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Times (N,) from the start and velocities (N,6) for joint waypoints (N,6).

    Each segment starts at the longest of its joint-speed-limited, its acceleration-limited
    (bang-bang) and, given the TCP path length of each segment, its TCP-speed-limited time;
    velocities are central differences with zero at both ends. Segments are then stretched until the
    controller's cubic spline through them stays within the joint speed limit everywhere, not only at
    the waypoints.
    """
    pts = np.vstack([np.asarray(q_start, float)[None], np.asarray(waypoints, float)])
    dq = np.abs(np.diff(pts, axis=0)).max(axis=1)
    scale = min(max(speed_scale, 1e-3), 1.0)
    v = cfg.max_joint_speed_rad_s * scale
    seg = np.maximum(dq / v, np.sqrt(4.0 * dq / cfg.max_joint_accel_rad_s2))
    if tcp_segment_lengths_m is not None:
        seg = np.maximum(seg, np.asarray(tcp_segment_lengths_m, float) / (cfg.max_tcp_speed_m_s * scale))
    seg = np.maximum(seg, 1e-3)
    vel = np.zeros_like(pts)
    for _ in range(20):
        t_all = np.concatenate([[0.0], np.cumsum(seg)])
        vel[1:-1] = (pts[2:] - pts[:-2]) / (t_all[2:] - t_all[:-2])[:, None]
        peak = hermite_peak_speeds(pts[:-1], pts[1:], vel[:-1], vel[1:], seg)
        over = peak > v * (1.0 + 1e-9)
        if not over.any():
            break
        seg = np.where(over, seg * np.minimum(peak / v, 1.5) * (1.0 + 1e-6), seg)
    return np.cumsum(seg), vel[1:]


def waypoint_velocities(q_start: np.ndarray, waypoints: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Velocities (N,6) at the waypoints for given times: central differences, zero at the end."""
    pts = np.vstack([np.asarray(q_start, float)[None], np.asarray(waypoints, float)])
    t_all = np.concatenate([[0.0], np.asarray(times_s, float)])
    vel = np.zeros_like(pts)
    vel[1:-1] = (pts[2:] - pts[:-2]) / (t_all[2:] - t_all[:-2])[:, None]
    return vel[1:]


def build_joint_trajectory(positions: np.ndarray, times: np.ndarray, velocities: np.ndarray,
                           joint_names: tuple[str, ...] = UR_JOINT_NAMES) -> object:
    """trajectory_msgs/JointTrajectory with time_from_start per point; a zero header stamp means
    "start on receipt" to the controller (no clock agreement needed)."""
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    msg = JointTrajectory()
    msg.joint_names = list(joint_names)
    for q, t, v in zip(positions, times, velocities, strict=True):
        p = JointTrajectoryPoint()
        p.positions = [float(x) for x in q]
        p.velocities = [float(x) for x in v]
        sec, nanosec = split_seconds(float(t))
        p.time_from_start = Duration(sec=sec, nanosec=nanosec)
        msg.points.append(p)
    return msg


def plan_linear(q_start: np.ndarray, start_tcp: np.ndarray, goal_tcp: np.ndarray, cfg: TrajectoryConfig,
                arm: ArmKinematics = UR5_DH) -> np.ndarray | None:
    """Joint waypoints along a straight TCP line (IK per linear_step_m and per linear_step_rad,
    continuity enforced); None if it leaves the reachable space or crosses a singularity."""
    from scipy.spatial.transform import Rotation, Slerp

    dist = float(np.linalg.norm(goal_tcp[:3, 3] - start_tcp[:3, 3]))
    angle = float(np.linalg.norm(Rotation.from_matrix(goal_tcp[:3, :3] @ start_tcp[:3, :3].T).as_rotvec()))
    n = max(1, int(math.ceil(max(dist / cfg.linear_step_m, angle / cfg.linear_step_rad))))
    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([start_tcp[:3, :3], goal_tcp[:3, :3]])))
    q_ref, out = np.asarray(q_start, float), []
    for i in range(1, n + 1):
        s = i / n
        T = make_pose(start_tcp[:3, 3] + s * (goal_tcp[:3, 3] - start_tcp[:3, 3]), slerp(s).as_matrix())
        q = arm.ik_nearest(tool0_pose_for_tcp(T, cfg.tcp_offset_m), q_ref)
        if q is None or np.max(np.abs(q - q_ref)) > cfg.max_linear_joint_jump_rad:
            return None
        out.append(q)
        q_ref = q
    return np.array(out)


# -- what the controller answers ------------------------------------------------------------------

class FjtErrorCode(enum.IntEnum):
    """control_msgs/FollowJointTrajectory result error codes."""

    SUCCESSFUL = 0
    INVALID_GOAL = -1
    INVALID_JOINTS = -2
    OLD_HEADER_TIMESTAMP = -3
    PATH_TOLERANCE_VIOLATED = -4
    GOAL_TOLERANCE_VIOLATED = -5


class GoalStatusCode(enum.IntEnum):
    """action_msgs/GoalStatus values (kept here so the mapping stays pure)."""

    UNKNOWN = 0
    ACCEPTED = 1
    EXECUTING = 2
    CANCELING = 3
    SUCCEEDED = 4
    CANCELED = 5
    ABORTED = 6


_ERROR_TEXT = {
    FjtErrorCode.INVALID_GOAL: "the controller found the trajectory invalid",
    FjtErrorCode.INVALID_JOINTS: "the trajectory's joint names do not match the controller's joints",
    FjtErrorCode.OLD_HEADER_TIMESTAMP: "the trajectory's start time is in the past (clock mismatch?)",
    FjtErrorCode.PATH_TOLERANCE_VIOLATED: "a joint left the path tolerance (collision, protective stop or overload?)",
    FjtErrorCode.GOAL_TOLERANCE_VIOLATED: "the joints did not settle within the goal tolerance in time",
}


def result_from_fjt(status: int, error_code: int, error_string: str = "") -> MotionResult:
    """A MotionResult for the controller's answer: goal status plus result error code. A
    controller error code is the cause (its name, lower case) and its text the message."""
    detail = f" ({error_string})" if error_string else ""
    try:
        code: FjtErrorCode | None = FjtErrorCode(error_code)
    except ValueError:
        code = None
    if status == GoalStatusCode.SUCCEEDED and code == FjtErrorCode.SUCCESSFUL:
        return MotionResult(MotionStatus.SUCCEEDED)
    if code is not None and code != FjtErrorCode.SUCCESSFUL:
        return MotionResult(MotionStatus.ABORTED, f"{code.name}: {_ERROR_TEXT[code]}{detail}", code.name.lower())
    if code is None:
        return MotionResult(MotionStatus.ABORTED, f"unknown controller error code {error_code}{detail}",
                            f"error_code_{error_code}")
    if status == GoalStatusCode.CANCELED:
        return MotionResult(MotionStatus.ABORTED, f"the trajectory was canceled (another client or the controller){detail}",
                            "canceled")
    try:
        name = GoalStatusCode(status).name.lower()
    except ValueError:
        name = f"status_{status}"
    return MotionResult(MotionStatus.ABORTED, f"the controller ended the trajectory: {name}{detail}", name)


@dataclass
class ScaledProgress:
    """Trajectory time as the scaled controller sees it: wall time times the speed scaling, so a
    50 % slider doubles the wait and 0 % pauses it (bounded by the pause timeout)."""

    deadline_s: float
    pause_timeout_s: float
    progress_s: float = 0.0
    paused_for_s: float = 0.0

    def advance(self, dt_s: float, scaling: float) -> MotionResult | None:
        """None while the goal may still finish; ABORTED once paused too long or past the deadline."""
        scaling = min(max(scaling, 0.0), 1.0)
        self.progress_s += dt_s * scaling
        self.paused_for_s = self.paused_for_s + dt_s if scaling < 1e-3 else 0.0
        if self.paused_for_s > self.pause_timeout_s:
            return MotionResult(MotionStatus.ABORTED, f"paused: speed scaling at 0 % for {self.paused_for_s:.1f} s "
                                "(pendant pause or safeguard stop)", "paused")
        if self.progress_s > self.deadline_s:
            return MotionResult(MotionStatus.ABORTED, f"no result {self.deadline_s:.1f} s (trajectory time) after sending",
                                "timeout")
        return None


def came_to_rest(v: np.ndarray, v_at_stop: np.ndarray, rest_speed_rad_s: float) -> bool:
    """Whether a braking arm has stopped: every joint slower than rest_speed_rad_s, or the joint
    velocity vector turned against its direction at the stop (from then on a servo holding the
    stop-time position is pulling the arm back)."""
    v, v0 = np.asarray(v, float), np.asarray(v_at_stop, float)
    return bool(np.max(np.abs(v)) < rest_speed_rad_s or float(np.dot(v, v0)) <= 0.0)


def header_stamp_s(msg: object) -> float | None:
    """A message's header stamp in seconds, or None when it has none (zero: never set)."""
    stamp = getattr(getattr(msg, "header", None), "stamp", None)
    if stamp is None:
        return None
    t = float(getattr(stamp, "sec", 0)) + 1e-9 * float(getattr(stamp, "nanosec", 0))
    return t if t > 0 else None


@dataclass(frozen=True)
class _RestWatch:
    """What the joint-state callback needs to hold the arm where a stop brought it to rest."""

    generation: int        # execute() count at the stop: a newer goal cancels the hold
    v_at_stop: np.ndarray  # joint velocities when the stop was called
    deadline_s: float      # monotonic: hold wherever the arm is by then
    pending: Any = None    # the send future of a goal not yet accepted at the stop (the hold waits for it)
    stamp_s: float = -math.inf  # node clock at the stop: joint states stamped earlier say nothing of the rest


def _note_hold_answer(future: Any) -> None:
    """The controller's answer to a hold (or the error of a node destroyed before it came): logged,
    so that no failed future goes unread."""
    exc = future.exception()
    if exc is not None:
        log.debug("hold goal not answered: %s", exc)
    elif future.result() is not None and not future.result().accepted:
        log.warning("the controller rejected the hold after a stop (it keeps its own hold)")


def _not_ready(message: str, cause: str) -> PlanningFailed:
    return PlanningFailed(MotionResult(MotionStatus.NOT_READY, message, cause))


class JointTrajectoryBackend:
    """MotionBackend over the UR driver's (scaled) joint trajectory controller."""

    name = "joint_trajectory"
    config_type = TrajectoryConfig

    def __init__(self, node: Any, config: TrajectoryConfig | None = None, dh: DHParams | None = None) -> None:
        try:
            from control_msgs.action import FollowJointTrajectory
        except ImportError as exc:
            raise MotionBackendUnavailable(
                "joint_trajectory backend needs control_msgs: apt install ros-$ROS_DISTRO-control-msgs "
                "(or build the definitions with scripts/build_interfaces.sh)") from exc
        from rclpy.action import ActionClient
        from rclpy.qos import (
            DurabilityPolicy,
            HistoryPolicy,
            QoSProfile,
            ReliabilityPolicy,
            qos_profile_sensor_data,
        )
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool, Float64

        self.node = node
        self.config = cfg = config or TrajectoryConfig()
        self.dh = dh or dh_for(cfg.ur_type)
        self._action = FollowJointTrajectory
        self._client = ActionClient(node, FollowJointTrajectory, cfg.action_name)
        self._lock = threading.Lock()
        self._q: np.ndarray | None = None
        self._q_stamp = -math.inf
        self._diff_t = -math.inf            # stamp (else receive time) of the joint state last differenced
        self._v = np.zeros(len(cfg.joint_names))
        self._rest_watch: _RestWatch | None = None  # after a stop: hold once the arm has come to rest
        self._send_lock = threading.Lock()  # a goal and the rest hold are never sent in a race
        self._generation = 0                # counts execute() calls: a rest hold never lands after a newer goal
        self._pending: Any = None           # the send future of a goal not yet accepted
        self._last_goal_s = -math.inf       # monotonic time one of our goals was last in flight
        self._settling = False              # the current stop has its rest hold (sent or watched for)
        self._interlock: Callable[[], bool] | None = None
        self._scaling: float | None = None
        self._program_running: bool | None = None
        self._handle: Any = None
        self._stopped = threading.Event()
        # joint states: best effort matches reliable and best-effort publishers alike
        node.create_subscription(JointState, cfg.joint_states_topic, self._on_joints, qos_profile_sensor_data)
        if cfg.speed_scaling_topic:  # upstream: SystemDefaultsQoS (reliable, volatile)
            node.create_subscription(Float64, cfg.speed_scaling_topic, self._on_scaling, 10)
        if cfg.program_running_topic:
            # upstream publishes latched (reliable, transient local) and only on change, so only a
            # transient-local subscription learns the current value. One subscription: a second,
            # volatile one could deliver an older change after a newer one and, with no further
            # publication, leave the flag wrong. (By hand: ros2 topic pub --qos-durability transient_local.)
            latched = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
            node.create_subscription(Bool, cfg.program_running_topic, self._on_program_running, latched)

    # -- state from the driver ---------------------------------------------------------------
    def _on_joints(self, msg: Any) -> None:
        q = joints_from_state(msg, self.config.joint_names)
        if q is None:
            return
        v = velocities_from_state(msg, self.config.joint_names)
        now = time.monotonic()
        stamp = header_stamp_s(msg)
        t = stamp if stamp is not None else now
        with self._lock:
            if v is None:  # a driver without velocities: differences of the positions over their stamps
                dt = t - self._diff_t
                if self._q is None:
                    v = np.zeros_like(q)
                elif dt > 1e-4:
                    v = (q - self._q) / dt
                else:  # the same instant again (a burst handled by receive time): no new evidence of rest
                    v = self._v
            self._q, self._q_stamp, self._v, self._diff_t = q, now, v, t
            watch = self._rest_watch
            if watch is None or (watch.pending is not None and not watch.pending.done()):
                return  # nothing to watch, or a goal waiting for acceptance: the hold must come after it
            if stamp is not None and stamp < watch.stamp_s:
                return  # measured before the stop (a loaded executor drains a backlog): not where it rests
            # the time-out counts in the joint states' own time where they are stamped: a backlog drained
            # late must not turn a state measured mid-brake into "wherever the arm is by now"
            timed_out = (stamp - watch.stamp_s > self.config.rest_timeout_s) if stamp is not None else now > watch.deadline_s
            if not (came_to_rest(v, watch.v_at_stop, self.config.rest_speed_rad_s) or timed_out):
                return
            self._rest_watch = None
        # in this callback, not a thread woken by it: one scheduling delay less on a loaded machine
        self._send_hold(q, watch.generation, "where the arm came to rest")

    def _on_scaling(self, msg: Any) -> None:
        with self._lock:
            self._scaling = float(msg.data) / self.config.speed_scaling_full

    def _on_program_running(self, msg: Any) -> None:
        with self._lock:
            self._program_running = bool(msg.data)

    @property
    def speed_scaling(self) -> float:
        """0..1 from the driver; 1.0 until the broadcaster has published (or without one)."""
        with self._lock:
            return 1.0 if self._scaling is None else self._scaling

    def current_joints(self) -> np.ndarray:
        """Joints from the joint states; raises PlanningFailed(NOT_READY) when none are fresh."""
        with self._lock:
            q, age = self._q, time.monotonic() - self._q_stamp
        topic = self.config.joint_states_topic
        if q is None:
            raise _not_ready(f"no joint states on {topic} yet (is the driver running?)", "no_joint_states")
        if age > self.config.joint_states_max_age_s:
            raise _not_ready(f"joint states on {topic} are {age:.1f} s old", "stale_joint_states")
        return q.copy()

    @property
    def tcp_offset_m(self) -> float:
        """The TCP along tool0's z (SafeMotion checks the plan's TCP path with it and self.dh)."""
        return self.config.tcp_offset_m

    def current_pose(self) -> np.ndarray:
        return tcp_pose_from_joints(self.current_joints(), self.tcp_offset_m, self.dh)

    # -- plan --------------------------------------------------------------------------------
    def _plan(self, kind: PlanKind, q_start: np.ndarray, waypoints: np.ndarray, speed_scale: float,
              target_tcp: np.ndarray | None = None) -> JointPlan:
        tcp_lengths = tcp_path(q_start, waypoints, self.tcp_offset_m, self.dh).segment_lengths_m
        times, vel = time_parameterize(q_start, waypoints, self.config, speed_scale, tcp_lengths)
        return JointPlan(kind, q_start, np.asarray(waypoints, float), times, speed_scale, target_tcp,
                         native=self._goal(waypoints, times, vel))

    def _start(self, q_start: np.ndarray | None) -> np.ndarray:
        """Plans start from the joints now, or from q_start (SafeMotion's dry-run state)."""
        if q_start is None:
            return self.current_joints()
        q0 = np.asarray(q_start, float)
        if q0.shape != (6,) or not np.all(np.isfinite(q0)):
            raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"q_start must be 6 finite values, got {q0}",
                                              "invalid_command"))
        return q0.copy()

    def plan_joints(self, q: np.ndarray, speed_scale: float = 1.0, *, q_start: np.ndarray | None = None) -> JointPlan:
        q = np.asarray(q, float)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise PlanningFailed(MotionResult(MotionStatus.REFUSED, f"joint target must be 6 finite values, got {q}",
                                              "invalid_command"))
        q0 = self._start(q_start)
        return self._plan(PlanKind.JOINTS, q0, q[None], speed_scale, tcp_pose_from_joints(q, self.tcp_offset_m, self.dh))

    def plan_pose(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0, *,
                  q_start: np.ndarray | None = None) -> JointPlan:
        q0 = self._start(q_start)
        q = ik_nearest(tool0_pose_for_tcp(base_from_tcp, self.tcp_offset_m), q0, self.dh, UR5_JOINT_LIMITS)
        if q is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "no IK solution within joint limits", "no_ik"))
        return self._plan(PlanKind.POSE, q0, q[None], speed_scale, np.asarray(base_from_tcp, float))

    def plan_linear(self, base_from_tcp: np.ndarray, speed_scale: float = 1.0, *,
                    q_start: np.ndarray | None = None) -> JointPlan:
        q0 = self._start(q_start)
        start = tcp_pose_from_joints(q0, self.tcp_offset_m, self.dh)
        wp = plan_linear(q0, start, base_from_tcp, self.config, self.dh)
        if wp is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE,
                                              "the straight line leaves the reachable space or crosses a singularity",
                                              "no_ik"))
        return self._plan(PlanKind.LINEAR, q0, wp, speed_scale, np.asarray(base_from_tcp, float))

    def _goal(self, waypoints: np.ndarray, times: np.ndarray, vel: np.ndarray) -> Any:
        """The FollowJointTrajectory goal with our tolerances (0 would mean the controller's defaults)."""
        from builtin_interfaces.msg import Duration
        from control_msgs.msg import JointTolerance

        cfg = self.config
        goal = self._action.Goal()
        goal.trajectory = build_joint_trajectory(waypoints, times, vel, cfg.joint_names)
        goal.path_tolerance = [JointTolerance(name=j, position=cfg.path_tolerance_rad) for j in cfg.joint_names]
        goal.goal_tolerance = [JointTolerance(name=j, position=cfg.goal_tolerance_rad,
                                              velocity=cfg.goal_velocity_tolerance_rad_s) for j in cfg.joint_names]
        sec, nanosec = split_seconds(cfg.goal_time_tolerance_s)
        goal.goal_time_tolerance = Duration(sec=sec, nanosec=nanosec)
        return goal

    # -- execute -----------------------------------------------------------------------------
    def _check_ready(self, plan: JointPlan) -> MotionResult | None:
        cfg = self.config
        if cfg.program_running_topic:
            with self._lock:
                running = self._program_running
            if not running:
                heard = "reports false" if running is False else "has not been published"
                return MotionResult(MotionStatus.NOT_READY, f"robot program not running ({cfg.program_running_topic} "
                                    f"{heard}): press play on the pendant or call the dashboard's play",
                                    "program_not_running")
        try:
            q_now = self.current_joints()
        except PlanningFailed as exc:
            return exc.result
        moved = float(np.max(np.abs(q_now - plan.q_start)))
        if moved > cfg.start_tolerance_rad:
            return MotionResult(MotionStatus.REFUSED, f"the arm moved {moved:.3f} rad since the plan was made; replan",
                                "start_state_changed")
        if not self._client.wait_for_server(timeout_sec=cfg.server_timeout_s):
            return MotionResult(MotionStatus.NOT_READY, f"no FollowJointTrajectory server at {cfg.action_name}",
                                "no_server")
        return None

    def _native_goal(self, plan: JointPlan) -> Any:
        if isinstance(plan.native, self._action.Goal):
            return plan.native
        return self._goal(plan.positions, plan.times_s, waypoint_velocities(plan.q_start, plan.positions, plan.times_s))

    def execute(self, plan: JointPlan) -> MotionResult:
        """Send the plan and wait for the controller's result; ABORTED within ~10 ms of stop()."""
        self._stopped.clear()
        not_ready = self._check_ready(plan)
        if not_ready is not None:
            return not_ready
        cfg = self.config
        with self._send_lock:
            # stop() came while checking, or the caller's interlock (the latched e-stop) engaged before
            # this execute began: a stop() then was meant for this motion too, nothing is sent
            if self._stopped.is_set() or (self._interlock is not None and self._interlock()):
                return MotionResult(MotionStatus.ABORTED, "stopped before the goal was sent", "stopped")
            self._generation += 1
            self._settling = False
            with self._lock:
                self._rest_watch = None
            send = self._client.send_goal_async(self._native_goal(plan))
            with self._lock:
                self._pending, self._last_goal_s = send, time.monotonic()
        try:
            handle = wait_future(send, cfg.goal_response_timeout_s, self._stopped)
        except FutureTimeout:
            send.add_done_callback(self._cancel_when_accepted)
            return MotionResult(MotionStatus.ABORTED, f"{cfg.action_name} did not answer the goal in "
                                f"{cfg.goal_response_timeout_s:.1f} s", "timeout")
        finally:
            with self._lock:
                self._pending = None if send.done() else send
        if handle is None:  # stopped while waiting for acceptance
            send.add_done_callback(self._cancel_when_accepted)
            return MotionResult(MotionStatus.ABORTED, "stopped before the controller accepted the goal", "stopped")
        if not handle.accepted:
            return MotionResult(MotionStatus.ABORTED, f"{cfg.action_name} rejected the trajectory goal "
                                "(invalid joints or points? see the driver's log)", "rejected")
        with self._lock:
            self._handle = handle
        try:
            if self._stopped.is_set():
                handle.cancel_goal_async()
                return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
            return self._wait_result(handle, plan.duration_s)
        finally:
            with self._lock:
                self._handle = None
                self._last_goal_s = time.monotonic()

    def _wait_result(self, handle: Any, duration_s: float) -> MotionResult:
        cfg = self.config
        result_future = handle.get_result_async()
        progress = ScaledProgress(duration_s + cfg.goal_time_tolerance_s + cfg.result_margin_s, cfg.pause_timeout_s)
        last = time.monotonic()
        while True:
            try:
                response = wait_future(result_future, 0.05, self._stopped)
            except FutureTimeout:
                now = time.monotonic()
                given_up = progress.advance(now - last, self.speed_scaling)
                last = now
                if given_up is not None:
                    handle.cancel_goal_async()
                    return given_up
                continue
            if response is None or self._stopped.is_set():  # stop() canceled the goal
                return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
            result = response.result
            return result_from_fjt(response.status, int(result.error_code), str(getattr(result, "error_string", "")))

    def set_interlock(self, engaged: Callable[[], bool]) -> None:
        """A latched condition (SafeMotion: its e-stop) checked right before each goal is sent, so a
        stop() that lands between the caller's own check and this execute() is never lost."""
        self._interlock = engaged

    def _cancel_when_accepted(self, future: Any) -> None:
        handle = future.result()
        if handle is not None and handle.accepted:
            handle.cancel_goal_async()

    def stop(self) -> None:
        """Stop the arm now and keep it where it comes to rest; thread-safe, returns without waiting
        for the driver. A goal in flight is canceled at once (the controller then holds the position
        measured at the cancel), one still waiting for acceptance when it is accepted. Then the
        joint-state callback watches the arm brake and, once it has come to rest, holds it there:
        held at the cancel-time position, a servo would pull it back over its stopping distance. (A
        stop between two goals leaves the arm settling into the last end point, then holds it.)"""
        self._stopped.set()
        cfg = self.config
        with self._lock:
            handle, pending = self._handle, self._pending
            recent = (handle is not None or pending is not None
                      or time.monotonic() - self._last_goal_s < cfg.rest_window_s)
            settle = cfg.rest_hold and recent and not self._settling and self._q is not None
            generation = self._generation
            if settle:
                self._settling = True
                self._rest_watch = _RestWatch(generation, self._v.copy(), time.monotonic() + cfg.rest_timeout_s,
                                              pending, self.node.get_clock().now().nanoseconds * 1e-9)
        if handle is not None:
            handle.cancel_goal_async()

    def _send_hold(self, q: np.ndarray, generation: int, where: str) -> bool:
        """A one-point trajectory at q (zero velocity), unless a newer goal has been sent since the stop."""
        with self._send_lock:
            if self._generation != generation:
                return False  # a newer goal owns the arm now
            goal = self._goal(q[None], np.array([self.config.rest_hold_time_s]), np.zeros((1, len(q))))
            try:
                sent = self._client.send_goal_async(goal)
            except Exception as exc:  # noqa: BLE001 - shutting down: the controller keeps its own hold
                log.warning("stopped: the hold at %s was not sent (%s)", where, exc)
                return False
        sent.add_done_callback(_note_hold_answer)  # nobody waits for it; a node torn down meanwhile fails it
        log.info("stopped: holding %s", where)
        return True

    def close(self) -> None:
        """Release the action client (subscriptions go with the node)."""
        self._client.destroy()

    # -- no gripper of its own -----------------------------------------------------------------
    def gripper(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        return MotionResult(MotionStatus.REFUSED, "joint_trajectory drives the arm only; combine it with a gripper "
                            "backend (motion/arm_and_gripper.py)", "no_gripper")

    def gripper_state(self) -> GripperState:
        return GripperState(float("nan"), False)
