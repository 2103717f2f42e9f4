"""Teleop commands from ROS topics: geometry_msgs/Twist (teleop_twist_keyboard on /cmd_vel,
spacenav on /spacenav/twist), TwistStamped, and sensor_msgs/Joy (joy, /spacenav/joy) with a deadman
button. Messages become core/teleop.py commands in a LatestCommand; the collector polls it. Topic
names and the frame are parameters; the mapping itself lives in core/teleop.py."""

from __future__ import annotations

import threading
import time

from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from spatialbot_ros.callback_guard import guarded
from spatialbot_ros.core.teleop import (
    LatestCommand,
    TeleopCommand,
    TeleopConfig,
    TeleopFrame,
    joy_command,
    twist_command,
)


class TeleopSubscriptions:
    """Twist / TwistStamped / Joy subscriptions on `node` feeding one LatestCommand; poll() is what an
    operator (executive/shared_autonomy.TeleopOperator) reads. '' for a topic subscribes nothing."""

    def __init__(self, node: Node, config: TeleopConfig, frame: TeleopFrame, twist_topic: str,
                 twist_stamped_topic: str, joy_topic: str) -> None:
        from geometry_msgs.msg import Twist, TwistStamped
        from sensor_msgs.msg import Joy

        self.config, self.frame = config, frame
        self.latest = LatestCommand(config)
        if twist_topic:
            node.create_subscription(Twist, twist_topic, guarded(node, self._twist), 10)
        if twist_stamped_topic:
            node.create_subscription(TwistStamped, twist_stamped_topic, guarded(node, lambda m: self._twist(m.twist)), 10)
        if joy_topic:
            node.create_subscription(Joy, joy_topic, guarded(node, self._joy), 10)

    def _twist(self, msg) -> None:  # noqa: ANN001
        lin, ang = msg.linear, msg.angular
        self.latest.put(twist_command([lin.x, lin.y, lin.z], [ang.x, ang.y, ang.z], time.monotonic(), self.config,
                                      frame=self.frame))

    def _joy(self, msg) -> None:  # noqa: ANN001
        self.latest.put(joy_command(list(msg.axes), list(msg.buttons), time.monotonic(), self.config))

    def poll(self, now_s: float) -> TeleopCommand:
        """The command in force on the wall clock (idle when none or stale), with its queued events."""
        import dataclasses

        cmd = self.latest.get(now_s)
        events = tuple(self.latest.pop_events())
        return dataclasses.replace(cmd, events=(*cmd.events, *events)) if events else cmd


class TeleopInputNode(Node):
    def __init__(self, config: TeleopConfig, **kwargs: object) -> None:
        super().__init__("teleop_input", **kwargs)
        p = {name: self.declare_parameter(name, default, descriptor=_describe(text)).value
             for name, default, text in (
                 ("twist_topic", "/cmd_vel", "geometry_msgs/Twist input (teleop_twist_keyboard, spacenav: /spacenav/twist)"),
                 ("twist_stamped_topic", "", "geometry_msgs/TwistStamped input ('' = none)"),
                 ("joy_topic", "/joy", "sensor_msgs/Joy input ('' = none; /spacenav/joy for a SpaceMouse)"),
                 ("frame", config.frame.value, "frame of the twists: base (robot base) or tool (TCP)"))}
        if p["frame"] not in {f.value for f in TeleopFrame}:
            raise ValueError(f"parameter frame must be base or tool, got '{p['frame']}'")
        self.teleop = TeleopSubscriptions(self, config, TeleopFrame(p["frame"]), str(p["twist_topic"]),
                                          str(p["twist_stamped_topic"]), str(p["joy_topic"]))

    def poll(self, now_s: float) -> TeleopCommand:
        return self.teleop.poll(now_s)


def _describe(text: str):  # noqa: ANN202
    from rcl_interfaces.msg import ParameterDescriptor

    return ParameterDescriptor(description=text)


class TeleopInput:
    """The node spun on a thread of its own: what `spatialbot-ros collect --teleop ros` polls."""

    def __init__(self, config: TeleopConfig, **topics: str) -> None:
        import rclpy
        from rclpy.parameter import Parameter

        self._owns_context = not rclpy.ok()
        if self._owns_context:
            rclpy.init()
        self.node = TeleopInputNode(config, parameter_overrides=[Parameter(k, value=v) for k, v in topics.items()])
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._executor.spin, name="teleop_input", daemon=True)
        self._thread.start()

    def poll(self, now_s: float) -> TeleopCommand:
        return self.node.poll(now_s)

    def close(self) -> None:
        import rclpy

        self._executor.shutdown()
        self._thread.join(timeout=2.0)
        self.node.destroy_node()
        if self._owns_context:
            rclpy.try_shutdown()


def start_teleop_input(config: TeleopConfig, **topics: str) -> TeleopInput:
    """topics: twist_topic, twist_stamped_topic, joy_topic (the node's parameters)."""
    from spatialbot_ros.dds_env import apply_dds_env

    apply_dds_env()
    return TeleopInput(config, **topics)
