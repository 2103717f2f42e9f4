"""Real-hardware motion bridges at their boundaries: the safety gate, the trajectories and
messages we would send, lazy imports of absent packages, the Robotiq socket protocol."""

import socket
import threading
import time

import numpy as np
import pytest

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.safety import EStop, SafetyChecker, Watchdog
from spatialbot_ros.core.transforms import make_pose, pose_to_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES, fk, ik_nearest
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
    BASE_LINK_FROM_BASE,
    pose_stamped,
    tcp_pose_from_joints,
    tool0_goal,
    tool0_pose_for_tcp,
    ur_pose_vector,
)
from spatialbot_ros.motion.gripper import RobotiqSocketConfig, RobotiqSocketGripper
from spatialbot_ros.motion.joint_trajectory import (
    TrajectoryConfig,
    build_joint_trajectory,
    plan_linear,
    time_parameterize,
)
from spatialbot_ros.motion.registry import MOTION_BACKENDS, make_motion_backend
from spatialbot_ros.motion.safety_gate import SafeMotion

HOME_Q = np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0])
# an elbow-up arm at the executive's observe pose (0.42, 0, 0.35), pointing down
START_Q = np.array([2.879, -1.755, 1.618, -1.434, -1.571, -1.834])


class RecordingBackend:
    """Stands in for a UR controller (which cannot exist here): plans with our IK like the trajectory
    backend does, and records every plan it is asked to execute."""

    name = "recording"
    tcp_offset_m = 0.128

    def __init__(self):
        self.calls = []
        self.q = START_Q.copy()

    def current_joints(self):
        return self.q.copy()

    def current_pose(self):
        return tcp_pose_from_joints(self.q, self.tcp_offset_m)

    def _plan(self, kind, q_goal, speed_scale, target=None, q_start=None):
        q0 = self.q if q_start is None else np.asarray(q_start, float)
        n = 20
        positions = np.array([q0 + (q_goal - q0) * (i / n) for i in range(1, n + 1)])
        duration = max(float(np.max(np.abs(q_goal - q0))) / (0.1 * speed_scale), 0.5)
        return JointPlan(kind, q0.copy(), positions, np.linspace(duration / n, duration, n), speed_scale, target)

    def plan_joints(self, q, speed_scale, *, q_start=None):
        return self._plan(PlanKind.JOINTS, np.asarray(q, float), speed_scale, q_start=q_start)

    def plan_pose(self, T, speed_scale, *, q_start=None):
        q = ik_nearest(tool0_pose_for_tcp(T, self.tcp_offset_m), self.q if q_start is None else q_start)
        if q is None:
            raise PlanningFailed(MotionResult(MotionStatus.UNREACHABLE, "no IK solution"))
        return self._plan(PlanKind.POSE, q, speed_scale, T, q_start)

    def plan_linear(self, T, speed_scale, *, q_start=None):
        plan = self.plan_pose(T, speed_scale, q_start=q_start)
        return JointPlan(PlanKind.LINEAR, plan.q_start, plan.positions, plan.times_s, speed_scale, T)

    def execute(self, plan):
        self.calls.append(("execute", plan.kind, plan.target_tcp))
        self.q = plan.positions[-1].copy()
        return MotionResult(MotionStatus.SUCCEEDED)

    def gripper(self, command, force_n=None):
        self.calls.append(("gripper", command))
        return MotionResult(MotionStatus.SUCCEEDED)

    def gripper_state(self):
        return GripperState(0.085, False)

    def stop(self):
        self.calls.append(("stop",))


def gated(**kw):
    backend = RecordingBackend()
    return SafeMotion(backend, SafetyChecker(), **{"armed": True, **kw}), backend


GOOD = make_pose([0.5, 0.1, 0.25], top_down_rotation(0.0))


