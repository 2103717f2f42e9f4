"""LeRobot v3 layout: what the writer puts on disk and what the reader gets back."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from spatialbot_ros.datasets.lerobot_v3 import DatasetError, Feature, LeRobotV3Dataset, LeRobotV3Writer

pytestmark = pytest.mark.core

FEATURES = {
    "observation.images.color": Feature("video", (24, 32, 3)),
    "observation.images.depth": Feature("depth_video", (24, 32)),
    "observation.state": Feature("float32", (4,)),
    "action": Feature("float32", (7,), ["dx", "dy", "dz", "rx", "ry", "rz", "gripper"]),
}


def _episode(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    color = np.repeat(np.linspace(0, 255, 32, dtype=np.uint8)[None, None, :, None], 24, 1).repeat(3, 3)
    return {
        "observation.images.color": np.repeat(color, n, 0),
        "observation.images.depth": rng.integers(0, 4000, (n, 24, 32), dtype=np.uint16),
        "observation.state": rng.normal(size=(n, 4)).astype(np.float32),
        "action": rng.normal(size=(n, 7)).astype(np.float32),
    }


def test_round_trip_layout_and_content(tmp_path):
    rng = np.random.default_rng(0)
    w = LeRobotV3Writer(tmp_path / "ds", 10, FEATURES)
    eps = [_episode(rng, 5), _episode(rng, 3)]
    w.add_episode(eps[0], "pick the red cup", {"scene": "a"})
    w.add_episode(eps[1], "pick the blue box", {"scene": "b"})
    w.finalize()
    root = tmp_path / "ds"
    for rel in ("meta/info.json", "meta/stats.json", "meta/tasks.parquet", "meta/episodes/chunk-000/file-000.parquet",
                "data/chunk-000/file-000.parquet", "videos/observation.images.color/chunk-000/file-000.mp4",
                "videos/observation.images.depth/chunk-000/file-000.mp4"):
        assert (root / rel).is_file(), rel
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert info["total_episodes"] == 2 and info["total_frames"] == 8 and info["total_tasks"] == 2
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["features"]["observation.images.depth"]["info"]["video.is_depth_map"] is True
    assert info["features"]["action"]["names"][-1] == "gripper"

    ds = LeRobotV3Dataset(root)
    assert len(ds) == 8
    np.testing.assert_array_equal(ds.column("episode_index"), [0] * 5 + [1] * 3)
    np.testing.assert_array_equal(ds.column("index"), np.arange(8))
    np.testing.assert_allclose(ds.column("action"), np.concatenate([e["action"] for e in eps]), atol=1e-7)
    assert ds.episodes[1]["dataset_from_index"] == 5 and ds.episodes[1]["dataset_to_index"] == 8
    assert ds.episodes[1]["scene"] == "b"
    # one file per episode (durable when the episode ends): episode 1 starts its own video
    assert ds.episodes[1]["videos/observation.images.color/file_index"] == 1
    assert ds.episodes[1]["videos/observation.images.color/from_timestamp"] == 0.0
    assert ds.episodes[1]["videos/observation.images.color/to_timestamp"] == pytest.approx(0.3)
    assert ds.tasks == {0: "pick the red cup", 1: "pick the blue box"}
    depth = ds.decode_video("observation.images.depth")  # FFV1 gray16: lossless millimetres
    np.testing.assert_array_equal(depth, np.concatenate([e["observation.images.depth"] for e in eps]))
    color = ds.decode_video("observation.images.color")  # H.264: lossy but close
    ref = np.concatenate([e["observation.images.color"] for e in eps]).astype(float)
    assert np.abs(color.astype(float) - ref).mean() < 4.0
    stats = json.loads((root / "meta/stats.json").read_text())
    np.testing.assert_allclose(stats["action"]["mean"], ds.column("action").mean(0), atol=1e-5)
    assert pq.read_table(root / "meta/tasks.parquet").num_rows == 2


def test_refuses_bad_episodes_and_existing_dataset(tmp_path):
    rng = np.random.default_rng(1)
    w = LeRobotV3Writer(tmp_path / "ds", 10, FEATURES)
    ep = _episode(rng, 4)
    short = dict(ep, action=ep["action"][:3])
    with pytest.raises(DatasetError, match="length"):
        w.add_episode(short, "t")
    with pytest.raises(DatasetError, match="lacks"):
        w.add_episode({k: v for k, v in ep.items() if k != "action"}, "t")
    with pytest.raises(DatasetError, match="shape"):
        w.add_episode(dict(ep, action=np.zeros((4, 6), np.float32)), "t")
    with pytest.raises(DatasetError, match="reserved"):
        w.add_episode(ep, "t", {"length": 3})
    w2 = LeRobotV3Writer(tmp_path / "ok", 10, FEATURES)
    w2.add_episode(ep, "t")
    w2.finalize()
    with pytest.raises(DatasetError, match="already holds"):
        LeRobotV3Writer(tmp_path / "ok", 10, FEATURES)
    with pytest.raises(DatasetError, match="not a LeRobot dataset"):
        LeRobotV3Dataset(tmp_path / "nothing")
