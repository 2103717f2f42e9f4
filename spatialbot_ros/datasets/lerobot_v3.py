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

from spatialbot_ros.core.durable import atomic_write_bytes, atomic_write_json, durable_rename
from spatialbot_ros.core.errors import SpatialBotError

log = logging.getLogger(__name__)

CODEBASE_VERSION = "v3.0"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"


class DatasetError(SpatialBotError):
    """A dataset is malformed, or an episode does not fit the declared features."""


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
        self.container = av.open(str(path), "w", format="mp4")
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

    def state(self) -> dict[str, Any]:
        """Exact sums for a resumed writer (as_dict's mean/std would lose precision)."""
        if self.total is None:
            return {"n": 0}
        return {"n": self.n, "total": self.total.tolist(), "total_sq": self.total_sq.tolist(),
                "lo": self.lo.tolist(), "hi": self.hi.tolist()}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> _RunningStats:
        if not d.get("n"):
            return cls()
        return cls(int(d["n"]), *(np.asarray(d[k], np.float64) for k in ("total", "total_sq", "lo", "hi")))

    def as_dict(self) -> dict[str, Any]:
        assert self.total is not None and self.total_sq is not None
        mean = self.total / self.n
        std = np.sqrt(np.maximum(self.total_sq / self.n - mean * mean, 0.0))
        return {"mean": mean.tolist(), "std": std.tolist(), "min": self.lo.tolist(), "max": self.hi.tolist(),
                "count": [self.n]}


STATE_FILE = "meta/.writer_state.json"  # the writer's commit record: episodes, tasks, running stats
CHUNK_SIZE = 1000                         # files per chunk directory