@pytest.mark.core
@pytest.mark.parametrize("command", [
    lambda m: m.move_linear(make_pose([0.5, 0.1, -0.2], top_down_rotation(0.0))),           # below the table
    lambda m: m.move_to_pose(make_pose([2.0, 0.0, 0.2], top_down_rotation(0.0))),            # out of the box
    lambda m: m.move_linear(np.full((4, 4), np.nan)),                                          # NaN
    lambda m: m.move_joints(np.array([0, 0, 3.5, 0, 0, 0])),                                  # elbow limit
    lambda m: m.move_by_delta(EEAction(np.array([0.2, 0, 0]), np.zeros(3))),                  # step too large
    lambda m: m.move_by_delta(EEAction(np.zeros(3), np.array([0, 0, np.inf]))),               # inf
    lambda m: m.gripper(GripperCommand.CLOSE, force_n=1e6),                                    # absurd force
], ids=["below_table", "outside_workspace", "nan_pose", "joint_limit", "step_too_large", "inf_delta", "force"])
def test_every_refusal_sends_nothing(command):
    m, backend = gated()
    result = command(m)
    assert result.status == MotionStatus.REFUSED and result.message and result.cause
    assert backend.calls == [] and m.sent == []
    assert m.move_linear(GOOD).ok and backend.calls[-1][0] == "execute"  # the same gate passes a good command


@pytest.mark.core
def test_estop_latches_and_watchdog_blocks_until_fed():
    estop = EStop()
    m, backend = gated(estop=estop)
    estop.engage("operator")
    assert backend.calls == [("stop",)] and not m.armed  # engaging stops the arm at once and disarms
    refused = m.move_linear(GOOD)
    assert refused.status == MotionStatus.REFUSED and refused.cause == "estopped"
    m.stop()  # stopping is always allowed
    assert backend.calls == [("stop",), ("stop",)]
    estop.reset()
    assert m.move_linear(GOOD).status == MotionStatus.DRY_RUN  # reset does not re-arm
    m.arm(True)
    assert m.move_linear(GOOD).ok and backend.calls[-1][0] == "execute"
    now = [0.0]
    wd = Watchdog(0.5, clock=lambda: now[0])
    m2, b2 = gated(watchdogs={"camera": wd})
    stale = m2.move_linear(GOOD)
    assert stale.status == MotionStatus.REFUSED and stale.cause == "stale_input" and "camera" in stale.message
    wd.feed()
    assert m2.move_linear(GOOD).ok and len(b2.calls) == 1


@pytest.mark.core
def test_real_hardware_is_dry_run_until_armed():
    m, backend = gated(armed=False)
    r = m.move_linear(GOOD)
    assert r.status == MotionStatus.DRY_RUN and r.ok and backend.calls == []
    m.armed = True
    start = backend.current_pose()[:3, 3]
    assert m.move_by_delta(EEAction(np.array([0.02, 0, 0]), np.zeros(3))).ok
    _, kind, target = backend.calls[0]
    assert kind == PlanKind.LINEAR and np.allclose(target[:3, 3], start + [0.02, 0.0, 0.0])
    sim, sim_backend = gated(armed=False, real_hardware=False)  # the simulator needs no arming
    assert sim.move_linear(GOOD).status == MotionStatus.SUCCEEDED and sim_backend.calls


@pytest.mark.ros
def test_time_parameterized_trajectory_respects_limits_and_ends_at_ik():
    cfg = TrajectoryConfig(max_joint_speed_rad_s=1.0, max_joint_accel_rad_s2=2.0)
    start_tcp = fk(HOME_Q) @ make_pose([0, 0, cfg.tcp_offset_m])
    goal_tcp = start_tcp.copy()
    goal_tcp[:3, 3] += [0.05, 0.1, -0.1]
    wp = plan_linear(HOME_Q, start_tcp, goal_tcp, cfg)
    assert wp is not None and len(wp) in (15, 16)  # 15 cm at 1 cm per waypoint
    times, vel = time_parameterize(HOME_Q, wp, cfg)
    assert np.all(np.diff(times) > 0)
    speeds = np.abs(np.diff(np.vstack([HOME_Q, wp]), axis=0)) / np.diff(np.concatenate([[0], times]))[:, None]
    assert speeds.max() <= 1.0 + 1e-9 and np.allclose(vel[-1], 0)
    SafetyChecker().check_joint_trajectory(np.vstack([HOME_Q, wp]), np.concatenate([[0.0], times]))
    q_goal = ik_nearest(goal_tcp @ np.linalg.inv(make_pose([0, 0, cfg.tcp_offset_m])), wp[-2])
    assert np.allclose(wp[-1], q_goal, atol=1e-9)
    msg = build_joint_trajectory(wp, times, vel)
    assert list(msg.joint_names) == list(UR_JOINT_NAMES) and len(msg.points) == len(wp)
    t_msg = [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points]
    assert np.allclose(t_msg, times, atol=1e-9) and list(msg.points[-1].positions) == pytest.approx(list(wp[-1]))


