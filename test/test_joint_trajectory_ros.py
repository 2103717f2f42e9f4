"""JointTrajectoryBackend over real DDS against a stand-in for the UR driver: a
FollowJointTrajectory server that moves simulated joints along the trajectory at the driver's speed
scaling, /joint_states, the speed-scaling broadcaster (percent) and the latched program-running
flag. The backend's node is spun by a MultiThreadedExecutor in another thread, as in the nodes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("control_msgs.action", reason="control_msgs not built (scripts/build_interfaces.sh)")

from spatialbot_ros.core.actions import GripperCommand  # noqa: E402
from spatialbot_ros.motion.base import MotionStatus, PlanningFailed  # noqa: E402
from spatialbot_ros.motion.joint_trajectory import JointTrajectoryBackend, TrajectoryConfig  # noqa: E402

pytestmark = pytest.mark.ros
HOME_Q = np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0])
ACTION = "/scaled_joint_trajectory_controller/follow_joint_trajectory"


def seconds(d) -> float:
    return d.sec + d.nanosec * 1e-9


def eventually(cond, timeout_s: float = 2.0) -> bool:
    """cond() within timeout_s (the next joint state is up to a publish period behind a result)."""
    end = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < end:
        time.sleep(0.01)
    return bool(cond())


class FakeUrDriver:
    """The driver's side of the interfaces the backend uses. `error_code` makes the controller abort
    with that code; `reject` refuses goals; the joints follow the trajectory's last point linearly
    over its duration, advancing at speed_scaling_percent / 100."""

    def __init__(self, node, q0=HOME_Q, program_running: bool | None = True, scaling_percent: float = 100.0):
        from control_msgs.action import FollowJointTrajectory
        from rclpy.action import ActionServer, CancelResponse, GoalResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool, Float64

        from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

        self.node, self.names = node, list(UR_JOINT_NAMES)
        self.state = (np.asarray(q0, float).copy(), np.zeros(6))  # (positions, velocities), swapped whole
        self.scaling_percent = scaling_percent
        self.error_code, self.error_string, self.reject = 0, "", False
        self.goals, self.canceled = [], threading.Event()
        self._Result = FollowJointTrajectory.Result
        group = ReentrantCallbackGroup()
        self._js = node.create_publisher(JointState, "/joint_states", 10)
        self._scaling = node.create_publisher(Float64, "/speed_scaling_state_broadcaster/speed_scaling", 10)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._running = node.create_publisher(Bool, "/io_and_status_controller/robot_program_running", latched)
        if program_running is not None:
            self._running.publish(Bool(data=program_running))
        self._JointState, self._Float64 = JointState, Float64
        node.create_timer(0.01, self._publish, callback_group=group)
        self.server = ActionServer(
            node, FollowJointTrajectory, ACTION, execute_callback=self._execute, callback_group=group,
            goal_callback=lambda _g: GoalResponse.REJECT if self.reject else GoalResponse.ACCEPT,
            cancel_callback=lambda _h: CancelResponse.ACCEPT)

    @property
    def q(self) -> np.ndarray:
        return self.state[0]

    def _publish(self):
        q, v = self.state  # one consistent pair, like joint_state_broadcaster's position + velocity
        msg = self._JointState(name=self.names, position=[float(x) for x in q], velocity=[float(x) for x in v])
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self._js.publish(msg)
        self._scaling.publish(self._Float64(data=float(self.scaling_percent)))

    def _execute(self, handle):
        goal = handle.request
        self.goals.append(goal)
        result = self._Result()
        if self.error_code:
            result.error_code, result.error_string = self.error_code, self.error_string
            handle.abort()
            return result
        traj = goal.trajectory
        order = [list(traj.joint_names).index(n) for n in self.names]
        start, end = self.q.copy(), np.array(traj.points[-1].positions)[order]
        duration, t, last = seconds(traj.points[-1].time_from_start), 0.0, time.monotonic()
        while t < duration:
            if handle.is_cancel_requested:
                self.state = (self.q, np.zeros(6))  # this arm stops dead at the cancel
                self.canceled.set()
                handle.canceled()
                return result
            time.sleep(0.005)
            now = time.monotonic()
            t += (now - last) * self.scaling_percent / 100.0
            last = now
            q = start + min(t / duration, 1.0) * (end - start)
            v = (end - start) / duration * self.scaling_percent / 100.0 if t < duration else np.zeros(6)
            self.state = (q, v)
        self.state = (self.q, np.zeros(6))
        handle.succeed()
        return result


@pytest.fixture()
def cell(ros):
    """(backend, driver, client node); both nodes spun by one MultiThreadedExecutor thread."""
    from spatialbot_ros.nodes.executors import PoolExecutor

    server_node = ros.create_node("fake_ur_driver")
    client_node = ros.create_node("jtc_client")
    made = {}

    def make(config=None, **driver_kw):
        made["driver"] = FakeUrDriver(server_node, **driver_kw)
        made["backend"] = JointTrajectoryBackend(client_node, config or TrajectoryConfig())
        executor = PoolExecutor(num_threads=4)
        executor.add_node(server_node)
        executor.add_node(client_node)
        thread = threading.Thread(target=executor.spin, daemon=True)
        thread.start()
        made["executor"], made["thread"] = executor, thread
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:  # joint states and the latched flag have arrived
            try:
                made["backend"].current_joints()
                if driver_kw.get("program_running", True) is None or made["backend"]._program_running is not None:
                    break
            except PlanningFailed:
                pass
            time.sleep(0.02)
        return made["backend"], made["driver"], client_node

    yield make
    if "executor" in made:
        made["executor"].shutdown()
        made["thread"].join(timeout=5.0)
    teardown(made, server_node, client_node)


def teardown(made, *nodes):
    """Destroy in this (main) thread: a node garbage-collected later in some executor thread can
    stall Fast DDS's teardown while holding the GIL."""
    if "driver" in made:
        made["driver"].server.destroy()
    if "backend" in made:
        made["backend"].close()
    for node in nodes:
        node.destroy_node()


