"""Evaluation harness: many seeded (or given) scenes, one policy, a success table and a plot."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from spatialbot_ros.apps.episode import EpisodeResult, run_episode
from spatialbot_ros.core.calibration import ReliabilityBin, expected_calibration_error, reliability_bins
from spatialbot_ros.core.durable import (
    JsonlLog,
    atomic_save_figure,
    atomic_write_json,
    atomic_write_text,
    check_writable,
    read_jsonl,
)
from spatialbot_ros.core.errors import OutputError, RunStateError
from spatialbot_ros.policy.registry import make_policy
from spatialbot_ros.sim.scene import Scene, scene_to_dict
from spatialbot_ros.sim.scene_generator import generate_scenes

__all__ = ["EvalSummary", "check_writable", "evaluate", "load_run", "scenes_for_eval", "summarize", "wilson_ci95",
           "write_report"]
RUN_FILE = "run.json"           # what the run is: policy, scenes (digest), seed
EPISODES_FILE = "episodes.jsonl"  # one finished episode per line, fsynced: survives a kill

log = logging.getLogger(__name__)


@dataclass
class EvalSummary:
    policy: str
    episodes: int
    seed: int | None
    success_rate: float
    success_ci95: tuple[float, float]
    grounding_accuracy: float
    place_grounding_accuracy: float
    contact_accuracy: float
    contact_judgments: int
    failures: dict[str, int]
    latency_ms_median: dict[str, float]
    wall_s_total: float
    wall_s_per_episode_median: float
    # calibration of the pick confidence over episodes that acted on a graded pick (None: no confidence)
    ece: float | None = None
    confidence_episodes: int = 0


def wilson_ci95(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval: honest at 0% and 100%, unlike the normal approximation."""
    if n == 0:
        return (0.0, 0.0)
    z = 1.959963984540054
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(policy: str, results: list[EpisodeResult], seed: int | None, wall_s: float) -> EvalSummary:
    n = len(results)
    wins = sum(r.success for r in results)
    graded = [r.grounding_correct for r in results if r.grounding_correct is not None]
    place_graded = [r.place_grounding_correct for r in results if r.place_grounding_correct is not None]
    c_agree = sum(r.contact_agree for r in results)
    c_total = sum(r.contact_total for r in results)
    failures = Counter(r.reason for r in results if not r.success)
    keys = sorted({k for r in results for k in r.latency_ms})
    latency = {k: float(np.median([r.latency_ms[k] for r in results if k in r.latency_ms])) for k in keys}
    return EvalSummary(
        policy=policy, episodes=n, seed=seed, success_rate=wins / n if n else 0.0,
        success_ci95=wilson_ci95(wins, n),
        grounding_accuracy=float(np.mean(graded)) if graded else 0.0,
        place_grounding_accuracy=float(np.mean(place_graded)) if place_graded else 0.0,
        contact_accuracy=c_agree / c_total if c_total else 0.0, contact_judgments=c_total,
        failures=dict(failures), latency_ms_median=latency, wall_s_total=wall_s,
        wall_s_per_episode_median=float(np.median([r.wall_s for r in results])) if results else 0.0,
        ece=expected_calibration_error(*scored) if (scored := confidence_outcomes(results))[0] else None,
        confidence_episodes=len(scored[0]),
    )


def confidence_outcomes(results: list[EpisodeResult]) -> tuple[list[float], list[bool]]:
    """(pick confidence, pick right) of the episodes whose policy gave a confidence for a graded pick."""
    pairs = [(float(r.pick_confidence), bool(r.grounding_correct)) for r in results
             if r.pick_confidence is not None and r.grounding_correct is not None]
    return [c for c, _ in pairs], [k for _, k in pairs]