@pytest.mark.core
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_controllers_spline_stays_within_the_speed_limit_between_waypoints(seed):
    """A joint trajectory controller runs cubic Hermite splines through (position, velocity) points;
    their speed inside a segment must respect the limit too (rest-to-rest peaks at 1.5x the mean)."""
    from spatialbot_ros.motion.joint_trajectory import hermite_peak_speeds

    cfg = TrajectoryConfig(max_joint_speed_rad_s=1.0, max_joint_accel_rad_s2=50.0)
    rng = np.random.default_rng(seed)
    wp = HOME_Q + np.cumsum(rng.normal(0, 0.05, (12, 6)), axis=0)
    times, vel = time_parameterize(HOME_Q, wp, cfg)
    pts, v = np.vstack([HOME_Q, wp]), np.vstack([np.zeros(6), vel])
    t = np.concatenate([[0.0], times])
    s = np.linspace(0, 1, 201)[:, None]
    for i in range(len(wp)):      # sample the splines densely: the analytic peak is not trusted blindly
        T = t[i + 1] - t[i]
        dp = (pts[i] - pts[i + 1]) / T
        speed = (6 * s**2 - 6 * s) * dp + (3 * s**2 - 4 * s + 1) * v[i] + (3 * s**2 - 2 * s) * v[i + 1]
        assert np.abs(speed).max() <= 1.0 + 1e-6
    # one rest-to-rest segment at the mean-speed limit would peak at 1.5x: it is stretched by 1.5
    single_t, _ = time_parameterize(HOME_Q, (HOME_Q + 0.3)[None], cfg)
    assert single_t[0] == pytest.approx(0.45, rel=1e-4)
    assert hermite_peak_speeds(HOME_Q[None], (HOME_Q + 0.3)[None], np.zeros((1, 6)), np.zeros((1, 6)),
                               np.array([0.3]))[0] == pytest.approx(1.5)


@pytest.mark.core
def test_controller_name_is_a_parameter():
    assert TrajectoryConfig().action_name == "/scaled_joint_trajectory_controller/follow_joint_trajectory"
    assert TrajectoryConfig(controller_name="joint_trajectory_controller").action_name == \
        "/joint_trajectory_controller/follow_joint_trajectory"


@pytest.mark.ros
def test_moveit_goals_are_tool0_in_base_link_with_ros_quaternion_order():
    T = make_pose([0.5, 0.1, 0.2], top_down_rotation(0.3))
    goal = tool0_goal(T, 0.15, "base_link")
    # the TCP is 15 cm beyond tool0 along tool0's z, and base_link is base turned by pi about z
    tcp_again = np.linalg.inv(BASE_LINK_FROM_BASE) @ goal @ make_pose([0, 0, 0.15])
    assert np.allclose(tcp_again, T)
    assert np.allclose(goal[:2, 3], [-T[0, 3], -T[1, 3]], atol=0.2)
    msg = pose_stamped(goal, "base_link")
    xyz, q = pose_to_xyz_quat(goal)
    assert msg.header.frame_id == "base_link"
    assert [msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w] == \
        pytest.approx(list(q))
    with pytest.raises(ValueError):
        tool0_goal(T, 0.15, "world")
    v = ur_pose_vector(T)
    assert v[:3] == pytest.approx([0.5, 0.1, 0.2]) and len(v) == 6


@pytest.mark.core
@pytest.mark.parametrize("name, package, module_name", [
    ("moveit_py", "moveit-py", "moveit"), ("ur_rtde", "ur-rtde", "rtde_control"),
    ("joint_trajectory", "control-msgs", "control_msgs"), ("move_group", "moveit-msgs", "moveit_msgs")])
