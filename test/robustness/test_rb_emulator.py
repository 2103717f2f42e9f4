"""The UR driver emulator node as a red-team surface: FollowJointTrajectory goals (NaN, huge, empty,
unsorted times, duplicate joints, ...), Robotiq gripper goals (NaN / huge positions and efforts) and
parameter sets of the wrong type or range. Each probe asserts a clean refusal (goal rejected, or
accepted and ended with an error code), that the arm holds (no motion where none is due), that the
physics stays finite and the joint states keep flowing, and that a good goal succeeds afterwards."""

from __future__ import annotations

import math
import os
import threading
import time

import numpy as np
import pytest

pytestmark = [pytest.mark.ros, pytest.mark.sim]

nan, inf = float("nan"), float("inf")


def eventually(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


class EmulatorGraph:
    """The emulator and an operator node on a private context; every name under a private prefix
    (other test processes share the machine and may share the DDS domain)."""

    def __init__(self) -> None:
        import rclpy
        from control_msgs.action import FollowJointTrajectory, GripperCommand
        from rclpy.action import ActionClient
        from rclpy.parameter import Parameter
        from sensor_msgs.msg import JointState

        from spatialbot_ros.nodes.executors import PoolExecutor
        from spatialbot_ros.nodes.ur_driver_emulator import PARAMS, UrDriverEmulatorNode

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, domain_id=201 + (os.getpid() + 13) % 31)
        self.ns = f"/rbemu{os.getpid()}"
        names = {k: self.ns + d for k, (d, _) in PARAMS.items() if isinstance(d, str) and d.startswith("/")}
        self.emu = UrDriverEmulatorNode(context=self.ctx, namespace=self.ns, parameter_overrides=[
            *(Parameter(k, value=v) for k, v in names.items()), Parameter("camera_enabled", value=False),
            Parameter("controller_name", value=f"rbemu{os.getpid()}/scaled_joint_trajectory_controller")])
        self.op = rclpy.create_node("red_team_emulator", context=self.ctx)
        self.states: list = []
        self._lock = threading.Lock()
        self.op.create_subscription(JointState, names["joint_states_topic"], self._on_state, 10)
        self.traj = ActionClient(self.op, FollowJointTrajectory,
                                 f"/rbemu{os.getpid()}/scaled_joint_trajectory_controller/follow_joint_trajectory")
        self.grip = ActionClient(self.op, GripperCommand, names["gripper_action"])
        self.ex = PoolExecutor(num_threads=6, context=self.ctx)
        self.ex.add_node(self.emu)
        self.ex.add_node(self.op)
        self.thread = threading.Thread(target=self.ex.spin, daemon=True)
        self.thread.start()
        assert self.traj.wait_for_server(timeout_sec=10) and self.grip.wait_for_server(timeout_sec=10)
        assert eventually(lambda: len(self.states) > 5, 10.0), "no joint states"

    def _on_state(self, msg) -> None:
        with self._lock:
            self.states.append(msg)

    def q(self) -> np.ndarray:
        return np.array(self.emu.emulator.cell.joint_positions(), dtype=float)

    def send(self, client, goal, timeout: float = 10.0):
        """(accepted, result or None): the goal's fate within timeout (asserted: no hang)."""
        fut = client.send_goal_async(goal)
        assert eventually(fut.done, 5.0), "goal neither accepted nor rejected (hang)"
        handle = fut.result()
        if not handle.accepted:
            return False, None
        res = handle.get_result_async()
        assert eventually(res.done, timeout), "accepted goal never ended (hang)"
        return True, res.result()

    def still_serving(self) -> None:
        """Joint states flow, the physics is finite and a good trajectory (hold here, 0.3 s) succeeds."""
        n = len(self.states)
        assert eventually(lambda: len(self.states) > n + 5, 5.0), "joint states stopped"
        assert np.isfinite(self.emu.emulator.cell.data.qpos).all() and np.isfinite(self.emu.emulator.cell.data.ctrl).all()
        assert all(math.isfinite(v) for v in self.states[-1].position)
        accepted, res = self.send(self.traj, trajectory(points=(tuple(self.q()),), times=(0.3,)))
        assert accepted and res.result.error_code == 0, res

    def close(self) -> None:
        self.ex.shutdown()
        self.thread.join(timeout=5.0)
        self.traj.destroy()
        self.grip.destroy()
        self.emu.destroy_node()
        self.op.destroy_node()
        self.ctx.try_shutdown()


@pytest.fixture(scope="module")
def emu():
    pytest.importorskip("mujoco")
    pytest.importorskip("control_msgs")
    g = EmulatorGraph()
    yield g
    g.close()


