"""`spatialbot-ros collect`: teleop-assisted episodes into a LeRobot v3 dataset that loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.sim


def _dataset_checks(root: Path, episodes: int) -> dict:
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    ds = LeRobotV3Dataset(root)
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["features"]["observation.images.depth"]["info"]["video.is_depth_map"] is True
    for key in ("action", "action.policy", "intervention", "complementary_info.is_intervention", "next.reward",
                "next.done", "observation.state"):
        assert key in info["features"], key
    meta = ds.episodes
    assert [m["episode_index"] for m in meta] == list(range(episodes))
    # episode index ranges contiguous, and each episode's frames are where its record says
    assert meta[0]["dataset_from_index"] == 0
    assert all(a["dataset_to_index"] == b["dataset_from_index"] for a, b in zip(meta, meta[1:], strict=False))
    assert meta[-1]["dataset_to_index"] == len(ds)
    ep = ds.column("episode_index")
    inter = ds.column("intervention").reshape(-1)
    flag = ds.column("complementary_info.is_intervention").reshape(-1)
    done = ds.column("next.done").reshape(-1)
    for m in meta:
        rows = slice(m["dataset_from_index"], m["dataset_to_index"])
        assert (ep[rows] == m["episode_index"]).all()
        assert int(inter[rows].sum()) == m["frames_with_operator"]  # intervention sums = engaged frames
        assert done[rows][-1] and not done[rows][:-1].any()
        assert {"success", "interventions", "operator", "device"} <= set(m)
    assert np.array_equal(inter.astype(float), flag)
    assert len(ds.decode_video("observation.images.depth")) == len(ds)
    return {"meta": meta, "ds": ds}


def test_scripted_collection_records_interventions_and_reads_back(tmp_path):
    from spatialbot_ros.cli import main

    out = tmp_path / "d"
    assert main(["collect", "--teleop", "scripted", "--episodes", "2", "--take-over-at", "descend",
                 "--out", str(out)]) == 0
    got = _dataset_checks(out, 2)
    meta, ds = got["meta"], got["ds"]
    assert all(m["interventions"] >= 1 and m["operator"] == "scripted" and m["device"] == "sim-truth" for m in meta)
    assert sum(m["success"] for m in meta) >= 1
    inter = ds.column("intervention").reshape(-1).astype(bool)
    act, prop = ds.column("action"), ds.column("action.policy")
    # where the policy drove, what ran is what it proposed; under the operator they differ
    assert np.allclose(act[~inter], prop[~inter])
    assert not np.allclose(act[inter], prop[inter])


def test_sigkill_mid_collection_keeps_every_finished_episode_and_resume_completes(tmp_path):
    out = tmp_path / "d"
    cmd = [sys.executable, "-m", "spatialbot_ros.cli", "collect", "--teleop", "scripted", "--episodes", "3",
           "--take-over-at", "descend", "--rosbag", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = out / "meta" / ".writer_state.json"
    try:
        end = time.monotonic() + 240
        while time.monotonic() < end and proc.poll() is None:
            if state.exists() and len(json.loads(state.read_text())["episodes"]) >= 1:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # well into the next episode
        assert proc.poll() is None, "the collection ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    kept = len(LeRobotV3Dataset(out).episodes)
    assert 1 <= kept < 3
    _dataset_checks(out, kept)  # every finished episode readable; the unfinished one absent
    bags = sorted(p.name for p in (out / "rosbag").iterdir() if not p.name.startswith("."))
    assert bags[:kept] == [f"episode_{i:06d}" for i in range(kept)]  # whole bags (a temporary one is hidden)
    again = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    _dataset_checks(out, 3)
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    engaged = int(LeRobotV3Dataset(out).column("intervention").sum())
    assert f"{engaged} frames under the operator" in again.stdout  # the summary counts the resumed episodes too
    assert sorted(p.name for p in (out / "rosbag").iterdir()) == [f"episode_{i:06d}" for i in range(3)]


def test_keyboard_collection_through_a_terminal_takes_over_hands_back_and_stops(tmp_path):
    """A person at a terminal (a real pseudo-terminal): t takes over, a moves +y, h hands back; in
    the second episode x stops the collection. The live view says who is in control."""
    import pty

    out, live = tmp_path / "d", tmp_path / "live.png"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.cli", "collect", "--teleop", "keyboard",
                             "--episodes", "3", "--out", str(out), "--live-view", str(live)],
                            stdin=slave, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    os.close(slave)
    state = out / "meta" / ".writer_state.json"

    def episodes() -> int:
        return len(json.loads(state.read_text())["episodes"]) if state.exists() else 0

    try:
        end = time.monotonic() + 120
        while not live.exists() and time.monotonic() < end:
            time.sleep(0.05)
        assert live.exists(), "no live view: the episode never started"
        os.write(master, b"t")
        time.sleep(0.5)
        for _ in range(8):
            os.write(master, b"a")
            time.sleep(0.1)
        os.write(master, b"h")
        end = time.monotonic() + 180
        while episodes() < 1 and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(0.5)
        os.write(master, b"x")
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)
    assert proc.returncode == 0, err
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    ds = LeRobotV3Dataset(out)
    first, second = ds.episodes[0], ds.episodes[1]
    assert len(ds.episodes) == 2 and first["operator"] == "keyboard" and first["device"] == "terminal"
    assert first["interventions"] >= 1 and first["frames_with_operator"] >= 3
    assert second["label"] == "stop"
    rows = ds.column("episode_index") == 0
    moved = ds.column("action")[rows & (ds.column("intervention").reshape(-1) == 1)]
    assert (moved[:, 1] > 0).sum() >= 3  # the a key moved the arm along +y


def test_rosbag_mcap_reads_back_with_rosbags(tmp_path):
    """--rosbag: one MCAP bag per episode; rosbags' reader gives every topic once per recorded frame,
    and the depth image is bit-exact with what the dataset stored (nearest-neighbour downscale, lossless)."""
    import cv2
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    from spatialbot_ros.cli import main
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset
    from spatialbot_ros.datasets.rosbag_record import TOPICS, bag_path
    from spatialbot_ros.learn.demos import STORE_HW

    out = tmp_path / "d"
    assert main(["collect", "--teleop", "scripted", "--episodes", "1", "--take-over-at", "descend", "--rosbag",
                 "--out", str(out)]) == 0
    ds = LeRobotV3Dataset(out)
    n = len(ds)
    with AnyReader([bag_path(out, 0)], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert counts == {topic: n for topic, _ in TOPICS.values()}
        depth_conn = [c for c in reader.connections if c.topic == TOPICS["depth"][0]]
        flags_conn = [c for c in reader.connections if c.topic == TOPICS["intervention"][0]]
        depth = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=depth_conn)]
        flags = [reader.deserialize(raw, c.msgtype).data for c, _, raw in reader.messages(connections=flags_conn)]
    stored = ds.decode_video("observation.images.depth")
    for i in (0, n // 2, n - 1):
        m = depth[i]
        img = np.frombuffer(m.data, np.uint16).reshape(m.height, m.width)
        assert m.encoding == "16UC1"
        assert np.array_equal(cv2.resize(img, STORE_HW[::-1], interpolation=cv2.INTER_NEAREST), stored[i])
    assert flags == [bool(v) for v in ds.column("intervention").reshape(-1)]
