"""The spatialbot_interfaces/PickPlace action in front of the pick_place node's goal runner.

Goals are accepted one at a time (one is rejected while the node runs another, from either
interface); each executive step becomes
a feedback message; a cancel request cancels the executive, which stops the arm; the result carries
the executive's failure reason. Conversion and waiting only.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, Protocol

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from spatialbot_ros.core.task import FailureReason
from spatialbot_ros.executive.pick_place import StepRecord

MAX_GOAL_BYTES = 65536  # a goal message larger than this is refused before it is parsed


class GoalRunner(Protocol):
    @property
    def busy(self) -> bool: ...

    def start_goal(self, goal_id: str, instruction: str, pick_only: bool, on_step: Any, on_done: Any) -> str: ...

    def cancel_goal(self) -> None: ...


def step_detail(rec: StepRecord) -> str:
    """What a feedback line says: the grounding explanation on the first step, then contact evidence."""
    detail = rec.step.explanation if rec.step.target is not None and rec.index == 0 else ""
    if rec.step.contact is not None:
        detail = rec.step.contact.evidence
    return detail


def goal_from_json(data: str) -> tuple[str, str, Any]:
    """(id, instruction, pick_only) from a JSON goal {"id", "instruction", "pick_only"} or plain text.
    Anything else (a list, nesting, wrong types, megabytes) becomes an instruction the executive
    refuses; it never raises. A pick_only that is not a bool is passed on as it came, so the
    executive refuses it (read as false it would run the place half the sender did not ask for)."""
    if len(data) > MAX_GOAL_BYTES:
        return "", data[:MAX_GOAL_BYTES + 1], False
    try:
        goal = json.loads(data)
    except (ValueError, RecursionError):
        return "", data, False
    if not isinstance(goal, dict):
        return "", data if not isinstance(goal, str) else goal, False
    goal_id, instruction, pick_only = goal.get("id"), goal.get("instruction", ""), goal.get("pick_only", False)
    return (str(goal_id)[:64] if isinstance(goal_id, (str, int)) else "",
            instruction if isinstance(instruction, str) else "", False if pick_only is None else pick_only)


def goal_instruction(instruction: str, place_phrase: str, pick_only: bool) -> tuple[str, str]:
    """(instruction for the executive, error): a separate place phrase is appended as 'and put it ...'."""
    text, place = instruction.strip(), place_phrase.strip()
    if not text:
        return "", "empty instruction"
    if pick_only and place:
        return "", "pick_only goal with a place_phrase"
    if place:
        text = f"{text} and put it {place}"
    return text, ""


class PickPlaceActionServer:
    def __init__(self, node: Node, name: str, runner: GoalRunner) -> None:
        from spatialbot_interfaces.action import PickPlace

        self._types = PickPlace
        self._runner = runner
        self.server = ActionServer(node, PickPlace, name, self._execute, goal_callback=self._on_goal,
                                   cancel_callback=lambda _handle: CancelResponse.ACCEPT,
                                   callback_group=ReentrantCallbackGroup())

    def destroy(self) -> None:
        """rclpy's Node.destroy_node leaves action servers alive: without this the server stays
        discoverable (and accepts goals nobody executes) for the rest of the process."""
        self.server.destroy()

    def _on_goal(self, _request: Any) -> GoalResponse:
        return GoalResponse.REJECT if self._runner.busy else GoalResponse.ACCEPT

    def _execute(self, handle: Any) -> Any:
        PickPlace = self._types
        goal = handle.request
        instruction, error = goal_instruction(goal.instruction, goal.place_phrase, goal.pick_only)
        if error:
            handle.abort()
            return PickPlace.Result(succeeded=False, failure_reason=FailureReason.BAD_INPUT.value, message=error,
                                    target_mark_id=-1)
        done = threading.Event()
        box: dict = {}

        def on_step(rec: StepRecord) -> None:
            handle.publish_feedback(PickPlace.Feedback(phase=rec.phase.value, step=rec.index, detail=step_detail(rec)))

        def on_done(result: dict) -> None:
            box.update(result)
            done.set()

        busy = self._runner.start_goal(uuid.uuid4().hex[:8], instruction, bool(goal.pick_only), on_step, on_done)
        if busy:  # another goal (either interface) started in between
            handle.abort()
            return PickPlace.Result(succeeded=False, failure_reason=FailureReason.REJECTED.value, message=busy,
                                    target_mark_id=-1)
        cancel_sent = False
        while not done.wait(0.05):
            if handle.is_cancel_requested and not cancel_sent:
                self._runner.cancel_goal()
                cancel_sent = True
        result = PickPlace.Result(succeeded=bool(box.get("succeeded")), failure_reason=str(box.get("failure_reason", "")),
                                  message=str(box.get("message", "")), explanation=str(box.get("explanation", "")),
                                  target_mark_id=int(box.get("target_mark_id") if box.get("target_mark_id") is not None else -1))
        if result.succeeded:
            handle.succeed()
        elif handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return result
