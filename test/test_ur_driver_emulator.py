"""The UR driver emulator. Its controller logic on a manual clock (sim), then the node over real DDS
(ros + sim), driven the way the pick_place node drives a real UR5 cell: rclpy action clients for
FollowJointTrajectory and the Robotiq gripper, the driver's topics, the realsense-ros camera topics.
One emulator node (default scene) serves all DDS tests.

The DDS tests need control_msgs (scripts/build_interfaces.sh, then source scripts/env.sh)."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
from ros_domain import use_ros_domain

from spatialbot_ros.core.robotiq import KNUCKLE_CLOSED_RAD, KNUCKLE_JOINT
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
from spatialbot_ros.motion.ros_futures import wait_future
from spatialbot_ros.sim.ur_driver_emulator import (
    EmulatorConfig,
    GoalState,
    JointTolerance,
    JtcCode,
    SampledTrajectory,
    Tolerances,
    TrajectoryGoal,
    TrajectoryPoint,
    UrDriverEmulator,
    resolve_tolerances,
    validate_goal,
)

pytestmark = pytest.mark.sim
ros_test = pytest.mark.ros

TRAJ_ACTION = "/scaled_joint_trajectory_controller/follow_joint_trajectory"
GRIPPER_ACTION = "/robotiq_gripper_controller/gripper_cmd"



# -- controller logic on a manual clock -------------------------------------------------------
@pytest.fixture(scope="module")
def sim_cell():
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    scene = load_scene(default_scene_path())
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    yield cell
    cell.close()


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _emulator(sim_cell, **config):
    sim_cell.reset()
    clock = Clock()
    return UrDriverEmulator(sim_cell, EmulatorConfig(**config), clock=clock), clock


def _run(emu, clock, until, limit_s=10.0, tick_s=0.01):
    end = clock.t + limit_s
    while not until() and clock.t < end:
        clock.t += tick_s
        emu.advance()
    return until()


def _goal(q_end, t=1.0, **kw) -> TrajectoryGoal:
    return TrajectoryGoal(UR_JOINT_NAMES, (TrajectoryPoint(t, tuple(float(v) for v in q_end)),), **kw)


def test_validation_names_the_jtc_error_codes():
    q = (0.0,) * 6
    ok = _goal(q)
    assert validate_goal(ok, UR_JOINT_NAMES, 0.0)[0] is JtcCode.SUCCESSFUL
    wrong = TrajectoryGoal((*UR_JOINT_NAMES[:5], "wrist_9_joint"), ok.points)
    assert validate_goal(wrong, UR_JOINT_NAMES, 0.0)[0] is JtcCode.INVALID_JOINTS
    assert validate_goal(TrajectoryGoal(UR_JOINT_NAMES[:5], ok.points), UR_JOINT_NAMES, 0.0)[0] is JtcCode.INVALID_JOINTS
    not_increasing = TrajectoryGoal(UR_JOINT_NAMES, (TrajectoryPoint(1.0, q), TrajectoryPoint(1.0, q)))
    assert validate_goal(not_increasing, UR_JOINT_NAMES, 0.0)[0] is JtcCode.INVALID_GOAL
    moving_at_end = TrajectoryGoal(UR_JOINT_NAMES, (TrajectoryPoint(1.0, q, velocities=(0.1,) * 6),))
    assert validate_goal(moving_at_end, UR_JOINT_NAMES, 0.0)[0] is JtcCode.INVALID_GOAL
    in_the_past = _goal(q, start_time_s=10.0)
    assert validate_goal(in_the_past, UR_JOINT_NAMES, 100.0)[0] is JtcCode.INVALID_GOAL
    assert validate_goal(TrajectoryGoal(UR_JOINT_NAMES, ()), UR_JOINT_NAMES, 0.0)[0] is JtcCode.INVALID_GOAL


def test_goal_tolerances_resolve_over_the_defaults_like_jtc():
    d = Tolerances.defaults()  # ur_controllers.yaml: trajectory 0.2, goal 0.1, stopped velocity 0.2
    goal = _goal((0.0,) * 6, path_tolerance=(JointTolerance("elbow_joint", position=0.05),),
                 goal_tolerance=(JointTolerance("wrist_1_joint", position=-1.0),), goal_time_tolerance_s=0.5)
    t = resolve_tolerances(d, goal, UR_JOINT_NAMES)
    assert t.path[2, 0] == 0.05 and t.path[0, 0] == 0.2  # given / default (0 = default)
    assert t.goal[3, 0] == 0.0 and t.goal[0, 0] == 0.1  # -1 erases the check
    assert t.goal_time_s == 0.5 and t.goal[0, 1] == 0.2
    illegal = _goal((0.0,) * 6, path_tolerance=(JointTolerance("elbow_joint", position=-3.0),))
    assert resolve_tolerances(d, illegal, UR_JOINT_NAMES) is d  # JTC falls back to the defaults


def test_sampling_is_linear_cubic_or_quintic_as_the_points_say():
    names = ("a",)
    start_q, start_v = np.array([0.0]), np.array([0.0])
    linear = SampledTrajectory(TrajectoryGoal(names, (TrajectoryPoint(1.0, (1.0,)), TrajectoryPoint(2.0, (3.0,)))), names)
    linear.start(100.0, start_q, start_v)
    assert linear.sample(100.5)[0][0] == pytest.approx(0.5) and linear.sample(101.5)[0][0] == pytest.approx(2.0)
    q, v, _, before_last = linear.sample(105.0)
    assert q[0] == 3.0 and v[0] == 0.0 and not before_last  # holds the last point
    cubic = SampledTrajectory(TrajectoryGoal(names, (TrajectoryPoint(1.0, (0.0,), velocities=(0.0,)),
                                                     TrajectoryPoint(2.0, (1.0,), velocities=(0.0,)))), names)
    cubic.start(0.0, start_q, start_v)
    assert cubic.sample(1.5)[0][0] == pytest.approx(0.5) and cubic.sample(1.25)[0][0] == pytest.approx(0.15625)
    assert cubic.sample(1.5)[1][0] == pytest.approx(1.5)  # Hermite peak speed 1.5 x average
    quintic = SampledTrajectory(TrajectoryGoal(names, (
        TrajectoryPoint(1.0, (0.0,), velocities=(0.0,), accelerations=(0.0,)),
        TrajectoryPoint(2.0, (1.0,), velocities=(0.0,), accelerations=(0.0,)))), names)
    quintic.start(0.0, start_q, start_v)
    assert quintic.sample(1.25)[0][0] == pytest.approx(10 * 0.25**3 - 15 * 0.25**4 + 6 * 0.25**5)


def test_scaled_time_tolerances_and_cancel_on_the_cell(sim_cell):
    emu, clock = _emulator(sim_cell)
    q0 = sim_cell.joint_positions()
    durations = {}
    for scale, sign in ((1.0, 1.0), (0.5, -1.0)):
        emu.speed_scaling = scale
        ex = emu.start_trajectory(_goal(sim_cell.joint_positions() + sign * 0.3))
        t0 = clock.t
        assert _run(emu, clock, ex.done.is_set) and ex.code is JtcCode.SUCCESSFUL, ex.message
        durations[scale] = clock.t - t0
    assert durations[0.5] / durations[1.0] == pytest.approx(2.0, rel=0.1)
    assert np.max(np.abs(sim_cell.joint_positions() - q0)) < 0.02

    emu.speed_scaling = 0.0  # the pendant slider at 0 (or a pause): trajectory time stands still
    ex = emu.start_trajectory(_goal(sim_cell.joint_positions() + 0.2, t=0.5))
    q_paused = sim_cell.joint_positions()
    assert not _run(emu, clock, ex.done.is_set, limit_s=1.0)
    assert np.max(np.abs(sim_cell.joint_positions() - q_paused)) < 1e-3
    emu.speed_scaling = 1.0  # resumed: it finishes
    assert _run(emu, clock, ex.done.is_set) and ex.code is JtcCode.SUCCESSFUL
    tight_path = _goal(q0 + 0.5, t=0.3, path_tolerance=tuple(JointTolerance(j, position=0.01) for j in UR_JOINT_NAMES))
    ex = emu.start_trajectory(tight_path)
    assert _run(emu, clock, ex.done.is_set) and ex.code is JtcCode.PATH_TOLERANCE_VIOLATED
    tight_goal = _goal(sim_cell.joint_positions() - 0.2, t=0.2, goal_time_tolerance_s=0.05,
                       goal_tolerance=tuple(JointTolerance(j, position=1e-6) for j in UR_JOINT_NAMES))
    ex = emu.start_trajectory(tight_goal)
    assert _run(emu, clock, ex.done.is_set) and ex.code is JtcCode.GOAL_TOLERANCE_VIOLATED

    ex = emu.start_trajectory(_goal(sim_cell.joint_positions() + 0.6, t=2.0))
    _run(emu, clock, lambda: clock.t > 1e9, limit_s=1.0)
    q_cancel = sim_cell.joint_positions()
    emu.cancel_trajectory(ex)
    assert ex.state is GoalState.CANCELED
    travel = []
    for _ in range(50):
        clock.t += 0.01
        emu.advance()
        travel.append(np.max(np.abs(sim_cell.joint_positions() - q_cancel)))
    # at 0.3 rad/s: stopped within two 10 ms physics ticks, then back at the held position
    assert max(travel) < 0.3 * 0.02, max(travel)
    assert travel[-1] < 1e-3, travel[-1]

    ex = emu.start_trajectory(_goal(sim_cell.joint_positions() + 0.4, t=1.0))
    _run(emu, clock, lambda: clock.t > 1e9, limit_s=0.3)
    emu.set_program_running(False)
    assert ex.state is GoalState.ABORTED and ex.code is JtcCode.INVALID_GOAL
    assert emu.admit_trajectory(_goal(q0)) != ""  # controller inactive: goals rejected
    emu.set_program_running(True)
    assert emu.admit_trajectory(_goal(q0)) == ""


# -- the node over DDS ------------------------------------------------------------------------
class Cell:
    """The emulator node plus a client node on one private context, spun in the background."""

    def __init__(self) -> None:
        import rclpy
        from control_msgs.action import FollowJointTrajectory, GripperCommand
        from rclpy.action import ActionClient
        from rclpy.node import Node
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image, JointState
        from std_msgs.msg import Bool, Float64, String

        from spatialbot_ros.nodes.executors import PoolExecutor
        from spatialbot_ros.nodes.ur_driver_emulator import UrDriverEmulatorNode

        use_ros_domain()
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.emu = UrDriverEmulatorNode(context=self.ctx)
        self.client = Node("emulator_test_client", context=self.ctx)
        self.lock = threading.Lock()
        self.joints: dict[str, float] = {}
        self.scaling: list[float] = []
        self.program: list[bool] = []
        self.frames: dict[str, list[tuple[int, object]]] = {"color": [], "depth": [], "info": []}
        self.truth: list[str] = []

        def on_joints(msg: JointState) -> None:
            with self.lock:
                self.joints = dict(zip(msg.name, msg.position, strict=True))

        def keep(kind: str):
            def cb(msg: object) -> None:
                s = msg.header.stamp  # type: ignore[attr-defined]
                with self.lock:
                    self.frames[kind].append((s.sec * 1_000_000_000 + s.nanosec, msg))
            return cb

        c = self.client
        c.create_subscription(JointState, "/joint_states", on_joints, 10)
        c.create_subscription(Float64, "/speed_scaling_state_broadcaster/speed_scaling",
                              lambda m: self.scaling.append(m.data), 10)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        c.create_subscription(Bool, "/io_and_status_controller/robot_program_running",
                              lambda m: self.program.append(m.data), latched)
        c.create_subscription(String, "/sim/ground_truth", lambda m: self.truth.append(m.data), 10)
        c.create_subscription(Image, "/camera/camera/color/image_raw", keep("color"), qos_profile_sensor_data)
        c.create_subscription(Image, "/camera/camera/aligned_depth_to_color/image_raw", keep("depth"),
                              qos_profile_sensor_data)
        c.create_subscription(CameraInfo, "/camera/camera/color/camera_info", keep("info"), qos_profile_sensor_data)
        self.traj = ActionClient(c, FollowJointTrajectory, TRAJ_ACTION)
        self.gripper = ActionClient(c, GripperCommand, GRIPPER_ACTION)
        self.executor = PoolExecutor(num_threads=6, context=self.ctx)
        self.executor.add_node(self.emu)
        self.executor.add_node(c)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        assert self.traj.wait_for_server(timeout_sec=10) and self.gripper.wait_for_server(timeout_sec=10)
        assert self.wait(lambda: len(self.joints) == 7, 5.0), "no joint states"

    def close(self) -> None:
        self.executor.shutdown()
        self.emu.destroy_node()
        self.client.destroy_node()
        self.ctx.try_shutdown()

    @staticmethod
    def wait(cond, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not cond():
            time.sleep(0.01)
        return bool(cond())

    def arm(self) -> np.ndarray:
        with self.lock:
            return np.array([self.joints[j] for j in UR_JOINT_NAMES])

    def knuckle(self) -> float:
        with self.lock:
            return self.joints[KNUCKLE_JOINT]

    def set(self, **params: object) -> None:
        from rclpy.parameter import Parameter

        results = self.emu.set_parameters([Parameter(k, value=v) for k, v in params.items()])
        assert all(r.successful for r in results), results

    def send(self, goal: object, client: object = None):
        """(goal handle, accepted) once the server answered."""
        handle = wait_future((client or self.traj).send_goal_async(goal), 10.0)
        return handle, bool(handle.accepted)

    def result(self, handle: object, timeout: float = 15.0):
        return wait_future(handle.get_result_async(), timeout)


def trajectory(points: list[tuple[float, np.ndarray]], names=UR_JOINT_NAMES):
    from builtin_interfaces.msg import Duration
    from control_msgs.action import FollowJointTrajectory
    from trajectory_msgs.msg import JointTrajectoryPoint

    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = list(names)
    for t, q in points:
        sec = int(t)
        goal.trajectory.points.append(JointTrajectoryPoint(
            positions=[float(v) for v in q], time_from_start=Duration(sec=sec, nanosec=int(round((t - sec) * 1e9)))))
    return goal


def gripper_goal(position: float, max_effort: float = 40.0):
    from control_msgs.action import GripperCommand

    goal = GripperCommand.Goal()
    goal.command.position, goal.command.max_effort = position, max_effort
    return goal


@pytest.fixture(scope="module")
def cell():
    pytest.importorskip("control_msgs", reason="control_msgs not built: scripts/build_interfaces.sh")
    c = Cell()
    yield c
    c.close()


def _timed_move(cell: Cell, delta: float, duration_s: float):
    q0 = cell.arm()
    target = q0 + delta
    t0 = time.monotonic()
    handle, accepted = cell.send(trajectory([(duration_s, target)]))
    assert accepted
    res = cell.result(handle)
    return res, time.monotonic() - t0, target


@ros_test
def test_trajectory_succeeds_and_the_joints_end_at_the_goal(cell):
    from control_msgs.action import FollowJointTrajectory

    feedback: list[object] = []
    q0 = cell.arm()
    target = q0 + np.array([0.15, -0.1, 0.1, 0.05, -0.05, 0.2])
    handle = wait_future(cell.traj.send_goal_async(trajectory([(0.5, (q0 + target) / 2), (1.0, target)]),
                                                   feedback_callback=feedback.append), 10.0)
    assert handle.accepted
    res = cell.result(handle)
    assert res.result.error_code == FollowJointTrajectory.Result.SUCCESSFUL, res.result.error_string
    assert cell.wait(lambda: np.max(np.abs(cell.arm() - target)) < 0.02, 2.0), cell.arm() - target
    fb = feedback[-1].feedback
    assert list(fb.joint_names) == list(UR_JOINT_NAMES)
    assert len(fb.desired.positions) == 6 and len(fb.actual.positions) == 6
    err = np.array(fb.desired.positions) - np.array(fb.actual.positions)
    assert np.allclose(fb.error.positions, err)


@ros_test
def test_half_speed_scaling_takes_twice_as_long_and_succeeds(cell):
    res_full, t_full, _ = _timed_move(cell, 0.2, 1.0)
    cell.set(speed_scaling=0.5)
    try:
        assert cell.wait(lambda: cell.scaling and cell.scaling[-1] == pytest.approx(50.0), 2.0)  # percent
        res_half, t_half, target = _timed_move(cell, -0.2, 1.0)
    finally:
        cell.set(speed_scaling=1.0)
    assert res_full.result.error_code == 0 and res_half.result.error_code == 0
    assert 1.7 < t_half / t_full < 3.0, (t_full, t_half)  # about twice; the upper bound allows a loaded machine
    assert np.max(np.abs(cell.arm() - target)) < 0.02


@ros_test
def test_program_not_running_rejects_goals_and_aborts_the_active_one(cell):
    from action_msgs.msg import GoalStatus
    from control_msgs.action import FollowJointTrajectory

    q0 = cell.arm()
    handle, accepted = cell.send(trajectory([(2.0, q0 + 0.4)]))
    assert accepted
    time.sleep(0.5)
    cell.set(program_running=False)
    try:
        res = cell.result(handle)
        assert res.status == GoalStatus.STATUS_ABORTED
        assert res.result.error_code == FollowJointTrajectory.Result.INVALID_GOAL
        q_stop = cell.arm()
        assert cell.wait(lambda: cell.program and cell.program[-1] is False, 2.0)
        _, accepted = cell.send(trajectory([(1.0, q_stop + 0.3)]))
        assert not accepted
        time.sleep(0.5)
        assert np.max(np.abs(cell.arm() - q_stop)) < 0.01  # nothing moved
    finally:
        cell.set(program_running=True)
    assert cell.wait(lambda: cell.program[-1] is True, 2.0)


@ros_test
def test_cancel_holds_the_arm_where_it_is(cell):
    from action_msgs.msg import GoalStatus

    q0 = cell.arm()
    handle, accepted = cell.send(trajectory([(2.0, q0 + 0.6)]))
    assert accepted
    end = time.monotonic() + 5.0  # mid-motion: well under way (a loaded machine may start it late)
    while time.monotonic() < end and np.max(np.abs(cell.arm() - q0)) <= 0.12:
        time.sleep(0.02)
    q_sent = cell.arm()  # the last joint state before the cancel goes out
    wait_future(handle.cancel_goal_async(), 5.0)
    res = cell.result(handle)
    assert res.status == GoalStatus.STATUS_CANCELED
    time.sleep(0.3)
    q_held = cell.arm()
    time.sleep(0.3)
    assert np.max(np.abs(q_sent - q0)) > 0.1  # it was moving (0.3 rad/s)
    assert np.max(np.abs(cell.arm() - q_held)) < 1e-3  # and now it stands still
    # travel from the last state the client saw to the hold: DDS + executor latency at 0.3 rad/s
    # (measured 0-0.02 rad here; the controller itself holds from the next physics step, see
    # test_scaled_time_tolerances_and_cancel_on_the_cell)
    assert np.max(np.abs(q_held - q_sent)) < 0.05
    assert np.max(np.abs(q_held - q0)) < 0.5  # stopped far short of the goal (0.6)


@ros_test
def test_wrong_joint_names_are_rejected_or_end_invalid_joints(cell):
    from control_msgs.action import FollowJointTrajectory

    q0 = cell.arm()
    names = ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint", "wrist_9_joint"]
    _, accepted = cell.send(trajectory([(1.0, q0)], names=names))
    assert not accepted  # what ros2_controllers' JTC does with an invalid trajectory
    cell.set(invalid_goal_response="abort")
    try:
        handle, accepted = cell.send(trajectory([(1.0, q0)], names=names))
        assert accepted
        res = cell.result(handle)
        assert res.result.error_code == FollowJointTrajectory.Result.INVALID_JOINTS
        handle, _ = cell.send(trajectory([(1.0, q0), (1.0, q0)]))  # times not increasing
        assert cell.result(handle).result.error_code == FollowJointTrajectory.Result.INVALID_GOAL
    finally:
        cell.set(invalid_goal_response="reject")
    assert np.max(np.abs(cell.arm() - q0)) < 0.01


@ros_test
def test_camera_topics_are_realsense_shaped_and_camera_enabled_stops_them(cell):
    assert cell.wait(lambda: min(len(v) for v in cell.frames.values()) >= 3, 10.0), {
        k: len(v) for k, v in cell.frames.items()}
    with cell.lock:
        color, depth, info = (dict(cell.frames[k]) for k in ("color", "depth", "info"))
    common = set(color) & set(depth) & set(info)
    assert len(common) >= 2  # one stamp per frameset: colour, depth and info share it
    stamp = max(common)
    c, d, i = color[stamp], depth[stamp], info[stamp]
    assert (c.encoding, d.encoding) == ("rgb8", "16UC1")
    assert c.header.frame_id == d.header.frame_id == i.header.frame_id == "camera_color_optical_frame"
    assert (c.width, c.height, i.width, i.height) == (640, 480, 640, 480)
    depth_mm = np.frombuffer(bytes(d.data), dtype=np.uint16)
    assert 300 < np.median(depth_mm[depth_mm > 0]) < 2000  # the table, in millimetres
    truth = json.loads(cell.truth[-1])
    assert set(truth) == {"red_cup", "green_cup", "blue_cup", "plate"}  # the default scene
    assert truth["green_cup"][:2] == pytest.approx([0.46, 0.0], abs=0.01)
    cell.set(camera_enabled=False)
    try:
        time.sleep(0.4)  # a frame being rendered may still arrive
        with cell.lock:
            n = len(cell.frames["color"])
        time.sleep(1.0)
        with cell.lock:
            assert len(cell.frames["color"]) == n
    finally:
        cell.set(camera_enabled=True)
    assert cell.wait(lambda: len(cell.frames["color"]) > n, 5.0)


@ros_test
def test_gripper_closes_on_nothing_and_stalls_on_the_cup(cell):
    from action_msgs.msg import GoalStatus

    from spatialbot_ros.core.ur_kinematics import ik
    from spatialbot_ros.sim.cell import top_down_tcp_pose

    handle, accepted = cell.send(gripper_goal(KNUCKLE_CLOSED_RAD), cell.gripper)
    res = cell.result(handle)
    assert accepted and res.status == GoalStatus.STATUS_SUCCEEDED
    assert res.result.reached_goal and not res.result.stalled
    assert res.result.position == pytest.approx(KNUCKLE_CLOSED_RAD, abs=0.02)
    assert cell.wait(lambda: cell.knuckle() > KNUCKLE_CLOSED_RAD - 0.02, 2.0)
    handle, _ = cell.send(gripper_goal(0.0), cell.gripper)
    assert cell.result(handle).result.reached_goal and cell.knuckle() < 0.02

    # the default scene's green cup (r = 30 mm, 90 mm tall) at (0.46, 0.0): above it, then down
    sim = cell.emu.emulator.cell
    q_now = cell.arm()

    def joints_for(z: float) -> np.ndarray:
        tool0 = top_down_tcp_pose((0.46, 0.0, z)) @ np.linalg.inv(sim.tool0_from_tcp)
        sols = ik(tool0, sim.dh)
        return min(sols, key=lambda q: float(np.max(np.abs(q - q_now))))

    above, grasp = joints_for(0.20), joints_for(0.05)
    handle, accepted = cell.send(trajectory([(2.0, above), (3.0, grasp)]))
    assert accepted and cell.result(handle).result.error_code == 0
    handle, _ = cell.send(gripper_goal(KNUCKLE_CLOSED_RAD), cell.gripper)
    res = cell.result(handle)
    assert res.result.stalled and not res.result.reached_goal
    assert res.status == GoalStatus.STATUS_ABORTED  # gripper_action_controller without allow_stalling
    # stopped at the cup's 60 mm: knuckle about 0.23 rad, far short of closed
    assert 0.1 < res.result.position < KNUCKLE_CLOSED_RAD - 0.2, res.result.position
    handle, _ = cell.send(gripper_goal(0.0), cell.gripper)
    cell.result(handle)


@ros_test
def test_the_config_file_sets_every_declared_parameter_to_its_default():
    import yaml

    pytest.importorskip("control_msgs", reason="control_msgs not built: scripts/build_interfaces.sh")
    from pathlib import Path

    from spatialbot_ros.nodes.ur_driver_emulator import PARAMS

    path = Path(__file__).resolve().parents[1] / "config" / "ur_driver_emulator.yaml"
    params = yaml.safe_load(path.read_text())["ur_driver_emulator"]["ros__parameters"]
    assert params == {name: default for name, (default, _) in PARAMS.items()}


@ros_test
def test_parallel_gripper_command_as_parallel_gripper_action_controller_answers_it():
    pytest.importorskip("control_msgs", reason="control_msgs not built: scripts/build_interfaces.sh")
    import rclpy
    from action_msgs.msg import GoalStatus
    from control_msgs.action import ParallelGripperCommand
    from rclpy.action import ActionClient
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from spatialbot_ros.nodes.executors import PoolExecutor
    from spatialbot_ros.nodes.ur_driver_emulator import UrDriverEmulatorNode

    ctx = rclpy.Context()  # a domain of its own: the module's emulator keeps running beside it
    rclpy.init(context=ctx, domain_id=(41 + os.getpid() % 150) % 230)
    emu = UrDriverEmulatorNode(context=ctx, parameter_overrides=[
        Parameter("gripper_action_type", value="parallel_gripper_command"), Parameter("camera_enabled", value=False)])
    client_node = Node("parallel_gripper_client", context=ctx)
    client = ActionClient(client_node, ParallelGripperCommand, GRIPPER_ACTION)
    executor = PoolExecutor(num_threads=4, context=ctx)
    executor.add_node(emu)
    executor.add_node(client_node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        assert client.wait_for_server(timeout_sec=10)
        goal = ParallelGripperCommand.Goal()
        goal.command.name, goal.command.position = [KNUCKLE_JOINT], [0.4]
        handle = wait_future(client.send_goal_async(goal), 10.0)
        res = wait_future(handle.get_result_async(), 10.0)
        assert res.status == GoalStatus.STATUS_SUCCEEDED and res.result.reached_goal and not res.result.stalled
        assert list(res.result.state.name) == [KNUCKLE_JOINT]
        assert res.result.state.position[0] == pytest.approx(0.4, abs=0.01)
        two = ParallelGripperCommand.Goal()
        two.command.position = [0.1, 0.2]  # the controller expects exactly one position
        assert not wait_future(client.send_goal_async(two), 10.0).accepted
    finally:
        executor.shutdown()
        emu.destroy_node()
        client_node.destroy_node()
        ctx.try_shutdown()
