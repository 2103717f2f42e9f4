"""The Panda's kinematics (core.panda_kinematics) as the safety gate and planners use them: forward
kinematics from Franka's table, IK that returns joints inside the limits reaching the pose and
nearest to where the arm is, and straight-line plans through it. ManiSkill's own Panda is compared
in test_maniskill_sim_node (its TCP pose against our FK of its joint states)."""

import math

import numpy as np
import pytest

from spatialbot_ros.core.kinematics import arm_kinematics
from spatialbot_ros.core.panda_kinematics import PANDA, PANDA_JOINT_LIMITS, PANDA_TCP_OFFSET_M
from spatialbot_ros.core.transforms import make_pose

pytestmark = pytest.mark.core
REST = np.array([0.0, math.pi / 8, 0.0, -5 * math.pi / 8, 0.0, 3 * math.pi / 4, math.pi / 4])  # ManiSkill's rest


def test_zero_pose_matches_franka_table():
    T = PANDA.fk(np.zeros(7))
    # flange 0.088 m forward, 0.333 + 0.316 + 0.384 - 0.107 m up, pointing down; the hand turned -pi/4
    assert np.allclose(T[:3, 3], [0.088, 0.0, 0.926], atol=1e-9)
    assert np.allclose(T[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)
    assert np.allclose(T[:3, 1], [math.sqrt(0.5), -math.sqrt(0.5), 0.0], atol=1e-9)  # the fingers' closing axis


def test_rest_pose_points_the_tcp_down_over_the_table():
    tcp = PANDA.fk(REST) @ make_pose([0.0, 0.0, PANDA_TCP_OFFSET_M])
    assert tcp[2, 2] < -0.99                       # approach axis down
    assert 0.3 < tcp[0, 3] < 0.7 and 0.1 < tcp[2, 3] < 0.4


def test_ik_reaches_random_poses_inside_the_limits_and_stays_near():
    rng = np.random.default_rng(3)
    for _ in range(40):
        q_goal = REST + rng.uniform(-0.4, 0.4, 7)
        q_goal = np.clip(q_goal, PANDA_JOINT_LIMITS[:, 0], PANDA_JOINT_LIMITS[:, 1])
        target = PANDA.fk(q_goal)
        q = PANDA.ik_nearest(target, REST)
        assert q is not None
        assert np.allclose(PANDA.fk(q), target, atol=1e-4)
        assert np.all(q >= PANDA_JOINT_LIMITS[:, 0]) and np.all(q <= PANDA_JOINT_LIMITS[:, 1])
    # a small step from the rest pose moves every joint a little, not to another branch
    step = PANDA.fk(REST) @ make_pose([0.01, 0.0, 0.0])
    assert np.max(np.abs(PANDA.ik_nearest(step, REST) - REST)) < 0.1


def test_ik_refuses_what_the_arm_cannot_reach():
    assert PANDA.ik_nearest(make_pose([1.5, 0.0, 0.3]), REST) is None
    with pytest.raises(ValueError):
        PANDA.ik_nearest(np.full((4, 4), np.nan), REST)
    with pytest.raises(ValueError, match="7"):
        PANDA.fk(np.zeros(6))


def test_models_by_name_and_a_straight_line_through_the_panda():
    from spatialbot_ros.core.safety import SafetyChecker
    from spatialbot_ros.motion.frames import tcp_pose_from_joints
    from spatialbot_ros.motion.joint_trajectory import TrajectoryConfig, plan_linear, time_parameterize

    assert arm_kinematics("panda") is PANDA and arm_kinematics("UR5").n_joints == 6
    with pytest.raises(ValueError, match="panda"):
        arm_kinematics("kuka")
    start = tcp_pose_from_joints(REST, PANDA_TCP_OFFSET_M, PANDA)
    goal = start @ make_pose([0.0, 0.0, 0.12])     # 12 cm down along the approach axis
    cfg = TrajectoryConfig(tcp_offset_m=PANDA_TCP_OFFSET_M, joint_names=PANDA.joint_names)
    wp = plan_linear(REST, start, goal, cfg, PANDA)
    assert wp is not None and wp.shape[1] == 7
    times, _ = time_parameterize(REST, wp, cfg)
    path = SafetyChecker().check_joint_path(REST, wp, times, tcp_offset_m=PANDA_TCP_OFFSET_M, arm=PANDA,
                                            q_now=REST, target_tcp=goal)
    # the sampled TCP path is the straight line (within the 1 cm IK step's chord)
    line = goal[:3, 3] - start[:3, 3]
    off = np.linalg.norm(np.cross(path.points - start[:3, 3], line / np.linalg.norm(line)), axis=1)
    assert off.max() < 0.002


class _PandaDouble:
    """A backend double on the Panda: plans straight lines with our planner, records executions."""

    name = "panda_double"
    kinematics = PANDA
    tcp_offset_m = PANDA_TCP_OFFSET_M

    def __init__(self) -> None:
        from spatialbot_ros.motion.joint_trajectory import TrajectoryConfig

        self.q = REST.copy()
        self.cfg = TrajectoryConfig(tcp_offset_m=PANDA_TCP_OFFSET_M, joint_names=PANDA.joint_names)
        self.executed = []

    def current_joints(self):
        return self.q.copy()

    def current_pose(self):
        from spatialbot_ros.motion.frames import tcp_pose_from_joints

        return tcp_pose_from_joints(self.q, PANDA_TCP_OFFSET_M, PANDA)

    def plan_linear(self, goal, speed_scale, *, q_start=None):
        from spatialbot_ros.motion.base import JointPlan, PlanKind
        from spatialbot_ros.motion.joint_trajectory import plan_linear, time_parameterize

        q0 = self.q if q_start is None else q_start
        wp = plan_linear(q0, self.current_pose(), goal, self.cfg, PANDA)
        times, _ = time_parameterize(q0, wp, self.cfg, speed_scale)
        return JointPlan(PlanKind.LINEAR, q0, wp, times, speed_scale, goal)

    plan_pose = plan_linear

    def plan_joints(self, q, speed_scale, *, q_start=None):
        from spatialbot_ros.motion.base import JointPlan, PlanKind

        return JointPlan(PlanKind.JOINTS, self.q, np.asarray(q, float)[None], np.array([5.0]), speed_scale)

    def execute(self, plan):
        from spatialbot_ros.motion.base import MotionResult, MotionStatus

        self.executed.append(plan)
        self.q = np.asarray(plan.positions[-1], float)
        return MotionResult(MotionStatus.SUCCEEDED)

    def stop(self):
        pass


def test_the_safety_gate_checks_a_panda_plan_with_the_panda_and_refuses_a_ur_arm_backend_for_it():
    from spatialbot_ros.core.safety import SafetyChecker, SafetyLimits
    from spatialbot_ros.motion.assembly import MotionSettings, build_backend
    from spatialbot_ros.motion.base import MotionStatus
    from spatialbot_ros.motion.safety_gate import SafeMotion

    backend = _PandaDouble()
    gate = SafeMotion(backend, SafetyChecker(), real_hardware=False)
    assert gate.kinematics is PANDA
    down = gate.current_pose() @ make_pose([0.0, 0.0, 0.05])
    assert gate.move_linear(down).status == MotionStatus.SUCCEEDED and len(backend.executed) == 1
    assert np.allclose(gate.current_pose()[:3, 3], down[:3, 3], atol=1e-3)
    # the gate's TCP path is the Panda's: a box floor 2 cm below the TCP refuses a 3 cm line down
    floor = down[2, 3] - 0.02
    low = SafeMotion(backend, SafetyChecker(SafetyLimits(workspace_min_m=(0.15, -0.6, floor))), real_hardware=False)
    r = low.move_linear(low.current_pose() @ make_pose([0.0, 0.0, 0.03]))
    assert r.status == MotionStatus.REFUSED and r.cause == "out_of_workspace" and len(backend.executed) == 1
    bad = REST.copy()
    bad[3] = 0.3                                                     # joint 4 of a Panda is always negative
    assert gate.move_joints(bad).cause == "joint_limit"
    assert gate.move_joints(np.zeros(6)).cause == "invalid_command"  # six joints are not a Panda's
    with pytest.raises(ValueError, match="ros_topics"):
        build_backend(None, MotionSettings(arm_model="panda", motion_backend="joint_trajectory"))