def test_absent_backends_import_lazily_and_name_what_to_install(name, package, module_name, monkeypatch):
    import importlib
    import sys

    for cached in [m for m in sys.modules if m == module_name or m.startswith(module_name + ".")] + [module_name]:
        monkeypatch.setitem(sys.modules, cached, None)  # absent even where the interfaces are built
    module = importlib.import_module(MOTION_BACKENDS[name].split(":")[0])  # importing works without the package
    assert module is not None
    kwargs = {"robot_ip": "192.0.2.10"} if name == "ur_rtde" else {}
    if name in ("joint_trajectory", "move_group"):
        kwargs = {"node": None}
    if name in ("moveit_py", "ur_rtde", "move_group"):
        kwargs["tcp_offset_m"] = 0.128
    with pytest.raises(MotionBackendUnavailable, match=package):
        make_motion_backend(name, **kwargs)


@pytest.mark.core
def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(ValueError, match="mujoco, moveit_py"):
        make_motion_backend("teleport")


def block_modules(monkeypatch, *names):
    """Make packages (and their already imported submodules) unimportable for one test, whatever
    this machine has installed."""
    import sys

    for name in names:
        for loaded in [m for m in sys.modules if m.startswith(name + ".")]:
            monkeypatch.setitem(sys.modules, loaded, None)
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.core
def test_gripper_backends_are_named_in_one_table_and_need_control_msgs_for_the_action(monkeypatch):

    from spatialbot_ros.motion.registry import GRIPPER_BACKENDS, REAL_HARDWARE, make_gripper_backend

    assert set(GRIPPER_BACKENDS) == {"robotiq_action", "robotiq_socket", "none"}
    assert set(MOTION_BACKENDS) == {"joint_trajectory", "move_group", "moveit_py", "ur_rtde", "mujoco"}
    assert "mujoco" not in REAL_HARDWARE and "joint_trajectory" in REAL_HARDWARE
    none = make_gripper_backend("none")
    assert none.command(GripperCommand.CLOSE).status == MotionStatus.REFUSED and np.isnan(none.state().width_m)
    block_modules(monkeypatch, "control_msgs")
    with pytest.raises(MotionBackendUnavailable, match="control-msgs"):
        make_gripper_backend("robotiq_action", node=None)
    with pytest.raises(ValueError, match="robotiq_action, robotiq_socket, none"):
        make_gripper_backend("suction")


@pytest.mark.core
def test_a_backend_whose_module_cannot_import_names_the_missing_package(monkeypatch):
    import sys

    for loaded in [m for m in sys.modules if m.startswith("spatialbot_ros.sim") or m.endswith("mujoco_backend")]:
        monkeypatch.delitem(sys.modules, loaded)  # re-imported below, restored afterwards
    monkeypatch.setitem(sys.modules, "mujoco", None)
    with pytest.raises(MotionBackendUnavailable, match="needs mujoco: pip install mujoco"):
        make_motion_backend("mujoco", cell=None)


@pytest.mark.core
def test_flat_parameters_fill_the_backend_config_and_unknown_ones_fail():
    from spatialbot_ros.motion.registry import make_gripper_backend

    server = RobotiqServer()
    g = make_gripper_backend("robotiq_socket", host="127.0.0.1", port=server.port, speed=77, motion_timeout_s=1.0)
    assert g.config.speed == 77 and g.config.motion_timeout_s == 1.0
    g.close()
    with pytest.raises(TypeError, match="spede"):
        make_gripper_backend("robotiq_socket", host="127.0.0.1", port=server.port, spede=77)


# -- what the controllers answer --------------------------------------------------------------------

@pytest.mark.core
@pytest.mark.parametrize("code, cause, words", [
    (-1, "invalid_goal", "invalid"),
    (-2, "invalid_joints", "joint names"),
    (-3, "old_header_timestamp", "in the past"),
    (-4, "path_tolerance_violated", "path tolerance"),
    (-5, "goal_tolerance_violated", "goal tolerance"),
])
def test_trajectory_error_codes_map_to_readable_aborts(code, cause, words):
    from spatialbot_ros.motion.joint_trajectory import GoalStatusCode, result_from_fjt

    r = result_from_fjt(GoalStatusCode.ABORTED, code, "shoulder_lift_joint off by 0.3")
    assert r.status == MotionStatus.ABORTED and r.cause == cause
    assert words in r.message and "shoulder_lift_joint off by 0.3" in r.message


