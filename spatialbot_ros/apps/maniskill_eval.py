"""`spatialbot-ros maniskill-eval`: zero-shot success of our policy on ManiSkill3 tasks (CPU).

Episode k runs with seed `seed + k`, so the results are the same whatever the worker count. Each
worker process builds its own env and policy once. Writes maniskill_eval.{json,md,png} to --out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.durable import atomic_save_figure, atomic_write_json, atomic_write_text
from spatialbot_ros.sim.maniskill_episode import ManiSkillEpisodeResult, run_maniskill_episode

log = logging.getLogger(__name__)


def _wilson(successes: int, n: int) -> tuple[float, float]:
    from spatialbot_ros.apps.evaluate import wilson_ci95

    return wilson_ci95(successes, n)


@dataclass
class ManiSkillSummary:
    task: str
    policy: str
    episodes: int
    seed: int
    workers: int
    success_rate: float
    success_ci95: tuple[float, float]
    success_once_rate: float
    steps_median: float
    steps_median_success: float
    wall_s_per_episode_median: float
    wall_s_total: float
    failures: dict[str, int]
    camera: str
    resolution: tuple[int, int]


def make_maniskill_policy(name: str, task: str) -> Any:
    """A policy that can ground an instruction on a frame (`ground(frame, instruction, base_from_camera)`).
    The geometric policy gets the task's place offset for "next to" (ManiSkill's 4 cm cubes)."""
    from spatialbot_ros.policy.registry import make_policy
    from spatialbot_ros.sim.maniskill_env import task_spec

    spec = task_spec(task)
    kwargs: dict[str, Any] = {}
    if name == "geometric" and spec.place_offset_m is not None:
        from spatialbot_ros.core.grounding import GroundingConfig
        from spatialbot_ros.policy.geometric import GeometricPolicyConfig

        kwargs["config"] = GeometricPolicyConfig(grounding=GroundingConfig(place_offset_m=spec.place_offset_m))
    policy = make_policy(name, **kwargs)
    if not callable(getattr(policy, "ground", None)):
        raise ValueError(f"policy '{name}' has no ground(frame, instruction, base_from_camera); maniskill-eval "
                         "drives the Panda from a grounded mark (geometric and the VLM grounders do)")
    return policy


class _Worker:
    """Per process: one env and one policy for all its episodes."""

    env: Any = None
    policy: Any = None

    @classmethod
    def start(cls, task: str, policy_name: str, width: int, height: int) -> None:
        from spatialbot_ros.sim.maniskill_env import ManiSkillEnv

        logging.getLogger("mani_skill").setLevel(logging.ERROR)
        cls.env = ManiSkillEnv(task, width=width, height=height)
        cls.policy = make_maniskill_policy(policy_name, task)

    @classmethod
    def run(cls, seed: int) -> ManiSkillEpisodeResult:
        return run_maniskill_episode(cls.env, cls.policy, seed)


def _episodes(task: str, policy_name: str, seeds: list[int], workers: int, width: int, height: int) -> Any:
    if workers <= 1:
        _Worker.start(task, policy_name, width, height)
        try:
            for s in seeds:
                yield _Worker.run(s)
        finally:
            _Worker.env.close()
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers, initializer=_Worker.start,
                                      initargs=(task, policy_name, width, height)) as pool:
        yield from pool.imap(_Worker.run, seeds)


def summarize(task: str, policy: str, seed: int, workers: int, results: list[ManiSkillEpisodeResult], wall_s: float,
              camera: str, resolution: tuple[int, int]) -> ManiSkillSummary:
    n = len(results)
    wins = sum(r.success for r in results)
    fails: dict[str, int] = {}
    for r in results:
        if not r.success:
            fails[r.reason] = fails.get(r.reason, 0) + 1
    won_steps = [r.steps for r in results if r.success]
    return ManiSkillSummary(
        task=task, policy=policy, episodes=n, seed=seed, workers=workers, success_rate=wins / n if n else 0.0,
        success_ci95=_wilson(wins, n), success_once_rate=sum(r.success_once for r in results) / n if n else 0.0,
        steps_median=float(np.median([r.steps for r in results])) if n else 0.0,
        steps_median_success=float(np.median(won_steps)) if won_steps else 0.0,
        wall_s_per_episode_median=float(np.median([r.wall_s for r in results])) if n else 0.0,
        wall_s_total=wall_s, failures=fails, camera=camera, resolution=resolution)


def evaluate_maniskill(task: str, episodes: int, seed: int = 0, policy: str = "geometric", workers: int = 1,
                       out_dir: Path | None = None, width: int = 640, height: int = 480,
                       progress: bool = True) -> tuple[ManiSkillSummary, list[ManiSkillEpisodeResult]]:
    from tqdm import tqdm

    from spatialbot_ros.sim.maniskill_env import task_spec

    spec = task_spec(task)
    seeds = [seed + k for k in range(episodes)]
    t0 = time.perf_counter()
    results: list[ManiSkillEpisodeResult] = []
    bar = tqdm(total=episodes, desc=f"maniskill {task}", unit="ep", disable=not progress)
    try:
        for res in _episodes(task, policy, seeds, workers, width, height):
            results.append(res)
            bar.update(1)
            bar.set_postfix(success=f"{sum(r.success for r in results)}/{len(results)}")
            if not res.success:
                log.info("seed %d failed: %s (%s)", res.seed, res.reason, res.message)
    finally:
        bar.close()
    summary = summarize(task, policy, seed, workers, results, time.perf_counter() - t0, spec.camera, (width, height))
    if out_dir is not None:
        write_report(summary, results, Path(out_dir))
    return summary, results


def summary_markdown(summary: ManiSkillSummary) -> list[str]:
    lo, hi = summary.success_ci95
    return [
        f"# ManiSkill3 `{summary.task}`: policy `{summary.policy}`, {summary.episodes} episodes "
        f"(seeds {summary.seed}..{summary.seed + summary.episodes - 1})", "",
        f"Camera `{summary.camera}` at {summary.resolution[0]}x{summary.resolution[1]}; control `pd_ee_delta_pose`; "
        "success = the env's info[\"success\"] when the episode ends.", "",
        "| metric | value |", "|---|---|",
        f"| success rate | {summary.success_rate:.1%} (95% CI {lo:.1%}-{hi:.1%}) |",
        f"| success at any step | {summary.success_once_rate:.1%} |",
        f"| median episode length | {summary.steps_median:.0f} steps ({summary.steps_median_success:.0f} on successes) |",
        f"| wall time | {summary.wall_s_total:.1f} s total ({summary.workers} worker(s)), "
        f"{summary.wall_s_per_episode_median:.2f} s/episode median |",
        "", "| failure | count |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(summary.failures.items(), key=lambda kv: -kv[1])],
    ]


def write_report(summary: ManiSkillSummary, results: list[ManiSkillEpisodeResult], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "maniskill_eval.json", {**asdict(summary), "results": [asdict(r) for r in results]})
    lines = summary_markdown(summary) + ["", "| seed | success | steps | reason |", "|---|---|---|---|",
                                         *[f"| {r.seed} | {'yes' if r.success else 'no'} | {r.steps} | {r.reason} |"
                                           for r in results]]
    atomic_write_text(out_dir / "maniskill_eval.md", "\n".join(lines) + "\n")
    _plot(summary, results, out_dir / "maniskill_eval.png")


def _plot(summary: ManiSkillSummary, results: list[ManiSkillEpisodeResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    lo, hi = summary.success_ci95
    axes[0].bar(["success", "success once"], [summary.success_rate, summary.success_once_rate],
                color=["tab:green", "tab:olive"])
    axes[0].errorbar([0], [summary.success_rate], yerr=[[max(0.0, summary.success_rate - lo)],
                                                        [max(0.0, hi - summary.success_rate)]], color="k", capsize=6)
    axes[0].set_ylim(0, 1.05)
    axes[0].set_title(f"{summary.task} / {summary.policy}: {summary.episodes} episodes")
    axes[1].hist([r.steps for r in results], bins=20, color="tab:blue")
    axes[1].set_title("episode length (control steps)")
    fails = summary.failures or {"(none)": 0}
    axes[2].barh(list(fails), list(fails.values()), color="tab:red")
    axes[2].set_title("failures by reason")
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=100)
    plt.close(fig)
