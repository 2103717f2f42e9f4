"""Latched e-stop over ROS: a std_msgs/Bool on the e-stop topic engages the EStop latch that
every SafeMotion checks; only an explicit reset (Bool false on the reset topic, or the service)
clears it. Topic names are parameters; the QoS is reliable + transient-local so a late joiner
still sees an engaged stop."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from spatialbot_ros.core.safety import EStop

LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class EStopBridge:
    """Attach to any node: subscribes the e-stop topic, offers a reset service, publishes state."""

    def __init__(self, node: Node, estop: EStop, estop_topic: str = "/spatialbot/estop",
                 state_topic: str = "/spatialbot/estop_state", reset_service: str = "/spatialbot/reset_estop") -> None:
        self.node, self.estop = node, estop
        self._state_pub = node.create_publisher(Bool, state_topic, LATCHED_QOS)
        node.create_subscription(Bool, estop_topic, self._on_estop, LATCHED_QOS)
        node.create_service(Trigger, reset_service, self._on_reset)
        self._publish()

    def _publish(self) -> None:
        self._state_pub.publish(Bool(data=self.estop.engaged))

    def _on_estop(self, msg: Bool) -> None:
        if msg.data and not self.estop.engaged:
            self.estop.engage("e-stop topic")
            self.node.get_logger().error("E-STOP engaged: all motion refused until reset")
            self._publish()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was = self.estop.engaged
        self.estop.reset()
        self._publish()
        response.success, response.message = True, "e-stop reset" if was else "e-stop was not engaged"
        self.node.get_logger().warning(response.message)
        return response
