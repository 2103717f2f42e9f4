import numpy as np
import pytest

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.ee_delta import StepLimits, apply_ee_action, compute_ee_delta, converged, pose_error
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.safety import (
    EStop,
    SafetyChecker,
    SafetyLimits,
    SafetyReason,
    SafetyViolation,
    Watchdog,
)
from spatialbot_ros.core.transforms import make_pose

pytestmark = pytest.mark.core
CHECK = SafetyChecker()
DOWN = top_down_rotation(0.0)


def reason_of(fn, *args, **kwargs):
    with pytest.raises(SafetyViolation) as info:
        fn(*args, **kwargs)
    return info.value.reason


def test_pose_inside_workspace_passes_and_outside_is_refused_with_axis():
    CHECK.check_pose(make_pose([0.5, 0.0, 0.2], DOWN))
    with pytest.raises(SafetyViolation, match="z=-0.050"):
        CHECK.check_pose(make_pose([0.5, 0.0, -0.05], DOWN))
    assert reason_of(CHECK.check_pose, make_pose([1.5, 0.0, 0.2], DOWN)) == SafetyReason.OUT_OF_WORKSPACE


def test_not_finite_and_non_rotation_poses_are_refused():
    bad = make_pose([0.5, 0.0, 0.2], DOWN)
    bad[0, 3] = np.nan
    assert reason_of(CHECK.check_pose, bad) == SafetyReason.NOT_FINITE
    scaled = make_pose([0.5, 0.0, 0.2], DOWN * 2)
    assert reason_of(CHECK.check_pose, scaled) == SafetyReason.INVALID_COMMAND


def test_sheared_rotation_with_det_one_is_refused():
    shear = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert np.linalg.det(shear) == pytest.approx(1.0)  # a determinant check alone would accept it
    assert reason_of(CHECK.check_pose, make_pose([0.5, 0.0, 0.2], shear @ DOWN)) == SafetyReason.INVALID_COMMAND
    mirrored = DOWN @ np.diag([1.0, 1.0, -1.0])  # orthonormal, det -1
    assert reason_of(CHECK.check_pose, make_pose([0.5, 0.0, 0.2], mirrored)) == SafetyReason.INVALID_COMMAND
    CHECK.check_pose(make_pose([0.5, 0.0, 0.2], DOWN.astype(np.float32).astype(float)))  # float32 round trip passes


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 100.0, -1.0, 0.0, True, "1"])
def test_speed_scale_must_be_finite_and_in_zero_one(scale):
    assert reason_of(CHECK.check_speed_scale, scale) in (SafetyReason.NOT_FINITE, SafetyReason.INVALID_COMMAND)


def test_speed_scale_in_range_passes():
    assert CHECK.check_speed_scale(1) == 1.0 and CHECK.check_speed_scale(0.05) == 0.05


def test_step_limits_refuse_and_clip():
    big = EEAction(np.array([0.2, 0, 0]), np.zeros(3))
    assert reason_of(CHECK.check_delta, big) == SafetyReason.STEP_TOO_LARGE
    spin = EEAction(np.zeros(3), np.array([0, 0, 1.0]))
    assert reason_of(CHECK.check_delta, spin) == SafetyReason.ROTATION_TOO_LARGE
    clipped = CHECK.clip_action(EEAction(np.array([0.3, 0.4, 0]), np.array([0, 0, 1.0]), GripperCommand.CLOSE))
    assert np.linalg.norm(clipped.delta_translation_m) == pytest.approx(0.05)
    assert np.allclose(clipped.delta_translation_m / 0.05, [0.6, 0.8, 0])  # direction kept
    assert np.linalg.norm(clipped.delta_rotvec) == pytest.approx(0.35) and clipped.gripper == GripperCommand.CLOSE
    CHECK.check_delta(clipped)
    assert reason_of(CHECK.check_delta, EEAction(np.array([np.inf, 0, 0]), np.zeros(3))) == SafetyReason.NOT_FINITE


