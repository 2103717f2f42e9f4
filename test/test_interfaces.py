"""spatialbot_interfaces built from .msg/.srv/.action against the PyPI ROS wheels: types, topics,
a service and an action (feedback, result, cancel) between two real rclpy nodes over Fast DDS.

Needs `scripts/build_interfaces.sh` and `source scripts/interfaces_env.sh` (LD_LIBRARY_PATH must be
set before Python starts, so the test cannot set it up itself).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import spin_until

pytestmark = pytest.mark.ros

INSTALL = Path(__file__).resolve().parents[1] / "build" / "interfaces" / "install"


def _import_interfaces():
    try:
        import spatialbot_interfaces.msg  # noqa: F401
    except ImportError as exc:
        if INSTALL.is_dir():
            pytest.fail(f"interfaces built in {INSTALL} but not importable ({exc}): source scripts/interfaces_env.sh")
        pytest.skip("spatialbot_interfaces not built: run scripts/build_interfaces.sh")


@pytest.fixture(autouse=True)
def _interfaces():
    _import_interfaces()


def _policy_step():
    from spatialbot_interfaces.msg import PolicyStep

    step = PolicyStep(instruction="put the red cup on the plate", phase="approach", target_mark_id=3)
    step.target_box_xyxy = [10, 20, 110, 220]
    step.target_point_base.x, step.target_point_base.y, step.target_point_base.z = 0.5, 0.1, 0.05
    step.contact.touching = True
    step.contact.per_finger_gap_mm = [1.5, 2.5]
    step.delta_translation_m.z = -0.01
    step.gripper = PolicyStep.GRIPPER_CLOSE
    step.json_extras = '{"score": 0.9}'
    return step


def test_types_have_the_declared_fields_and_serialize():
    from rclpy.serialization import deserialize_message, serialize_message
    from spatialbot_interfaces.action import PickPlace
    from spatialbot_interfaces.msg import ContactJudgment, Mark, MarkArray, PolicyStep
    from spatialbot_interfaces.srv import DepthQuery

    assert (PolicyStep.GRIPPER_OPEN, PolicyStep.GRIPPER_CLOSE, PolicyStep.GRIPPER_HOLD) == (0, 1, 2)
    assert Mark().box_xyxy.shape == (4,) and str(Mark().box_xyxy.dtype) == "int32"  # fixed int32[4]
    mark = Mark(id=7, label="cup", color="red", shape="cylinder", box_xyxy=[1, 2, 3, 4], depth_min_mm=401.0)
    mark.centroid_px = [2.0, 3.0]
    mark.centroid_base.z = 0.05
    arr = MarkArray(marks=[mark, Mark(id=8)])
    arr.header.frame_id = "camera_color_optical_frame"
    back = deserialize_message(serialize_message(arr), MarkArray)
    assert [m.id for m in back.marks] == [7, 8]
    assert list(back.marks[0].box_xyxy) == [1, 2, 3, 4] and back.marks[0].depth_min_mm == 401.0
    assert back.marks[0].centroid_base.z == 0.05 and back.header.frame_id == "camera_color_optical_frame"

    step = deserialize_message(serialize_message(_policy_step()), PolicyStep)
    assert isinstance(step.contact, ContactJudgment) and list(step.contact.per_finger_gap_mm) == [1.5, 2.5]
    assert step.gripper == 1 and list(step.target_box_xyxy) == [10, 20, 110, 220]
    assert step.target_point_base.x == 0.5 and step.delta_translation_m.z == -0.01

    req = DepthQuery.Request(x=0.5, y=0.5, normalized=True, box_xyxy=[-1, -1, -1, -1])
    assert list(req.box_xyxy) == [-1, -1, -1, -1]
    assert set(DepthQuery.Response.get_fields_and_field_types()) == {
        "ok", "message", "depth_mm", "center_mm", "mean_mm", "min_mm", "max_mm"}
    assert PickPlace.Goal(pick_only=True).pick_only
    assert PickPlace.Result.get_fields_and_field_types()["target_mark_id"] == "int32"
    assert PickPlace.Feedback.get_fields_and_field_types()["step"] == "int32"


def test_topic_and_depth_service_round_trip(ros):
    from spatialbot_interfaces.msg import PolicyStep
    from spatialbot_interfaces.srv import DepthQuery

    assert os.environ["ROS_DOMAIN_ID"] != "0"
    server = ros.create_node("depth_server")
    client = ros.create_node("depth_client")
    try:
        def handle(req, res):
            point = list(req.box_xyxy) == [-1, -1, -1, -1]
            res.ok = point and req.normalized
            res.message = "point" if point else "box"
            res.depth_mm = 1000.0 * req.x + req.y
            return res

        server.create_service(DepthQuery, "depth_query", handle)
        got: list[PolicyStep] = []
        server.create_subscription(PolicyStep, "policy_step", got.append, 10)
        pub = client.create_publisher(PolicyStep, "policy_step", 10)
        cli = client.create_client(DepthQuery, "depth_query")
        assert spin_until([server, client], lambda: cli.service_is_ready() and pub.get_subscription_count() > 0)

        fut = cli.call_async(DepthQuery.Request(x=0.25, y=0.5, normalized=True, box_xyxy=[-1, -1, -1, -1]))
        assert spin_until([server, client], fut.done)
        res = fut.result()
        assert res.ok and res.message == "point" and res.depth_mm == 250.5

        fut = cli.call_async(DepthQuery.Request(x=1.0, box_xyxy=[0, 0, 5, 5]))
        assert spin_until([server, client], fut.done)
        assert not fut.result().ok and fut.result().message == "box"

        pub.publish(_policy_step())
        assert spin_until([server, client], lambda: got)
        assert got[0].contact.touching and list(got[0].contact.per_finger_gap_mm) == [1.5, 2.5]
    finally:
        server.destroy_node()
        client.destroy_node()


class _PickPlaceServer:
    """Action server on its own multi-threaded executor: the execute callback loops with sleeps."""

    def __init__(self, rclpy) -> None:
        from rclpy.action import ActionServer, CancelResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.executors import MultiThreadedExecutor
        from spatialbot_interfaces.action import PickPlace

        self.node = rclpy.create_node("pick_place_server")
        self.server = ActionServer(
            self.node, PickPlace, "pick_place", self._execute,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT,
            callback_group=ReentrantCallbackGroup())
        self.executor = MultiThreadedExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _execute(self, goal_handle):
        from spatialbot_interfaces.action import PickPlace

        goal = goal_handle.request
        result = PickPlace.Result(target_mark_id=4)
        deadline = time.monotonic() + 5.0
        step = 0
        while True:
            step += 1
            goal_handle.publish_feedback(PickPlace.Feedback(phase="approach", step=step, detail=goal.instruction))
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                result.failure_reason = "canceled"
                return result
            if goal.instruction != "wait for cancel" and step >= 3:
                break
            if time.monotonic() > deadline:
                goal_handle.abort()
                result.failure_reason = "timeout"
                return result
            time.sleep(0.02)
        goal_handle.succeed()
        result.succeeded = True
        result.message = f"picked for '{goal.place_phrase}'" if not goal.pick_only else "picked"
        return result

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.thread.join(timeout=2.0)
        self.server.destroy()
        self.node.destroy_node()


def test_pick_place_action_goal_feedback_result_and_cancel(ros):
    from action_msgs.msg import GoalStatus
    from rclpy.action import ActionClient
    from spatialbot_interfaces.action import PickPlace

    server = _PickPlaceServer(ros)
    client = ros.create_node("pick_place_client")
    try:
        ac = ActionClient(client, PickPlace, "pick_place")
        assert spin_until([client], ac.server_is_ready)

        feedback: list[PickPlace.Feedback] = []
        goal = PickPlace.Goal(instruction="pick the red cup", place_phrase="on the plate")
        sent = ac.send_goal_async(goal, feedback_callback=lambda fb: feedback.append(fb.feedback))
        assert spin_until([client], sent.done)
        handle = sent.result()
        assert handle.accepted
        res_fut = handle.get_result_async()
        assert spin_until([client], res_fut.done)
        assert res_fut.result().status == GoalStatus.STATUS_SUCCEEDED
        result = res_fut.result().result
        assert result.succeeded and result.target_mark_id == 4 and result.message == "picked for 'on the plate'"
        spin_until([client], lambda: len(feedback) >= 3, timeout=2.0)
        assert [f.step for f in feedback] == [1, 2, 3] and feedback[0].detail == "pick the red cup"

        feedback.clear()
        sent = ac.send_goal_async(PickPlace.Goal(instruction="wait for cancel"),
                                  feedback_callback=lambda fb: feedback.append(fb.feedback))
        assert spin_until([client], sent.done) and sent.result().accepted
        handle = sent.result()
        assert spin_until([client], lambda: feedback)  # running before we cancel
        cancel = handle.cancel_goal_async()
        assert spin_until([client], cancel.done)
        assert len(cancel.result().goals_canceling) == 1
        res_fut = handle.get_result_async()
        assert spin_until([client], res_fut.done)
        assert res_fut.result().status == GoalStatus.STATUS_CANCELED
        assert res_fut.result().result.failure_reason == "canceled" and not res_fut.result().result.succeeded
        ac.destroy()
    finally:
        server.close()
        client.destroy_node()
