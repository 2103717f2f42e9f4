"""`spatialbot-ros dagger`: learn from interventions, round by round (HG-DAgger).

Each round: the current learned policy collects assisted episodes on collection scenes with the
scripted operator correcting it (learn/collect.py); the policy is retrained on the base
demonstrations plus every collection so far, intervention frames weighted (learn/train.py); and
the new policy is evaluated on a fixed set of scenes that collection never sees (the evaluation's
seeds and, by default, its held-out phrasings). Per round: the intervention rate while collecting
and the success with its 95 % interval; a table (dagger.md), a plot (dagger.png), dagger.json.
Rounds finished earlier are kept and skipped when the command is run again with --resume.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spatialbot_ros.core.durable import atomic_write_json
from spatialbot_ros.core.errors import RunStateError
from spatialbot_ros.learn.collect import COLLECTION_SEED, CollectOptions, TeleopDevice, run_collect

log = logging.getLogger(__name__)

REPORT = "dagger.json"


@dataclass
class DaggerOptions:
    out: Path
    base_data: list[Path]                 # expert demonstrations (from `demos`)
    rounds: int = 2
    episodes_per_round: int = 100
    eval_episodes: int = 200
    eval_seed: int = 0
    eval_phrasing: str = "heldout"
    start_model: str = ""                 # "" = the shipped model
    intervention_weight: float = 5.0
    epochs: int = 60
    max_minutes: float = 14.0
    train_seed: int = 0
    resume: bool = False


@dataclass
class RoundResult:
    round: int
    model_dir: str
    collected_episodes: int = 0
    interventions: int = 0
    intervention_rate: float = 0.0        # interventions per collected episode (the policy that collected)
    operator_frame_share: float = 0.0     # share of collected frames the operator drove
    collect_success: float = 0.0
    eval_success: float = 0.0
    eval_ci95: tuple[float, float] = (0.0, 0.0)
    eval_failures: dict[str, int] = field(default_factory=dict)


def _evaluate(model_dir: str, opts: DaggerOptions, out: Path) -> Any:
    from spatialbot_ros.apps.evaluate import evaluate, scenes_for_eval

    scenes = scenes_for_eval(opts.eval_episodes, opts.eval_seed, phrasing_set=opts.eval_phrasing)
    summary, _ = evaluate("onnx", scenes, seed=opts.eval_seed, out_dir=out, policy_kwargs=_onnx(model_dir),
                          resume=opts.resume)
    return summary


def _onnx(model_dir: str) -> dict[str, Any]:
    from spatialbot_ros.policy.registry import policy_options

    return policy_options("onnx", model_dir, "")


def _frames(collect_dir: Path) -> int:
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    return len(LeRobotV3Dataset(collect_dir))


def run_dagger(opts: DaggerOptions) -> list[RoundResult]:
    from spatialbot_ros.learn.train import TrainConfig, train
    from spatialbot_ros.policy.onnx_policy import MODEL_DIR

    out = Path(opts.out)
    report_path = out / REPORT
    if report_path.exists() and not opts.resume:
        raise RunStateError(f"{out} already holds a DAgger run; pass --resume to continue it, or choose another --out")
    settings = {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if isinstance(v, list) else v)
                for k, v in asdict(opts).items() if k not in ("out", "resume")}
    done: list[RoundResult] = []
    if report_path.exists():
        before = json.loads(report_path.read_text())
        if before["settings"] != settings:
            raise RunStateError(f"{out}: --resume with other settings; use the same arguments or another --out")
        done = [RoundResult(**{**r, "eval_ci95": tuple(r["eval_ci95"])}) for r in before["rounds"]]
    model = opts.start_model or str(MODEL_DIR)
    if not done:
        base = _evaluate(model, opts, out / "round0" / "eval")
        done.append(RoundResult(0, model, eval_success=base.success_rate, eval_ci95=base.success_ci95,
                                eval_failures=dict(base.failures)))
        _write(out, settings, done)
    collected: list[Path] = [out / f"round{r.round}" / "collect" for r in done if r.round > 0]
    model = done[-1].model_dir
    for r in range(len(done), opts.rounds + 1):
        rdir = out / f"round{r}"
        log.info("DAgger round %d: collecting %d assisted episodes with %s", r, opts.episodes_per_round, model)
        summary = run_collect(CollectOptions(
            out=rdir / "collect", teleop=TeleopDevice.SCRIPTED, policy="onnx", policy_kwargs=_onnx(model),
            episodes=opts.episodes_per_round, seed=COLLECTION_SEED + 1000 * r, resume=(rdir / "collect").exists()))
        collected.append(rdir / "collect")
        n = max(1, summary["episodes"])
        train(list(opts.base_data) + collected, rdir / "model",
              TrainConfig(seed=opts.train_seed, epochs=opts.epochs, max_minutes=opts.max_minutes,
                          intervention_weight=opts.intervention_weight))
        model = str(rdir / "model")
        ev = _evaluate(model, opts, rdir / "eval")
        done.append(RoundResult(
            r, model, collected_episodes=summary["episodes"], interventions=summary["interventions"],
            intervention_rate=summary["interventions"] / n,
            operator_frame_share=summary["frames_with_operator"] / max(1, _frames(rdir / "collect")),
            collect_success=summary["successes"] / n, eval_success=ev.success_rate, eval_ci95=ev.success_ci95,
            eval_failures=dict(ev.failures)))
        _write(out, settings, done)
    return done


def _write(out: Path, settings: dict[str, Any], rounds: list[RoundResult]) -> None:
    """dagger.json, the table and the plot, rewritten after every round."""
    atomic_write_json(out / REPORT, {"settings": settings, "rounds": [asdict(r) for r in rounds]})
    lines = ["# DAgger rounds", "",
             f"Evaluation: {settings['eval_episodes']} episodes, seed {settings['eval_seed']}, "
             f"{settings['eval_phrasing']} phrasings (scenes collection never sees).", "",
             "| round | collected | interventions / episode | operator frames | collect success | eval success (95% CI) |",
             "|---|---|---|---|---|---|"]
    for r in rounds:
        lo, hi = r.eval_ci95
        collect = "-" if r.round == 0 else f"{r.collected_episodes}"
        rate = "-" if r.round == 0 else f"{r.intervention_rate:.2f}"
        share = "-" if r.round == 0 else f"{r.operator_frame_share:.1%}"
        cs = "-" if r.round == 0 else f"{r.collect_success:.1%}"
        lines.append(f"| {r.round} | {collect} | {rate} | {share} | {cs} | {r.eval_success:.1%} ({lo:.1%}-{hi:.1%}) |")
    (out / "dagger.md").write_text("\n".join(lines) + "\n")
    _plot(out / "dagger.png", rounds)


def _plot(path: Path, rounds: list[RoundResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r.round for r in rounds]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    ys = [r.eval_success for r in rounds]
    err = [[max(0.0, y - r.eval_ci95[0]) for y, r in zip(ys, rounds, strict=True)],
           [max(0.0, r.eval_ci95[1] - y) for y, r in zip(ys, rounds, strict=True)]]
    a.errorbar(xs, ys, yerr=err, marker="o", capsize=4)
    a.set(xlabel="round", ylabel="eval success", title="success (95% CI)", ylim=(0, 1), xticks=xs)
    later = [r for r in rounds if r.round > 0]
    b.bar([r.round for r in later], [r.intervention_rate for r in later], color="tab:red")
    b.set(xlabel="round", ylabel="interventions / episode", title="while collecting", xticks=xs)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
