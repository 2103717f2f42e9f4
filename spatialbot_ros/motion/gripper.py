"""Grippers on a real cell, behind one small protocol (command, state, stop):

- RobotiqActionGripper: the Robotiq 2F-85 through its ROS 2 controller's action
  (PickNik ros2_robotiq_gripper): control_msgs/GripperCommand on the older
  GripperActionController config, control_msgs/ParallelGripperCommand on the current
  parallel_gripper_action_controller. The finger opening is read from the real knuckle joint in
  /joint_states, so closing on nothing reads ~0 mm and the executive sees the missed grasp.
- RobotiqSocketGripper: the Robotiq URCap's ASCII socket on the UR controller (port 63352).
- NoGripper: an arm-only cell.
"""

from __future__ import annotations

import enum
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.robotiq import (
    KNUCKLE_CLOSED_RAD,
    KNUCKLE_JOINT,
    KNUCKLE_OPEN_RAD,
    STROKE_M,
    width_from_knuckle,
)
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus
from spatialbot_ros.motion.joint_trajectory import GoalStatusCode
from spatialbot_ros.motion.ros_futures import FutureTimeout, wait_future

log = logging.getLogger(__name__)

ROBOTIQ_MAX_FORCE_N = 235.0  # 2F-85 grip force range 20..235 N


