"""ur_rtde backend against fake rtde_control / rtde_receive modules (no UR controller can exist
here): they record every call and move a simulated arm in (accelerated) time, with ur_rtde 1.6's
asynchronous move semantics (the call returns at once; getAsyncOperationProgressEx reports the
operation running until it ends; stopJ / stopL end it)."""

from __future__ import annotations

import sys
import threading
import time
import types

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.safety import SafetyChecker
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.core.ur_kinematics import UR5_DH, fk, ik_nearest
from spatialbot_ros.motion.base import MotionStatus, PlanKind, PlanningFailed
from spatialbot_ros.motion.frames import ur_pose_vector

pytestmark = pytest.mark.core

TCP = 0.128
# elbow-up, TCP pointing down at (0.45, 0, 0.30) m: inside the default safety workspace
HOME_Q = ik_nearest(make_pose([0.45, 0.0, 0.30], top_down_rotation(0.0)) @ np.linalg.inv(make_pose([0, 0, TCP])),
                    np.array([2.9, -1.7, 1.7, -1.57, -1.57, -1.8]), UR5_DH)


class FakeStatus:
    def __init__(self, op_id: int, running: bool) -> None:
        self._op, self._running = op_id, running

    def isAsyncOperationRunning(self) -> bool:  # noqa: N802 (ur_rtde's name)
        return self._running

    def operationId(self) -> int:  # noqa: N802
        return self._op


class FakeArm:
    """The controller: joint state, the async move in flight, the program / safety flags.
    Motion runs `time_scale` times faster than the commanded speed (tests stay short)."""

    def __init__(self, q0: np.ndarray, time_scale: float = 20.0, stale_polls: int = 2) -> None:
        self.q = np.asarray(q0, float).copy()
        self.tcp = np.zeros(6)
        self.time_scale, self.stale_polls = time_scale, stale_polls
        self.program_running, self.protective, self.estop = True, False, False
        self.accept_moves = True
        self.calls: list[tuple[str, tuple]] = []
        self.op_id = 0
        self._move: tuple[np.ndarray, np.ndarray, float, float] | None = None
        self._polls_since_move = 0
        self.lock = threading.Lock()

    def record(self, name: str, *args: object) -> None:
        self.calls.append((name, args))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def update(self) -> None:
        if self._move is None:
            return
        q_from, q_to, t0, duration = self._move
        f = min((time.monotonic() - t0) / duration, 1.0) if duration > 0 else 1.0
        self.q = q_from + f * (q_to - q_from)
        if f >= 1.0:
            self._move = None

    def start(self, q_to: np.ndarray, speed: float) -> None:
        length = float(np.max(np.abs(q_to - self.q)))
        self._move = (self.q.copy(), np.asarray(q_to, float), time.monotonic(), length / speed / self.time_scale)
        self.op_id += 1
        self._polls_since_move = 0

    def tcp_pose(self) -> list[float]:
        T = fk(self.q, UR5_DH) @ make_pose(self.tcp[:3])
        return [float(v) for v in T[:3, 3]] + [float(v) for v in Rotation.from_matrix(T[:3, :3]).as_rotvec()]


