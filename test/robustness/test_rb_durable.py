"""Runs keep their results: every finished episode/question is on disk before the next starts;
--resume continues an interrupted run to the same results; a run never overwrites an unfinished one;
the LeRobot writer leaves no trace of an episode it refused or never finished."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from kill_writer_child import FEATURES, episode

from spatialbot_ros.apps.episode import EpisodeResult
from spatialbot_ros.core.errors import OutputError, RunStateError
from spatialbot_ros.datasets.lerobot_v3 import DatasetError, LeRobotV3Dataset, LeRobotV3Writer

pytestmark = [pytest.mark.core, pytest.mark.surface("durable_runs")]


def _fake_result(scene, policy=None, **kw) -> EpisodeResult:
    """A deterministic stand-in for a simulated episode (its outcome is a function of the scene)."""
    h = sum(map(ord, scene.name))
    return EpisodeResult(scene.name, scene.instruction, h % 3 != 0, "ok" if h % 3 else "grasp_missed", "", "",
                         bool(h % 2), None, h % 4, 3, 0.001 * h, True, 1.0, 0.01, {"propose_ms": 1.0}, True)


class _Interrupt:
    """run_episode that raises KeyboardInterrupt (Ctrl-C) on call number `at`."""

    def __init__(self, at: int) -> None:
        self.at, self.calls = at, 0

    def __call__(self, scene, policy, **kw):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return _fake_result(scene)


@pytest.fixture()
def scenes():
    from spatialbot_ros.sim.scene_generator import generate_scenes

    return generate_scenes(5, seed=3)


def _same(a: list[EpisodeResult], b: list[EpisodeResult]) -> bool:
    strip = lambda r: {k: v for k, v in asdict(r).items() if k not in ("wall_s", "latency_ms")}  # noqa: E731
    return [strip(r) for r in a] == [strip(r) for r in b]


@pytest.mark.parametrize("stop_at", [1, 3, 5])
def test_eval_interrupted_then_resumed_equals_one_run(tmp_path, monkeypatch, scenes, stop_at):
    from spatialbot_ros.apps import evaluate as ev

    monkeypatch.setattr(ev, "run_episode", lambda s, p, **k: _fake_result(s))
    ref, ref_results = ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path / "ref", progress=False)
    monkeypatch.setattr(ev, "run_episode", _Interrupt(stop_at))
    with pytest.raises(KeyboardInterrupt):
        ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path / "run", progress=False)
    _, kept, torn = ev.load_run(tmp_path / "run")
    assert len(kept) == stop_at - 1 and torn == 0 and not (tmp_path / "run" / "eval.json").exists()
    with pytest.raises(OutputError, match="--resume"):  # never silently restarted over kept episodes
        ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path / "run", progress=False)
    monkeypatch.setattr(ev, "run_episode", lambda s, p, **k: _fake_result(s))
    summary, results = ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path / "run", progress=False, resume=True)
    assert _same(results, ref_results) and summary.success_rate == ref.success_rate
    report = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert report["episodes"] == len(scenes) == len(report["results"])


def test_eval_resume_of_a_different_run_is_refused(tmp_path, monkeypatch, scenes):
    from spatialbot_ros.apps import evaluate as ev

    monkeypatch.setattr(ev, "run_episode", _Interrupt(3))
    with pytest.raises(KeyboardInterrupt):
        ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path, progress=False)
    with pytest.raises(RunStateError, match="seed"):
        ev.evaluate("geometric", scenes, seed=4, out_dir=tmp_path, progress=False, resume=True)
    with pytest.raises(RunStateError, match="scenes_digest"):
        ev.evaluate("geometric", scenes[::-1], seed=3, out_dir=tmp_path, progress=False, resume=True)


def test_eval_torn_last_record_is_dropped_and_redone(tmp_path, monkeypatch, scenes):
    from spatialbot_ros.apps import evaluate as ev

    monkeypatch.setattr(ev, "run_episode", _Interrupt(4))
    with pytest.raises(KeyboardInterrupt):
        ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path, progress=False)
    log = tmp_path / "episodes.jsonl"
    log.write_bytes(log.read_bytes() + b'{"index": 3, "scene": "rand')  # the kill cut a record
    assert ev.load_run(tmp_path)[2] > 0
    monkeypatch.setattr(ev, "run_episode", lambda s, p, **k: _fake_result(s))
    _, results = ev.evaluate("geometric", scenes, seed=3, out_dir=tmp_path, progress=False, resume=True)
    assert [r.scene for r in results] == [s.name for s in scenes]
    assert len(log.read_text().splitlines()) == len(scenes)


def test_eval_resume_without_an_earlier_run_starts_one(tmp_path, monkeypatch, scenes):
    from spatialbot_ros.apps import evaluate as ev

    monkeypatch.setattr(ev, "run_episode", lambda s, p, **k: _fake_result(s))
    _, results = ev.evaluate("geometric", scenes[:2], seed=3, out_dir=tmp_path / "new", progress=False, resume=True)
    assert len(results) == 2


class _Answerer:
    name = "fake"

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at, self.calls = stop_at, 0

    def answer(self, question, scene) -> str:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return "yes" if len(question.question) % 2 else "no"


def _qa_items(n=8):
    from spatialbot_ros.apps.spatial_qa import SpatialQuestion

    return [(None, SpatialQuestion("left_right", f"Is thing {i} left of thing {i + 1}?" + " " * (i % 3), "yes_no",
                                   bool(i % 2), ("a", "b"), i)) for i in range(n)]


@pytest.mark.parametrize("stop_at", [1, 4, 8])
def test_spatial_qa_interrupted_then_resumed_equals_one_run(tmp_path, stop_at):
    from spatialbot_ros.apps.spatial_qa import ANSWERS_FILE, evaluate_qa

    items = _qa_items()
    ref = evaluate_qa([_Answerer()], items, 8, 0, out_dir=tmp_path / "ref")
    with pytest.raises(KeyboardInterrupt):
        evaluate_qa([_Answerer(stop_at)], items, 8, 0, out_dir=tmp_path / "run")
    assert len((tmp_path / "run" / ANSWERS_FILE).read_text().splitlines()) == stop_at - 1
    with pytest.raises(OutputError, match="--resume"):
        evaluate_qa([_Answerer()], items, 8, 0, out_dir=tmp_path / "run")
    with pytest.raises(RunStateError):
        evaluate_qa([_Answerer()], items, 8, 1, out_dir=tmp_path / "run", resume=True)
    again = evaluate_qa([_Answerer()], items, 8, 0, out_dir=tmp_path / "run", resume=True)
    assert again.accuracy == ref.accuracy and again.answers == ref.answers


# ---- LeRobot writer ------------------------------------------------------------------------------

def _check_dataset(root, expect_episodes: int | None = None) -> int:
    """Every episode the dataset lists decodes and equals what was written; returns their number."""
    ds = LeRobotV3Dataset(root)
    n = len(ds.episodes)
    if expect_episodes is not None:
        assert n == expect_episodes
    if n == 0:
        return 0
    want = [episode(i) for i in range(n)]
    np.testing.assert_array_equal(ds.decode_video("observation.images.depth"),
                                  np.concatenate([w["observation.images.depth"] for w in want]))
    np.testing.assert_allclose(ds.column("observation.state"),
                               np.concatenate([w["observation.state"] for w in want]), atol=1e-7)
    color = ds.decode_video("observation.images.color").astype(float)
    assert np.abs(color - np.concatenate([w["observation.images.color"] for w in want])).mean() < 4
    assert ds.column("episode_index").tolist() == [i for i in range(n) for _ in range(2 + i % 4)]
    assert [e["seed"] for e in ds.episodes] == list(range(n))
    return n


def test_writer_resume_continues_and_matches_one_run(tmp_path):
    w = LeRobotV3Writer(tmp_path / "ds", 10, FEATURES)
    for i in range(3):
        w.add_episode(episode(i), f"task {i % 3}", {"seed": i})
    del w  # no finalize: the process "died" here
    assert _check_dataset(tmp_path / "ds", 3) == 3
    w = LeRobotV3Writer(tmp_path / "ds", 10, FEATURES, resume=True)
    assert w.episodes_written == 3
    for i in range(3, 6):
        w.add_episode(episode(i), f"task {i % 3}", {"seed": i})
    w.finalize()
    _check_dataset(tmp_path / "ds", 6)
    stats = json.loads((tmp_path / "ds" / "meta" / "stats.json").read_text())
    ref = np.concatenate([episode(i)["observation.state"] for i in range(6)])
    np.testing.assert_allclose(stats["observation.state"]["mean"], ref.mean(0), atol=1e-6)


def test_writer_ignores_and_removes_an_unfinished_episode(tmp_path):
    root = tmp_path / "ds"
    w = LeRobotV3Writer(root, 10, FEATURES)
    w.add_episode(episode(0), "t", {"seed": 0})
    # what a kill during episode 1 leaves: its data file and a half-written video, no commit
    (root / "data/chunk-000/file-001.parquet").write_bytes(b"PAR1 half")
    (root / "videos/observation.images.color/chunk-000/.file-001.mp4.tmp").write_bytes(b"\x00" * 100)
    assert _check_dataset(root, 1) == 1  # the reader never looks at them
    w2 = LeRobotV3Writer(root, 10, FEATURES, resume=True)
    assert not (root / "data/chunk-000/file-001.parquet").exists()
    assert not (root / "videos/observation.images.color/chunk-000/.file-001.mp4.tmp").exists()
    w2.add_episode(episode(1), "t", {"seed": 1})
    _check_dataset(root, 2)


def test_reader_trusts_info_over_a_newer_episode_table(tmp_path):
    """A kill between the episode table and info.json: the committed episodes only."""
    root = tmp_path / "ds"
    w = LeRobotV3Writer(root, 10, FEATURES)
    for i in range(2):
        w.add_episode(episode(i), "t", {"seed": i})
    info = json.loads((root / "meta/info.json").read_text())
    w.add_episode(episode(2), "t", {"seed": 2})
    (root / "meta/info.json").write_text(json.dumps(info))
    assert _check_dataset(root, 2) == 2


def test_refused_episode_leaves_no_file(tmp_path):
    root = tmp_path / "ds"
    w = LeRobotV3Writer(root, 10, FEATURES)
    w.add_episode(episode(0), "t", {"seed": 0})
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    bad = [dict(episode(1), **{"observation.state": np.full((3, 3), np.nan, np.float32)}),
           dict(episode(1), **{"observation.images.depth": np.zeros((3, 8, 8), np.uint16)}),
           {k: v[:0] for k, v in episode(1).items()}]
    for frames in bad:
        with pytest.raises(DatasetError):
            w.add_episode(frames, "t")
    with pytest.raises(DatasetError, match="reserved"):
        w.add_episode(episode(1), "t", {"videos/x/from_timestamp": 1})
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    _check_dataset(root, 1)


def test_resume_with_other_features_is_refused(tmp_path):
    from spatialbot_ros.datasets.lerobot_v3 import Feature

    w = LeRobotV3Writer(tmp_path / "ds", 10, FEATURES)
    w.add_episode(episode(0), "t")
    with pytest.raises(DatasetError, match="other features"):
        LeRobotV3Writer(tmp_path / "ds", 10, {**FEATURES, "action": Feature("float32", (7,))}, resume=True)
    with pytest.raises(DatasetError, match="other features"):
        LeRobotV3Writer(tmp_path / "ds", 30, FEATURES, resume=True)


# ---- demos ---------------------------------------------------------------------------------------

def _fake_collect(job):
    """_collect_seed stand-in: an 'expert' that solves two scenes in three, deterministically."""
    from spatialbot_ros.learn.demos import DEMO_FEATURES, _Episode

    seed = job[0]
    if seed % 3 == 0:
        return None
    rng = np.random.default_rng(seed)
    ep = _Episode(f"pick {seed}", meta={"seed": seed, "scene": f"s{seed}"})
    n = 2 + seed % 3
    for k, f in DEMO_FEATURES.items():
        dtype = np.uint16 if f.dtype == "depth_video" else np.uint8 if f.dtype == "video" else np.float32
        ep.frames[k] = list(rng.integers(0, 200, (n, *f.shape)).astype(dtype))
    return ep


class _DemoInterrupt:
    def __init__(self, at: int) -> None:
        self.at, self.calls = at, 0

    def __call__(self, job):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return _fake_collect(job)


@pytest.mark.parametrize("stop_at", [2, 5])
def test_demos_interrupted_then_resumed_equals_one_run(tmp_path, monkeypatch, stop_at):
    from spatialbot_ros.learn import demos

    cfg = demos.DemoConfig(episodes=6, seed=5, workers=1, extra_instructions=0)
    monkeypatch.setattr(demos, "_collect_seed", _fake_collect)
    ref = demos.collect_demos(tmp_path / "ref", cfg, progress=False)
    monkeypatch.setattr(demos, "_collect_seed", _DemoInterrupt(stop_at))
    with pytest.raises(KeyboardInterrupt):
        demos.collect_demos(tmp_path / "run", cfg, progress=False)
    with pytest.raises(OutputError, match="--resume"):
        demos.collect_demos(tmp_path / "run", cfg, progress=False)
    with pytest.raises(RunStateError, match="seed"):
        demos.collect_demos(tmp_path / "run", demos.DemoConfig(episodes=6, seed=6, workers=1), progress=False,
                            resume=True)
    monkeypatch.setattr(demos, "_collect_seed", _fake_collect)
    got = demos.collect_demos(tmp_path / "run", cfg, progress=False, resume=True)
    assert got["episodes_kept"] == ref["episodes_kept"] and got["frames"] == ref["frames"]
    a, b = LeRobotV3Dataset(tmp_path / "ref"), LeRobotV3Dataset(tmp_path / "run")
    assert [e["seed"] for e in a.episodes] == [e["seed"] for e in b.episodes]
    np.testing.assert_array_equal(a.column("action"), b.column("action"))
    np.testing.assert_array_equal(a.decode_video("observation.images.depth"), b.decode_video("observation.images.depth"))
