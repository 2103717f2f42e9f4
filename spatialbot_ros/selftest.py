"""`spatialbot-ros selftest --robustness [--fast]`: the red-team suite of test/robustness, run by
pytest in a child process, ending with the table (surface, probes, clean)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from spatialbot_ros.core.errors import SpatialBotError

log = logging.getLogger(__name__)

SUITE = Path(__file__).resolve().parents[1] / "test" / "robustness"


def run_selftest(robustness: bool = True, fast: bool = False, suite: Path = SUITE) -> tuple[int, str]:
    """(0 when every probe is clean else 1, the table as markdown; empty when pytest collected nothing)."""
    if not robustness:
        raise SpatialBotError("selftest: choose a suite: --robustness (the red-team probes)")
    if not suite.is_dir():
        raise SpatialBotError(f"selftest: {suite} not found; the suite ships with the source tree (git checkout)")
    import hypothesis  # noqa: F401 - a missing package becomes the CLI's one-line "pip install" hint
    import pytest  # noqa: F401
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "table.md"
        env = {**os.environ, "SPATIALBOT_ROBUSTNESS": "fast" if fast else "full",
               "SPATIALBOT_ROBUSTNESS_TABLE": str(table),
               "PYTHONPATH": os.pathsep.join(p for p in (str(suite.parents[1]), os.environ.get("PYTHONPATH")) if p)}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)]
        log.info("running %s", " ".join(cmd))
        code = subprocess.run(cmd, env=env, cwd=suite.parents[1]).returncode
        text = table.read_text() if table.exists() else ""
    return (0 if code == 0 else 1), text
