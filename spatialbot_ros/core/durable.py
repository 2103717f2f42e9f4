"""Files that survive a kill: atomic replaces, fsynced appends, and readers that drop a torn tail.

A run killed at any instant (SIGKILL, power loss after fsync) leaves every finished record
readable: summaries are written to a temporary file, fsynced and renamed over the old one; logs
are appended a whole line at a time and fsynced; a line cut by the kill is dropped when read."""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from spatialbot_ros.core.errors import OutputError

log = logging.getLogger(__name__)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_save_figure(fig: Any, path: Path, dpi: int = 100) -> None:
    """A matplotlib figure (anything with savefig) written whole or not at all: rendered in memory,
    then atomic_write_bytes, so a reader or a killed run never sees half a PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", dpi=dpi)
    atomic_write_bytes(Path(path), buf.getvalue())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def durable_rename(src: Path, dst: Path) -> None:
    """fsync src, then rename it to dst and fsync the directory."""
    with open(src, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(src, dst)
    fsync_dir(Path(dst).parent)


class JsonlLog:
    """An append-only JSON-lines file: one record per line, flushed and fsynced per record."""

    def __init__(self, path: Path, truncate: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("wb" if truncate else "ab")
        fsync_dir(self.path.parent)

    def append(self, record: dict[str, Any]) -> None:
        self._f.write((json.dumps(record, default=_jsonable) + "\n").encode("utf-8"))
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_jsonl(path: Path, repair: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The whole records of a JSON-lines log and the number of bytes after them (a line the kill cut);
    repair=True truncates the file to the whole records so appends continue cleanly."""
    path = Path(path)
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    rows: list[dict[str, Any]] = []
    good = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            rows.append(json.loads(line))
        except ValueError:
            break
        good += len(line)
    torn = len(data) - good
    if torn and repair:
        log.warning("%s: dropped %d bytes of an unfinished record", path, torn)
        with path.open("rb+") as f:
            f.truncate(good)
            os.fsync(f.fileno())
    return rows, torn


def check_writable(out_dir: Path) -> None:
    """Create out_dir and prove a file can be written in it, before any work is done."""
    out_dir = Path(out_dir)
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError(f"{out_dir}: --out exists and is not a directory")
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write_probe.", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{out_dir}: output directory is not writable ({exc.strerror or exc}); "
                          "choose another --out") from exc


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return float(value) if isinstance(value, (int, float)) else str(value)