def trajectory(names=None, points=((),), times=(1.0,), velocities=None, effort=None, stamp=None, tolerance=None,
               goal_time=None):
    from builtin_interfaces.msg import Duration
    from control_msgs.action import FollowJointTrajectory
    from control_msgs.msg import JointTolerance
    from trajectory_msgs.msg import JointTrajectoryPoint

    from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = list(UR_JOINT_NAMES) if names is None else list(names)
    for i, (p, s) in enumerate(zip(points, times, strict=True)):
        sec = int(math.floor(s))
        pt = JointTrajectoryPoint(positions=[float(v) for v in p],
                                  time_from_start=Duration(sec=sec, nanosec=int(round((s - sec) * 1e9))))
        if velocities is not None:
            pt.velocities = [float(v) for v in velocities[i]]
        if effort is not None:
            pt.effort = [float(v) for v in effort]
        goal.trajectory.points.append(pt)
    if stamp is not None:
        goal.trajectory.header.stamp.sec = stamp
    if tolerance is not None:
        goal.path_tolerance = [JointTolerance(name=n, position=tolerance) for n in UR_JOINT_NAMES]
    if goal_time is not None:
        goal.goal_time_tolerance = Duration(sec=goal_time)
    return goal


def _bad_trajectories(q):
    q = tuple(float(v) for v in q)
    near = tuple(v + 0.02 for v in q)
    return {
        "nan_position": dict(points=((nan, *q[1:]),)),
        "inf_position": dict(points=((inf, *q[1:]),)),
        "huge_position": dict(points=((1e308, *q[1:]),)),
        "beyond_limits": dict(points=((100.0, *q[1:]),)),
        "empty": dict(points=(), times=()),
        "no_names": dict(names=[], points=(q,)),
        "duplicate_joints": dict(names=["shoulder_pan_joint"] * 6, points=(q,)),
        "unknown_joint": dict(names=["shoulder_pan_joint"] * 5 + ["tail_joint"], points=(q,)),
        "short_positions": dict(points=(q[:2],)),
        "unsorted_times": dict(points=(near, q), times=(2.0, 1.0)),
        "equal_times": dict(points=(near, q), times=(1.0, 1.0)),
        "nan_velocity": dict(points=(near, q), times=(0.5, 1.0), velocities=((nan,) * 6, (0.0,) * 6)),
        "last_velocity_nonzero": dict(points=(near,), times=(1.0,), velocities=((1.0,) * 6,)),
        "effort": dict(points=(near,), effort=(1.0,) * 6),
        "ends_in_the_past": dict(points=(near,), stamp=1),
        "huge_count": dict(points=(near,) * 20_000, times=tuple(0.0001 * (i + 1) for i in range(20_000))),
        "nan_tolerance": dict(points=(q,), times=(0.3,), tolerance=nan),
        "negative_goal_time": dict(points=(q,), times=(0.3,), goal_time=-5),
    }


TRAJ_CASES = ["nan_position", "inf_position", "huge_position", "beyond_limits", "empty", "no_names", "duplicate_joints",
              "unknown_joint", "short_positions", "unsorted_times", "equal_times", "nan_velocity",
              "last_velocity_nonzero", "effort", "ends_in_the_past", "huge_count", "nan_tolerance", "negative_goal_time"]
FAST_TRAJ = {"nan_position", "huge_position", "empty", "unsorted_times", "duplicate_joints"}
HOLDS_HERE = {"nan_tolerance", "negative_goal_time"}  # valid goals to the current position: succeed, no motion
VALID_RUN = {"huge_count"}  # 20,000 points in 2 s to 0.02 rad away: valid for JTC, runs and ends


@pytest.mark.surface("node_ur_driver_emulator")
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in FAST_TRAJ else pytest.mark.robustness_full)
                                  for n in TRAJ_CASES])
def test_hostile_trajectory_goal_is_refused_and_the_arm_holds(emu, name):
    before = emu.q()
    accepted, res = emu.send(emu.traj, trajectory(**_bad_trajectories(before)[name]))
    if name in HOLDS_HERE | VALID_RUN:
        assert accepted and res.result.error_code == 0, res
    elif name in ("huge_position", "beyond_limits"):
        # finite, so JTC accepts it (no joint limits in validate_trajectory_msg): it must end, not run away
        assert not accepted or res.result.error_code != 0, res
    else:
        assert not accepted, "an invalid trajectory was accepted"
    time.sleep(0.1)
    after = emu.q()
    assert np.isfinite(after).all()
    allowed = 0.25 if name in ("huge_position", "beyond_limits") else 0.03 if name in VALID_RUN else 5e-3
    assert np.abs(after - before).max() < allowed, \
        "the arm moved on a goal it refused"
    emu.still_serving()


