"""`spatialbot-ros calibrate-confidence`, the command README gives: it writes calibration.json beside the
model it is pointed at, with the dev seed and counts it was fit on, and refuses an eval seed."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spatialbot_ros.policy.onnx_policy import MODEL_DIR

pytestmark = pytest.mark.sim


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spatialbot_ros.cli", "calibrate-confidence", *args],
                          capture_output=True, text=True, timeout=300)


def test_the_command_fits_on_dev_scenes_and_writes_beside_the_model(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model, ignore=shutil.ignore_patterns("calibration.json"))
    proc = _cli("--episodes", "4", "--seed", "9101", "--model-dir", str(model))
    assert proc.returncode == 0, proc.stderr[-2000:]
    cal = json.loads((model / "calibration.json").read_text())
    assert cal["temperature"] > 0 and cal["fit_on"]["seed"] == 9101 and cal["fit_on"]["episodes"] == 4
    assert 0 < cal["fit_on"]["graded_picks"] <= 4 and "temperature" in proc.stdout


def test_an_eval_seed_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model, ignore=shutil.ignore_patterns("calibration.json"))
    proc = _cli("--episodes", "2", "--seed", "0", "--model-dir", str(model))
    assert proc.returncode != 0 and "eval seed" in proc.stderr
    assert not (model / "calibration.json").exists()