def test_a_plan_executes_and_the_joints_arrive_with_tolerances_set(cell):
    backend, driver, _ = cell()
    target = HOME_Q + np.array([0.2, -0.1, 0.1, 0.0, 0.1, -0.2])
    plan = backend.plan_joints(target, speed_scale=1.0)
    assert plan.native is not None and plan.duration_s > 0.2
    result = backend.execute(plan)
    assert result.status == MotionStatus.SUCCEEDED, result
    assert np.allclose(driver.q, target, atol=1e-6)
    assert eventually(lambda: np.allclose(backend.current_joints(), target, atol=1e-3))  # via our joint states
    goal = driver.goals[0]
    assert [t.name for t in goal.path_tolerance] == list(driver.names)
    assert {t.position for t in goal.path_tolerance} == {0.2} and {t.position for t in goal.goal_tolerance} == {0.005}
    # a goal ends only once the arm has stopped: while it settles a stop still has a goal to cancel
    assert {t.velocity for t in goal.goal_tolerance} == {0.05}
    assert seconds(goal.goal_time_tolerance) == pytest.approx(1.0)
    assert goal.trajectory.header.stamp.sec == 0 and goal.trajectory.header.stamp.nanosec == 0  # start on receipt
    # a straight line planned from there runs too and ends at the target pose
    line_goal = backend.current_pose()
    line_goal[:3, 3] += [0.0, 0.03, -0.02]
    line = backend.plan_linear(line_goal, speed_scale=1.0)
    assert len(line.positions) >= 3 and backend.execute(line).ok
    assert eventually(lambda: np.allclose(backend.current_pose()[:3, 3], line_goal[:3, 3], atol=1e-3))


