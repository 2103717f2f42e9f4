"""Latched e-stop over ROS: a std_msgs/Bool true on the e-stop topic engages the EStop latch that
SafeMotion listens to (it disarms and stops the motion in progress at once); only the reset service
clears it, and clearing does not re-arm.

The stop must arrive however it is sent: `ros2 topic pub --once` makes a reliable, volatile
publisher, which a transient-local subscription never matches, and a latched (transient-local)
publisher started before this node is only seen in full by a transient-local subscription. So the
bridge subscribes twice, once with each durability. The state is published latched."""

from __future__ import annotations

import threading

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from spatialbot_ros.callback_guard import guarded
from spatialbot_ros.core.safety import EStop

LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


class EStopBridge:
    """Attach to any node: subscribes the e-stop topic (both durabilities), offers the reset
    service, publishes the latched state. Give its callbacks their own callback group so a stop is
    handled while other callbacks wait."""

    def __init__(self, node: Node, estop: EStop, estop_topic: str = "/spatialbot/estop",
                 state_topic: str = "/spatialbot/estop_state", reset_service: str = "/spatialbot/reset_estop",
                 callback_group: object | None = None) -> None:
        self.node, self.estop = node, estop
        self._state_pub = node.create_publisher(Bool, state_topic, LATCHED_QOS)
        on_estop = guarded(node, self._on_estop)
        for qos in (COMMAND_QOS, LATCHED_QOS):
            node.create_subscription(Bool, estop_topic, on_estop, qos, callback_group=callback_group)
        node.create_service(Trigger, reset_service, self._on_reset, callback_group=callback_group)
        self._publish()

    def _publish(self) -> None:
        self._state_pub.publish(Bool(data=self.estop.engaged))

    def _on_estop(self, msg: Bool) -> None:
        if msg.data is True and not self.estop.engaged:
            self.estop.engage("e-stop topic")
            self.node.get_logger().error("E-STOP engaged: motion stopped, robot disarmed, all motion refused until reset")
            self._publish()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was = self.estop.engaged
        self.estop.reset()
        self._publish()
        response.success = True
        response.message = "e-stop reset (the robot stays disarmed until armed again)" if was else "e-stop was not engaged"
        self.node.get_logger().warning(response.message)
        return response


class EStopNode:
    """An EStopBridge on a node of its own (`<owner>_estop`), spun by its own single-threaded executor
    in a thread: the stop is handled the moment it arrives, whatever the owner's executor is busy with."""

    def __init__(self, owner: Node, estop: EStop, estop_topic: str, state_topic: str, reset_service: str) -> None:
        from rclpy.executors import SingleThreadedExecutor

        self.node = Node(f"{owner.get_name()}_estop", namespace=owner.get_namespace(), context=owner.context)
        self.bridge = EStopBridge(self.node, estop, estop_topic, state_topic, reset_service)
        self._executor = SingleThreadedExecutor(context=owner.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name="estop-executor", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self.node.context.ok() and not self._closed:
            try:
                self._executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 - shutting down (context gone); the owner's runner stops the arm
                if not self.node.context.ok() or self._closed:
                    return
                raise

    _closed = False

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=1.0)
        self._executor.shutdown()
        self.node.destroy_node()