class GripperBackend(Protocol):
    name: str

    def command(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        """Open or close and wait until the fingers stop; HOLD does nothing."""
        ...

    def state(self) -> GripperState: ...

    def stop(self) -> None:
        """Preempt a command in flight (thread-safe)."""
        ...


class NoGripper:
    """An arm-only cell: gripper commands are refused, the width is unknown (NaN)."""

    name = "none"

    def command(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.HOLD:
            return MotionResult(MotionStatus.SUCCEEDED)
        return MotionResult(MotionStatus.REFUSED, "no gripper configured (gripper backend 'none')", "no_gripper")

    def state(self) -> GripperState:
        return GripperState(float("nan"), False)

    def stop(self) -> None:
        pass


# -- the ROS 2 action ----------------------------------------------------------------------------

class GripperInterface(enum.Enum):
    GRIPPER_COMMAND = "gripper_command"                   # control_msgs/GripperCommand
    PARALLEL_GRIPPER_COMMAND = "parallel_gripper_command"  # control_msgs/ParallelGripperCommand


@dataclass(frozen=True)
class RobotiqActionConfig:
    action_name: str = "/robotiq_gripper_controller/gripper_cmd"
    interface: str = GripperInterface.GRIPPER_COMMAND.value
    joint_name: str = KNUCKLE_JOINT
    joint_states_topic: str = "/joint_states"
    open_rad: float = KNUCKLE_OPEN_RAD
    closed_rad: float = KNUCKLE_CLOSED_RAD
    max_effort_n: float = 60.0
    server_timeout_s: float = 2.0
    goal_response_timeout_s: float = 5.0  # accepting a goal is quick; generous under load
    result_timeout_s: float = 8.0  # full stroke at the slowest speed takes ~4 s


def gripper_outcome(command: GripperCommand, goal_status: int, stalled: bool) -> MotionResult:
    """A MotionResult for the controller's answer. Closing until the fingers stall is a grasp
    (GripperActionController aborts a stalled goal unless allow_stalling is set); stalling while
    opening means something blocks the fingers."""
    if stalled and goal_status != GoalStatusCode.CANCELED:
        if command == GripperCommand.CLOSE:
            return MotionResult(MotionStatus.SUCCEEDED, "fingers stalled on an object (held)", "stalled")
        return MotionResult(MotionStatus.ABORTED, "the fingers stalled while opening (blocked?)", "stalled")
    if goal_status == GoalStatusCode.SUCCEEDED:
        return MotionResult(MotionStatus.SUCCEEDED)
    if goal_status == GoalStatusCode.CANCELED:
        return MotionResult(MotionStatus.ABORTED, "gripper goal canceled", "canceled")
    return MotionResult(MotionStatus.ABORTED, f"the gripper controller ended the goal with status {goal_status}",
                        "gripper_aborted")


def _cancel_if_accepted(send_future: Any) -> None:
    handle = send_future.result()
    if handle is not None and handle.accepted:
        handle.cancel_goal_async()


class RobotiqActionGripper:
    """Robotiq 2F-85 over its ROS 2 action (the node is spun by another executor)."""

    name = "robotiq_action"
    config_type = RobotiqActionConfig

    def __init__(self, node: Any, config: RobotiqActionConfig | None = None) -> None:
        self.config = cfg = config or RobotiqActionConfig()
        self._interface = GripperInterface(cfg.interface)
        try:
            if self._interface == GripperInterface.GRIPPER_COMMAND:
                from control_msgs.action import GripperCommand as Action
            else:
                from control_msgs.action import ParallelGripperCommand as Action
        except ImportError as exc:
            raise MotionBackendUnavailable(
                f"the Robotiq action gripper ({cfg.interface}) needs control_msgs: apt install "
                "ros-$ROS_DISTRO-control-msgs (or build the definitions with scripts/build_interfaces.sh)") from exc
        from rclpy.action import ActionClient
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import JointState

        self.node = node
        self._action = Action
        self._client = ActionClient(node, Action, cfg.action_name)
        self._lock = threading.Lock()
        self._knuckle: float | None = None       # from /joint_states
        self._result_knuckle: float | None = None  # from the last result, if joint states never came
        self._closed = False
        self._handle: Any = None
        self._stopped = threading.Event()
        node.create_subscription(JointState, cfg.joint_states_topic, self._on_joints, qos_profile_sensor_data)

    def _on_joints(self, msg: Any) -> None:
        names = list(msg.name)
        if self.config.joint_name in names and len(msg.position) == len(names):
            with self._lock:
                self._knuckle = float(msg.position[names.index(self.config.joint_name)])

    def _goal(self, position_rad: float, effort_n: float) -> Any:
        goal = self._action.Goal()
        if self._interface == GripperInterface.GRIPPER_COMMAND:
            goal.command.position = position_rad  # the knuckle angle for the Robotiq controller
            goal.command.max_effort = effort_n
        else:
            goal.command.name = [self.config.joint_name]
            goal.command.position = [position_rad]
            goal.command.effort = [effort_n]
        return goal

    def _knuckle_from_result(self, result: Any) -> float | None:
        if self._interface == GripperInterface.GRIPPER_COMMAND:
            return float(result.position)
        names = list(result.state.name)
        if self.config.joint_name in names and len(result.state.position) == len(names):
            return float(result.state.position[names.index(self.config.joint_name)])
        return None

    def command(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.HOLD:
            return MotionResult(MotionStatus.SUCCEEDED)
        cfg = self.config
        self._stopped.clear()
        if not self._client.wait_for_server(timeout_sec=cfg.server_timeout_s):
            return MotionResult(MotionStatus.NOT_READY, f"no gripper action server at {cfg.action_name}", "no_server")
        if self._stopped.is_set():  # stop() came while waiting for the server: nothing is sent
            return MotionResult(MotionStatus.ABORTED, "stopped before the goal was sent", "stopped")
        closing = command == GripperCommand.CLOSE
        effort = float(cfg.max_effort_n if force_n is None else force_n)
        send = self._client.send_goal_async(self._goal(cfg.closed_rad if closing else cfg.open_rad, effort))
        try:
            handle = wait_future(send, cfg.goal_response_timeout_s, self._stopped)
        except FutureTimeout:
            send.add_done_callback(_cancel_if_accepted)
            return MotionResult(MotionStatus.ABORTED, f"{cfg.action_name} did not answer the goal", "timeout")
        if handle is None:
            send.add_done_callback(_cancel_if_accepted)
            return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
        if not handle.accepted:
            return MotionResult(MotionStatus.ABORTED, f"{cfg.action_name} rejected the gripper goal", "rejected")
        with self._lock:
            self._handle = handle
        try:
            if self._stopped.is_set():
                handle.cancel_goal_async()
                return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
            try:
                response = wait_future(handle.get_result_async(), cfg.result_timeout_s, self._stopped)
            except FutureTimeout:
                handle.cancel_goal_async()
                return MotionResult(MotionStatus.ABORTED, f"the gripper did not finish in {cfg.result_timeout_s:.1f} s",
                                    "timeout")
        finally:
            with self._lock:
                self._handle = None
        if response is None or self._stopped.is_set():
            return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
        result = response.result
        with self._lock:
            self._result_knuckle = self._knuckle_from_result(result)
        outcome = gripper_outcome(command, response.status, bool(result.stalled))
        if outcome.ok:
            self._closed = closing
        return outcome

    def state(self) -> GripperState:
        """Width from the knuckle joint in the joint states (the last result's position until they
        arrive; NaN if neither has been seen)."""
        with self._lock:
            knuckle = self._knuckle if self._knuckle is not None else self._result_knuckle
        width = float("nan") if knuckle is None else width_from_knuckle(knuckle, self.config.closed_rad)
        return GripperState(width, self._closed)

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            handle = self._handle
        if handle is not None:
            handle.cancel_goal_async()

    def close(self) -> None:
        """Release the action client (the subscription goes with the node)."""
        self._client.destroy()


# -- the URCap socket ----------------------------------------------------------------------------

class RobotiqObjectStatus(enum.IntEnum):
    """The gripper's OBJ register."""

    MOVING = 0
    STOPPED_OPENING = 1   # contact while opening (an outer object)
    STOPPED_CLOSING = 2   # contact while closing (an object between the fingers)
    AT_DESTINATION = 3


@dataclass(frozen=True)
class RobotiqSocketConfig:
    host: str
    port: int = 63352
    timeout_s: float = 2.0          # every socket call
    speed: int = 255                # 0..255
    force: int = 100                # 0..255
    activation_timeout_s: float = 5.0
    motion_timeout_s: float = 5.0
    poll_s: float = 0.01
    reply_quiet_s: float = 0.02     # a reply without a newline is complete when nothing follows


class RobotiqGripperError(ConnectionError):
    pass


class RobotiqTimeout(RobotiqGripperError):
    pass


class RobotiqSocketGripper:
    """The Robotiq URCap socket protocol, as its users (ur_rtde's RobotiqGripper, the ROS drivers
    that speak it) read it: `SET VAR n [VAR n ...]` answers `ack`; `GET VAR` answers `VAR n`
    (`VAR ?` while the gripper cannot be read, e.g. under e-stop). Replies may or may not end in a
    newline (users compare `== b"ack"`), so a reply is complete at a newline or when the line goes
    quiet. POS 0 is open, 255 closed; PRE echoes the requested position; OBJ says how a motion ended."""

    name = "robotiq_socket"
    config_type = RobotiqSocketConfig

    def __init__(self, config: RobotiqSocketConfig) -> None:
        self.config = config
        self._io = threading.Lock()
        self._stopped = threading.Event()
        self._closed = False
        self._sock = socket.create_connection((config.host, config.port), timeout=config.timeout_s)
        self._buf = b""
        self.activate()

    # -- wire --------------------------------------------------------------------------------
    def _read_reply(self) -> str:
        while True:
            if b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if line.strip():
                    return line.decode("ascii").strip()
                continue
            if self._buf.strip():
                ready, _, _ = select.select([self._sock], [], [], self.config.reply_quiet_s)
                if not ready:
                    line, self._buf = self._buf, b""
                    return line.decode("ascii").strip()
            chunk = self._sock.recv(1024)
            if not chunk:
                raise RobotiqGripperError("the Robotiq socket closed")
            self._buf += chunk

    def _request(self, line: str) -> str:
        with self._io:
            self._sock.sendall((line + "\n").encode("ascii"))
            return self._read_reply()

    def _set(self, **values: int) -> None:
        line = "SET " + " ".join(f"{k} {int(v)}" for k, v in values.items())
        reply = self._request(line)
        if reply != "ack":
            raise RobotiqGripperError(f"Robotiq did not acknowledge {line!r}: {reply!r}")

    def _get(self, var: str) -> int:
        reply = self._request(f"GET {var}")
        parts = reply.split()
        if len(parts) != 2 or parts[0] != var:
            raise RobotiqGripperError(f"unexpected Robotiq reply to GET {var}: {reply!r}")
        if parts[1].startswith("?"):
            raise RobotiqGripperError(f"Robotiq {var} cannot be read now (e-stop or fault?)")
        return int(parts[1])

    def _wait_for(self, what: str, read: Any, done: Any, timeout_s: float) -> Any:
        """Poll read() until done(value); the value, None when stop() came first; RobotiqTimeout."""
        end = time.monotonic() + timeout_s
        while not self._stopped.is_set():
            value = read()
            if done(value):
                return value
            if time.monotonic() >= end:
                raise RobotiqTimeout(f"Robotiq: {what} not reached in {timeout_s:.1f} s")
            time.sleep(self.config.poll_s)
        return None

    # -- protocol ----------------------------------------------------------------------------
    def activate(self) -> None:
        """Reset and activate unless already active (STA 3); bounded by activation_timeout_s."""
        if self._get("STA") == 3:
            return
        self._set(ACT=0, ATR=0)
        timeout = self.config.activation_timeout_s
        self._wait_for("reset (ACT 0, STA 0)", lambda: (self._get("ACT"), self._get("STA")), lambda v: v == (0, 0),
                       timeout)
        self._set(ACT=1)
        self._wait_for("activation (STA 3)", lambda: self._get("STA"), lambda v: v == 3, timeout)

    @staticmethod
    def force_register(force_n: float) -> int:
        return int(round(min(255.0, max(0.0, force_n / ROBOTIQ_MAX_FORCE_N * 255.0))))

    def command(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.HOLD:
            return MotionResult(MotionStatus.SUCCEEDED)
        self._stopped.clear()
        closing = command == GripperCommand.CLOSE
        target = 255 if closing else 0
        force = self.config.force if force_n is None else self.force_register(force_n)
        cfg = self.config
        try:
            self._set(POS=target, SPE=cfg.speed, FOR=force, GTO=1)
            echoed = self._wait_for("the requested position (PRE)", lambda: self._get("PRE"), lambda v: v == target,
                                    cfg.motion_timeout_s)
            obj = None if echoed is None else self._wait_for(
                "the end of the motion (OBJ)", lambda: RobotiqObjectStatus(self._get("OBJ")),
                lambda v: v != RobotiqObjectStatus.MOVING, cfg.motion_timeout_s)
        except RobotiqTimeout as exc:
            self._halt()
            return MotionResult(MotionStatus.ABORTED, str(exc), "timeout")
        except (OSError, ValueError) as exc:
            return MotionResult(MotionStatus.ABORTED, f"Robotiq socket: {exc}", "gripper_error")
        if obj is None:
            self._halt()
            return MotionResult(MotionStatus.ABORTED, "stopped", "stopped")
        if obj == RobotiqObjectStatus.STOPPED_OPENING and not closing:
            return MotionResult(MotionStatus.ABORTED, "the fingers were blocked while opening", "stalled")
        self._closed = closing
        if obj in (RobotiqObjectStatus.STOPPED_CLOSING, RobotiqObjectStatus.STOPPED_OPENING):
            return MotionResult(MotionStatus.SUCCEEDED, "object detected between the fingers (held)", "stalled")
        return MotionResult(MotionStatus.SUCCEEDED)

    def _halt(self) -> None:
        """GTO 0 stops the fingers where they are."""
        try:
            self._set(GTO=0)
        except (OSError, ValueError) as exc:
            log.warning("Robotiq: could not stop the fingers: %s", exc)

    def state(self) -> GripperState:
        """Width from POS; NaN when the gripper cannot be read (logged)."""
        try:
            pos = self._get("POS")
        except (OSError, ValueError) as exc:
            log.warning("Robotiq: no position: %s", exc)
            return GripperState(float("nan"), self._closed)
        return GripperState(STROKE_M * (1.0 - min(max(pos, 0), 255) / 255.0), self._closed)

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        self._sock.close()
