"""Perception's size and height errors against simulator truth, and comparison reliability.

    python bench/bench_perception_size.py --objects 500 --seed 0 [--min-difference 0.15]

Prints median and p95 absolute errors (mm) of the proposer's footprint (long side) and height over
at least --objects objects in seeded random scenes, per kind, and for object pairs whose true size
(or height) differs by at least --min-difference: how often perception orders them right, and how
often by more than grounding's size margin (so "the biggest"/"the tallest" is answered, not refused).

    python bench/bench_perception_size.py --stacked 100 --seed 0

Instead: --stacked scenes with one graspable object stood on the plate; how often perception gives it
a mark of its own standing on the plate's, and its height and centre errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatialbot_ros.apps.perception_study import (  # noqa: E402
    report_markdown,
    run_stacked_study,
    run_study,
    stacked_markdown,
)
from spatialbot_ros.core.grounding import GroundingConfig  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-difference", type=float, default=0.15)
    ap.add_argument("--stacked", type=int, default=0, help="run the stacked-object study on this many scenes instead")
    ap.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.stacked:
        stacked = run_stacked_study(args.stacked, args.seed)
        sys.stdout.write(stacked_markdown(stacked) + "\n")
        if args.json:
            args.json.write_text(json.dumps(stacked.as_dict(), indent=2))
        return 0
    report = run_study(args.objects, args.seed, args.min_difference, margin=GroundingConfig().size_margin)
    sys.stdout.write(report_markdown(report) + "\n")
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
