"""PickPlaceCommander: a plain Python API over the pick_place node for people who script robots
(in the spirit of nav2's BasicNavigator): send an instruction, poll, read the result."""

from __future__ import annotations

import enum
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
                 result_topic: str = "/pick_place/result") -> None:
        self.node = node or rclpy.create_node(f"pick_place_commander_{uuid.uuid4().hex[:6]}")
        self._goal_pub = self.node.create_publisher(String, goal_topic, 10)
        self._cancel_pub = self.node.create_publisher(String, cancel_topic, 10)
        self.node.create_subscription(String, feedback_topic, self._on_feedback, 10)
        self.node.create_subscription(String, result_topic, self._on_result, 10)
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
            if self.node.count_subscribers(self._goal_pub.topic_name) > 0:
                return True
            rclpy.spin_once(self.node, timeout_sec=0.1)
        return False

    def pick_and_place(self, instruction: str) -> str:
        """Send a goal; returns its id."""
        self._goal_id, self._feedback, self._result = uuid.uuid4().hex[:8], [], None
        self._goal_pub.publish(String(data=json.dumps({"id": self._goal_id, "instruction": instruction})))
        return self._goal_id

    def cancel(self) -> None:
        self._cancel_pub.publish(String(data=self._goal_id))

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
