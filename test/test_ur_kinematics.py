import numpy as np
import pytest

from spatialbot_ros.core.ur_kinematics import UR5_DH, UR5_JOINT_LIMITS, UR5E_DH, dh_for, fk, ik, ik_nearest

pytestmark = pytest.mark.core


@pytest.mark.parametrize("dh", [UR5_DH, UR5E_DH], ids=["ur5", "ur5e"])
def test_ik_inverts_fk_and_finds_the_original_configuration(dh):
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(200):
        q = rng.uniform(-np.pi, np.pi, 6)
        T = fk(q, dh)
        sols = ik(T, dh)
        counts.append(len(sols))
        assert len(sols) > 0
        for s in sols:
            assert np.allclose(fk(s, dh), T, atol=1e-9)
        assert np.min(np.max(np.abs((sols - q + np.pi) % (2 * np.pi) - np.pi), axis=1)) < 1e-6
    assert max(counts) == 8 and np.mean(counts) > 6  # 8 solutions in general position


def test_dh_tables_are_the_published_ones():
    assert (UR5_DH.d1, UR5_DH.a2, UR5_DH.a3, UR5_DH.d4, UR5_DH.d5, UR5_DH.d6) == (0.089159, -0.425, -0.39225, 0.10915, 0.09465, 0.0823)
    assert dh_for("UR5e") is UR5E_DH
    with pytest.raises(ValueError, match="ur5, ur5e"):
        dh_for("ur10")
    # stretched out along -x at q = 0 (a2 + a3 + reach of the wrist)
    assert fk(np.zeros(6))[0, 3] == pytest.approx(UR5_DH.a2 + UR5_DH.a3)


def test_unreachable_and_bad_inputs():
    far = np.eye(4)
    far[:3, 3] = [2.0, 0.0, 0.5]
    assert len(ik(far)) == 0
    assert ik_nearest(far, np.zeros(6)) is None
    with pytest.raises(ValueError):
        ik(np.full((4, 4), np.nan))
    with pytest.raises(ValueError):
        fk(np.zeros(5))


def test_ik_nearest_picks_the_closest_solution_within_limits():
    rng = np.random.default_rng(1)
    for _ in range(100):
        q = rng.uniform(-np.pi, np.pi, 6)
        near = ik_nearest(fk(q), q + rng.normal(0, 0.05, 6))
        assert near is not None and np.allclose(fk(near), fk(q), atol=1e-9)
        assert np.max(np.abs(near - q)) < 0.2  # the branch we came from, not a flipped elbow or wrist
    # a current wrist angle beyond pi: the 2*pi equivalent nearest to it is chosen
    q = np.array([0.3, -1.2, 1.4, -1.8, -1.57, -0.2])
    q_cur = q.copy()
    q_cur[5] += 2 * np.pi
    near = ik_nearest(fk(q), q_cur)
    assert near[5] == pytest.approx(q[5] + 2 * np.pi) and np.all(near <= UR5_JOINT_LIMITS[:, 1])
