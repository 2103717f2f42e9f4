"""`spatialbot-ros up sim`: mujoco_sim and spatial_policy as separate processes over Fast DDS."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import spin_until

pytestmark = pytest.mark.ros


ROOT = Path(__file__).resolve().parents[1]


def test_up_profiles_use_the_yaml_files_and_unknown_profiles_fail():
    from spatialbot_ros.graph_up import commands, graph_env

    cmds = commands("sim")
    assert [c[2] for c in cmds] == ["spatialbot_ros.nodes.mujoco_sim", "spatialbot_ros.nodes.spatial_policy"]
    assert all(c[-2] == "--params-file" and c[-1].endswith(".yaml") for c in cmds)
    from spatialbot_ros.dds_env import DDS_PROFILE_FILE, PROFILE_VARS

    # every way of starting the graph points Fast DDS at the same profile
    for f in ("launch/sim_mujoco.launch.py", "launch/ur5_cell.launch.py", "launch/cell_emulated.launch.py"):
        text = (ROOT / f).read_text()
        assert '"fastdds.xml"' in text and all(v in text for v in PROFILE_VARS), f
    assert all(f"{v}:-$_spatialbot_root/config/fastdds.xml" in (ROOT / "scripts/env.sh").read_text() for v in PROFILE_VARS)
    env = graph_env()
    assert all(env[v] in (str(DDS_PROFILE_FILE), os.environ.get(v)) for v in PROFILE_VARS)
    assert DDS_PROFILE_FILE.is_file()
    with pytest.raises(ValueError, match="sim, sim_pick_place, sim_collect, cell-emulated, camera"):
        commands("moon")


def test_up_sim_grounds_an_instruction_across_processes(ros):
    from std_msgs.msg import String

    from spatialbot_ros.nodes.spatial_policy import LATCHED

    env = dict(os.environ)
    before = set(running_nodes())  # nodes of other runs on this machine are not ours to judge
    graph = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.cli", "up", "sim", "--duration", "80"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        op = ros.create_node("operator")
        results = []
        op.create_subscription(String, "/spatialbot/policy_result", lambda m: results.append(json.loads(m.data)), 10)
        op.create_publisher(String, "/spatialbot/instruction", LATCHED).publish(
            String(data="pick the leftmost cup and put it on the plate"))
        assert spin_until([op], lambda: any(r.get("pick_mark_id") for r in results), timeout=60.0)
        r = next(r for r in results if r.get("pick_mark_id"))
        assert r["pick_mark_id"] == 1 and "leftmost" in r["explanation"] and r["place"]["kind"] == "on"
    finally:
        graph.terminate()
        graph.wait(timeout=15)
    time.sleep(0.5)
    assert not set(running_nodes()) - before, "stopping `up` must stop every node it started"


def running_nodes():
    from pathlib import Path

    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "spatialbot_ros.nodes.mujoco_sim" in text or "spatialbot_ros.nodes.spatial_policy" in text:
            found.append(f"{cmdline.parent.name}: {text}")
    return found


def test_a_node_that_dies_brings_the_whole_graph_down(tmp_path):
    """SIGKILL one process of `up`: the others are stopped and `up` exits non-zero (the launch files
    do the same with on_exit=Shutdown())."""
    import signal

    def children(pid):
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(stat.parent.name))
        return out

    graph = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.cli", "up", "sim", "--duration", "120"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 30
        procs = []
        while time.monotonic() < end and len(procs) < 2:
            procs = children(graph.pid)
            time.sleep(0.2)
        assert len(procs) == 2
        time.sleep(2.0)
        os.kill(procs[0], signal.SIGKILL)
        assert graph.wait(timeout=30) != 0
        assert children(graph.pid) == [] and not Path(f"/proc/{procs[1]}").exists()
    finally:
        if graph.poll() is None:
            graph.kill()


def test_a_node_whose_executor_dies_stops_the_arm_and_exits_non_zero():
    import pytest as _pytest

    from spatialbot_ros.nodes.runner import run_node

    stopped = []

    class Node:
        def get_name(self):
            return "broken"

        def safe_stop(self):
            stopped.append(True)

        def destroy_node(self):
            pass

    def spin(_node):
        raise RuntimeError("executor died")

    with _pytest.raises(SystemExit) as exc:
        run_node(Node, args=[], spin=spin)
    assert exc.value.code == 1 and stopped == [True]