def test_stop_mid_goal_cancels_it_and_execute_returns_promptly(cell):
    backend, driver, _ = cell()
    plan = backend.plan_joints(HOME_Q + 1.0, speed_scale=0.5)   # several seconds long
    assert plan.duration_s > 2.0
    stopped_at = {}

    def stop_soon():
        time.sleep(0.5)
        stopped_at["t"] = time.monotonic()
        backend.stop()

    threading.Thread(target=stop_soon, daemon=True).start()
    result = backend.execute(plan)
    returned = time.monotonic() - stopped_at["t"]
    assert result.status == MotionStatus.ABORTED and result.cause == "stopped"
    # promptly: well before the trajectory's remaining seconds (bench/bench_estop.py measures the latency;
    # a loaded CI machine stalls a shared-process executor for a few hundred ms at times)
    assert returned < 0.3, f"execute returned {returned * 1000:.0f} ms after stop()"
    assert driver.canceled.wait(2.0), "the goal in flight was not canceled at the controller"
    q_after = driver.q.copy()
    time.sleep(0.1)
    assert np.allclose(driver.q, q_after) and not np.allclose(q_after, HOME_Q + 1.0, atol=0.1)  # holding mid-way


def test_a_stop_while_execute_checks_readiness_sends_nothing(cell):
    backend, driver, _ = cell()
    check = backend._check_ready

    def check_then_stop(plan):   # stop() lands between the readiness checks and the send
        ready = check(plan)
        backend.stop()
        return ready

    backend._check_ready = check_then_stop
    result = backend.execute(backend.plan_joints(HOME_Q + 0.2, 1.0))
    assert result.status == MotionStatus.ABORTED and result.cause == "stopped"
    time.sleep(0.3)
    assert driver.goals == [] and np.allclose(driver.q, HOME_Q)


def test_after_a_stop_the_arm_is_held_where_it_came_to_rest(cell):
    """The cancel makes the controller hold the cancel-time position; once the joint states show the
    arm at rest, a one-point hold at that position follows (sent without waiting for any answer)."""
    backend, driver, _ = cell()
    plan = backend.plan_joints(HOME_Q + 1.0, speed_scale=0.5)
    threading.Timer(0.5, backend.stop).start()
    assert backend.execute(plan).cause == "stopped"
    assert driver.canceled.wait(2.0)
    assert eventually(lambda: len(driver.goals) == 2, timeout_s=3.0), "no hold after the stop"
    hold = driver.goals[1].trajectory
    assert len(hold.points) == 1 and list(hold.points[0].velocities) == [0.0] * 6
    order = [list(hold.joint_names).index(n) for n in driver.names]
    assert np.allclose(np.array(hold.points[0].positions)[order], driver.q, atol=1e-9)  # where it stopped
    assert not np.allclose(driver.q, HOME_Q + 1.0, atol=0.1)
    time.sleep(0.3)
    assert len(driver.goals) == 2  # one hold per stop, however often stop() is called meanwhile


def test_an_engaged_interlock_sends_nothing_even_when_stop_came_before_execute(cell):
    """SafeMotion checks its e-stop, then calls execute(); an e-stop between the two used to be lost
    (execute() cleared the stop flag and sent the goal). The interlock is checked right before the send."""
    backend, driver, _ = cell()
    engaged = threading.Event()
    backend.set_interlock(engaged.is_set)
    plan = backend.plan_joints(HOME_Q + 0.2, 1.0)
    engaged.set()
    backend.stop()  # the e-stop's stop(), before execute() begins
    result = backend.execute(plan)
    assert result.status == MotionStatus.ABORTED and result.cause == "stopped"
    time.sleep(0.3)
    assert driver.goals == [] and np.allclose(driver.q, HOME_Q)
    engaged.clear()  # reset: the next goal runs
    assert backend.execute(backend.plan_joints(HOME_Q + 0.2, 1.0)).ok


