"""The frozen held-out suite: loads and validates, cannot change silently, shares no sentence with the
training/eval generator, and its refusal metrics count what they claim."""

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from spatialbot_ros.apps.heldout_suite import (
    HELDOUT_SHA256,
    SUITE_FILE,
    CaseOutcome,
    SuiteError,
    file_sha256,
    load_suite,
    score_case,
    summarize_suite,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def suite():
    return load_suite()


@pytest.mark.core
def test_suite_loads_with_enough_cases_and_every_refusal_class(suite):
    assert len(suite) >= 300
    refuse = [c for c in suite if c.outcome == "refuse"]
    assert len(refuse) >= 60
    assert set(Counter(c.refuse_reason for c in refuse)) == {
        "absent_colour", "absent_kind", "absent_place", "ambiguous", "negation", "dangling_pronoun", "impossible"}
    for c in suite:
        names = {o.name for o in c.scene.objects}
        if c.outcome == "execute":
            assert c.pick in names and (c.place is None or c.place in names)
    assert len({c.scene.instruction for c in suite}) > 0.9 * len(suite)  # not a handful of sentences repeated


@pytest.mark.core
def test_suite_file_hash_is_frozen_and_recorded_in_readme():
    assert file_sha256(SUITE_FILE) == HELDOUT_SHA256
    assert HELDOUT_SHA256 in (ROOT / "README.md").read_text()


@pytest.mark.core
def test_an_altered_suite_file_is_refused(tmp_path):
    data = json.loads(SUITE_FILE.read_text())
    data["items"][0]["scene"]["instruction"] = "pick the red cup"
    altered = tmp_path / "suite.json"
    altered.write_text(json.dumps(data))
    with pytest.raises(SuiteError, match="must not change"):
        load_suite(altered)


@pytest.mark.core
def test_expected_answers_follow_the_stated_geometry(suite):
    """Spot check of the labels: side words flip with the viewpoint, depth is measured from the named reference."""
    checked = 0
    for c in suite:
        text = c.scene.instruction.lower()
        objs = {o.name: o for o in c.scene.objects}
        if c.case == "side_superlative":
            target = objs[c.pick]
            same = [o for o in c.scene.objects if o.kind == target.kind and o.color == target.color]
            side = "left" if "left" in text else "right"
            robot = "robot" in text
            sign = 1.0 if (side == "right") != robot else -1.0   # camera: image right is +y; robot: its left is +y
            assert max(same, key=lambda o: sign * o.position[1]) is target, text
            checked += 1
        elif c.case == "depth" and "robot" in text:
            target = objs[c.pick]
            same = [o for o in c.scene.objects if o.kind == target.kind and o.color == target.color]
            d = [float(np.hypot(*o.position)) for o in same]
            want = min if re.search(r"nearest|closest", text) else max
            assert same[d.index(want(d))] is target, text
            checked += 1
    assert checked >= 40


@pytest.mark.core
def test_no_suite_instruction_comes_out_of_the_training_or_eval_generator(suite):
    from spatialbot_ros.core.instruction_templates import generate_instruction
    from spatialbot_ros.sim.scene_generator import to_facts

    ours = {c.scene.instruction.lower().rstrip(".") for c in suite}
    produced = 0
    for c in suite[::8]:
        facts = to_facts(c.scene.objects)
        for phrasing in ("train", "heldout"):
            for k in range(4):
                try:
                    case = generate_instruction(facts, np.random.default_rng(k), c.scene.camera.base_from_camera(),
                                                phrasing_set=phrasing)
                except ValueError:
                    continue
                produced += 1
                assert case.instruction.lower().rstrip(".") not in ours
    assert produced > 50


def _o(expected, refused, acted, grounded=None, correct=None, case="x"):
    if correct is None:
        correct = refused if expected == "refuse" else bool(grounded)
    silent = acted and (expected == "refuse" or not grounded)
    return CaseOutcome("id", case, expected, refused, acted, correct, grounded, silent)


@pytest.mark.core
def test_refusal_metrics_on_hand_made_outcomes():
    outcomes = [
        _o("refuse", True, False),                       # right refusal
        _o("refuse", True, False),                       # right refusal
        _o("refuse", False, True),                       # acted on a must-refuse: silent misreading, a recall miss
        _o("execute", True, False, grounded=False),      # refused a good instruction: a precision miss
        _o("execute", False, True, grounded=True),       # right
        _o("execute", False, True, grounded=False),      # wrong object: silent misreading
        _o("execute", False, False, grounded=False, correct=False),   # failed before acting (e.g. a stale frame)
    ]
    s = summarize_suite("p", outcomes)
    assert s.refusals == 3
    assert s.refusal_precision == pytest.approx(2 / 3)
    assert s.refusal_recall == pytest.approx(2 / 3)
    assert s.silent_misreadings == 2
    assert s.grounding_accuracy == pytest.approx(1 / 4)
    assert s.success_rate == pytest.approx(3 / 7)


@pytest.mark.core
def test_score_case_reads_episode_results(suite):
    from spatialbot_ros.apps.episode import EpisodeResult

    def res(reason, grounded, place=None, success=False):
        return EpisodeResult("s", "i", success, reason, "", "", grounded, place, 0, 0, None, None, 0.0, 0.0)

    refuse = next(c for c in suite if c.outcome == "refuse")
    execute = next(c for c in suite if c.outcome == "execute")
    assert score_case(refuse, res("grounding_failed", False)).correct
    acted = score_case(refuse, res("none", True, True, success=True))
    assert acted.silent_misreading and not acted.correct
    wrong_place = score_case(execute, res("place_failed", True, False))
    assert wrong_place.silent_misreading and wrong_place.grounded is False
    assert not score_case(execute, res("grounding_failed", False)).silent_misreading
    good = score_case(execute, res("none", True, True, success=True))
    assert good.correct and good.grounded and not good.silent_misreading


@pytest.mark.sim
def test_eval_suite_command_writes_the_report(tmp_path, capsys):
    from spatialbot_ros.cli import main

    out = tmp_path / "o"
    assert main(["eval", "--suite", "heldout", "--policy", "geometric", "--episodes", "6", "--out", str(out)]) == 0
    report = json.loads((out / "heldout.json").read_text())
    assert report["episodes"] == 6 and len(report["outcomes"]) == 6
    assert report["suite_sha256"] == HELDOUT_SHA256
    assert {"success_rate", "grounding_accuracy", "refusal_precision", "refusal_recall",
            "silent_misreadings"} <= set(report)
    assert "silent misreadings" in (out / "heldout.md").read_text()
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 6   # the durable per-episode log
    assert "held-out suite (6 episodes)" in capsys.readouterr().out


@pytest.mark.core
def test_suite_with_scenes_is_a_one_line_usage_error(tmp_path, capsys):
    from spatialbot_ros.cli import main

    code = main(["eval", "--suite", "heldout", "--scenes", str(ROOT / "scenes" / "default.yaml"),
                 "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "--suite" in err and len(err.splitlines()) == 1