def scenes_digest(scenes: list[Scene]) -> str:
    text = json.dumps([scene_to_dict(s) for s in scenes], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _result_from_row(row: dict[str, Any]) -> EpisodeResult:
    return EpisodeResult(**{f.name: row[f.name] for f in fields(EpisodeResult) if f.name in row})


def load_run(out_dir: Path, repair: bool = False) -> tuple[dict[str, Any] | None, list[EpisodeResult], int]:
    """(run description, finished episodes in order, bytes of a torn last record) of an eval --out."""
    out_dir = Path(out_dir)
    run = None
    if (out_dir / RUN_FILE).exists():
        try:
            run = json.loads((out_dir / RUN_FILE).read_text())
        except ValueError as exc:
            raise RunStateError(f"{out_dir / RUN_FILE}: unreadable ({exc}); remove the directory to start over") from exc
    rows, torn = read_jsonl(out_dir / EPISODES_FILE, repair=repair)
    return run, [_result_from_row(r) for r in rows], torn


def _open_run(out_dir: Path, policy_name: str, scenes: list[Scene], seed: int | None,
              resume: bool) -> tuple[list[EpisodeResult], JsonlLog]:
    """The episodes an earlier run of the same evaluation kept (resume), and the log to append to."""
    check_writable(out_dir)
    want = {"command": "eval", "policy": policy_name, "seed": seed, "episodes": len(scenes),
            "scenes_digest": scenes_digest(scenes), "scene_names": [s.name for s in scenes]}
    run, done, _ = load_run(out_dir, repair=resume)
    if run is not None and not resume and len(done) < int(run.get("episodes", 0)):
        raise OutputError(f"{out_dir} holds an unfinished run ({len(done)} of {run.get('episodes')} episodes kept); "
                          "pass --resume to continue it, or choose another --out")
    if not resume or run is None:
        if resume:
            log.info("%s: no earlier run to resume; starting a new one", out_dir)
        atomic_write_json(out_dir / RUN_FILE, want)
        return [], JsonlLog(out_dir / EPISODES_FILE, truncate=True)
    differ = [k for k in ("policy", "seed", "episodes", "scenes_digest") if run.get(k) != want[k]]
    if differ:
        raise RunStateError(f"{out_dir}: --resume of a different run ({', '.join(differ)} differ: was "
                            f"{', '.join(f'{k}={str(run.get(k))[:16]}' for k in differ)}); use the same arguments "
                            "or another --out")
    for i, r in enumerate(done):
        if i >= len(scenes) or r.scene != scenes[i].name:
            raise RunStateError(f"{out_dir / EPISODES_FILE}: record {i} is scene {r.scene!r}, expected "
                                f"{scenes[i].name if i < len(scenes) else 'none'}; remove the directory to start over")
    log.info("%s: resuming after %d of %d finished episodes", out_dir, len(done), len(scenes))
    return done, JsonlLog(out_dir / EPISODES_FILE)


class _EpisodeWorker:
    """One policy per worker process, built once (model loading is paid once per worker)."""

    policy: Any = None

    @classmethod
    def start(cls, policy_name: str, policy_kwargs: dict[str, Any]) -> None:
        cls.policy = make_policy(policy_name, **policy_kwargs)

    @classmethod
    def run(cls, scene: Scene) -> EpisodeResult:
        return run_episode(scene, cls.policy)


def _make_policy(policy_name: str, policy_kwargs: dict[str, Any]) -> Any:
    return make_policy(policy_name, **policy_kwargs)


def _episodes(policy_name: str, scenes: list[Scene], policy_kwargs: dict[str, Any], workers: int,
              ray_address: str | None = None) -> Any:
    """The episodes' results in scene order: in this process, in `workers` processes, or on
    `workers` Ray actors at `ray_address` (each scene carries its own seed, so the results do not
    depend on where or how many)."""
    if ray_address:
        from spatialbot_ros.apps.ray_pool import ordered_map

        yield from ordered_map(functools.partial(_make_policy, policy_name, policy_kwargs), _run_scene, scenes,
                               workers=max(1, workers), address=ray_address)
        return
    if workers <= 1:
        policy = make_policy(policy_name, **policy_kwargs)
        for scene in scenes:
            yield run_episode(scene, policy)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers, initializer=_EpisodeWorker.start,
                                      initargs=(policy_name, policy_kwargs)) as pool:
        yield from pool.imap(_EpisodeWorker.run, scenes)


def _run_scene(policy: Any, scene: Scene) -> EpisodeResult:
    return run_episode(scene, policy)


def evaluate(policy_name: str, scenes: list[Scene], *, seed: int | None = None, out_dir: Path | None = None,
             progress: bool = True, policy_kwargs: dict[str, Any] | None = None,
             resume: bool = False, workers: int = 1,
             ray_address: str | None = None) -> tuple[EvalSummary, list[EpisodeResult]]:
    """One policy instance per process for all its episodes (the executive resets it per
    instruction), so model loading is paid once. With out_dir every finished episode is appended to
    episodes.jsonl (fsynced, in scene order) before the next is logged; resume=True continues a
    killed run of the same evaluation. workers > 1: episodes in that many processes, same results;
    with ray_address, on that many Ray actors (apps/ray_pool.py), same results again."""
    import time

    t0 = time.perf_counter()
    results: list[EpisodeResult] = []
    episode_log: JsonlLog | None = None
    if out_dir is not None:
        results, episode_log = _open_run(Path(out_dir), policy_name, scenes, seed, resume)
    resumed = len(results)
    bar = tqdm(total=len(scenes), initial=resumed, desc=f"eval {policy_name}", unit="ep", disable=not progress)
    try:
        todo = scenes[resumed:]
        for i, res in enumerate(_episodes(policy_name, todo, dict(policy_kwargs or {}), workers, ray_address),
                                start=resumed):
            results.append(res)
            if episode_log is not None:
                episode_log.append({"index": i, **asdict(res)})
            bar.update(1)
            bar.set_postfix(success=f"{sum(r.success for r in results)}/{len(results)}")
            if not res.success:
                log.info("episode %s failed: %s (%s)", scenes[i].name, res.reason, res.message)
    finally:
        bar.close()
        if episode_log is not None:
            episode_log.close()
    summary = summarize(policy_name, results, seed, time.perf_counter() - t0)
    if out_dir is not None:
        write_report(summary, results, Path(out_dir))
    return summary, results