def test_speed_joint_limits_and_trajectories():
    assert reason_of(CHECK.check_speed, 0.5, 1.0) == SafetyReason.TOO_FAST
    CHECK.check_speed(0.1, 1.0)
    assert reason_of(CHECK.check_joint_target, np.array([0, 0, 4.0, 0, 0, 0])) == SafetyReason.JOINT_LIMIT
    assert reason_of(CHECK.check_joint_target, np.zeros(6), np.full(6, 1.0), 0.1) == SafetyReason.TOO_FAST
    CHECK.check_joint_target(np.zeros(6), np.full(6, 0.1), 1.0)
    traj = np.linspace(np.zeros(6), np.full(6, 1.0), 5)
    CHECK.check_joint_trajectory(traj, np.linspace(0, 2.0, 5))
    assert reason_of(CHECK.check_joint_trajectory, traj, np.linspace(0, 0.2, 5)) == SafetyReason.TOO_FAST
    assert reason_of(CHECK.check_joint_trajectory, traj, np.array([0, 1, 1, 2, 3.0])) == SafetyReason.TOO_FAST


@pytest.mark.parametrize("bad", [
    {"joint_limits_rad": ((-np.nan, 1.0),) + ((-1.0, 1.0),) * 5},
    {"joint_limits_rad": ((-1.0, np.inf),) + ((-1.0, 1.0),) * 5},
    {"joint_limits_rad": ((-1.0, 1.0, 0.0),) * 6},
    {"max_travel_per_move_m": float("nan")},
    {"max_joint_speed_rad_s": float("inf")},
    {"workspace_min_m": (0.1, float("nan"), 0.0)},
], ids=["nan_joint_limit", "inf_joint_limit", "triples", "nan_travel", "inf_joint_speed", "nan_workspace"])
def test_non_finite_limits_are_refused_at_construction(bad):
    with pytest.raises(ValueError, match="safety"):
        SafetyLimits(**bad)


def test_joint_checks_follow_the_arm_and_refuse_limits_for_another_arm():
    from spatialbot_ros.core.panda_kinematics import PANDA

    q = np.array([0.0, 0.3, 0.0, -2.0, 0.0, 2.0, 0.8])
    CHECK.check_joint_target(q, arm=PANDA)                      # the Panda's own limits
    assert reason_of(CHECK.check_joint_target, q) == SafetyReason.INVALID_COMMAND  # 7 values for a UR5
    assert reason_of(lambda: CHECK.check_joint_target(q * np.array([1, 1, 1, -1, 1, 1, 1]), arm=PANDA)) \
        == SafetyReason.JOINT_LIMIT                             # joint 4 is negative on a Panda
    five = SafetyChecker(SafetyLimits(joint_limits_rad=((-1.0, 1.0),) * 5))
    assert reason_of(five.check_joint_target, np.zeros(6)) == SafetyReason.INVALID_COMMAND
    seven = SafetyChecker(SafetyLimits(joint_limits_rad=((-0.5, 0.5),) * 7))
    assert reason_of(lambda: seven.check_joint_target(q, arm=PANDA)) == SafetyReason.JOINT_LIMIT


def test_limits_validate_their_values():
    with pytest.raises(ValueError, match="below"):
        SafetyLimits(workspace_min_m=(1, 0, 0), workspace_max_m=(0.5, 1, 1))
    with pytest.raises(ValueError, match="max_tcp_speed_m_s"):
        SafetyLimits(max_tcp_speed_m_s=-1)
    with pytest.raises(ValueError, match="unknown"):
        SafetyLimits.from_dict({"max_speed": 1})
    assert SafetyLimits.from_dict({"workspace_min_m": [0.1, -0.5, 0.0]}).workspace_min_m == (0.1, -0.5, 0.0)


def test_estop_calls_listeners_on_engage_from_any_thread():
    import threading

    e, heard = EStop(), []
    e.add_listener(lambda reason: heard.append((reason, threading.current_thread().name)))
    t = threading.Thread(target=e.engage, args=("pendant",), name="operator")
    t.start()
    t.join()
    assert e.engaged and heard == [("pendant", "operator")]
    e.reset()
    assert not e.engaged and heard == [("pendant", "operator")]  # reset calls nobody


def test_estop_latches_until_reset_and_watchdog_expires():
    e = EStop()
    e.check()
    e.engage("operator")
    assert reason_of(e.check) == SafetyReason.ESTOPPED
    assert e.engaged  # latched
    e.reset()
    e.check()
    now = [0.0]
    w = Watchdog(0.5, clock=lambda: now[0])
    assert w.expired()  # never fed
    w.feed()
    now[0] = 0.4
    assert not w.expired()
    now[0] = 0.6
    assert reason_of(w.check) == SafetyReason.STALE_INPUT


