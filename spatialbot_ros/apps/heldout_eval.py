"""`eval --suite heldout`: the frozen suite's episodes through the ordinary evaluation harness
(durable episodes.jsonl, resume, eval.md), then scored against the suite's expectations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from spatialbot_ros.apps.evaluate import evaluate
from spatialbot_ros.apps.heldout_suite import (
    SuiteSummary,
    load_suite,
    score_case,
    summarize_suite,
    write_suite_report,
)

log = logging.getLogger(__name__)


def evaluate_suite(policy_name: str, *, episodes: int | None = None, out_dir: Path | None = None,
                   policy_kwargs: dict[str, Any] | None = None, resume: bool = False,
                   progress: bool = True, workers: int = 1, ray_address: str | None = None) -> SuiteSummary:
    """The first `episodes` cases of the suite (all by default); workers / ray_address as for `evaluate`
    (each case is its own scene, so the outcomes do not depend on them)."""
    cases = load_suite()
    cases = cases[:episodes] if episodes is not None else cases
    _, results = evaluate(policy_name, [c.scene for c in cases], seed=None, out_dir=out_dir, progress=progress,
                          policy_kwargs=policy_kwargs, resume=resume, workers=workers, ray_address=ray_address)
    outcomes = [score_case(c, r) for c, r in zip(cases, results, strict=True)]
    summary = summarize_suite(policy_name, outcomes)
    if out_dir is not None:
        write_suite_report(summary, outcomes, Path(out_dir))
    for o in outcomes:
        if o.silent_misreading:
            log.info("silent misreading in %s (%s)", o.id, o.case)
    return summary