def scenes_for_eval(episodes: int, seed: int, scenes_file: Path | None = None, phrasing_set: str = "train") -> list[Scene]:
    if scenes_file is not None:
        from spatialbot_ros.sim.scene import load_scenes

        return load_scenes(scenes_file)
    return generate_scenes(episodes, seed, phrasing_set=phrasing_set)


def write_report(summary: EvalSummary, results: list[EpisodeResult], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "eval.json", {**asdict(summary), "results": [asdict(r) for r in results]})
    lo, hi = summary.success_ci95
    lines = [
        f"# Evaluation: policy `{summary.policy}`, {summary.episodes} episodes (seed {summary.seed})", "",
        "| metric | value |", "|---|---|",
        f"| success rate | {summary.success_rate:.1%} (95% CI {lo:.1%}–{hi:.1%}) |",
        f"| grounding accuracy (pick) | {summary.grounding_accuracy:.1%} |",
        f"| grounding accuracy (place) | {summary.place_grounding_accuracy:.1%} |",
        f"| contact accuracy | {summary.contact_accuracy:.1%} ({summary.contact_judgments} judgments) |",
        f"| wall time | {summary.wall_s_total:.1f} s total, {summary.wall_s_per_episode_median:.2f} s/episode median |",
        *([f"| pick confidence ECE (10 bins) | {summary.ece:.3f} over {summary.confidence_episodes} episodes "
           "(reliability.png) |"] if summary.ece is not None else []),
        "", "| failure | count |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(summary.failures.items(), key=lambda kv: -kv[1])],
        "", "| stage | median ms |", "|---|---|",
        *[f"| {k} | {v:.2f} |" for k, v in summary.latency_ms_median.items()],
    ]
    atomic_write_text(out_dir / "eval.md", "\n".join(lines) + "\n")
    _plot(summary, out_dir / "eval.png")
    conf, correct = confidence_outcomes(results)
    if conf:
        plot_reliability(reliability_bins(conf, correct), out_dir / "reliability.png",
                         f"{summary.policy}: pick confidence, ECE {summary.ece:.3f} (n={len(conf)})")


def plot_reliability(bins: list[ReliabilityBin], path: Path, title: str) -> None:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with the counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, axn) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = bins[0].hi - bins[0].lo
    full = [b for b in bins if b.count]
    ax.bar([b.lo for b in full], [b.accuracy for b in full], width=width, align="edge", edgecolor="k",
           color="tab:blue", label="accuracy")
    ax.bar([b.lo for b in full], [b.mean_confidence - b.accuracy for b in full], bottom=[b.accuracy for b in full],
           width=width, align="edge", color="tab:red", alpha=0.35, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    axn.bar([b.lo for b in bins], [b.count for b in bins], width=width, align="edge", color="tab:gray")
    axn.set_yscale("symlog")
    axn.set_xlabel("confidence")
    axn.set_ylabel("episodes")
    axn.set_xlim(0, 1)
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=100)
    plt.close(fig)


def _plot(summary: EvalSummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    names = ["success", "grounding", "contact"]
    values = [summary.success_rate, summary.grounding_accuracy, summary.contact_accuracy]
    lo, hi = summary.success_ci95
    axes[0].bar(names, values, color=["tab:green", "tab:blue", "tab:orange"])
    # the interval can sit a rounding error inside the rate (e.g. 100% success): bar lengths never go negative
    yerr = [[max(0.0, summary.success_rate - lo)], [max(0.0, hi - summary.success_rate)]]
    axes[0].errorbar([0], [summary.success_rate], yerr=yerr,
                     color="k", capsize=6)
    axes[0].set_ylim(0, 1.05)
    axes[0].set_title(f"{summary.policy}: {summary.episodes} episodes")
    fails = summary.failures or {"(none)": 0}
    axes[1].barh(list(fails), list(fails.values()), color="tab:red")
    axes[1].set_title("failures by reason")
    lat = summary.latency_ms_median
    axes[2].barh(list(lat), list(lat.values()), color="tab:gray")
    axes[2].set_title("median latency per stage (ms)")
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=100)
    plt.close(fig)