def install_fake_rtde(monkeypatch: pytest.MonkeyPatch, arm: FakeArm) -> None:
    class RTDEControlInterface:
        def __init__(self, hostname: str, frequency: float = -1.0, flags: int = 0, ur_cap_port: int = 50002,
                     rt_priority: int = 0) -> None:
            arm.record("connect", hostname)

        def setTcp(self, tcp_offset: list[float]) -> bool:  # noqa: N802
            arm.record("setTcp", list(tcp_offset))
            arm.tcp = np.asarray(tcp_offset, float)
            return True

        def isProgramRunning(self) -> bool:  # noqa: N802
            arm.record("isProgramRunning")
            return arm.program_running

        def moveJ(self, q: list[float], speed: float = 1.05, acceleration: float = 1.4,  # noqa: N802
                  asynchronous: bool = False) -> bool:
            arm.record("moveJ", list(q), speed, acceleration, asynchronous)
            if not arm.accept_moves:
                return False
            with arm.lock:
                arm.start(np.asarray(q, float), speed)
            return True

        def moveL(self, pose: list[float], speed: float = 0.25, acceleration: float = 1.2,  # noqa: N802
                  asynchronous: bool = False) -> bool:
            arm.record("moveL", list(pose), speed, acceleration, asynchronous)
            if not arm.accept_moves:
                return False
            T = make_pose(pose[:3], Rotation.from_rotvec(pose[3:]))
            with arm.lock:
                q_to = ik_nearest(T @ np.linalg.inv(make_pose(arm.tcp[:3])), arm.q, UR5_DH)
                if q_to is None:
                    return False
                arm.start(q_to, speed * 3.0)   # a TCP speed in m/s, roughly as joint speed
            return True

        def stopJ(self, a: float = 2.0, asynchronous: bool = False) -> None:  # noqa: N802
            arm.record("stopJ", a)
            with arm.lock:
                arm.update()
                arm._move = None

        def stopL(self, a: float = 10.0, asynchronous: bool = False) -> None:  # noqa: N802
            arm.record("stopL", a)
            with arm.lock:
                arm.update()
                arm._move = None

        def getAsyncOperationProgressEx(self) -> FakeStatus:  # noqa: N802
            arm.record("getAsyncOperationProgressEx")
            with arm.lock:
                arm.update()
                arm._polls_since_move += 1
                if arm._polls_since_move <= arm.stale_polls:   # the register lags the new operation
                    return FakeStatus(arm.op_id - 1 if arm._move is not None else arm.op_id, False)
                return FakeStatus(arm.op_id, arm._move is not None)

    class RTDEReceiveInterface:
        def __init__(self, hostname: str, frequency: float = -1.0, variables: list[str] | None = None,
                     verbose: bool = False, use_upper_range_registers: bool = False, rt_priority: int = 0) -> None:
            arm.record("connect_receive", hostname)

        def getActualQ(self) -> list[float]:  # noqa: N802
            with arm.lock:
                arm.update()
                return [float(v) for v in arm.q]

        def getActualTCPPose(self) -> list[float]:  # noqa: N802
            with arm.lock:
                arm.update()
                return arm.tcp_pose()

        def isProtectiveStopped(self) -> bool:  # noqa: N802
            if arm.protective:
                with arm.lock:
                    arm.update()
                    arm._move = None   # a protective stop halts the arm; the register may still say running
            return arm.protective

        def isEmergencyStopped(self) -> bool:  # noqa: N802
            return arm.estop

    monkeypatch.setitem(sys.modules, "rtde_control", types.SimpleNamespace(RTDEControlInterface=RTDEControlInterface))
    monkeypatch.setitem(sys.modules, "rtde_receive", types.SimpleNamespace(RTDEReceiveInterface=RTDEReceiveInterface))


@pytest.fixture()
def arm(monkeypatch):
    a = FakeArm(HOME_Q)
    install_fake_rtde(monkeypatch, a)
    return a


def backend(**cfg):
    from spatialbot_ros.motion.ur_rtde_backend import UrRtdeBackend, UrRtdeConfig

    return UrRtdeBackend("192.0.2.10", tcp_offset_m=TCP, config=UrRtdeConfig(**cfg))


def tcp_of(q: np.ndarray) -> np.ndarray:
    return fk(q, UR5_DH) @ make_pose([0, 0, TCP])


def sent(arm: FakeArm, name: str) -> list[tuple]:
    return [args for n, args in arm.calls if n == name]


def test_tcp_offset_is_the_constructor_value_and_has_no_default(arm):
    from spatialbot_ros.motion.ur_rtde_backend import UrRtdeBackend

    b = backend()
    assert sent(arm, "setTcp") == [([0.0, 0.0, TCP, 0.0, 0.0, 0.0],)]
    # the controller's TCP pose is then ours: FK of the joints plus the offset
    assert np.allclose(b.current_pose(), tcp_of(HOME_Q), atol=1e-9)
    with pytest.raises(TypeError):
        UrRtdeBackend("192.0.2.10")  # no silent 0.15 default that differs from the configured one
    with pytest.raises(ValueError):
        UrRtdeBackend("", tcp_offset_m=TCP)


def test_not_ready_when_the_control_program_is_not_running(arm):
    b = backend()
    plan = b.plan_joints(HOME_Q + 0.1, 1.0)
    arm.program_running = False
    result = b.execute(plan)
    assert result.status == MotionStatus.NOT_READY and result.cause == "program_not_running"
    assert not sent(arm, "moveJ") and not sent(arm, "moveL")
    arm.program_running, arm.protective = True, True
    result = b.execute(plan)
    assert result.status == MotionStatus.NOT_READY and result.cause == "protective_stop"
    assert not sent(arm, "moveJ")


