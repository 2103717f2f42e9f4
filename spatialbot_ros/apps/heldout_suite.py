"""The frozen held-out suite: load and validate it, score episodes against its expectations, report.

The data file is checked against HELDOUT_SHA256 (also recorded in README) on every load, so it cannot
change silently. A policy refusal is an episode that ended in grounding_failed or bad_input before any
target was acted on; everything else where a target was chosen counts as "acted". A silent misreading
is an episode that acted although the expected outcome was a refusal, or acted on another object or
place than the expected one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spatialbot_ros.apps.episode import EpisodeResult
from spatialbot_ros.core.durable import atomic_write_json, atomic_write_text
from spatialbot_ros.core.errors import InputFileError
from spatialbot_ros.sim.scene import Scene, scene_from_dict

SUITE_FILE = Path(__file__).resolve().parent.parent / "data" / "heldout_suite.json"
HELDOUT_SHA256 = "6f30e498062270fcebe145373b2a1d1d35eef8c2a9c88574259a11d8024535c3"
REFUSAL_REASONS = frozenset({"grounding_failed", "bad_input"})
SUITES = ("heldout",)


class SuiteError(InputFileError):
    """The suite file is missing, altered or malformed."""


@dataclass(frozen=True)
class SuiteCase:
    id: str
    case: str
    scene: Scene
    outcome: str            # "execute" | "refuse"
    pick: str | None
    place: str | None
    refuse_reason: str | None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_suite(path: Path = SUITE_FILE, expected_sha256: str | None = HELDOUT_SHA256) -> list[SuiteCase]:
    """Every case, validated; refuses a file whose hash is not the frozen one."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: held-out suite file not found")
    digest = file_sha256(path)
    if expected_sha256 is not None and digest != expected_sha256:
        raise SuiteError(f"{path}: sha256 {digest[:12]}... is not the frozen {expected_sha256[:12]}...; "
                         "the held-out suite must not change")
    try:
        data = json.loads(path.read_text())
        items = data["items"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SuiteError(f"{path}: not a suite file ({exc})") from exc
    cases: list[SuiteCase] = []
    seen: set[str] = set()
    for i, it in enumerate(items):
        where = f"{path}: items[{i}]"
        exp = it.get("expect", {}) if isinstance(it, dict) else {}
        outcome = exp.get("outcome")
        if outcome not in ("execute", "refuse") or it.get("id") in seen:
            raise SuiteError(f"{where}: expect.outcome must be execute or refuse and ids unique")
        seen.add(it["id"])
        scene = scene_from_dict(it["scene"], where)
        names = {o.name for o in scene.objects}
        if outcome == "execute" and (exp.get("pick") not in names or exp.get("place") not in names | {None}):
            raise SuiteError(f"{where}: expected pick/place are not objects of the scene")
        if outcome == "refuse" and not exp.get("reason"):
            raise SuiteError(f"{where}: a refusal case needs its reason class")
        cases.append(SuiteCase(it["id"], str(it.get("case", "")), scene, outcome, exp.get("pick"), exp.get("place"),
                               exp.get("reason")))
    return cases


# ---- scoring -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseOutcome:
    id: str
    case: str
    expected: str            # execute | refuse
    refused: bool
    acted: bool
    correct: bool            # the right outcome: refused when it should, else a successful episode
    grounded: bool | None    # execute cases: the right object (and place); None for refuse cases
    silent_misreading: bool


def score_case(case: SuiteCase, res: EpisodeResult) -> CaseOutcome:
    """res ran with case.scene, so its grounding flags compare against the expected pick and place."""
    refused = res.reason in REFUSAL_REASONS
    acted = not refused and res.grounding_correct is not None
    if case.outcome == "refuse":
        return CaseOutcome(case.id, case.case, "refuse", refused, acted, refused, None, acted)
    grounded = bool(res.grounding_correct) and res.place_grounding_correct is not False
    return CaseOutcome(case.id, case.case, "execute", refused, acted, bool(res.success) and not refused, grounded,
                       acted and not grounded)


@dataclass
class SuiteSummary:
    policy: str
    episodes: int
    execute_cases: int
    refuse_cases: int
    success_rate: float          # correct outcome over all cases (refusal where expected, else success)
    execute_success_rate: float
    grounding_accuracy: float    # execute cases: right object and place chosen
    refusal_precision: float
    refusal_recall: float
    refusals: int
    silent_misreadings: int
    misread_ids: list[str]
    per_case: dict[str, dict[str, float]]


def summarize_suite(policy: str, outcomes: list[CaseOutcome]) -> SuiteSummary:
    ex = [o for o in outcomes if o.expected == "execute"]
    rf = [o for o in outcomes if o.expected == "refuse"]
    refused = [o for o in outcomes if o.refused]
    tp = sum(o.refused for o in rf)
    per_case: dict[str, dict[str, float]] = {}
    for name in sorted({o.case for o in outcomes}):
        sub = [o for o in outcomes if o.case == name]
        per_case[name] = {"n": len(sub), "correct": sum(o.correct for o in sub) / len(sub),
                          "silent_misreadings": sum(o.silent_misreading for o in sub)}
    misread = [o.id for o in outcomes if o.silent_misreading]
    return SuiteSummary(
        policy=policy, episodes=len(outcomes), execute_cases=len(ex), refuse_cases=len(rf),
        success_rate=sum(o.correct for o in outcomes) / len(outcomes) if outcomes else 0.0,
        execute_success_rate=sum(o.correct for o in ex) / len(ex) if ex else 0.0,
        grounding_accuracy=sum(bool(o.grounded) for o in ex) / len(ex) if ex else 0.0,
        refusal_precision=tp / len(refused) if refused else 1.0,
        refusal_recall=tp / len(rf) if rf else 1.0, refusals=len(refused),
        silent_misreadings=len(misread), misread_ids=misread, per_case=per_case)


def summary_lines(s: SuiteSummary, title: str = "Held-out suite") -> list[str]:
    return [
        f"# {title}: policy `{s.policy}`, {s.episodes} episodes ({s.execute_cases} execute, "
        f"{s.refuse_cases} must-refuse)", "",
        "| metric | value |", "|---|---|",
        f"| success (correct outcome, all cases) | {s.success_rate:.1%} |",
        f"| success (execute cases) | {s.execute_success_rate:.1%} |",
        f"| grounding accuracy (execute cases) | {s.grounding_accuracy:.1%} |",
        f"| refusal precision | {s.refusal_precision:.1%} ({s.refusals} refusals) |",
        f"| refusal recall | {s.refusal_recall:.1%} |",
        f"| silent misreadings | {s.silent_misreadings} |",
        "", "| case | n | correct | silent misreadings |", "|---|---|---|---|",
        *[f"| {k} | {int(v['n'])} | {v['correct']:.1%} | {int(v['silent_misreadings'])} |" for k, v in s.per_case.items()],
    ]


def write_suite_report(s: SuiteSummary, outcomes: list[CaseOutcome], out_dir: Path) -> None:
    out_dir = Path(out_dir)
    atomic_write_json(out_dir / "heldout.json", {"suite_sha256": HELDOUT_SHA256, **asdict(s),
                                                 "outcomes": [asdict(o) for o in outcomes]})
    atomic_write_text(out_dir / "heldout.md", "\n".join(summary_lines(s)) + "\n")


def suite_dict(items: list[Any], seed: int) -> dict[str, Any]:
    """The file layout written once by scripts/make_heldout_suite.py."""
    return {"suite": "heldout", "seed": seed, "generator": "spatialbot_ros.sim.heldout_grammar",
            "note": "frozen: never train or tune thresholds on it", "items": [it.to_dict() for it in items]}
