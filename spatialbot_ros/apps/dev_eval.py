"""`eval --suite dev`: the dev splits' cases as full simulator episodes, scored like the frozen suite.

bench/bench_parser.py scores the dev grammars (sim/dev_grammar*.py) on ideal marks, which keeps
perception out of the loop. Here the same cases run through rendering, the proposer, the resolver
and the executive, so a refusal or a miss that comes from perception or a resolver margin (not the
parser) shows up, on cases one is allowed to read and tune on. The frozen suite stays untouched:
its scoring functions are reused, its cases never are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spatialbot_ros.apps.episode import EpisodeResult
from spatialbot_ros.apps.evaluate import evaluate
from spatialbot_ros.apps.heldout_suite import (
    CaseOutcome,
    SuiteCase,
    SuiteSummary,
    score_case,
    summarize_suite,
    summary_lines,
)
from spatialbot_ros.core.durable import atomic_write_json, atomic_write_text
from spatialbot_ros.sim import (
    dev_grammar2,
    dev_grammar3,
    dev_grammar4,
    dev_grammar5,
    dev_grammar6,
    dev_grammar7,
    dev_grammar8,
    dev_grammar9,
    dev_grammar10,
    dev_grammar11,
)
from spatialbot_ros.sim.dev_grammar import DevCase, dev_cases


@dataclass(frozen=True)
class DevSplit:
    cases: Callable[[str, int], list[DevCase]]   # (part, n) -> the part's first n cases
    parts: tuple[str, ...]                      # the parts it has: its grammar's seeds


DEV_SPLITS: dict[str, DevSplit] = {
    "dev1": DevSplit(lambda part, n: dev_cases(n), ("tune",)),   # dev1 has one part, drawn from its own seed
    "dev2": DevSplit(dev_grammar2.dev2_cases, tuple(dev_grammar2.SEEDS)),
    "dev3": DevSplit(dev_grammar3.dev3_cases, tuple(dev_grammar3.SEEDS)),
    "dev4": DevSplit(dev_grammar4.dev4_cases, tuple(dev_grammar4.SEEDS)),
    "dev5": DevSplit(dev_grammar5.dev5_cases, tuple(dev_grammar5.SEEDS)),
    "dev6": DevSplit(dev_grammar6.dev6_cases, tuple(dev_grammar6.SEEDS)),
    "dev7": DevSplit(dev_grammar7.dev7_cases, tuple(dev_grammar7.SEEDS)),
    "dev8": DevSplit(dev_grammar8.dev8_cases, tuple(dev_grammar8.SEEDS)),
    "dev9": DevSplit(dev_grammar9.dev9_cases, tuple(dev_grammar9.SEEDS)),
    "dev10": DevSplit(dev_grammar10.dev10_cases, tuple(dev_grammar10.SEEDS)),
    "dev11": DevSplit(dev_grammar11.dev11_cases, tuple(dev_grammar11.SEEDS)),
}


@dataclass(frozen=True)
class DevFailure:
    """A dev case that did not end as expected, with what the episode said (dev cases may be read)."""

    id: str
    case: str
    instruction: str
    expected: str
    reason: str
    message: str


def dev_suite_cases(splits: list[str], per_split: int, part: str = "tune") -> list[SuiteCase]:
    """The first per_split cases of each split's part, as suite cases (scene + expected outcome)."""
    unknown = [x for x in splits if x not in DEV_SPLITS]
    if unknown:
        raise ValueError(f"unknown dev split(s) {', '.join(unknown)} (known: {', '.join(DEV_SPLITS)})")
    lacking = [x for x in splits if part not in DEV_SPLITS[x].parts]
    if lacking:
        raise ValueError(f"dev split {', '.join(lacking)} has no part {part!r}")
    return [SuiteCase(c.id, c.case, c.scene(), c.outcome, c.pick, c.place, None)
            for name in splits for c in DEV_SPLITS[name].cases(part, per_split)]


def failures(cases: list[SuiteCase], outcomes: list[CaseOutcome], results: list[EpisodeResult]) -> list[DevFailure]:
    return [DevFailure(c.id, c.case, c.scene.instruction, c.outcome, r.reason, r.message)
            for c, o, r in zip(cases, outcomes, results, strict=True) if not o.correct]


def evaluate_dev(policy_name: str, *, splits: list[str], per_split: int, part: str = "tune",
                 out_dir: Path | None = None, policy_kwargs: dict[str, Any] | None = None, resume: bool = False,
                 workers: int = 1, ray_address: str | None = None,
                 progress: bool = True) -> tuple[SuiteSummary, list[DevFailure]]:
    """Run the dev cases as episodes and score them with the suite's rules; with out_dir, dev.json
    (summary, failures) and dev.md beside the ordinary eval report."""
    cases = dev_suite_cases(splits, per_split, part)
    _, results = evaluate(policy_name, [c.scene for c in cases], out_dir=out_dir, policy_kwargs=policy_kwargs,
                          resume=resume, workers=workers, ray_address=ray_address, progress=progress)
    outcomes = [score_case(c, r) for c, r in zip(cases, results, strict=True)]
    summary = summarize_suite(policy_name, outcomes)
    bad = failures(cases, outcomes, results)
    if out_dir is not None:
        write_dev_report(summary, bad, Path(out_dir), splits, part)
    return summary, bad


def dev_lines(s: SuiteSummary, bad: list[DevFailure], splits: list[str], part: str) -> list[str]:
    """The suite's summary table under the dev title, then the failures, by reason and one by one."""
    reasons = Counter(f.reason for f in bad)
    return [
        *summary_lines(s, f"Dev splits {', '.join(splits)} ({part}) as episodes"),
        "", "## Failures by episode reason", "",
        *[f"- {k}: {v}" for k, v in reasons.most_common()],
        "", "## Failures", "",
        *[f"- `{f.id}` ({f.case}, expected {f.expected}): \"{f.instruction}\" -> {f.reason}: {f.message}" for f in bad],
    ]


def write_dev_report(s: SuiteSummary, bad: list[DevFailure], out_dir: Path, splits: list[str], part: str) -> None:
    atomic_write_json(out_dir / "dev.json", {"splits": splits, "part": part, **asdict(s),
                                             "failures": [asdict(f) for f in bad]})
    atomic_write_text(out_dir / "dev.md", "\n".join(dev_lines(s, bad, splits, part)) + "\n")