def test_ee_delta_moves_toward_target_clipped_and_converges():
    cur = make_pose([0.4, 0.0, 0.3], DOWN)
    tgt = make_pose([0.6, 0.1, 0.1], top_down_rotation(0.8))
    limits = StepLimits(0.05, 0.2)
    pose, steps = cur, 0
    while not converged(pose, tgt, 1e-6, 1e-6) and steps < 50:
        a = compute_ee_delta(pose, tgt, limits, GripperCommand.OPEN)
        assert np.linalg.norm(a.delta_translation_m) <= 0.05 + 1e-12
        assert np.linalg.norm(a.delta_rotvec) <= 0.2 + 1e-12
        pose = apply_ee_action(pose, a)
        steps += 1
    assert converged(pose, tgt, 1e-6, 1e-6) and steps == 6  # 0.3 m at 5 cm per step
    dt, dr = pose_error(cur, tgt)
    assert dt == pytest.approx(0.3) and dr == pytest.approx(0.8)
    assert compute_ee_delta(tgt, tgt, limits).is_zero_motion
    assert compute_ee_delta(cur, tgt, limits, GripperCommand.CLOSE).as_vector()[6] == 1.0


@pytest.mark.parametrize("value", ["false", "true", 1, 0, None, 1.0])
def test_only_a_real_bool_arms_the_safety_gate(value):
    from types import SimpleNamespace

    from spatialbot_ros.motion.safety_gate import SafeMotion

    backend = SimpleNamespace(name="stub", tcp_offset_m=0.128)  # never called: arming is checked first
    with pytest.raises(TypeError, match="armed must be True or False"):
        SafeMotion(backend, armed=value)  # type: ignore[arg-type]
    gate = SafeMotion(backend)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gate.armed = value
    assert gate.armed is False


def test_the_safety_gate_needs_the_tcp_offset_it_checks():
    from types import SimpleNamespace

    from spatialbot_ros.motion.safety_gate import SafeMotion

    with pytest.raises(ValueError, match="TCP offset"):
        SafeMotion(SimpleNamespace(name="stub"))  # type: ignore[arg-type]
    assert SafeMotion(SimpleNamespace(name="stub"), tcp_offset_m=0.15).tcp_offset_m == 0.15  # type: ignore[arg-type]


@pytest.mark.parametrize(("t", "expected"), [(0.0, (0, 0)), (0.9999999999, (1, 0)), (1.5, (1, 500_000_000)),
                                             (2.000000001, (2, 1)), (1000.0333333333, (1000, 33_333_333))])
def test_seconds_split_into_sec_and_nanosec_without_wrapping(t, expected):
    from spatialbot_ros.core.timestamps import split_seconds

    assert split_seconds(t) == expected
    with pytest.raises(ValueError):
        split_seconds(float("nan"))


# -- whole-plan checks (the same the safety gate runs before any execution) -----------------------
from spatialbot_ros.core.ur_kinematics import fk, ik_nearest  # noqa: E402

TCP = 0.128


def tcp_of(q):
    return (fk(q) @ make_pose([0, 0, TCP]))[:3, 3]


def q_for(xyz, q_ref):
    q = ik_nearest(make_pose(xyz, DOWN) @ np.linalg.inv(make_pose([0, 0, TCP])), q_ref)
    assert q is not None
    return q


Q_HOME = q_for([0.42, 0.0, 0.35], np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0]))


def line_plan(a, b, speed_m_s=0.1, step_m=0.01):
    """Joint waypoints along the straight TCP line a -> b, timed at speed_m_s."""
    n = max(1, int(np.ceil(np.linalg.norm(np.subtract(b, a)) / step_m)))
    qs, q = [], q_for(a, Q_HOME)
    q0 = q
    for i in range(1, n + 1):
        q = q_for(np.add(a, np.subtract(b, a) * i / n), q)
        qs.append(q)
    times = np.arange(1, n + 1) * (np.linalg.norm(np.subtract(b, a)) / n / speed_m_s)
    return q0, np.array(qs), times


