"""SafeMotion, the one safety gate, over the MuJoCo backend: plan -> check -> execute, dry run
until armed, and an e-stop / watchdog that preempt the motion in progress."""

import threading
import time

import numpy as np
import pytest

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.safety import EStop, SafetyChecker, SafetyLimits, SafetyReason
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.motion.base import JointPlan, MotionResult, MotionStatus, PlanningFailed
from spatialbot_ros.motion.safety_gate import SafeMotion
from spatialbot_ros.sim.cell import Ur5Cell
from spatialbot_ros.sim.mujoco_backend import MujocoMotionBackend

sim = pytest.mark.sim  # every test here but the ROS-topic backend one needs MuJoCo


class CountingBackend(MujocoMotionBackend):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.executed: list[JointPlan] = []
        self.stops = 0

    def execute(self, plan):
        self.executed.append(plan)
        return super().execute(plan)

    def stop(self):
        self.stops += 1
        super().stop()


@pytest.fixture
def cell():
    c = Ur5Cell([])
    c.reset()
    yield c
    c.close()


def gate(cell, limits=None, **kw):
    backend = CountingBackend(cell)
    kw.setdefault("real_hardware", False)
    return SafeMotion(backend, SafetyChecker(limits or SafetyLimits()), **kw), backend


def down(xyz):
    return make_pose(xyz, top_down_rotation(0.0))


@sim
@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 100.0, -1.0, 0.0])
def test_bad_speed_scale_is_refused_with_nothing_executed(cell, scale):
    m, backend = gate(cell)
    q0 = cell.joint_positions()
    for result in (m.move_linear(down([0.45, 0.0, 0.3]), scale), m.move_to_pose(down([0.45, 0.0, 0.3]), scale),
                   m.move_joints(q0 + 0.1, scale)):
        assert result.status == MotionStatus.REFUSED and result.cause in ("not_finite", "invalid_command")
    assert backend.executed == [] and np.allclose(cell.joint_positions(), q0, atol=1e-6)


@sim
def test_a_good_move_is_planned_checked_and_executed(cell):
    m, backend = gate(cell)
    result = m.move_linear(down([0.5, 0.05, 0.25]))
    assert result.status == MotionStatus.SUCCEEDED and len(backend.executed) == 1 and m.sent == ["linear"]
    assert np.allclose(cell.tcp_pose()[:3, 3], [0.5, 0.05, 0.25], atol=3e-3)


