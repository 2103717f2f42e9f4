"""RobotiqActionGripper over real DDS against a stand-in for the Robotiq 2F-85 controller: a
GripperCommand or ParallelGripperCommand server moving the knuckle joint (0 open .. 0.7929 rad
closed) and publishing it in /joint_states; with an object between the fingers the knuckle stops
at the object's width and the goal ends stalled (aborted, as GripperActionController does unless
allow_stalling is set)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("control_msgs.action", reason="control_msgs not built (scripts/build_interfaces.sh)")

from spatialbot_ros.core.actions import GripperCommand  # noqa: E402
from spatialbot_ros.core.robotiq import KNUCKLE_CLOSED_RAD, KNUCKLE_JOINT, knuckle_from_width  # noqa: E402
from spatialbot_ros.motion.base import MotionStatus  # noqa: E402
from spatialbot_ros.motion.gripper import RobotiqActionConfig, RobotiqActionGripper  # noqa: E402

pytestmark = pytest.mark.ros
ACTION = "/robotiq_gripper_controller/gripper_cmd"


def eventually(cond, timeout_s: float = 2.0) -> bool:
    """cond() within timeout_s (the next joint state is up to a publish period behind a result)."""
    end = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < end:
        time.sleep(0.01)
    return bool(cond())


class FakeRobotiqController:
    """`object_width_m` between the fingers stalls a close there; `stroke_s` per full stroke;
    `hang` never finishes a goal; `reject` refuses goals."""

    def __init__(self, node, parallel: bool, object_width_m: float | None = None, stroke_s: float = 0.2):
        from rclpy.action import ActionServer, CancelResponse, GoalResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from sensor_msgs.msg import JointState

        if parallel:
            from control_msgs.action import ParallelGripperCommand as Action
        else:
            from control_msgs.action import GripperCommand as Action
        self.node, self.parallel, self._Action = node, parallel, Action
        self.object_width_m, self.stroke_s = object_width_m, stroke_s
        self.knuckle, self.goals, self.hang, self.reject = 0.0, [], False, False
        self.canceled = threading.Event()
        self._JointState = JointState
        group = ReentrantCallbackGroup()
        self._js = node.create_publisher(JointState, "/joint_states", 10)
        node.create_timer(0.01, self._publish, callback_group=group)
        self.server = ActionServer(node, Action, ACTION, execute_callback=self._execute, callback_group=group,
                                   goal_callback=lambda _g: GoalResponse.REJECT if self.reject else GoalResponse.ACCEPT,
                                   cancel_callback=lambda _h: CancelResponse.ACCEPT)

    def _publish(self):
        # the arm's joints travel in the same message on a real cell
        self._js.publish(self._JointState(name=["shoulder_pan_joint", KNUCKLE_JOINT], position=[0.0, self.knuckle]))

    def _execute(self, handle):
        cmd = handle.request.command
        self.goals.append(cmd)
        target = float(cmd.position[list(cmd.name).index(KNUCKLE_JOINT)]) if self.parallel else float(cmd.position)
        stop_at = target
        if self.object_width_m is not None and target > self.knuckle:
            stop_at = min(target, knuckle_from_width(self.object_width_m))
        rate = KNUCKLE_CLOSED_RAD / self.stroke_s
        while abs(self.knuckle - stop_at) > 1e-9 or self.hang:
            if handle.is_cancel_requested:
                self.canceled.set()
                handle.canceled()
                return self._Action.Result()
            time.sleep(0.005)
            step = rate * 0.005
            self.knuckle += float(np.clip(stop_at - self.knuckle, -step, step))
        result = self._Action.Result()
        stalled = stop_at != target
        result.stalled, result.reached_goal = stalled, not stalled
        if self.parallel:
            result.state.name, result.state.position = [KNUCKLE_JOINT], [self.knuckle]
        else:
            result.position = self.knuckle
        if stalled:
            handle.abort()
        else:
            handle.succeed()
        return result


@pytest.fixture()
def rig(ros):
    from spatialbot_ros.nodes.executors import PoolExecutor

    server_node = ros.create_node("fake_robotiq")
    client_node = ros.create_node("gripper_client")
    made = {}

    def make(parallel=False, object_width_m=None, **cfg):
        interface = "parallel_gripper_command" if parallel else "gripper_command"
        made["server"] = FakeRobotiqController(server_node, parallel, object_width_m)
        made["gripper"] = gripper = RobotiqActionGripper(client_node, RobotiqActionConfig(interface=interface, **cfg))
        executor = PoolExecutor(num_threads=4)
        executor.add_node(server_node)
        executor.add_node(client_node)
        made["thread"] = threading.Thread(target=executor.spin, daemon=True)
        made["executor"] = executor
        made["thread"].start()
        deadline = time.monotonic() + 10.0
        while np.isnan(gripper.state().width_m) and time.monotonic() < deadline:
            time.sleep(0.02)
        return gripper, made["server"]

    yield make
    if "executor" in made:
        made["executor"].shutdown()
        made["thread"].join(timeout=5.0)
    # destroyed here, in the main thread (see test_joint_trajectory_ros.teardown)
    if "server" in made:
        made["server"].server.destroy()
    if "gripper" in made:
        made["gripper"].close()
    server_node.destroy_node()
    client_node.destroy_node()


@pytest.mark.parametrize("parallel", [False, True], ids=["GripperCommand", "ParallelGripperCommand"])
def test_closing_on_nothing_reads_zero_width_and_opening_the_full_stroke(rig, parallel):
    gripper, server = rig(parallel=parallel)
    assert gripper.state().width_m == pytest.approx(0.085)
    r = gripper.command(GripperCommand.CLOSE, force_n=40.0)
    assert r.status == MotionStatus.SUCCEEDED and r.cause == ""
    assert eventually(lambda: gripper.state().width_m < 0.001)   # what makes the executive's grasp_missed fire
    assert gripper.state().closed
    cmd = server.goals[0]
    if parallel:   # a sensor_msgs/JointState naming the knuckle joint
        assert list(cmd.name) == [KNUCKLE_JOINT] and list(cmd.position) == [pytest.approx(KNUCKLE_CLOSED_RAD)]
        assert list(cmd.effort) == [40.0]
    else:          # position is the knuckle angle, not a width
        assert cmd.position == pytest.approx(KNUCKLE_CLOSED_RAD) and cmd.max_effort == 40.0
    assert gripper.command(GripperCommand.OPEN).ok
    assert eventually(lambda: gripper.state().width_m == pytest.approx(0.085, abs=1e-4)) and not gripper.state().closed


@pytest.mark.parametrize("parallel", [False, True], ids=["GripperCommand", "ParallelGripperCommand"])
def test_a_stalled_close_on_an_object_is_a_grasp_at_its_width(rig, parallel):
    gripper, _ = rig(parallel=parallel, object_width_m=0.04)
    r = gripper.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.SUCCEEDED and r.cause == "stalled"
    assert eventually(lambda: gripper.state().width_m == pytest.approx(0.04, abs=1e-3)) and gripper.state().closed


def test_timeouts_rejections_and_stop_abort(rig):
    gripper, server = rig(result_timeout_s=0.4)
    server.hang = True
    t0 = time.monotonic()
    r = gripper.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.ABORTED and r.cause == "timeout" and time.monotonic() - t0 < 2.0
    assert server.canceled.wait(2.0)   # the hanging goal was canceled, not left running
    server.canceled.clear()
    threading.Timer(0.1, gripper.stop).start()
    r = gripper.command(GripperCommand.OPEN)
    assert r.status == MotionStatus.ABORTED and r.cause == "stopped" and server.canceled.wait(2.0)
    server.hang, server.reject = False, True
    r = gripper.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.ABORTED and r.cause == "rejected"


def test_no_gripper_server_is_not_ready(ros):
    node = ros.create_node("lonely_gripper_client")
    gripper = RobotiqActionGripper(node, RobotiqActionConfig(action_name="/nobody/gripper_cmd", server_timeout_s=0.2))
    r = gripper.command(GripperCommand.CLOSE)
    assert r.status == MotionStatus.NOT_READY and r.cause == "no_server"
    assert np.isnan(gripper.state().width_m)   # never seen: unknown, not "open"
    gripper.close()
    node.destroy_node()
