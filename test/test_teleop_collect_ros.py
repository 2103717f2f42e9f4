"""Teleop collection through the ROS graph (`ros2 launch spatialbot_ros collect.launch.py` runs the
same nodes; here `spatialbot-ros up sim_collect`): the teleop_collect node, in its own process over Fast DDS.
A scripted Twist publisher takes over mid-goal and stops; control goes back to the policy, the goal
completes, and the goal is one episode of the dataset with the operator's frames marked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

pytestmark = [pytest.mark.ros, pytest.mark.sim]


def test_a_twist_takes_over_a_goal_hands_back_and_the_goal_is_recorded(ros, tmp_path):
    from geometry_msgs.msg import Twist

    from spatialbot_ros.commander import PickPlaceCommander

    out = tmp_path / "collect"
    params = tmp_path / "teleop.yaml"
    params.write_text(yaml.safe_dump({"teleop_collect": {"ros__parameters": {
        "teleop.hand_back_idle_s": 0.6, "collect.dir": str(out)}}}))  # teleop is on by default there
    graph = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.cli", "up", "sim_collect", "--duration", "300",
                              "--params-file", str(params)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        cmd = PickPlaceCommander()
        assert cmd.wait_for_server(60.0), "teleop_collect did not come up"
        node = ros.create_node("test_operator")
        twist = node.create_publisher(Twist, "/cmd_vel", 10)
        cmd.pick_and_place("pick the middle cup and put it on the plate")
        end = time.monotonic() + 60
        while time.monotonic() < end and not any(f["phase"] == "descend" for f in cmd.feedback()):
            cmd.is_done()
        assert any(f["phase"] == "descend" for f in cmd.feedback()), cmd.feedback()
        sideways = Twist()
        sideways.linear.y = 0.05
        end = time.monotonic() + 2.5  # long enough for several operator steps on a loaded machine
        while time.monotonic() < end:
            twist.publish(sideways)
            cmd.is_done(0.05)
        end = time.monotonic() + 180
        while time.monotonic() < end and not cmd.is_done():
            pass
        r = cmd.result()
        node.destroy_node()
    finally:
        graph.send_signal(signal.SIGINT)
        try:
            graph.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(graph.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    from spatialbot_ros.commander import TaskResult

    assert r.result == TaskResult.SUCCEEDED, r
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    ds = LeRobotV3Dataset(out)
    assert len(ds.episodes) == 1
    ep = ds.episodes[0]
    assert ep["operator"] == "ros" and ep["interventions"] >= 1 and ep["success"] is True
    engaged = ds.column("intervention").reshape(-1) > 0
    assert engaged.sum() >= 3 and engaged.sum() == ep["frames_with_operator"]
    assert (ds.column("action")[engaged][:, 1] > 0).sum() >= 3  # the operator moved the arm along +y
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 1


@pytest.mark.parametrize("override, message", [
    ({"collect.dir": " "}, "collect.dir must name a dataset directory"),
    ({"teleop.enabled": False}, "teleop.enabled must be true"),
    ({"teleop.twist_topic": "", "teleop.joy_topic": ""}, "no operator input"),
])
def test_teleop_collect_refuses_to_start_without_a_dataset_or_an_operator(ros, override, message):
    from rclpy.parameter import Parameter

    from spatialbot_ros.nodes.teleop_collect import TeleopCollectNode

    with pytest.raises(ValueError, match=message):
        TeleopCollectNode(parameter_overrides=[Parameter(k, value=v) for k, v in override.items()])