@pytest.mark.ros
def test_goal_status_decides_when_the_error_code_is_zero():
    from action_msgs.msg import GoalStatus

    from spatialbot_ros.motion.joint_trajectory import GoalStatusCode, result_from_fjt

    for name in ("UNKNOWN", "ACCEPTED", "EXECUTING", "CANCELING", "SUCCEEDED", "CANCELED", "ABORTED"):
        assert GoalStatusCode[name] == getattr(GoalStatus, f"STATUS_{name}")  # our copy is action_msgs' values
    assert result_from_fjt(GoalStatus.STATUS_SUCCEEDED, 0).status == MotionStatus.SUCCEEDED
    assert result_from_fjt(GoalStatus.STATUS_CANCELED, 0).cause == "canceled"
    aborted = result_from_fjt(GoalStatus.STATUS_ABORTED, 0)
    assert aborted.status == MotionStatus.ABORTED and aborted.cause == "aborted"
    assert result_from_fjt(GoalStatus.STATUS_ABORTED, -42).cause == "error_code_-42"


@pytest.mark.core
def test_speed_scaling_stretches_the_wait_and_a_long_pause_gives_up():
    from spatialbot_ros.motion.joint_trajectory import ScaledProgress

    half = ScaledProgress(deadline_s=2.0, pause_timeout_s=5.0)
    for _ in range(39):                       # 3.9 s of wall time at 50 %: 1.95 s of trajectory time
        assert half.advance(0.1, 0.5) is None
    assert half.advance(0.2, 0.5).cause == "timeout"
    paused = ScaledProgress(deadline_s=2.0, pause_timeout_s=1.0)
    for _ in range(9):
        assert paused.advance(0.1, 0.0) is None
    assert paused.advance(0.1, 1.0) is None    # resumed: the pause clock restarts
    for _ in range(10):
        assert paused.advance(0.1, 0.0) is None
    r = paused.advance(0.15, 0.0)
    assert r.status == MotionStatus.ABORTED and r.cause == "paused" and "paused" in r.message


@pytest.mark.core
@pytest.mark.parametrize("command, status, stalled, expect, cause", [
    (GripperCommand.CLOSE, 4, False, MotionStatus.SUCCEEDED, ""),          # closed fully (on nothing)
    (GripperCommand.CLOSE, 6, True, MotionStatus.SUCCEEDED, "stalled"),    # GripperActionController aborts a stall
    (GripperCommand.CLOSE, 4, True, MotionStatus.SUCCEEDED, "stalled"),    # ... or succeeds with allow_stalling
    (GripperCommand.OPEN, 6, True, MotionStatus.ABORTED, "stalled"),       # blocked while opening ...
    (GripperCommand.OPEN, 4, True, MotionStatus.ABORTED, "stalled"),       # ... even with allow_stalling
    (GripperCommand.CLOSE, 6, False, MotionStatus.ABORTED, "gripper_aborted"),
    (GripperCommand.CLOSE, 5, False, MotionStatus.ABORTED, "canceled"),
])
def test_gripper_outcomes(command, status, stalled, expect, cause):
    from spatialbot_ros.motion.gripper import gripper_outcome

    r = gripper_outcome(command, status, stalled)
    assert r.status == expect and r.cause == cause


