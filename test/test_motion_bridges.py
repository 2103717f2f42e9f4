"""Real-hardware motion bridges at their boundaries: the safety gate, the trajectories and
messages we would send, lazy imports of absent packages, the Robotiq socket protocol."""

import socket
import threading

import numpy as np
import pytest

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.safety import EStop, SafetyChecker, Watchdog
from spatialbot_ros.core.transforms import make_pose, pose_to_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES, fk, ik_nearest
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus
from spatialbot_ros.motion.frames import BASE_LINK_FROM_BASE, pose_stamped, tool0_goal, ur_pose_vector
from spatialbot_ros.motion.gripper import RobotiqSocketConfig, RobotiqSocketGripper
from spatialbot_ros.motion.joint_trajectory import (
    TrajectoryConfig,
    build_joint_trajectory,
    plan_linear,
    time_parameterize,
)
from spatialbot_ros.motion.registry import MOTION_BACKENDS, make_motion_backend
from spatialbot_ros.motion.safety_gate import SafeMotion

pytestmark = pytest.mark.core
HOME_Q = np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0])


class RecordingBackend:
    """Stands in for a UR controller (which cannot exist here); records every command it gets."""

    name = "recording"

    def __init__(self):
        self.calls = []
        self.pose = make_pose([0.45, 0.0, 0.3], top_down_rotation(0.0))

    def current_joints(self):
        return HOME_Q.copy()

    def current_pose(self):
        return self.pose.copy()

    def move_to_pose(self, T, speed_scale=1.0):
        self.calls.append(("move_to_pose", T))
        return MotionResult(MotionStatus.SUCCEEDED)

    def move_linear(self, T, speed_scale=1.0):
        self.calls.append(("move_linear", T))
        return MotionResult(MotionStatus.SUCCEEDED)

    def move_joints(self, q, speed_scale=1.0):
        self.calls.append(("move_joints", q))
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


GOOD = make_pose([0.5, 0.1, 0.2], top_down_rotation(0.0))


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
    assert result.status == MotionStatus.REFUSED and result.message
    assert backend.calls == [] and m.sent == []


def test_estop_latches_and_watchdog_blocks_until_fed():
    estop = EStop()
    m, backend = gated(estop=estop)
    estop.engage("operator")
    assert m.move_linear(GOOD).status == MotionStatus.REFUSED and "estopped" in m.move_linear(GOOD).message
    assert backend.calls == []
    m.stop()  # stopping is always allowed
    assert backend.calls == [("stop",)]
    estop.reset()
    assert m.move_linear(GOOD).ok
    now = [0.0]
    wd = Watchdog(0.5, clock=lambda: now[0])
    m2, b2 = gated(watchdog=wd)
    assert m2.move_linear(GOOD).status == MotionStatus.REFUSED  # never fed: stale
    wd.feed()
    assert m2.move_linear(GOOD).ok and len(b2.calls) == 1


def test_real_hardware_is_dry_run_until_armed():
    m, backend = gated(armed=False)
    r = m.move_linear(GOOD)
    assert r.status == MotionStatus.DRY_RUN and r.ok and backend.calls == []
    m.armed = True
    assert m.move_by_delta(EEAction(np.array([0.02, 0, 0]), np.zeros(3))).ok
    kind, target = backend.calls[0]
    assert kind == "move_linear" and np.allclose(target[:3, 3], [0.47, 0.0, 0.3])
    sim, sim_backend = gated(armed=False, real_hardware=False)  # the simulator needs no arming
    assert sim.move_linear(GOOD).status == MotionStatus.SUCCEEDED and sim_backend.calls


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


def test_controller_name_is_a_parameter():
    assert TrajectoryConfig().action_name == "/scaled_joint_trajectory_controller/follow_joint_trajectory"
    assert TrajectoryConfig(controller_name="joint_trajectory_controller").action_name == \
        "/joint_trajectory_controller/follow_joint_trajectory"


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


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(ValueError, match="mujoco, moveit_py"):
        make_motion_backend("teleport")


def robotiq_server(log):
    """A local stand-in for the Robotiq URCap socket (the gripper hardware cannot exist here)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    state = {"POS": 0}

    def serve():
        conn, _ = srv.accept()
        buf = b""
        with conn:
            while True:
                data = conn.recv(1024)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    words = line.decode().split()
                    log.append(" ".join(words))
                    if words[0] == "SET":
                        state[words[1]] = int(words[2])
                        conn.sendall(b"ack\n")
                    else:
                        conn.sendall(f"{words[1]} {state.get(words[1], 0)}\n".encode())

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def test_robotiq_socket_protocol():
    log = []
    port = robotiq_server(log)
    g = RobotiqSocketGripper(RobotiqSocketConfig("127.0.0.1", port, speed=200, force=120))
    assert log[:2] == ["SET ACT 1", "SET GTO 1"]
    assert g.command(GripperCommand.CLOSE).ok
    assert log[2:] == ["SET SPE 200", "SET FOR 120", "SET POS 255"]
    state = g.state()
    assert state.closed and state.width_m == pytest.approx(0.0)
    g.command(GripperCommand.OPEN, force_n=117.5)
    assert log[-2:] == ["SET FOR 127", "SET POS 0"]
    assert g.state().width_m == pytest.approx(0.085)
    assert RobotiqSocketGripper.position_for_width(0.0425) == 128
    g.close()


def test_joint_states_are_reordered_to_the_ur_joint_order():
    from sensor_msgs.msg import JointState

    from spatialbot_ros.motion.frames import joints_from_state

    msg = JointState(name=list(reversed(UR_JOINT_NAMES)) + ["finger_joint"], position=[6.0, 5, 4, 3, 2, 1, 0.7])
    assert joints_from_state(msg, UR_JOINT_NAMES).tolist() == [1, 2, 3, 4, 5, 6]
    assert joints_from_state(JointState(name=["elbow_joint"], position=[0.1]), UR_JOINT_NAMES) is None
