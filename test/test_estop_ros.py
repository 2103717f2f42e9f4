"""The latched e-stop over real rclpy / Fast DDS between two nodes."""

import numpy as np
import pytest
from conftest import spin_until

pytestmark = pytest.mark.ros


def test_estop_topic_latches_and_blocks_motion_until_reset(ros):
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger
    from test_motion_bridges import GOOD, RecordingBackend

    from spatialbot_ros.core.safety import EStop, SafetyChecker
    from spatialbot_ros.motion.base import MotionStatus
    from spatialbot_ros.motion.safety_gate import SafeMotion
    from spatialbot_ros.nodes.estop_bridge import LATCHED_QOS, EStopBridge

    robot_node, operator = ros.create_node("robot_side"), ros.create_node("operator")
    estop = EStop()
    EStopBridge(robot_node, estop)
    backend = RecordingBackend()
    motion = SafeMotion(backend, SafetyChecker(), estop, armed=True)
    pub = operator.create_publisher(Bool, "/spatialbot/estop", LATCHED_QOS)
    states = []
    operator.create_subscription(Bool, "/spatialbot/estop_state", lambda m: states.append(m.data), LATCHED_QOS)
    pub.publish(Bool(data=True))
    assert spin_until([robot_node, operator], lambda: estop.engaged and states and states[-1])
    assert motion.move_linear(GOOD).status == MotionStatus.REFUSED and backend.calls == []
    pub.publish(Bool(data=False))  # releasing the button does not clear a latched stop
    spin_until([robot_node, operator], lambda: False, timeout=0.3)
    assert estop.engaged
    client = operator.create_client(Trigger, "/spatialbot/reset_estop")
    assert client.wait_for_service(timeout_sec=5.0)
    fut = client.call_async(Trigger.Request())
    assert spin_until([robot_node, operator], fut.done)
    assert fut.result().success and not estop.engaged
    assert motion.move_linear(GOOD).ok and np.allclose(backend.calls[0][1], GOOD)
