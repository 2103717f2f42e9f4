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
    skew = make_pose([0.5, 0.0, 0.2], DOWN * 2)
    assert reason_of(CHECK.check_pose, skew) == SafetyReason.NOT_FINITE


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


def test_limits_validate_their_values():
    with pytest.raises(ValueError, match="below"):
        SafetyLimits(workspace_min_m=(1, 0, 0), workspace_max_m=(0.5, 1, 1))
    with pytest.raises(ValueError, match="max_tcp_speed_m_s"):
        SafetyLimits(max_tcp_speed_m_s=-1)
    with pytest.raises(ValueError, match="unknown"):
        SafetyLimits.from_dict({"max_speed": 1})
    assert SafetyLimits.from_dict({"workspace_min_m": [0.1, -0.5, 0.0]}).workspace_min_m == (0.1, -0.5, 0.0)


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

    backend = SimpleNamespace(name="stub")  # never called: arming is checked before anything moves
    with pytest.raises(TypeError, match="armed must be True or False"):
        SafeMotion(backend, armed=value)  # type: ignore[arg-type]
    gate = SafeMotion(backend)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gate.armed = value
    assert gate.armed is False


@pytest.mark.parametrize(("t", "expected"), [(0.0, (0, 0)), (0.9999999999, (1, 0)), (1.5, (1, 500_000_000)),
                                             (2.000000001, (2, 1)), (1000.0333333333, (1000, 33_333_333))])
def test_seconds_split_into_sec_and_nanosec_without_wrapping(t, expected):
    from spatialbot_ros.core.timestamps import split_seconds

    assert split_seconds(t) == expected
    with pytest.raises(ValueError):
        split_seconds(float("nan"))
