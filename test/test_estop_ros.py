"""The latched e-stop over real rclpy / Fast DDS between two nodes, sent the ways the docs say:
`ros2 topic pub --once` (a fresh reliable + volatile publisher) and a latched publisher that was
there before the robot side started."""

import pytest
from conftest import spin_until

pytestmark = pytest.mark.ros


def test_estop_from_a_plain_publisher_latches_stops_and_blocks_motion_until_reset(ros):
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
    states = []
    operator.create_subscription(Bool, "/spatialbot/estop_state", lambda m: states.append(m.data), LATCHED_QOS)
    pub = operator.create_publisher(Bool, "/spatialbot/estop", 10)  # what `ros2 topic pub --once` makes
    assert spin_until([robot_node, operator], lambda: pub.get_subscription_count() >= 1)
    pub.publish(Bool(data=True))
    assert spin_until([robot_node, operator], lambda: estop.engaged and states and states[-1])
    assert backend.calls == [("stop",)] and not motion.armed  # stopped at once, disarmed
    refused = motion.move_linear(GOOD)
    assert refused.status == MotionStatus.REFUSED and refused.cause == "estopped"
    pub.publish(Bool(data=False))  # releasing the button does not clear a latched stop
    spin_until([robot_node, operator], lambda: False, timeout=0.3)
    assert estop.engaged
    client = operator.create_client(Trigger, "/spatialbot/reset_estop")
    assert client.wait_for_service(timeout_sec=5.0)
    fut = client.call_async(Trigger.Request())
    assert spin_until([robot_node, operator], fut.done)
    assert fut.result().success and not estop.engaged
    assert spin_until([robot_node, operator], lambda: states and not states[-1])
    assert motion.move_linear(GOOD).status == MotionStatus.DRY_RUN  # the next motion needs re-arming
    motion.arm(True)
    assert motion.move_linear(GOOD).ok and backend.calls[-1][0] == "execute"


def test_a_latched_estop_published_before_the_robot_side_starts_still_stops_it(ros):
    from std_msgs.msg import Bool

    from spatialbot_ros.core.safety import EStop
    from spatialbot_ros.nodes.estop_bridge import LATCHED_QOS, EStopBridge

    operator = ros.create_node("latched_operator")
    pub = operator.create_publisher(Bool, "/spatialbot/estop", LATCHED_QOS)
    pub.publish(Bool(data=True))
    robot_node = ros.create_node("late_robot_side")
    estop = EStop()
    EStopBridge(robot_node, estop)
    assert spin_until([robot_node, operator], lambda: estop.engaged, timeout=10.0)