@sim
def test_sheared_target_rotation_is_refused(cell):
    m, backend = gate(cell)
    T = down([0.45, 0.0, 0.3])
    T[:3, :3] = np.array([[1.0, 0.4, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ T[:3, :3]  # det 1, not a rotation
    assert m.move_to_pose(T).cause == SafetyReason.INVALID_COMMAND.value and backend.executed == []


@sim
def test_a_single_07_m_jump_is_refused(cell):
    m, backend = gate(cell)
    assert m.move_to_pose(down([0.42, -0.35, 0.2])).ok  # 0.4 m from home: within the travel limit
    q = cell.joint_positions()
    result = m.move_linear(down([0.42, 0.35, 0.2]))
    assert result.status == MotionStatus.REFUSED and result.cause == SafetyReason.TRAVEL_TOO_LONG.value
    assert len(backend.executed) == 1 and np.allclose(cell.joint_positions(), q, atol=1e-4)


@sim
def test_a_path_that_leaves_the_workspace_in_the_middle_is_refused(cell):
    # both ends inside the box; the planned path between them is not
    setup, backend = gate(cell)
    assert setup.move_to_pose(down([0.4, -0.2, 0.2])).ok
    m = SafeMotion(backend, SafetyChecker(SafetyLimits(workspace_max_m=(0.43, 0.6, 0.8))), real_hardware=False)
    m.checker.check_pose(down([0.4, 0.2, 0.2]))  # the target itself is inside
    swept = m.move_to_pose(down([0.4, 0.2, 0.2]))  # a joint-space move: the pan swings the TCP out past x = 0.43
    assert swept.cause == SafetyReason.OUT_OF_WORKSPACE.value and "along the path" in swept.message
    assert len(backend.executed) == 1  # only the setup move

    class BulgingPlanner(CountingBackend):  # a Cartesian planner that strays off its straight line
        def plan_linear(self, target, speed_scale, *, q_start=None):
            plan = super().plan_linear(target, speed_scale, q_start=q_start)
            bent = plan.positions.copy()
            bent[len(bent) // 2, 1] -= 0.3  # shoulder lift: the TCP dips far down mid-way
            return JointPlan(plan.kind, plan.q_start, bent, plan.times_s * 3, plan.speed_scale, plan.target_tcp,
                             plan.native * 3)

    bulge = BulgingPlanner(cell)
    m2 = SafeMotion(bulge, SafetyChecker(), real_hardware=False)
    result = m2.move_linear(down([0.45, -0.1, 0.2]))
    assert result.status == MotionStatus.REFUSED and bulge.executed == []


@sim
def test_planning_failures_pass_through_and_nothing_moves(cell):
    m, backend = gate(cell, SafetyLimits(workspace_max_m=(2.0, 0.6, 0.8)))
    assert m.move_to_pose(down([1.5, 0.0, 0.2])).status == MotionStatus.UNREACHABLE

    def not_ready(*a, **k):
        raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, "robot program not running", "program_stopped"))

    backend.plan_linear = not_ready
    result = m.move_linear(down([0.45, 0.0, 0.3]))
    assert result.status == MotionStatus.NOT_READY and result.cause == "program_stopped" and backend.executed == []


def _mid_move(backend, action, after_sim_s=0.3):
    def run():
        assert backend.executing.wait(5.0)
        t0 = backend.cell.time_s
        while backend.executing.is_set() and backend.cell.time_s < t0 + after_sim_s:
            time.sleep(0)
        action()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@sim
def test_estop_from_another_thread_preempts_the_move_and_latches(cell):
    estop = EStop()
    m, backend = gate(cell, estop=estop, real_hardware=True, armed=True)
    start = cell.tcp_pose()[:3, 3].copy()
    at = {}
    estop.add_listener(lambda r: at.setdefault("tcp", cell.tcp_pose()[:3, 3].copy()))
    t = _mid_move(backend, lambda: estop.engage("operator"), after_sim_s=0.7)
    result = m.move_to_pose(down([0.6, 0.25, 0.15]))  # about 1.5 s of motion
    t.join()
    assert result.status == MotionStatus.ABORTED and result.cause == SafetyReason.ESTOPPED.value
    cell.step_seconds(0.5)
    travel = float(np.linalg.norm(cell.tcp_pose()[:3, 3] - at["tcp"]))
    moved = float(np.linalg.norm(at["tcp"] - start))
    print(f"gate e-stop: moved {moved * 1000:.0f} mm before, {travel * 1000:.1f} mm after the e-stop")
    assert moved > 0.02 and travel < 0.01 and backend.stops >= 1 and not m.armed
    refused = m.move_linear(down([0.45, 0.0, 0.3]))
    assert refused.status == MotionStatus.REFUSED and refused.cause == "estopped"
    assert m.gripper(GripperCommand.CLOSE).status == MotionStatus.REFUSED
    with pytest.raises(RuntimeError, match="e-stop"):
        m.arm(True)
    estop.reset()
    assert not m.armed and m.move_linear(down([0.45, 0.0, 0.3])).status == MotionStatus.DRY_RUN  # reset does not re-arm
    m.stop()  # always allowed
    assert len(backend.executed) == 1


@sim
def test_a_watchdog_that_stops_being_fed_aborts_the_move_in_progress(cell):
    m, backend = gate(cell)
    wd = m.add_watchdog("joint_states", 0.2)
    assert m.move_linear(down([0.45, 0.0, 0.3])).cause == SafetyReason.STALE_INPUT.value  # never fed: refused
    assert backend.executed == []
    feeding = threading.Event()
    feeding.set()

    def feeder():
        while feeding.is_set():
            wd.feed()
            time.sleep(0.005)

    threading.Thread(target=feeder, daemon=True).start()
    time.sleep(0.02)
    t = _mid_move(backend, feeding.clear, after_sim_s=0.05)
    t0 = time.monotonic()
    result = m.move_to_pose(down([0.6, 0.25, 0.15]), speed_scale=0.01)  # slow: minutes of sim time, seconds of wall
    wall = time.monotonic() - t0
    t.join()
    assert result.status == MotionStatus.ABORTED and result.cause == SafetyReason.STALE_INPUT.value
    assert "joint_states" in result.message and len(backend.executed) == 1
    print(f"watchdog abort {wall * 1000:.0f} ms wall after the move started (timeout 200 ms, poll 10 ms)")
    assert wall < 2.0


@sim
def test_dry_run_previews_and_keeps_a_shadow_state_until_armed(cell):
    previews = []
    m, backend = gate(cell, real_hardware=True, preview=previews.append)
    q0, pose0 = cell.joint_positions(), cell.tcp_pose()
    r1 = m.move_to_pose(down([0.5, 0.1, 0.25]))
    r2 = m.move_linear(down([0.5, 0.1, 0.15]))
    assert r1.status == r2.status == MotionStatus.DRY_RUN and r1.ok
    assert m.gripper(GripperCommand.CLOSE).status == MotionStatus.DRY_RUN and m.gripper_state().closed
    assert backend.executed == [] and np.allclose(cell.joint_positions(), q0, atol=1e-6)
    assert len(previews) == 2 and np.allclose(previews[1].q_start, previews[0].positions[-1])  # planned from the shadow
    assert np.allclose(m.current_pose()[:3, 3], [0.5, 0.1, 0.15], atol=1e-3) and m.dry_run_count == 3
    far = m.move_linear(down([0.5, 0.1, -0.05]))  # still checked in a dry run
    assert far.status == MotionStatus.REFUSED and len(previews) == 2
    for bad in ("true", 1, None):
        with pytest.raises(TypeError):
            m.arm(bad)  # type: ignore[arg-type]
    m.arm(True)
    assert np.allclose(m.current_pose(), pose0, atol=1e-3)  # the real state again
    assert m.move_linear(down([0.45, 0.0, 0.3])).status == MotionStatus.SUCCEEDED and len(backend.executed) == 1


@sim
@pytest.mark.parametrize("force", [float("nan"), float("inf"), -5.0, 1e6, True])
def test_gripper_force_and_command_checks(cell, force):
    m, backend = gate(cell)
    width = cell.gripper_opening()
    assert m.gripper(GripperCommand.CLOSE, force).status == MotionStatus.REFUSED
    assert m.gripper("close").status == MotionStatus.REFUSED  # type: ignore[arg-type]
    assert cell.gripper_opening() == pytest.approx(width) and m.sent == []
    assert m.gripper(GripperCommand.CLOSE, 40.0).ok and cell.gripper_opening() < width


@pytest.mark.ros
def test_ros_topic_backend_plans_from_joint_states_and_stop_preempts_within_a_poll(ros):
    """A controller that never tracks (joint states frozen): execute() would wait the whole trajectory;
    stop() from another thread ends it within one poll and publishes a hold at the current joints."""
    from sensor_msgs.msg import JointState
    from trajectory_msgs.msg import JointTrajectory

    from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
    from spatialbot_ros.motion.ros_topic_backend import RosTopicMotionBackend, TopicMotionConfig
    from spatialbot_ros.nodes.executors import PoolExecutor

    robot, commander = ros.create_node("frozen_robot"), ros.create_node("commander")
    cfg = TopicMotionConfig(poll_s=0.01)
    backend = RosTopicMotionBackend(commander, cfg)
    with pytest.raises(PlanningFailed) as info:
        backend.plan_joints(np.zeros(6), 1.0)
    assert info.value.result.status == MotionStatus.NOT_READY
    q_home = np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0])
    state = JointState(name=list(UR_JOINT_NAMES), position=[float(v) for v in q_home])
    pub = robot.create_publisher(JointState, cfg.joint_states_topic, 10)
    robot.create_timer(0.01, lambda: pub.publish(state))
    sent = []
    robot.create_subscription(JointTrajectory, cfg.trajectory_topic, sent.append, 10)
    executor = PoolExecutor()
    for n in (robot, commander):
        executor.add_node(n)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        assert backend.wait_for_joint_states(5.0)
        plan = backend.plan_joints(q_home + np.array([0.5, 0, 0, 0, 0, 0]), 1.0)
        assert np.allclose(plan.q_start, q_home) and plan.duration_s > 0.5
        out = {}

        def run():
            out["result"] = backend.execute(plan)
            out["t"] = time.monotonic()

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.2)
        t_stop = time.monotonic()
        backend.stop()
        worker.join(5.0)
        latency = out["t"] - t_stop
        print(f"ros_topics backend: execute returned {latency * 1000:.1f} ms after stop() (poll 10 ms)")
        assert out["result"].status == MotionStatus.ABORTED and latency < 0.1
        deadline = time.monotonic() + 2.0
        while len(sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(sent) == 2 and len(sent[1].points) == 1  # the trajectory, then the hold
        assert list(sent[1].points[0].positions) == pytest.approx(list(q_home))
    finally:
        executor.shutdown()
        spinner.join(2.0)


@sim
def test_dry_run_with_a_backend_that_cannot_plan_from_the_shadow_refuses_clearly(cell):
    class StartlessPlanner(CountingBackend):  # a planner that always starts from the real joints
        def plan_linear(self, target, speed_scale):
            return super().plan_linear(target, speed_scale)

    backend = StartlessPlanner(cell)
    m = SafeMotion(backend, SafetyChecker(), real_hardware=True)
    assert m.move_linear(down([0.45, 0.0, 0.3])).status == MotionStatus.DRY_RUN  # the shadow is still the real state
    second = m.move_linear(down([0.45, 0.0, 0.25]))
    assert second.status == MotionStatus.REFUSED and "cannot plan from the dry-run state" in second.message
    assert backend.executed == []