@pytest.mark.core
def test_arm_with_gripper_routes_calls_and_stop_stops_both_even_if_the_arm_fails():
    from spatialbot_ros.motion.arm_and_gripper import ArmWithGripper

    class Arm(RecordingBackend):
        def plan_joints(self, q, speed_scale):
            raise AssertionError("not called here")

        plan_pose = plan_linear = execute = plan_joints

        def stop(self):
            self.calls.append(("stop",))
            raise RuntimeError("driver gone")

    class Gripper:
        name = "fake_gripper"

        def __init__(self):
            self.calls = []

        def command(self, command, force_n=None):
            self.calls.append((command, force_n))
            return MotionResult(MotionStatus.SUCCEEDED)

        def state(self):
            return GripperState(0.04, True)

        def stop(self):
            self.calls.append("stop")

    arm, gripper = Arm(), Gripper()
    arm.tcp_offset_m = 0.128
    robot = ArmWithGripper(arm, gripper)
    assert robot.name == "recording+fake_gripper" and robot.tcp_offset_m == 0.128
    assert robot.gripper(GripperCommand.CLOSE, 40.0).ok and gripper.calls == [(GripperCommand.CLOSE, 40.0)]
    assert robot.gripper_state() == GripperState(0.04, True)
    assert np.allclose(robot.current_joints(), START_Q) and arm.calls == []
    with pytest.raises(RuntimeError, match="driver gone"):
        robot.stop()
    assert arm.calls == [("stop",)] and gripper.calls[-1] == "stop"


@pytest.mark.core
def test_arm_with_gripper_shows_the_arms_own_planners():
    """SafeMotion reads the planners' signatures: a q_start keyword lets dry runs plan from its shadow."""
    import inspect

    from spatialbot_ros.motion.arm_and_gripper import ArmWithGripper
    from spatialbot_ros.motion.gripper import NoGripper

    class Arm(RecordingBackend):
        def plan_pose(self, T, speed_scale, q_start=None):
            return ("pose", q_start)

        plan_joints = plan_linear = plan_pose

        def execute(self, plan):
            return MotionResult(MotionStatus.SUCCEEDED, str(plan))

    robot = ArmWithGripper(Arm(), NoGripper())
    for kind in ("joints", "pose", "linear"):
        assert "q_start" in inspect.signature(getattr(robot, f"plan_{kind}")).parameters
    assert robot.plan_linear(GOOD, 1.0, q_start=HOME_Q)[1] is HOME_Q
    assert robot.execute("p").message == "p"
    assert robot.gripper(GripperCommand.CLOSE).cause == "no_gripper"


# -- the Robotiq URCap socket ---------------------------------------------------------------------

class RobotiqServer:
    """A loopback stand-in for the Robotiq URCap socket, speaking its reply format: `ack` with no
    newline (its users compare the reply `== b"ack"`), `VAR n` for GET. The fingers take
    `motion_s` to move (OBJ 0 meanwhile) and stop on an object at `object_pos` when closing.
    Serves one client and stops by itself (client gone, or 10 s)."""

    def __init__(self, sta=0, object_pos=None, motion_s=0.05, get_newline=True, freeze_pre=False, pos_unreadable=False):
        self.state = {"ACT": 0, "GTO": 0, "STA": sta, "POS": 0, "PRE": 0, "OBJ": 3, "SPE": 0, "FOR": 0, "ATR": 0}
        self.object_pos, self.motion_s, self.get_newline = object_pos, motion_s, get_newline
        self.freeze_pre, self.pos_unreadable = freeze_pre, pos_unreadable
        self.log = []
        self._motion = None  # (start, from, to)
        self._srv = socket.socket()
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(1)
        self._srv.settimeout(10.0)
        self.port = self._srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _tick(self):
        if self._motion is None:
            return
        start, frm, to = self._motion
        frac = min((time.monotonic() - start) / self.motion_s, 1.0)
        stop_at = to if self.object_pos is None or to < frm else min(to, self.object_pos)
        self.state["POS"] = int(round(frm + frac * (stop_at - frm)))
        if frac >= 1.0:
            blocked = stop_at != to
            self.state["OBJ"] = 2 if blocked else 3
            self._motion = None
        else:
            self.state["OBJ"] = 0

    def _answer(self, words):
        self._tick()
        if words[0] == "SET":
            pairs = dict(zip(words[1::2], (int(v) for v in words[2::2]), strict=True))
            self.state.update(pairs)
            if pairs.get("ACT") == 0:
                self.state["STA"] = 0
            if pairs.get("ACT") == 1:
                self.state["STA"] = 3
            if pairs.get("GTO") == 1 and "POS" in pairs:
                if not self.freeze_pre:
                    self.state["PRE"] = pairs["POS"]
                self._motion = (time.monotonic(), self.state["POS"], pairs["POS"])
                self.state["OBJ"] = 0
            if pairs.get("GTO") == 0:
                self._motion = None
            return b"ack"
        var = words[1]
        value = "?" if var == "POS" and self.pos_unreadable else str(self.state.get(var, 0))
        return f"{var} {value}".encode() + (b"\n" if self.get_newline else b"")

    def _serve(self):
        try:
            conn, _ = self._srv.accept()
        except OSError:
            return
        conn.settimeout(10.0)
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(1024)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    words = line.decode().split()
                    self.log.append(" ".join(words))
                    conn.sendall(self._answer(words))


