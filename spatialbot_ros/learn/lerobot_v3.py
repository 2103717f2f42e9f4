"""LeRobotDataset v3.0 on disk, written and read directly with pyarrow and PyAV.

lerobot itself pins an old torch, so the layout is produced here: many episodes per file,
relational episode metadata, path templates in meta/info.json. The same writer serves simulated
demonstrations and teleop collection.

    meta/info.json, meta/stats.json, meta/tasks.parquet, meta/episodes/chunk-000/file-000.parquet
    data/chunk-000/file-000.parquet
    videos/<key>/chunk-000/file-000.mp4     colour: H.264 yuv420p; depth: FFV1 gray16le (lossless mm)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CODEBASE_VERSION = "v3.0"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"


class DatasetError(ValueError):
    pass


@dataclass(frozen=True)
class Feature:
    """One per-frame feature. dtype 'video' (uint8 HxWx3 colour) or 'depth_video' (uint16 HxW mm),
    or a numpy dtype name for vectors stored in the parquet table."""

    dtype: str
    shape: tuple[int, ...]
    names: list[str] | None = None

    @property
    def is_video(self) -> bool:
        return self.dtype in ("video", "depth_video")

    def info(self, fps: int) -> dict[str, Any]:
        if self.dtype == "video":
            return {"dtype": "video", "shape": list(self.shape), "names": ["height", "width", "channels"],
                    "info": {"video.fps": fps, "video.codec": "h264", "video.pix_fmt": "yuv420p",
                             "video.is_depth_map": False, "has_audio": False}}
        if self.dtype == "depth_video":
            return {"dtype": "video", "shape": [*self.shape, 1], "names": ["height", "width", "channels"],
                    "info": {"video.fps": fps, "video.codec": "ffv1", "video.pix_fmt": "gray16le",
                             "video.is_depth_map": True, "depth_unit": "mm", "has_audio": False}}
        return {"dtype": self.dtype, "shape": list(self.shape), "names": self.names}


class _VideoStream:
    """One growing video file holding every episode of a key back to back."""

    def __init__(self, path: Path, feature: Feature, fps: int) -> None:
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(path), "w")
        depth = feature.dtype == "depth_video"
        self.stream = self.container.add_stream("ffv1" if depth else "libx264", rate=fps)
        self.stream.height, self.stream.width = feature.shape[0], feature.shape[1]
        self.stream.pix_fmt = "gray16le" if depth else "yuv420p"
        if not depth:
            self.stream.options = {"crf": "18", "preset": "veryfast", "g": "10"}
        self.format = "gray16le" if depth else "rgb24"
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=self.format)
        frame.pts = self.frames
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


@dataclass
class _RunningStats:
    n: int = 0
    total: np.ndarray | None = None
    total_sq: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def add(self, x: np.ndarray) -> None:
        """x: (N, D) rows."""
        x = x.astype(np.float64)
        s, s2, lo, hi = x.sum(0), (x * x).sum(0), x.min(0), x.max(0)
        if self.total is None:
            self.total, self.total_sq, self.lo, self.hi = s, s2, lo, hi
        else:
            self.total, self.total_sq = self.total + s, self.total_sq + s2
            self.lo, self.hi = np.minimum(self.lo, lo), np.maximum(self.hi, hi)
        self.n += len(x)

    def as_dict(self) -> dict[str, Any]:
        assert self.total is not None and self.total_sq is not None
        mean = self.total / self.n
        std = np.sqrt(np.maximum(self.total_sq / self.n - mean * mean, 0.0))
        return {"mean": mean.tolist(), "std": std.tolist(), "min": self.lo.tolist(), "max": self.hi.tolist(),
                "count": [self.n]}


@dataclass
class LeRobotV3Writer:
    """Append episodes, then finalize() once. Not thread-safe; one writer per dataset."""

    root: Path
    fps: int
    features: dict[str, Feature]
    robot_type: str = "ur5"
    _rows: dict[str, list[Any]] = field(default_factory=dict, init=False)
    _episodes: list[dict[str, Any]] = field(default_factory=list, init=False)
    _tasks: dict[str, int] = field(default_factory=dict, init=False)
    _videos: dict[str, _VideoStream] = field(default_factory=dict, init=False)
    _stats: dict[str, _RunningStats] = field(default_factory=dict, init=False)
    _frames: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if (self.root / "meta" / "info.json").exists():
            raise DatasetError(f"{self.root} already holds a dataset; choose a new directory")
        for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
            if key in self.features:
                raise DatasetError(f"feature name '{key}' is reserved by the format")

    def add_episode(self, frames: dict[str, np.ndarray], task: str,
                    episode_meta: dict[str, Any] | None = None) -> int:
        """frames: feature key -> array with one row per frame (all the same length)."""
        missing = set(self.features) - set(frames)
        if missing:
            raise DatasetError(f"episode lacks features {sorted(missing)}")
        lengths = {k: len(frames[k]) for k in self.features}
        n = next(iter(lengths.values()))
        if n == 0 or any(v != n for v in lengths.values()):
            raise DatasetError(f"episode features differ in length or are empty: {lengths}")
        ep = len(self._episodes)
        task_index = self._tasks.setdefault(task, len(self._tasks))
        record: dict[str, Any] = {"episode_index": ep, "tasks": [task], "length": n,
                                  "data/chunk_index": 0, "data/file_index": 0,
                                  "dataset_from_index": self._frames, "dataset_to_index": self._frames + n}
        for key, feat in self.features.items():
            arr = np.asarray(frames[key])
            if arr.shape[1:] != feat.shape:
                raise DatasetError(f"feature {key}: frames have shape {arr.shape[1:]}, declared {feat.shape}")
            if feat.is_video:
                stream = self._videos.get(key)
                if stream is None:
                    stream = self._videos[key] = _VideoStream(
                        self.root / VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=0), feat, self.fps)
                record[f"videos/{key}/chunk_index"] = 0
                record[f"videos/{key}/file_index"] = 0
                record[f"videos/{key}/from_timestamp"] = stream.frames / self.fps
                for image in arr:
                    stream.add(image.astype(np.uint16 if feat.dtype == "depth_video" else np.uint8))
                record[f"videos/{key}/to_timestamp"] = stream.frames / self.fps
                flat = _pixel_sample(arr, feat)
            else:
                flat = arr.reshape(n, -1).astype(np.float64)
                self._rows.setdefault(key, []).extend(arr.astype(feat.dtype).reshape(n, -1).tolist()
                                                      if len(feat.shape) else arr.astype(feat.dtype).tolist())
            self._stats.setdefault(key, _RunningStats()).add(flat)
        self._rows.setdefault("timestamp", []).extend((np.arange(n) / self.fps).astype(np.float32).tolist())
        self._rows.setdefault("frame_index", []).extend(range(n))
        self._rows.setdefault("episode_index", []).extend([ep] * n)
        self._rows.setdefault("index", []).extend(range(self._frames, self._frames + n))
        self._rows.setdefault("task_index", []).extend([task_index] * n)
        if episode_meta:
            overlap = set(episode_meta) & set(record)
            if overlap:
                raise DatasetError(f"episode metadata keys {sorted(overlap)} are reserved")
            record.update(episode_meta)
        self._episodes.append(record)
        self._frames += n
        return ep

    def finalize(self) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._episodes:
            raise DatasetError("no episodes were added")
        for stream in self._videos.values():
            stream.close()
        data_path = self.root / DATA_PATH.format(chunk_index=0, file_index=0)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(self._rows), data_path)
        ep_path = self.root / EPISODES_PATH
        ep_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(self._episodes), ep_path)
        tasks = sorted(self._tasks.items(), key=lambda kv: kv[1])
        pq.write_table(pa.table({"task_index": [i for _, i in tasks], "task": [t for t, _ in tasks]}),
                       self.root / "meta" / "tasks.parquet")
        features: dict[str, Any] = {k: f.info(self.fps) for k, f in self.features.items()}
        features.update({
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
        })
        info = {
            "codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type, "fps": self.fps,
            "total_episodes": len(self._episodes), "total_frames": self._frames, "total_tasks": len(self._tasks),
            "chunks_size": 1000, "data_files_size_in_mb": 100, "video_files_size_in_mb": 500,
            "splits": {"train": f"0:{len(self._episodes)}"}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self._videos else None, "features": features,
        }
        (self.root / "meta" / "info.json").write_text(json.dumps(info, indent=2))
        (self.root / "meta" / "stats.json").write_text(json.dumps({k: s.as_dict() for k, s in self._stats.items()}))
        log.info("wrote %d episodes, %d frames to %s", len(self._episodes), self._frames, self.root)
        return self.root


def _pixel_sample(images: np.ndarray, feat: Feature, stride: int = 97) -> np.ndarray:
    """Every stride-th pixel of every frame as (M, channels) rows: enough for per-channel stats."""
    channels = 1 if feat.dtype == "depth_video" else 3
    return images.reshape(len(images), -1, channels)[:, ::stride].reshape(-1, channels)


class LeRobotV3Dataset:
    """Reads what LeRobotV3Writer (or lerobot) wrote: the frame table, episodes, tasks and videos."""

    def __init__(self, root: str | Path) -> None:
        import pyarrow.parquet as pq

        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        if not info_path.exists():
            raise DatasetError(f"{self.root} is not a LeRobot dataset (no meta/info.json)")
        self.info = json.loads(info_path.read_text())
        if self.info.get("codebase_version") != CODEBASE_VERSION:
            raise DatasetError(f"{self.root}: codebase_version {self.info.get('codebase_version')}, "
                               f"this reader handles {CODEBASE_VERSION}")
        files = sorted((self.root / "data").glob("chunk-*/file-*.parquet"))
        import pyarrow as pa

        self.table = pa.concat_tables([pq.read_table(f) for f in files])
        self.episodes = pq.read_table(self.root / EPISODES_PATH).to_pylist()
        self.tasks = {r["task_index"]: r["task"] for r in pq.read_table(self.root / "meta" / "tasks.parquet").to_pylist()}
        self.stats = json.loads((self.root / "meta" / "stats.json").read_text())

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    def __len__(self) -> int:
        return self.table.num_rows

    def column(self, key: str) -> np.ndarray:
        col = self.table.column(key).to_pylist()
        return np.asarray(col)

    def video_keys(self) -> list[str]:
        return [k for k, v in self.info["features"].items() if v["dtype"] == "video"]

    def decode_video(self, key: str) -> np.ndarray:
        """All frames of a video key in dataset order: (N, H, W, 3) uint8 or (N, H, W) uint16 mm."""
        import av

        feat = self.info["features"][key]
        depth = bool(feat["info"].get("video.is_depth_map"))
        fmt = "gray16le" if depth else "rgb24"
        frames: list[np.ndarray] = []
        for file in sorted((self.root / "videos" / key).glob("chunk-*/file-*.mp4")):
            with av.open(str(file)) as container:
                frames.extend(f.to_ndarray(format=fmt) for f in container.decode(video=0))
        if len(frames) != len(self):
            raise DatasetError(f"video {key} has {len(frames)} frames; the table has {len(self)} rows")
        return np.stack(frames)
