"""Spatial QA: questions with simulator truth, scoring, the built-in baseline, a VLM over HTTP, the CLI."""

from __future__ import annotations

import json

import pytest
from chat_server import ChatServer
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.apps.spatial_answerers import BuiltinAnswerer, VlmAnswerer, answerer_for
from spatialbot_ros.apps.spatial_qa import CATEGORIES, SpatialQuestion, evaluate_qa, generate_qa, score_answer
from spatialbot_ros.policy.openai_vlm import OpenAIVlm, OpenAIVlmConfig
from spatialbot_ros.policy.vlm_grounder import VlmGrounderConfig
from spatialbot_ros.policy.vlm_prompts import PromptStyle

pytestmark = pytest.mark.sim  # MuJoCo-rendered frames and scenes (module fixtures)

N = 4


@pytest.fixture(scope="module")
def items():
    return generate_qa(N, seed=3)


def q(form, truth, subjects=()):
    return SpatialQuestion("x", "?", form, truth, subjects)


@pytest.mark.parametrize(("question", "answer", "ok"), [
    (q("mm", 800.0), "About 780 mm.", True),
    (q("mm", 800.0), "0.82 m", True),
    (q("mm", 800.0), "79 cm", True),
    (q("mm", 800.0), "650", False),
    (q("mm", 800.0), "far away", False),
    (q("choice", "the red cup", ("the red cup", "the blue box")), "The red cup is closer.", True),
    (q("choice", "the red cup", ("the red cup", "the blue box")), "blue", False),
    (q("choice", "the red cup", ("the red box", "the red cup")), "It is the cup", True),
    (q("choice", "the red cup", ("the red box", "the red cup")), "the red one", False),
    (q("yes_no", True), "Yes, it is.", True),
    (q("yes_no", False), "Yes", False),
    (q("count", 3), "There are three.", True),
    (q("count", 3), "3 cups", True),
    (q("count", 2), "many", False),
])
def test_scoring(question, answer, ok):
    assert score_answer(question, answer) is ok


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["mm", "choice", "yes_no", "count"]))
def test_scoring_never_raises(text, form):
    score_answer(q(form, {"mm": 500.0, "choice": "the red cup", "yes_no": True, "count": 2}[form],
                   ("the red cup", "the blue box")), text)


def test_every_category_has_questions_with_simulator_truth(items):
    by_cat = {c: [x for _, x in items if x.category == c] for c in CATEGORIES}
    assert all(len(v) == N for v in by_cat.values())
    touching = [x.truth for x in by_cat["touching"]]
    assert touching.count(True) == touching.count(False) == N // 2  # posed closed on / open beside the object
    for scene, x in items:
        if x.category == "left_right":
            a, b = x.subjects
            assert x.question.startswith(f"In the image, is {a} to the left of {b}")
        if x.category == "depth":
            assert 300 < x.truth < 2000 and scene.frame.depth_mm.max() >= x.truth


def test_two_workers_render_the_same_questions(items):
    """--workers: the scenes are rendered in two processes, the questions (and their truths) do not change."""
    parallel = generate_qa(N, seed=3, workers=2)
    assert [(x.question, x.truth, x.scene_seed) for _, x in parallel] == [(x.question, x.truth, x.scene_seed)
                                                                          for _, x in items]
    assert all((a.frame.depth_mm == b.frame.depth_mm).all() for (a, _), (b, _) in zip(parallel, items, strict=True))


def test_builtin_baseline_answers_most_questions(items):
    report = evaluate_qa([BuiltinAnswerer()], items, N, 3)
    assert report.counts["overall"] == N * len(CATEGORIES)
    assert report.accuracy["builtin"]["overall"] >= 0.8, report.table()


def test_vlm_answerer_over_http_with_the_depth_loop(items):
    """An oracle server that knows the truths: the question text and images must reach it, its answer
    forms must parse, and a bare Depth(x,y) answer must be resolved from the frame."""
    truths = {}
    for scene, x in items:
        if x.category == "depth":
            k = scene.frame.intrinsics
            v, u = divmod(int(abs(scene.frame.depth_mm.astype(int) - int(x.truth)).argmin()), scene.frame.depth_mm.shape[1])
            answer = f"Depth({u / k.width:.4f},{v / k.height:.4f})"
        else:
            answer = {"choice": lambda t: f"{t} is.", "yes_no": lambda t: "Yes." if t else "No.",
                      "count": lambda t: f"There are {t}."}[x.form](x.truth)
        truths[x.question] = answer
    script = []
    for _, x in items:
        script.append((200, truths[x.question], 0.0))
        if x.category == "depth":
            script.append((200, "", 0.0))  # nothing more after the depth is filled in
    srv = ChatServer(script)
    try:
        vlm = VlmAnswerer(OpenAIVlm(OpenAIVlmConfig(base_url=srv.url, model="oracle", retries=0)),
                          VlmGrounderConfig(style=PromptStyle(with_depth=True)))
        report = evaluate_qa([vlm], items, N, 3)
    finally:
        srv.close()
    assert report.accuracy["openai:oracle"]["overall"] == 1.0, report.table()
    first = srv.bodies[0]["messages"][0]["content"]
    assert len(first) == 3 and items[0][1].question in first[2]["text"]  # colour, depth, question


def test_answerer_for_refuses_non_vlm_policies():
    assert isinstance(answerer_for("geometric"), BuiltinAnswerer)
    with pytest.raises(ValueError, match="answers no questions"):
        answerer_for("onnx")


def test_cli_writes_json_table_and_plot(tmp_path, capsys):
    from spatialbot_ros.cli import main

    assert main(["spatial-qa", "--n", "2", "--seed", "1", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "spatial_qa.json").read_text())
    assert set(data["accuracy"]["builtin"]) == {*CATEGORIES, "overall"} and data["counts"]["overall"] == 12
    assert (tmp_path / "spatial_qa.png").stat().st_size > 1000
    assert len((tmp_path / "spatial_qa_answers.jsonl").read_text().splitlines()) == 12
    assert "touching" in capsys.readouterr().out
    assert main(["spatial-qa", "--policy", "onnx", "--n", "1", "--out", str(tmp_path)]) == 2