def socket_gripper(server, **kw):
    return RobotiqSocketGripper(RobotiqSocketConfig("127.0.0.1", server.port, **{"motion_timeout_s": 2.0, **kw}))


@pytest.mark.core
def test_robotiq_socket_activates_then_closes_on_nothing_and_reads_zero_width():
    server = RobotiqServer(sta=0)
    g = socket_gripper(server, speed=200, force=120)
    assert server.log[:5] == ["GET STA", "SET ACT 0 ATR 0", "GET ACT", "GET STA", "SET ACT 1"]
    r = g.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.SUCCEEDED and r.cause == ""
    assert "SET POS 255 SPE 200 FOR 120 GTO 1" in server.log
    state = g.state()
    assert state.closed and state.width_m == pytest.approx(0.0)   # nothing held: the executive's grasp_missed
    assert g.command(GripperCommand.OPEN, force_n=117.5).ok
    assert "SET POS 0 SPE 200 FOR 128 GTO 1" in server.log   # 117.5 N of 235 N: half the force register
    assert g.state().width_m == pytest.approx(0.085) and not g.state().closed
    g.close()


@pytest.mark.core
def test_robotiq_socket_close_on_an_object_is_a_grasp_and_reads_its_width():
    server = RobotiqServer(sta=3, object_pos=150, get_newline=False)  # replies without newlines at all
    g = socket_gripper(server)
    assert server.log == ["GET STA"]   # already active: no reset
    r = g.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.SUCCEEDED and r.cause == "stalled"
    assert g.state().width_m == pytest.approx(0.085 * (1 - 150 / 255), abs=1e-6)
    g.close()


@pytest.mark.core
def test_robotiq_socket_failures_abort_and_stop_halts_the_fingers():
    frozen = RobotiqServer(sta=3, freeze_pre=True)        # the request is never echoed
    g = socket_gripper(frozen, motion_timeout_s=0.2)
    t0 = time.monotonic()
    r = g.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.ABORTED and r.cause == "timeout" and time.monotonic() - t0 < 2.0
    assert frozen.log[-1] == "SET GTO 0"
    g.close()

    slow = RobotiqServer(sta=3, motion_s=5.0)
    g = socket_gripper(slow, motion_timeout_s=10.0)
    threading.Timer(0.2, g.stop).start()
    t0 = time.monotonic()
    r = g.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.ABORTED and r.cause == "stopped" and time.monotonic() - t0 < 2.0
    assert slow.log[-1] == "SET GTO 0"
    g.close()

    estopped = RobotiqServer(sta=3, pos_unreadable=True)  # `POS ?` under e-stop
    g = socket_gripper(estopped)
    assert np.isnan(g.state().width_m)
    g.close()


@pytest.mark.ros
def test_joint_states_are_reordered_to_the_ur_joint_order():
    from sensor_msgs.msg import JointState

    from spatialbot_ros.motion.frames import joints_from_state

    msg = JointState(name=list(reversed(UR_JOINT_NAMES)) + ["finger_joint"], position=[6.0, 5, 4, 3, 2, 1, 0.7])
    assert joints_from_state(msg, UR_JOINT_NAMES).tolist() == [1, 2, 3, 4, 5, 6]
    assert joints_from_state(JointState(name=["elbow_joint"], position=[0.1]), UR_JOINT_NAMES) is None