def test_a_rest_hold_never_lands_after_a_newer_goal(cell):
    backend, driver, _ = cell()
    assert backend.execute(backend.plan_joints(HOME_Q + 0.1, 1.0)).ok
    backend.stop()  # just after a goal: the arm may still be settling, a rest hold is armed
    target = HOME_Q + 0.3
    assert backend.execute(backend.plan_joints(target, 1.0)).ok
    time.sleep(0.3)
    last = driver.goals[-1].trajectory
    order = [list(last.joint_names).index(n) for n in driver.names]
    assert np.allclose(np.array(last.points[-1].positions)[order], target) and np.allclose(driver.q, target)


@pytest.mark.parametrize("code, cause, words", [
    (-4, "path_tolerance_violated", "path tolerance"),
    (-5, "goal_tolerance_violated", "goal tolerance"),
    (-2, "invalid_joints", "joint names"),
    (-3, "old_header_timestamp", "in the past"),
    (-1, "invalid_goal", "invalid"),
])
def test_controller_error_codes_come_back_as_readable_aborts(cell, code, cause, words):
    backend, driver, _ = cell()
    driver.error_code, driver.error_string = code, "wrist_2_joint by 0.21 rad"
    result = backend.execute(backend.plan_joints(HOME_Q + 0.1, 1.0))
    assert result.status == MotionStatus.ABORTED and result.cause == cause
    assert words in result.message and "wrist_2_joint by 0.21 rad" in result.message


def test_a_rejected_goal_aborts_with_a_reason(cell):
    backend, driver, _ = cell()
    driver.reject = True
    result = backend.execute(backend.plan_joints(HOME_Q + 0.1, 1.0))
    assert result.status == MotionStatus.ABORTED and result.cause == "rejected" and "rejected" in result.message


@pytest.mark.parametrize("running", [False, None], ids=["reports_false", "never_published"])
def test_program_not_running_is_not_ready_and_sends_nothing(cell, running):
    backend, driver, _ = cell(program_running=running)
    result = backend.execute(backend.plan_joints(HOME_Q + 0.1, 1.0))
    assert result.status == MotionStatus.NOT_READY and "robot program not running" in result.message
    assert result.cause == "program_not_running" and driver.goals == []


def test_half_speed_scaling_stretches_the_wait_instead_of_failing(cell):
    # margins so tight that an unscaled deadline would give up half-way through
    cfg = TrajectoryConfig(goal_time_tolerance_s=0.1, result_margin_s=0.2)
    backend, driver, _ = cell(cfg, scaling_percent=50.0)
    assert backend.speed_scaling == pytest.approx(0.5)
    plan = backend.plan_joints(HOME_Q + 0.5, 1.0)
    t0 = time.monotonic()
    result = backend.execute(plan)
    wall = time.monotonic() - t0
    assert result.status == MotionStatus.SUCCEEDED, result
    assert wall > 1.6 * plan.duration_s  # it really ran at half speed


def test_zero_speed_scaling_pauses_then_gives_up(cell):
    cfg = TrajectoryConfig(pause_timeout_s=0.5)
    backend, driver, _ = cell(cfg, scaling_percent=0.0)
    t0 = time.monotonic()
    result = backend.execute(backend.plan_joints(HOME_Q + 0.3, 1.0))
    assert result.status == MotionStatus.ABORTED and result.cause == "paused" and "paused" in result.message
    assert 0.5 <= time.monotonic() - t0 < 3.0
    assert driver.canceled.wait(2.0) and np.allclose(driver.q, HOME_Q)


