"""Evaluation harness: many seeded (or given) scenes, one policy, a success table and a plot."""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from spatialbot_ros.policy.registry import make_policy
from spatialbot_ros.sim.episode import EpisodeResult, run_episode
from spatialbot_ros.sim.scene import Scene
from spatialbot_ros.sim.scene_generator import generate_scenes

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
    )


def evaluate(policy_name: str, scenes: list[Scene], *, seed: int | None = None, out_dir: Path | None = None,
             progress: bool = True, policy_kwargs: dict[str, Any] | None = None) -> tuple[EvalSummary, list[EpisodeResult]]:
    """One policy instance for all episodes (the executive resets it per instruction), so model
    loading is paid once."""
    import time

    t0 = time.perf_counter()
    results: list[EpisodeResult] = []
    policy = make_policy(policy_name, **(policy_kwargs or {}))
    bar = tqdm(scenes, desc=f"eval {policy_name}", unit="ep", disable=not progress)
    for scene in bar:
        res = run_episode(scene, policy)
        results.append(res)
        bar.set_postfix(success=f"{sum(r.success for r in results)}/{len(results)}")
        if not res.success:
            log.info("episode %s failed: %s (%s)", scene.name, res.reason, res.message)
    summary = summarize(policy_name, results, seed, time.perf_counter() - t0)
    if out_dir is not None:
        write_report(summary, results, out_dir)
    return summary, results


def scenes_for_eval(episodes: int, seed: int, scenes_file: Path | None = None, phrasing_set: str = "train") -> list[Scene]:
    if scenes_file is not None:
        from spatialbot_ros.sim.scene import load_scenes

        return load_scenes(scenes_file)
    return generate_scenes(episodes, seed, phrasing_set=phrasing_set)


def write_report(summary: EvalSummary, results: list[EpisodeResult], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(
        {**asdict(summary), "results": [asdict(r) for r in results]}, indent=2, default=float))
    lo, hi = summary.success_ci95
    lines = [
        f"# Evaluation: policy `{summary.policy}`, {summary.episodes} episodes (seed {summary.seed})", "",
        "| metric | value |", "|---|---|",
        f"| success rate | {summary.success_rate:.1%} (95% CI {lo:.1%}–{hi:.1%}) |",
        f"| grounding accuracy (pick) | {summary.grounding_accuracy:.1%} |",
        f"| grounding accuracy (place) | {summary.place_grounding_accuracy:.1%} |",
        f"| contact accuracy | {summary.contact_accuracy:.1%} ({summary.contact_judgments} judgments) |",
        f"| wall time | {summary.wall_s_total:.1f} s total, {summary.wall_s_per_episode_median:.2f} s/episode median |",
        "", "| failure | count |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(summary.failures.items(), key=lambda kv: -kv[1])],
        "", "| stage | median ms |", "|---|---|",
        *[f"| {k} | {v:.2f} |" for k, v in summary.latency_ms_median.items()],
    ]
    (out_dir / "eval.md").write_text("\n".join(lines) + "\n")
    _plot(summary, out_dir / "eval.png")


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
    fig.savefig(path, dpi=100)
    plt.close(fig)