def test_a_plan_inside_every_limit_passes_and_reports_its_tcp_path():
    q0, P, t = line_plan([0.42, 0.0, 0.35], [0.5, 0.05, 0.25])
    path = CHECK.check_joint_path(q0, P, t, tcp_offset_m=TCP, q_now=q0, target_tcp=make_pose([0.5, 0.05, 0.25], DOWN))
    assert path.length_m == pytest.approx(np.linalg.norm([0.08, 0.05, -0.1]), abs=2e-3)
    assert np.allclose(path.points[-1], [0.5, 0.05, 0.25], atol=1e-6)


def test_a_linear_move_leaving_the_workspace_in_the_middle_is_refused():
    # both ends are inside the box, the straight line between them dips below its floor
    limits = SafetyLimits(workspace_min_m=(0.15, -0.6, 0.15))
    checker = SafetyChecker(limits)
    a, b = [0.35, -0.2, 0.16], [0.6, 0.2, 0.16]
    for end in (a, b):
        checker.check_position(end)
    q0, P, t = line_plan(a, [0.475, 0.0, 0.05])
    q1, P2, t2 = line_plan([0.475, 0.0, 0.05], b)
    waypoints = np.vstack([P, P2])
    times = np.concatenate([t, t[-1] + t2])
    with pytest.raises(SafetyViolation, match="along the path") as info:
        checker.check_joint_path(q0, waypoints, times, tcp_offset_m=TCP)
    assert info.value.reason == SafetyReason.OUT_OF_WORKSPACE


def test_joint_space_segment_sweeping_outside_is_caught_between_waypoints():
    # a single-waypoint plan whose ends are inside but whose swept TCP arc is not: only sampling finds it
    checker = SafetyChecker(SafetyLimits(workspace_max_m=(0.5, 0.6, 0.8)))
    qa = q_for([0.4, -0.35, 0.2], Q_HOME)
    qb = q_for([0.4, 0.35, 0.2], Q_HOME)
    mid = tcp_of((qa + qb) / 2)
    assert mid[0] > 0.5  # the pan swings the TCP out along an arc, beyond x = 0.5, between the two waypoints
    with pytest.raises(SafetyViolation) as info:
        checker.check_joint_path(qa, qb[None], np.array([5.0]), tcp_offset_m=TCP)
    assert info.value.reason == SafetyReason.OUT_OF_WORKSPACE


def test_a_single_07_m_jump_is_refused_by_the_travel_limit():
    q0, P, t = line_plan([0.42, -0.35, 0.2], [0.42, 0.35, 0.2])
    assert reason_of(CHECK.check_joint_path, q0, P, t, tcp_offset_m=TCP) == SafetyReason.TRAVEL_TOO_LONG
    q0, P, t = line_plan([0.42, -0.2, 0.2], [0.42, 0.2, 0.2])  # 0.4 m passes
    CHECK.check_joint_path(q0, P, t, tcp_offset_m=TCP)


def test_plan_speed_start_and_target_checks():
    q0, P, t = line_plan([0.42, 0.0, 0.35], [0.5, 0.0, 0.35])
    assert reason_of(CHECK.check_joint_path, q0, P, t / 10, tcp_offset_m=TCP) == SafetyReason.TOO_FAST  # 1 m/s TCP
    assert reason_of(CHECK.check_joint_path, q0, P, t, tcp_offset_m=TCP, q_now=q0 + 0.2) == SafetyReason.INVALID_COMMAND
    assert reason_of(CHECK.check_joint_path, q0, P, t, tcp_offset_m=TCP,
                     target_tcp=make_pose([0.6, 0.0, 0.35], DOWN)) == SafetyReason.INVALID_COMMAND
    nan = P.copy()
    nan[2, 1] = np.nan
    assert reason_of(CHECK.check_joint_path, q0, nan, t, tcp_offset_m=TCP) == SafetyReason.NOT_FINITE
    beyond = P.copy()
    beyond[-1, 2] = 3.5
    assert reason_of(CHECK.check_joint_path, q0, beyond, t + 100, tcp_offset_m=TCP) == SafetyReason.JOINT_LIMIT
    assert reason_of(CHECK.check_joint_path, q0, P, t[::-1], tcp_offset_m=TCP) == SafetyReason.TOO_FAST
    # a MoveIt-style trajectory whose first point is the start at t=0 is accepted
    CHECK.check_joint_path(q0, np.vstack([q0, P]), np.concatenate([[0.0], t]), tcp_offset_m=TCP)