def test_speed_and_acceleration_scale_with_speed_scale_and_clamp_to_the_maxima(arm):
    b = backend(joint_speed_rad_s=0.5, joint_accel_rad_s2=1.0, max_joint_speed_rad_s=1.05, max_joint_accel_rad_s2=1.4,
                tcp_speed_m_s=0.1, tcp_accel_m_s2=0.3, max_tcp_speed_m_s=0.25, max_tcp_accel_m_s2=1.2)
    half = b.plan_joints(HOME_Q + 0.05, 0.5)
    assert (half.native.speed, half.native.accel) == pytest.approx((0.25, 0.5))
    huge = b.plan_joints(HOME_Q + 0.05, 10.0)
    assert (huge.native.speed, huge.native.accel) == pytest.approx((1.05, 1.4))
    down = tcp_of(HOME_Q) @ make_pose([0, 0, 0.03])
    lin = b.plan_linear(down, 0.5)
    assert (lin.native.speed, lin.native.accel) == pytest.approx((0.05, 0.15))
    assert b.plan_linear(down, 5.0).native.speed == pytest.approx(0.25)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(PlanningFailed):
            b.plan_joints(HOME_Q + 0.05, bad)
    # what reaches the controller is the scaled speed, asynchronously
    assert b.execute(half).status == MotionStatus.SUCCEEDED
    q, speed, accel, asynchronous = sent(arm, "moveJ")[-1]
    assert (speed, accel, asynchronous) == (pytest.approx(0.25), pytest.approx(0.5), True)


def test_pose_plans_are_our_ik_target_sampled_on_the_movej_profile(arm):
    b = backend()
    target = make_pose([0.40, 0.15, 0.25], top_down_rotation(0.4))
    plan = b.plan_pose(target, 1.0)
    assert plan.kind == PlanKind.POSE
    assert np.allclose(tcp_of(plan.positions[-1]), target, atol=1e-6)       # our IK reaches the target
    assert plan.native.command == "moveJ" and np.allclose(plan.native.target, plan.positions[-1])
    assert np.all(np.diff(plan.times_s) > 0) and plan.times_s[0] > 0
    pts = np.vstack([plan.q_start, plan.positions])
    t = np.concatenate([[0.0], plan.times_s])
    speeds = np.abs(np.diff(pts, axis=0)).max(axis=1) / np.diff(t)
    assert speeds.max() <= plan.native.speed * (1 + 1e-6)                   # the profile's cruise speed at most
    assert np.abs(np.diff(pts, axis=0)).max() <= 0.05 + 1e-9                # dense enough for the gate
    SafetyChecker().check_joint_trajectory(pts, t + 1e-9)                   # what the gate will check passes
    with pytest.raises(PlanningFailed) as info:
        b.plan_pose(make_pose([3.0, 0.0, 0.3], top_down_rotation(0.0)), 1.0)
    assert info.value.result.status == MotionStatus.UNREACHABLE


def test_linear_plans_are_sampled_along_the_straight_line(arm):
    b = backend(linear_step_m=0.01)
    start = tcp_of(HOME_Q)
    goal = start @ make_pose([0.08, 0.0, 0.05])
    plan = b.plan_linear(goal, 1.0)
    assert plan.kind == PlanKind.LINEAR and len(plan.positions) >= 10
    a, d = start[:3, 3], goal[:3, 3] - start[:3, 3]
    for q in plan.positions:
        p = tcp_of(q)[:3, 3] - a
        off_line = np.linalg.norm(p - (p @ d) / (d @ d) * d)
        assert off_line < 1e-6
    assert np.allclose(tcp_of(plan.positions[-1]), goal, atol=1e-6)
    assert plan.native.command == "moveL" and plan.native.target == pytest.approx(tuple(ur_pose_vector(goal)))
    assert np.all(np.diff(plan.times_s) > 0)


def test_execute_polls_the_async_move_until_it_ends(arm):
    b = backend()
    plan = b.plan_joints(HOME_Q + np.array([0.2, -0.1, 0.1, 0.0, 0.1, 0.3]), 1.0)
    result = b.execute(plan)
    assert result.status == MotionStatus.SUCCEEDED, result
    assert np.allclose(arm.q, plan.positions[-1], atol=1e-9)
    polls = arm.names().count("getAsyncOperationProgressEx")
    assert polls > arm.stale_polls + 1          # it waited past the lagging register
    # a straight line then ends where the TCP was asked to go
    goal = tcp_of(arm.q) @ make_pose([0.0, 0.05, 0.0])
    assert b.execute(b.plan_linear(goal, 1.0)).status == MotionStatus.SUCCEEDED
    assert np.allclose(tcp_of(arm.q)[:3, 3], goal[:3, 3], atol=1e-6)
    assert sent(arm, "moveL")[-1][3] is True    # asynchronous


