"""PickPlaceCommander: a plain Python API over the pick_place node for people who script robots
(in the spirit of nav2's BasicNavigator): send an instruction, poll, read the result.

transport 'action' uses the spatialbot_interfaces/PickPlace action, 'topic' the JSON topics, and
'auto' (default) the action when the typed package is built."""

from __future__ import annotations

import enum
import importlib.util
import json
import time
import uuid
from dataclasses import dataclass, field

import rclpy
from rclpy.node import Node
from std_msgs.msg import String


class TaskResult(enum.Enum):
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"


@dataclass
class PickPlaceOutcome:
    result: TaskResult
    failure_reason: str = ""
    message: str = ""
    explanation: str = ""
    raw: dict = field(default_factory=dict)


class PickPlaceCommander:
    def __init__(self, node: Node | None = None, goal_topic: str = "/pick_place/goal",
                 cancel_topic: str = "/pick_place/cancel", feedback_topic: str = "/pick_place/feedback",
                 result_topic: str = "/pick_place/result", transport: str = "auto",
                 action_name: str = "/pick_place", arm_service: str = "/pick_place/arm",
                 estop_topic: str = "/spatialbot/estop", reset_estop_service: str = "/spatialbot/reset_estop") -> None:
        if transport not in ("auto", "action", "topic"):
            raise ValueError(f"transport must be auto, action or topic, not {transport!r}")
        if transport == "auto":
            transport = "action" if importlib.util.find_spec("spatialbot_interfaces") else "topic"
        self.transport = transport
        self.node = node or rclpy.create_node(f"pick_place_commander_{uuid.uuid4().hex[:6]}")
        self._action = None
        if transport == "action":
            from rclpy.action import ActionClient
            from spatialbot_interfaces.action import PickPlace

            self._action = ActionClient(self.node, PickPlace, action_name)
            self._handle = None
        self._goal_pub = self.node.create_publisher(String, goal_topic, 10)
        self._cancel_pub = self.node.create_publisher(String, cancel_topic, 10)
        self.node.create_subscription(String, feedback_topic, self._on_feedback, 10)
        self.node.create_subscription(String, result_topic, self._on_result, 10)
        from std_msgs.msg import Bool
        from std_srvs.srv import SetBool, Trigger

        self._arm_client = self.node.create_client(SetBool, arm_service)
        self._reset_client = self.node.create_client(Trigger, reset_estop_service)
        self._estop_pub = self.node.create_publisher(Bool, estop_topic, 10)  # reliable + volatile, as `ros2 topic pub`
        self._goal_id = ""
        self._feedback: list[dict] = []
        self._result: dict | None = None

    def _on_feedback(self, msg: String) -> None:
        data = json.loads(msg.data)
        if data.get("id") == self._goal_id:
            self._feedback.append(data)

    def _on_result(self, msg: String) -> None:
        data = json.loads(msg.data)
        if data.get("id") == self._goal_id:
            self._result = data

    def wait_for_server(self, timeout_s: float = 30.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            ready = (self._action.server_is_ready() if self._action is not None
                     else self.node.count_subscribers(self._goal_pub.topic_name) > 0)
            if ready:
                return True
            rclpy.spin_once(self.node, timeout_sec=0.1)
        return False

    def pick_and_place(self, instruction: str, place_phrase: str = "", pick_only: bool = False) -> str:
        """Send a goal; returns its id. place_phrase: where it goes, if not in the instruction;
        pick_only: pick it up and hold it."""
        self._goal_id, self._feedback, self._result = uuid.uuid4().hex[:8], [], None
        if self._action is None:
            text = f"{instruction} and put it {place_phrase}" if place_phrase else instruction
            self._goal_pub.publish(String(data=json.dumps({"id": self._goal_id, "instruction": text,
                                                           "pick_only": bool(pick_only)})))
            return self._goal_id
        from spatialbot_interfaces.action import PickPlace

        self._handle = None
        future = self._action.send_goal_async(
            PickPlace.Goal(instruction=instruction, place_phrase=place_phrase, pick_only=pick_only),
            feedback_callback=lambda fb: self._feedback.append(
                {"id": self._goal_id, "phase": fb.feedback.phase, "step": fb.feedback.step, "detail": fb.feedback.detail}))
        future.add_done_callback(self._on_goal_response)
        return self._goal_id

    def _on_goal_response(self, future) -> None:  # noqa: ANN001 (rclpy Future)
        handle = future.result()
        if not handle.accepted:
            self._result = {"id": self._goal_id, "succeeded": False, "failure_reason": "rejected",
                            "message": "the pick_place action server rejected the goal (busy)"}
            return
        self._handle = handle
        handle.get_result_async().add_done_callback(self._on_action_result)

    def _on_action_result(self, future) -> None:  # noqa: ANN001 (rclpy Future)
        r = future.result().result
        self._result = {"id": self._goal_id, "succeeded": r.succeeded, "failure_reason": r.failure_reason,
                        "message": r.message, "explanation": r.explanation, "target_mark_id": r.target_mark_id,
                        "status": future.result().status}

    def _call(self, client, request, timeout_s: float) -> object | None:  # noqa: ANN001 (rclpy client/request)
        if not client.wait_for_service(timeout_sec=timeout_s):
            return None
        future = client.call_async(request)
        end = time.monotonic() + timeout_s
        while not future.done() and time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return future.result() if future.done() else None

    def arm(self, armed: bool = True, timeout_s: float = 10.0) -> tuple[bool, str]:
        """Arm (or disarm) the robot: until armed, a real cell only validates and previews motions."""
        from std_srvs.srv import SetBool

        response = self._call(self._arm_client, SetBool.Request(data=armed), timeout_s)
        return (False, "no answer from the arm service") if response is None else (response.success, response.message)

    def estop(self) -> None:
        """Engage the latched e-stop: the arm stops now and is disarmed."""
        from std_msgs.msg import Bool

        self._estop_pub.publish(Bool(data=True))

    def reset_estop(self, timeout_s: float = 10.0) -> bool:
        from std_srvs.srv import Trigger

        response = self._call(self._reset_client, Trigger.Request(), timeout_s)
        return bool(response is not None and response.success)

    def cancel(self) -> None:
        if self._action is None:
            self._cancel_pub.publish(String(data=self._goal_id))
            return
        end = time.monotonic() + 5.0
        while self._handle is None and self._result is None and time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.05)
        if self._handle is not None:
            self._handle.cancel_goal_async()

    def is_done(self, spin_s: float = 0.05) -> bool:
        rclpy.spin_once(self.node, timeout_sec=spin_s)
        return self._result is not None

    def feedback(self) -> list[dict]:
        return list(self._feedback)

    def result(self) -> PickPlaceOutcome:
        r = self._result
        if r is None:
            return PickPlaceOutcome(TaskResult.UNKNOWN)
        if r["succeeded"]:
            status = TaskResult.SUCCEEDED
        elif r.get("failure_reason") == "cancelled":
            status = TaskResult.CANCELED
        else:
            status = TaskResult.FAILED
        return PickPlaceOutcome(status, r.get("failure_reason", ""), r.get("message", ""), r.get("explanation", ""), r)
