"""The graph's Fast DDS profile (config/fastdds.xml via spatialbot_ros.dds_env): a node started the
way `spatialbot-ros up` starts it runs over shared memory without the TCP transport, and stops on
Ctrl-C after a peer it talked to has left. With Fast DDS 2.14's TCP transport (the LARGE_DATA builtin)
deleting a participant can deadlock on an idle channel to a departed peer: at random, a node hung on
Ctrl-C and the test suite hung in garbage collection (the TCP threads are what this test looks for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ros_domain import Slot, ros_domain

pytestmark = pytest.mark.ros

PEER = """
import time, rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile
from std_msgs.msg import String
rclpy.init()
node = rclpy.create_node("short_lived_peer")
pub = node.create_publisher(String, "/spatialbot/instruction",
                            QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))  # as the node asks
end = time.monotonic() + 45.0  # the node starts (imports, policy) while the peer waits for it
while time.monotonic() < end and pub.get_subscription_count() == 0:
    rclpy.spin_once(node, timeout_sec=0.1)
for _ in range(30):  # long enough for every transport to connect
    pub.publish(String(data="pick the red cup"))
    rclpy.spin_once(node, timeout_sec=0.1)
print(pub.get_subscription_count(), flush=True)
"""


def thread_names(pid: int) -> list[str]:
    tasks = Path(f"/proc/{pid}/task")
    return [(t / "comm").read_text().strip() for t in tasks.iterdir() if (t / "comm").exists()]


def test_a_node_whose_peer_left_stops_on_ctrl_c_and_uses_no_tcp(tmp_path):
    from spatialbot_ros.graph_up import graph_env

    env = graph_env()
    env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)  # the profile decides, whatever the shell had
    env["ROS_DOMAIN_ID"] = str(ros_domain(Slot.DDS))
    node = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.nodes.spatial_policy"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        peer = subprocess.run([sys.executable, "-c", PEER], env=env, capture_output=True, text=True, timeout=60)
        assert peer.returncode == 0, peer.stderr
        assert int(peer.stdout.split()[-1]) >= 1, "the peer never matched the node's subscription"
        names = thread_names(node.pid)
        assert any(n.startswith("dds.shm") for n in names) and not any(n.startswith("dds.tcp") for n in names), names
        time.sleep(0.5)  # the peer is gone; the node's participant still knows it
        started = time.monotonic()
        node.send_signal(signal.SIGINT)
        rc = node.wait(timeout=15.0)
        assert time.monotonic() - started < 10.0
        assert rc in (0, 130, -signal.SIGINT), node.stderr.read()
    finally:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