def test_the_nodes_other_callbacks_keep_flowing_during_and_after_a_goal(cell):
    """spin_until_future_complete on the node would drop it from its executor: the node's other
    subscriptions must keep receiving while execute() waits and after it returns (bounds are loose:
    the point is 'still flowing', not a rate)."""
    from std_msgs.msg import Int32

    backend, driver, client_node = cell()
    heard = []
    client_node.create_subscription(Int32, "/heartbeat", lambda m: heard.append(m.data), 10)
    pub = driver.node.create_publisher(Int32, "/heartbeat", 10)
    count = iter(range(10**6))
    driver.node.create_timer(0.02, lambda: pub.publish(Int32(data=next(count))))
    assert eventually(lambda: len(heard) > 0, timeout_s=5.0)
    plan = backend.plan_joints(HOME_Q + 0.4, 1.0)
    assert plan.duration_s > 1.0
    done = threading.Event()
    during = []

    def sample():
        while not done.is_set():
            during.append(len(heard))
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    assert backend.execute(plan).ok
    done.set()
    assert during[-1] - during[0] >= 5, "the subscription starved while execute() waited"
    after = len(heard)
    assert eventually(lambda: len(heard) - after >= 5, timeout_s=3.0), \
        "the node stopped receiving after the goal (dropped from its executor?)"


def test_no_joint_states_is_not_ready(ros):
    node = ros.create_node("lonely_client")
    backend = JointTrajectoryBackend(node, TrajectoryConfig(joint_states_topic="/nobody/joint_states"))
    with pytest.raises(PlanningFailed) as info:
        backend.plan_joints(HOME_Q, 1.0)
    assert info.value.result.status == MotionStatus.NOT_READY and info.value.result.cause == "no_joint_states"
    # a dry run plans from where the previous dry-run motion left the arm, not from the joint states
    plan = backend.plan_joints(HOME_Q + 0.2, 1.0, q_start=HOME_Q + 0.1)
    assert np.allclose(plan.q_start, HOME_Q + 0.1) and plan.duration_s > 0
    teardown({"backend": backend}, node)


# -- against the UR driver emulator (nodes/ur_driver_emulator.py: MuJoCo cell, scaled JTC, Robotiq) --

