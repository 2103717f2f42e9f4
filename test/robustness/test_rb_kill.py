"""SIGKILL at random moments: the dataset writer, `eval --out` and `demos` are killed (real
processes, no chance to clean up), then every finished episode must be readable and the run must
resume to the results of one uninterrupted run. SPATIALBOT_KILL_TRIALS sets the trials (20)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

from .test_rb_durable import _check_dataset

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("SPATIALBOT_KILL_TRIALS", "20"))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _run_and_kill(argv: list[str], after_s: float) -> int | None:
    """Start argv in its own process group, SIGKILL the group after `after_s`; None if it was killed,
    else its exit code (it finished first)."""
    p = subprocess.Popen(argv, env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        p.wait(timeout=after_s)
        return p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        return None
    finally:
        if p.stderr is not None:
            p.stderr.close()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "spatialbot_ros.cli", *args]


# ---- dataset writer ------------------------------------------------------------------------------

def _writer_trials(tmp_path: Path, trials: int, probes, latest_kill_s: float = 2.5) -> None:
    """Kill the writer child at a random moment between 0.3 s and latest_kill_s, `trials` times."""
    rng = np.random.default_rng(17)
    out = tmp_path / "ds"
    kept = 0
    for _ in range(trials):
        code = _run_and_kill([sys.executable, str(Path(__file__).with_name("kill_writer_child.py")), str(out), "400"],
                             float(rng.uniform(0.3, latest_kill_s)))
        assert code in (None, 0)
        if (out / "meta" / "info.json").exists():
            n = _check_dataset(out)  # every finished episode, videos included, exactly as written
            assert n >= kept  # nothing that was finished is ever lost
            kept = n
        probes(1)
    assert kept > 0, "no episode finished in any trial: the trials are too short to test anything"


@pytest.mark.core
@pytest.mark.surface("kill_dataset_writer")
def test_writer_sigkill_fast(tmp_path, probes):
    _writer_trials(tmp_path, 1, probes, latest_kill_s=1.5)  # the fast tier's slice: one kill (1.3 s in); the full run: 20


@pytest.mark.robustness_full
@pytest.mark.core
@pytest.mark.surface("kill_dataset_writer")
def test_writer_sigkill_trials(tmp_path, probes):
    _writer_trials(tmp_path, TRIALS, probes)


# ---- eval --out ----------------------------------------------------------------------------------

EVAL_ARGS = ("eval", "--episodes", "3", "--seed", "21")


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("wall_s", "latency_ms", "index")} for r in rows]


@pytest.mark.robustness_full
@pytest.mark.sim
@pytest.mark.surface("kill_eval")
def test_eval_sigkill_then_resume(tmp_path, probes):
    from spatialbot_ros.apps.evaluate import evaluate, load_run, scenes_for_eval

    scenes = scenes_for_eval(3, 21)
    _, ref = evaluate("geometric", scenes, seed=21, progress=False)
    ref_rows = _strip([asdict(r) for r in ref])
    rng = np.random.default_rng(5)
    run, partial = 0, 0
    for _ in range(TRIALS):
        out = tmp_path / f"run{run}"
        code = _run_and_kill(_cli(*EVAL_ARGS, "--out", str(out), "--resume"), float(rng.uniform(1.0, 9.0)))
        assert code in (None, 0), code
        if (out / "run.json").exists():
            _, kept, torn = load_run(out)
            assert torn < 4096  # at most the one record the kill cut
            assert _strip([asdict(r) for r in kept]) == ref_rows[:len(kept)]  # every kept episode, in order, exact
            partial += 0 < len(kept) < len(ref_rows)
        if (out / "eval.json").exists():  # summaries appear whole or not at all
            assert json.loads((out / "eval.json").read_text())["episodes"] == 3
        if code == 0:
            run += 1  # that run is finished: the next trial kills a fresh one
        probes(1)
    assert partial, "no kill fell between two episodes: the trials test nothing"
    out = tmp_path / f"run{run}"
    assert subprocess.run(_cli(*EVAL_ARGS, "--out", str(out), "--resume"), env=_env(), cwd=ROOT,
                          capture_output=True, timeout=600).returncode == 0
    final = json.loads((out / "eval.json").read_text())
    assert _strip(final["results"]) == ref_rows  # resumed after kills == one uninterrupted run


# ---- demos ---------------------------------------------------------------------------------------

DEMO_ARGS = ("demos", "--episodes", "3", "--seed", "1000", "--workers", "1", "--extra-instructions", "0",
             "--grounding-scenes", "0")


def _demo_content(root: Path) -> tuple[list[int], np.ndarray, np.ndarray]:
    ds = LeRobotV3Dataset(root)
    return [e["seed"] for e in ds.episodes], ds.column("action"), ds.decode_video("observation.images.depth")


@pytest.mark.robustness_full
@pytest.mark.sim
@pytest.mark.surface("kill_demos")
def test_demos_sigkill_then_resume(tmp_path, probes):
    ref_dir = tmp_path / "ref"
    assert subprocess.run(_cli(*DEMO_ARGS, "--out", str(ref_dir)), env=_env(), cwd=ROOT, capture_output=True,
                          timeout=600).returncode == 0
    ref_seeds, ref_actions, ref_depth = _demo_content(ref_dir)
    rng = np.random.default_rng(9)
    run, partial = 0, 0
    for _ in range(TRIALS):
        out = tmp_path / f"run{run}"
        code = _run_and_kill(_cli(*DEMO_ARGS, "--out", str(out), "--resume"), float(rng.uniform(1.0, 12.0)))
        assert code in (None, 0), code
        if (out / "meta" / "info.json").exists():
            seeds, actions, depth = _demo_content(out)  # readable, videos included, a prefix of the reference
            assert seeds == ref_seeds[:len(seeds)]
            np.testing.assert_array_equal(actions, ref_actions[:len(actions)])
            np.testing.assert_array_equal(depth, ref_depth[:len(depth)])
            partial += 0 < len(seeds) < len(ref_seeds)
        if code == 0:
            run += 1
        probes(1)
    assert partial, "no kill fell between two episodes: the trials test nothing"
    out = tmp_path / f"run{run}"
    assert subprocess.run(_cli(*DEMO_ARGS, "--out", str(out), "--resume"), env=_env(), cwd=ROOT,
                          capture_output=True, timeout=600).returncode == 0
    seeds, actions, depth = _demo_content(out)
    assert seeds == ref_seeds
    np.testing.assert_array_equal(actions, ref_actions)
    np.testing.assert_array_equal(depth, ref_depth)