@pytest.mark.robustness_full
@pytest.mark.surface("node_ur_driver_emulator")
def test_invalid_goals_in_abort_mode_end_with_the_error_code(emu, probes):
    from rclpy.parameter import Parameter

    assert emu.emu.set_parameters([Parameter("invalid_goal_response", value="abort")])[0].successful
    try:
        before = emu.q()
        for name in ("nan_position", "empty", "duplicate_joints", "unsorted_times"):
            accepted, res = emu.send(emu.traj, trajectory(**_bad_trajectories(before)[name]))
            assert accepted and res.result.error_code in (-1, -2), (name, res)
        assert np.abs(emu.q() - before).max() < 5e-3
    finally:
        assert emu.emu.set_parameters([Parameter("invalid_goal_response", value="reject")])[0].successful
    emu.still_serving()
    probes(4)


def _gripper_goal(position, effort):
    from control_msgs.action import GripperCommand

    goal = GripperCommand.Goal()
    goal.command.position, goal.command.max_effort = float(position), float(effort)
    return goal


GRIPPER_CASES = {
    "nan_position": (nan, 10.0),
    "inf_position": (inf, 10.0),
    "neg_inf_position": (-inf, 10.0),
    "huge_position": (1e308, 10.0),
    "huge_negative_position": (-1e308, 10.0),
    "nan_effort": (0.0, nan),
    "inf_effort": (0.0, inf),
    "negative_effort": (0.0, -1e308),
}
GRIPPER_FINITE = {"huge_position", "huge_negative_position", "nan_effort", "inf_effort", "negative_effort"}


@pytest.mark.surface("node_ur_driver_emulator")
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in ("nan_position", "huge_position", "nan_effort")
                                               else pytest.mark.robustness_full) for n in GRIPPER_CASES])
def test_hostile_gripper_goal_is_refused_or_clamped(emu, name):
    from spatialbot_ros.core.robotiq import KNUCKLE_CLOSED_RAD

    position, effort = GRIPPER_CASES[name]
    accepted, res = emu.send(emu.grip, _gripper_goal(position, effort))
    if name in GRIPPER_FINITE:
        # a finite target is clamped to the stroke, as the controller clamps it; the goal ends
        assert accepted and math.isfinite(res.result.position)
        assert -0.01 <= res.result.position <= KNUCKLE_CLOSED_RAD + 0.01
    else:
        assert not accepted, "a non-finite gripper target was accepted"
    assert np.isfinite(emu.emu.emulator.cell.data.ctrl).all()
    accepted, res = emu.send(emu.grip, _gripper_goal(0.0, 10.0))  # open again: still serving
    assert accepted and res.result.reached_goal
    emu.still_serving()


PARAM_SETS = {
    "speed_scaling_string": ("speed_scaling", "fast"),
    "speed_scaling_nan": ("speed_scaling", nan),
    "speed_scaling_5": ("speed_scaling", 5.0),
    "speed_scaling_negative": ("speed_scaling", -0.5),
    "speed_scaling_int": ("speed_scaling", 1),
    "program_running_string": ("program_running", "yes"),
    "camera_enabled_number": ("camera_enabled", 1.0),
    "invalid_goal_response_other": ("invalid_goal_response", "explode"),
    "remove_object_unknown": ("remove_object", "no_such_object"),
    "remove_object_list": ("remove_object", ["red_cup"]),
}


@pytest.mark.surface("node_ur_driver_emulator")
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in ("speed_scaling_nan", "speed_scaling_string",
                                                                    "remove_object_unknown")
                                               else pytest.mark.robustness_full) for n in PARAM_SETS])
def test_wrong_parameter_sets_are_refused_with_a_reason(emu, name):
    """What `ros2 param set` does: SetParameters on the node's parameter service."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    pname, value = PARAM_SETS[name]
    before = emu.emu.get_parameter(pname).value
    client = emu.op.create_client(SetParameters, f"{emu.ns}/ur_driver_emulator/set_parameters")
    try:
        assert client.wait_for_service(timeout_sec=5.0)
        fut = client.call_async(SetParameters.Request(parameters=[Parameter(pname, value=value).to_parameter_msg()]))
        assert eventually(fut.done, 5.0), "no answer (the parameter service stopped)"
        res = fut.result().results[0]
    finally:
        emu.op.destroy_client(client)
    assert not res.successful and res.reason, res
    assert emu.emu.get_parameter(pname).value == before
    assert emu.emu.emulator.speed_scaling == pytest.approx(1.0) and emu.emu.emulator.program_running
    emu.still_serving()