class EmulatedCell:
    """The emulator node and our client node on a private context, one MultiThreadedExecutor; the
    robot as the pick_place node would build it: ArmWithGripper(JointTrajectoryBackend, RobotiqActionGripper)."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.node import Node
        from rclpy.parameter import Parameter

        from spatialbot_ros.motion.arm_and_gripper import ArmWithGripper
        from spatialbot_ros.motion.registry import make_gripper_backend, make_motion_backend
        from spatialbot_ros.nodes.executors import PoolExecutor
        from spatialbot_ros.nodes.ur_driver_emulator import UrDriverEmulatorNode

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.emu = UrDriverEmulatorNode(context=self.ctx, parameter_overrides=[Parameter("camera_enabled", value=False)])
        self.node = Node("pick_place_motion", context=self.ctx)
        sim = self.emu.emulator.cell
        self.arm = make_motion_backend("joint_trajectory", node=self.node, tcp_offset_m=float(sim.tool0_from_tcp[2, 3]),
                                       ur_type="ur5", pause_timeout_s=0.5)
        self.hand = make_gripper_backend("robotiq_action", node=self.node)
        self.robot = ArmWithGripper(self.arm, self.hand)
        self.executor = PoolExecutor(num_threads=6, context=self.ctx)
        self.executor.add_node(self.emu)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        end = time.monotonic() + 15.0
        while time.monotonic() < end and (self.arm._program_running is None or np.isnan(self.hand.state().width_m)):
            time.sleep(0.02)

    def set(self, **params) -> None:
        from rclpy.parameter import Parameter

        assert all(r.successful for r in self.emu.set_parameters([Parameter(k, value=v) for k, v in params.items()]))

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        self.arm.close()
        self.hand.close()
        self.emu.destroy_node()
        self.node.destroy_node()
        self.ctx.try_shutdown()


@pytest.fixture(scope="module")
def emulated():
    pytest.importorskip("mujoco")
    c = EmulatedCell()
    yield c
    c.close()


@pytest.mark.sim
def test_emulator_pose_plan_arrives_and_a_close_on_nothing_reads_zero(emulated):
    robot = emulated.robot
    start = robot.current_pose()
    goal = start.copy()
    goal[:3, 3] += [0.03, -0.04, -0.05]
    plan = robot.plan_pose(goal, 1.0)
    result = robot.execute(plan)
    assert result.status == MotionStatus.SUCCEEDED, result
    assert eventually(lambda: np.linalg.norm(robot.current_pose()[:3, 3] - goal[:3, 3]) < 0.003)  # 0.005 rad goal tol.
    line = robot.current_pose()
    line[:3, 3] += [0.0, 0.05, 0.0]
    assert robot.execute(robot.plan_linear(line, 1.0)).ok
    assert robot.gripper(GripperCommand.CLOSE).ok
    assert eventually(lambda: robot.gripper_state().width_m < 0.003)   # nothing held: grasp_missed territory
    assert robot.gripper(GripperCommand.OPEN).ok
    assert eventually(lambda: robot.gripper_state().width_m > 0.08)


@pytest.mark.sim
def test_emulator_program_stopped_half_speed_pause_and_stop(emulated):
    robot = emulated.robot
    q0 = robot.current_joints()
    emulated.set(program_running=False)
    assert eventually(lambda: emulated.arm._program_running is False)
    r = robot.execute(robot.plan_joints(q0 + 0.05, 1.0))
    assert r.status == MotionStatus.NOT_READY and r.cause == "program_not_running"
    emulated.set(program_running=True)
    assert eventually(lambda: emulated.arm._program_running is True)

    emulated.set(speed_scaling=0.5)
    assert eventually(lambda: emulated.arm.speed_scaling == pytest.approx(0.5))
    plan = robot.plan_joints(q0 + 0.15, 1.0)
    t0 = time.monotonic()
    assert robot.execute(plan).status == MotionStatus.SUCCEEDED
    assert time.monotonic() - t0 > 1.6 * plan.duration_s

    emulated.set(speed_scaling=0.0)
    assert eventually(lambda: emulated.arm.speed_scaling == 0.0)
    r = robot.execute(robot.plan_joints(q0, 1.0))
    assert r.status == MotionStatus.ABORTED and r.cause == "paused"
    emulated.set(speed_scaling=1.0)
    assert eventually(lambda: emulated.arm.speed_scaling == pytest.approx(1.0))

    plan = robot.plan_joints(q0 - 0.4, 0.3)
    threading.Timer(0.5, robot.stop).start()
    t0 = time.monotonic()
    r = robot.execute(plan)
    assert r.status == MotionStatus.ABORTED and r.cause == "stopped" and time.monotonic() - t0 < 0.7
    time.sleep(0.3)
    held = robot.current_joints()
    time.sleep(0.3)
    assert np.allclose(robot.current_joints(), held, atol=2e-3)  # the controller holds where it was stopped


@pytest.mark.sim
def test_emulator_closing_on_the_cup_holds_it_at_its_width(emulated):
    from spatialbot_ros.sim.cell import top_down_tcp_pose

    robot = emulated.robot
    assert robot.gripper(GripperCommand.OPEN).ok
    # the default scene's green cup (r = 30 mm, 90 mm tall) at (0.46, 0.0): above it, then straight down
    assert robot.execute(robot.plan_pose(top_down_tcp_pose((0.46, 0.0, 0.20)), 1.0)).ok
    assert robot.execute(robot.plan_linear(top_down_tcp_pose((0.46, 0.0, 0.05)), 0.5)).ok
    r = robot.gripper(GripperCommand.CLOSE)
    assert r.status == MotionStatus.SUCCEEDED and r.cause == "stalled"   # aborted stalled goal = held
    assert eventually(lambda: 0.05 < robot.gripper_state().width_m < 0.07), robot.gripper_state()  # the cup's 60 mm
    assert robot.gripper_state().closed
    assert robot.gripper(GripperCommand.OPEN).ok
    assert robot.execute(robot.plan_linear(top_down_tcp_pose((0.46, 0.0, 0.20)), 1.0)).ok