@dataclass
class LeRobotV3Writer:
    """Append episodes; each is durable when add_episode returns (one data file and one video file
    per key per episode, renamed into place after fsync; meta rewritten atomically), so a writer
    killed at any moment leaves every finished episode readable. resume=True reopens a dataset it
    wrote (rebuilding meta from its commit record, removing the unfinished episode's files) and
    appends to it. Not thread-safe; one writer per dataset."""

    root: Path
    fps: int
    features: dict[str, Feature]
    robot_type: str = "ur5"
    resume: bool = False
    _episodes: list[dict[str, Any]] = field(default_factory=list, init=False)
    _tasks: dict[str, int] = field(default_factory=dict, init=False)
    _stats: dict[str, _RunningStats] = field(default_factory=dict, init=False)
    _frames: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
            if key in self.features:
                raise DatasetError(f"feature name '{key}' is reserved by the format")
        exists = (self.root / "meta" / "info.json").exists() or (self.root / STATE_FILE).exists()
        if exists and not self.resume:
            raise DatasetError(f"{self.root} already holds a dataset; choose a new directory (or resume it: --resume)")
        if exists:
            self._load_state()
        self._remove_unfinished()
        if exists:
            self._write_meta()  # the index rebuilt from the commit record

    @property
    def episodes_written(self) -> int:
        return len(self._episodes)

    @property
    def frames_written(self) -> int:
        return self._frames

    def episode_meta(self) -> list[dict[str, Any]]:
        """The records of the episodes written so far (resume: what the earlier run kept)."""
        return [dict(r) for r in self._episodes]

    def add_episode(self, frames: dict[str, np.ndarray], task: str,
                    episode_meta: dict[str, Any] | None = None) -> int:
        """frames: feature key -> array with one row per frame (all the same length)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = self._validated(frames, episode_meta)
        n = len(next(iter(arrays.values())))
        ep = len(self._episodes)
        chunk, file = divmod(ep, CHUNK_SIZE)
        task_index = self._tasks.get(task, len(self._tasks))
        record: dict[str, Any] = {"episode_index": ep, "tasks": [task], "length": n,
                                  "data/chunk_index": chunk, "data/file_index": file,
                                  "dataset_from_index": self._frames, "dataset_to_index": self._frames + n}
        rows: dict[str, list[Any]] = {}
        stats: dict[str, np.ndarray] = {}
        for key, feat in self.features.items():
            arr = arrays[key]
            if feat.is_video:
                path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
                _write_video(path, arr.astype(np.uint16 if feat.dtype == "depth_video" else np.uint8), feat, self.fps)
                record.update({f"videos/{key}/chunk_index": chunk, f"videos/{key}/file_index": file,
                               f"videos/{key}/from_timestamp": 0.0, f"videos/{key}/to_timestamp": n / self.fps})
                stats[key] = _pixel_sample(arr, feat)
            else:
                stats[key] = arr.reshape(n, -1).astype(np.float64)
                rows[key] = (arr.astype(feat.dtype).reshape(n, -1).tolist() if len(feat.shape)
                             else arr.astype(feat.dtype).tolist())
        rows["timestamp"] = (np.arange(n) / self.fps).astype(np.float32).tolist()
        rows["frame_index"] = list(range(n))
        rows["episode_index"] = [ep] * n
        rows["index"] = list(range(self._frames, self._frames + n))
        rows["task_index"] = [task_index] * n
        _atomic_parquet(pa.table(rows), self.root / DATA_PATH.format(chunk_index=chunk, file_index=file), pq)
        record.update(episode_meta or {})
        # commit: the state file names the episode; meta files follow from it
        self._tasks.setdefault(task, task_index)
        for key, flat in stats.items():
            self._stats.setdefault(key, _RunningStats()).add(flat)
        self._episodes.append(record)
        self._frames += n
        atomic_write_json(self.root / STATE_FILE, self._state())
        self._write_meta()
        return ep

    def finalize(self) -> Path:
        """Every episode is already on disk; kept so callers can say they are done."""
        if not self._episodes:
            raise DatasetError("no episodes were added")
        log.info("wrote %d episodes, %d frames to %s", len(self._episodes), self._frames, self.root)
        return self.root

    # ---- internals -------------------------------------------------------------------------------

    def _validated(self, frames: dict[str, np.ndarray], episode_meta: dict[str, Any] | None) -> dict[str, np.ndarray]:
        """Every check before anything is written: a refused episode leaves no file behind."""
        missing = set(self.features) - set(frames)
        if missing:
            raise DatasetError(f"episode lacks features {sorted(missing)}")
        arrays = {k: np.asarray(frames[k]) for k in self.features}
        lengths = {k: (len(a) if a.ndim else 0) for k, a in arrays.items()}
        n = next(iter(lengths.values()))
        if n == 0 or any(v != n for v in lengths.values()):
            raise DatasetError(f"episode features differ in length or are empty: {lengths}")
        for key, feat in self.features.items():
            if arrays[key].shape[1:] != feat.shape:
                raise DatasetError(f"feature {key}: frames have shape {arrays[key].shape[1:]}, declared {feat.shape}")
            if not feat.is_video and np.issubdtype(arrays[key].dtype, np.floating) and \
                    not np.isfinite(arrays[key]).all():
                raise DatasetError(f"feature {key}: NaN or infinite values")
        if episode_meta:
            reserved = {"episode_index", "tasks", "length", "data/chunk_index", "data/file_index",
                        "dataset_from_index", "dataset_to_index"}
            overlap = {k for k in episode_meta if k in reserved or k.startswith("videos/")}
            if overlap:
                raise DatasetError(f"episode metadata keys {sorted(overlap)} are reserved")
        return arrays

    def _state(self) -> dict[str, Any]:
        return {"fps": self.fps, "robot_type": self.robot_type,
                "features": {k: f.info(self.fps) for k, f in self.features.items()},
                "episodes": self._episodes, "tasks": self._tasks, "frames": self._frames,
                "stats": {k: s.state() for k, s in self._stats.items()}}

    def _load_state(self) -> None:
        path = self.root / STATE_FILE
        if not path.exists():
            raise DatasetError(f"{self.root}: no {STATE_FILE}; only datasets this writer made can be resumed")
        try:
            state = json.loads(path.read_text())
        except ValueError as exc:
            raise DatasetError(f"{path}: unreadable ({exc})") from exc
        if state.get("fps") != self.fps or state.get("features") != {k: f.info(self.fps) for k, f in self.features.items()}:
            raise DatasetError(f"{self.root}: the dataset has other features or fps than this writer; "
                               "resume with the same settings or choose a new directory")
        self._episodes = list(state["episodes"])
        self._tasks = {str(k): int(v) for k, v in state["tasks"].items()}
        self._frames = int(state["frames"])
        self._stats = {k: _RunningStats.from_state(v) for k, v in state["stats"].items()}

    def _remove_unfinished(self) -> None:
        """Files of an episode that never committed (the kill came mid-episode) and temporary files."""
        committed = len(self._episodes)
        for sub in ("data", "videos"):
            for f in sorted((self.root / sub).rglob("*")) if (self.root / sub).exists() else []:
                if not f.is_file():
                    continue
                index = _episode_of_file(f)
                if f.name.startswith(".") or index is None or index >= committed:
                    log.info("%s: removing %s (unfinished episode)", self.root, f.relative_to(self.root))
                    f.unlink()
        for f in (self.root / "meta").rglob(".*.tmp") if (self.root / "meta").exists() else []:
            f.unlink()

    def _write_meta(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        _atomic_parquet(pa.Table.from_pylist(self._episodes), self.root / EPISODES_PATH, pq)
        tasks = sorted(self._tasks.items(), key=lambda kv: kv[1])
        _atomic_parquet(pa.table({"task_index": [i for _, i in tasks], "task": [t for t, _ in tasks]}),
                        self.root / "meta" / "tasks.parquet", pq)
        atomic_write_json(self.root / "meta" / "stats.json", {k: s.as_dict() for k, s in self._stats.items()})
        features: dict[str, Any] = {k: f.info(self.fps) for k, f in self.features.items()}
        features.update({
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
        })
        has_video = any(f.is_video for f in self.features.values())
        n_eps = len(self._episodes)
        info = {
            "codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type, "fps": self.fps,
            "total_episodes": n_eps, "total_frames": self._frames, "total_tasks": len(self._tasks),
            "chunks_size": CHUNK_SIZE, "data_files_size_in_mb": 100, "video_files_size_in_mb": 500,
            "splits": {"train": f"0:{n_eps}"}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if has_video else None, "features": features,
        }
        atomic_write_json(self.root / "meta" / "info.json", info)  # last: readers trust its total_episodes


def _episode_of_file(path: Path) -> int | None:
    """Episode index of a per-episode data/video file (chunk-CCC/file-FFF), None for anything else."""
    try:
        chunk = int(path.parent.name.removeprefix("chunk-"))
        file = int(path.stem.removeprefix("file-"))
    except ValueError:
        return None
    return chunk * CHUNK_SIZE + file


def _atomic_parquet(table: Any, path: Path, pq: Any) -> None:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def _write_video(path: Path, images: np.ndarray, feature: Feature, fps: int) -> None:
    """Encode to a hidden temporary file, close it (the mp4 index is written at close), fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    stream = _VideoStream(tmp, feature, fps)
    try:
        for image in images:
            stream.add(image)
    finally:
        stream.close()
    durable_rename(tmp, path)


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
        try:
            self.info = json.loads(info_path.read_text())
        except ValueError as exc:
            raise DatasetError(f"{info_path}: not valid JSON ({exc})") from exc
        if self.info.get("codebase_version") != CODEBASE_VERSION:
            raise DatasetError(f"{self.root}: codebase_version {self.info.get('codebase_version')}, "
                               f"this reader handles {CODEBASE_VERSION}")
        import pyarrow as pa
        import pyarrow.compute as pc

        # info.json is written last: episodes beyond its total belong to a write that never finished
        total = int(self.info.get("total_episodes", 0))
        self.episodes = pq.read_table(self.root / EPISODES_PATH).to_pylist()[:total]
        if len(self.episodes) < total:
            raise DatasetError(f"{self.root}: info.json counts {total} episodes, the episode table has "
                               f"{len(self.episodes)}")
        files = self._files(lambda e: DATA_PATH.format(chunk_index=e["data/chunk_index"],
                                                       file_index=e["data/file_index"]))
        tables = [pq.read_table(f) for f in files]
        table = pa.concat_tables(tables) if tables else pa.table({"index": pa.array([], pa.int64())})
        self.table = table.filter(pc.less(table.column("episode_index"), total)) \
            if "episode_index" in table.column_names else table
        self.tasks = {r["task_index"]: r["task"] for r in pq.read_table(self.root / "meta" / "tasks.parquet").to_pylist()}
        self.stats = json.loads((self.root / "meta" / "stats.json").read_text())

    def _files(self, rel: Any) -> list[Path]:
        """The distinct files the episodes reference, in episode order (packed or one per episode)."""
        return [self.root / p for p in dict.fromkeys(rel(e) for e in self.episodes)]

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
        files = self._files(lambda e: VIDEO_PATH.format(video_key=key, chunk_index=e[f"videos/{key}/chunk_index"],
                                                         file_index=e[f"videos/{key}/file_index"]))
        for file in files:
            with av.open(str(file)) as container:
                frames.extend(f.to_ndarray(format=fmt) for f in container.decode(video=0))
        if len(frames) != len(self):
            raise DatasetError(f"video {key} has {len(frames)} frames; the table has {len(self)} rows")
        return np.stack(frames)