@pytest.mark.parametrize("kind", ["joints", "linear"])
def test_stop_preempts_a_running_move_with_the_matching_stop(arm, kind):
    arm.time_scale = 0.1                        # slow: the move would take many seconds
    b = backend()
    if kind == "joints":
        plan = b.plan_joints(HOME_Q + 0.5, 1.0)
    else:
        plan = b.plan_linear(tcp_of(HOME_Q) @ make_pose([0.0, 0.0, 0.15]), 1.0)
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", b.execute(plan)))
    t0 = time.monotonic()
    worker.start()
    end = time.monotonic() + 10.0
    while not (sent(arm, "moveJ") or sent(arm, "moveL")) and time.monotonic() < end:
        time.sleep(0.01)                        # the move is on its way
    time.sleep(0.1)
    b.stop()
    worker.join(timeout=5.0)
    assert not worker.is_alive()
    assert time.monotonic() - t0 < 4.0          # well before the move would have ended
    assert out["r"].status == MotionStatus.ABORTED and out["r"].cause == "stopped"
    assert sent(arm, "stopJ" if kind == "joints" else "stopL")
    assert not np.allclose(arm.q, plan.positions[-1], atol=1e-3)   # the arm did not get there


def test_stop_before_the_move_sends_nothing(arm):
    b = backend()
    plan = b.plan_joints(HOME_Q + 0.2, 1.0)
    b._stop.set()                  # stop() racing ahead of execute: simulated after its clear()
    original = b._stop.clear
    b._stop.clear = lambda: None   # type: ignore[method-assign]
    try:
        result = b.execute(plan)
    finally:
        b._stop.clear = original   # type: ignore[method-assign]
    assert result.status == MotionStatus.ABORTED and not sent(arm, "moveJ")


def test_protective_stop_during_a_move_is_aborted(arm):
    arm.time_scale = 0.5
    b = backend()
    plan = b.plan_joints(HOME_Q + 0.5, 1.0)
    threading.Timer(0.15, lambda: setattr(arm, "protective", True)).start()
    result = b.execute(plan)
    assert result.status == MotionStatus.ABORTED and result.cause == "protective_stop"


def test_controller_rejection_and_stale_plans_are_reported(arm):
    b = backend()
    plan = b.plan_joints(HOME_Q + 0.1, 1.0)
    arm.accept_moves = False
    result = b.execute(plan)
    assert result.status == MotionStatus.ABORTED and result.cause == "rejected"
    arm.accept_moves = True
    arm.q = HOME_Q + 0.3           # the arm moved since planning
    result = b.execute(plan)
    assert result.status == MotionStatus.REFUSED and result.cause == "stale_plan"
    assert len(sent(arm, "moveJ")) == 1


def test_gripper_is_refused(arm):
    from spatialbot_ros.core.actions import GripperCommand

    result = backend().gripper(GripperCommand.CLOSE)
    assert result.status == MotionStatus.REFUSED


def test_plans_from_a_given_start_for_dry_runs(arm):
    b = backend()
    shadow = HOME_Q + np.array([0.2, 0.0, -0.1, 0.0, 0.1, 0.0])
    plan = b.plan_pose(tcp_of(shadow) @ make_pose([0.0, 0.0, 0.03]), 1.0, q_start=shadow)
    assert np.allclose(plan.q_start, shadow) and np.allclose(tcp_of(plan.positions[-1]), tcp_of(shadow) @ make_pose([0, 0, 0.03]))
    lin = b.plan_linear(tcp_of(shadow) @ make_pose([0.05, 0.0, 0.0]), 1.0, q_start=shadow)
    first = tcp_of(lin.positions[0])[:3, 3]
    assert np.linalg.norm(first - tcp_of(shadow)[:3, 3]) < 0.011    # the line starts at the shadow's TCP
    result = b.execute(lin)
    assert result.status == MotionStatus.REFUSED and result.cause == "stale_plan" and not sent(arm, "moveL")
