"""`collect --teleop ros` over real DDS: scripted Twist and Joy publishers take over mid-episode and
hand back; the dataset records who was in control."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.sim]


def test_twist_then_joy_take_over_and_hand_back(ros, tmp_path):
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import Joy

    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset
    from spatialbot_ros.learn.collect import CollectOptions, TeleopDevice, run_collect

    out = tmp_path / "d"
    live = tmp_path / "live.png"  # rewritten at every recorded step: the episode is under way
    opts = CollectOptions(out=out, teleop=TeleopDevice.ROS, episodes=2, hand_back_idle_s=0.6, live_view=live)
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(summary=run_collect(opts)), daemon=True)
    node = ros.create_node("test_teleop_publishers")
    twist = node.create_publisher(Twist, "/cmd_vel", 10)
    joy = node.create_publisher(Joy, "/joy", 10)
    state = out / "meta" / ".writer_state.json"

    def episodes() -> int:
        import json

        return len(json.loads(state.read_text())["episodes"]) if state.exists() else 0

    def publish_for(seconds: float, make) -> None:  # noqa: ANN001
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            make()
            time.sleep(0.05)

    def sideways() -> None:
        m = Twist()
        m.linear.y = 0.05
        twist.publish(m)

    def joy_forward() -> None:
        m = Joy()
        m.axes = [0.0, 0.4, 0.0, 0.0, 0.0, 0.0]
        m.buttons = [0, 0, 0, 0, 1, 0]  # button 4 = deadman held
        joy.publish(m)

    worker.start()
    try:
        end = time.monotonic() + 120
        while not live.exists() and time.monotonic() < end:
            time.sleep(0.05)
        publish_for(1.5, sideways)
        end = time.monotonic() + 180
        while episodes() < 1 and time.monotonic() < end and worker.is_alive():
            time.sleep(0.1)
        publish_for(1.5, joy_forward)  # the second episode has just begun
        worker.join(timeout=180)
    finally:
        node.destroy_node()
    assert not worker.is_alive() and "summary" in done, "the collection did not finish"
    ds = LeRobotV3Dataset(out)
    assert len(ds.episodes) == 2
    inter = ds.column("intervention").reshape(-1)
    ep = ds.column("episode_index")
    for m in ds.episodes:
        assert m["operator"] == "ros" and m["interventions"] >= 1, m
        assert inter[ep == m["episode_index"]].sum() >= 3  # the operator drove for several control steps
    assert done["summary"]["episodes"] == 2
