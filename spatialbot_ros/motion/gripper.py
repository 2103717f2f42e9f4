"""Grippers on a real cell: the ros2_control GripperCommand action (e.g. a Robotiq 2F-85 driven by
ros2_robotiq_gripper), or the Robotiq URCap's ASCII socket on the UR controller (port 63352)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.motion.base import GripperState, MotionBackendUnavailable, MotionResult, MotionStatus

STROKE_M = 0.085


@dataclass(frozen=True)
class RobotiqSocketConfig:
    host: str
    port: int = 63352
    timeout_s: float = 2.0
    speed: int = 255   # 0..255
    force: int = 100   # 0..255


class RobotiqSocketGripper:
    """Robotiq URCap socket protocol: `SET ACT 1`, `SET GTO 1`, `SET POS n` (0 open .. 255 closed),
    `SET SPE n`, `SET FOR n` answer `ack`; `GET POS` answers `POS n`; `GET OBJ` answers `OBJ n`."""

    def __init__(self, config: RobotiqSocketConfig) -> None:
        self.config = config
        self._sock = socket.create_connection((config.host, config.port), timeout=config.timeout_s)
        self._buf = b""
        self._set("ACT", 1)
        self._set("GTO", 1)

    def _request(self, line: str) -> str:
        self._sock.sendall((line + "\n").encode("ascii"))
        while b"\n" not in self._buf:
            chunk = self._sock.recv(1024)
            if not chunk:
                raise ConnectionError("Robotiq socket closed")
            self._buf += chunk
        reply, self._buf = self._buf.split(b"\n", 1)
        return reply.decode("ascii").strip()

    def _set(self, var: str, value: int) -> None:
        reply = self._request(f"SET {var} {int(value)}")
        if reply != "ack":
            raise ConnectionError(f"Robotiq refused SET {var} {value}: {reply!r}")

    def _get(self, var: str) -> int:
        reply = self._request(f"GET {var}")
        name, _, value = reply.partition(" ")
        if name != var or not value.strip().lstrip("-").isdigit():
            raise ConnectionError(f"unexpected Robotiq reply to GET {var}: {reply!r}")
        return int(value)

    @staticmethod
    def position_for_width(width_m: float) -> int:
        return int(round(255 * (1.0 - min(max(width_m, 0.0), STROKE_M) / STROKE_M)))

    def command(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        if command == GripperCommand.HOLD:
            return MotionResult(MotionStatus.SUCCEEDED)
        force = self.config.force if force_n is None else int(min(255, max(0, force_n / 235.0 * 255)))
        self._set("SPE", self.config.speed)
        self._set("FOR", force)
        self._set("POS", 255 if command == GripperCommand.CLOSE else 0)
        return MotionResult(MotionStatus.SUCCEEDED)

    def state(self) -> GripperState:
        pos = self._get("POS")
        return GripperState(STROKE_M * (1.0 - pos / 255.0), pos > 127)

    def close(self) -> None:
        self._sock.close()


class GripperActionClient:
    """control_msgs/GripperCommand action; the action name is a parameter (Robotiq default below)."""

    def __init__(self, node: object, action_name: str = "/robotiq_gripper_controller/gripper_cmd",
                 max_effort_n: float = 60.0, timeout_s: float = 10.0) -> None:
        try:
            from control_msgs.action import GripperCommand as GripperCommandAction
        except ImportError as exc:
            raise MotionBackendUnavailable("the GripperCommand action needs control_msgs: "
                                           "apt install ros-$ROS_DISTRO-control-msgs") from exc
        from rclpy.action import ActionClient

        self.node, self.max_effort_n, self.timeout_s = node, max_effort_n, timeout_s
        self._action = GripperCommandAction
        self._client = ActionClient(node, GripperCommandAction, action_name)
        self._last = GripperState(STROKE_M, False)

    def command(self, command: GripperCommand, force_n: float | None = None) -> MotionResult:
        import rclpy

        if command == GripperCommand.HOLD:
            return MotionResult(MotionStatus.SUCCEEDED)
        goal = self._action.Goal()
        goal.command.position = 0.8 if command == GripperCommand.CLOSE else 0.0  # Robotiq: 0 open .. 0.8 closed (rad)
        goal.command.max_effort = float(force_n or self.max_effort_n)
        if not self._client.wait_for_server(timeout_sec=self.timeout_s):
            return MotionResult(MotionStatus.ABORTED, "gripper action server not available")
        fut = self._client.send_goal_async(goal)
        rclpy.spin_until_future_complete(self.node, fut, timeout_sec=self.timeout_s)
        handle = fut.result()
        if handle is None or not handle.accepted:
            return MotionResult(MotionStatus.ABORTED, "gripper goal rejected")
        res = handle.get_result_async()
        rclpy.spin_until_future_complete(self.node, res, timeout_sec=self.timeout_s)
        r = res.result().result
        self._last = GripperState(STROKE_M * (1 - r.position / 0.8), command == GripperCommand.CLOSE)
        return MotionResult(MotionStatus.SUCCEEDED)

    def state(self) -> GripperState:
        return self._last
