"""VLM grounding plumbing: the Depth API tool loop, Set-of-Mark questions and answers, refusals.

The scripted client stands in for a model's text only; frames and marks are real (MuJoCo render,
geometric proposer) and the loop, prompts, parsers and grounding code are the product's.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.depth_api import DepthAPI
from spatialbot_ros.core.depth_encoding import decode_depth
from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.som_proposer import GeometricProposer
from spatialbot_ros.policy.depth_tool_loop import run_depth_loop
from spatialbot_ros.policy.vlm_client import VlmRequest
from spatialbot_ros.policy.vlm_grounder import VlmGrounder, VlmGrounderConfig, mark_from_answer
from spatialbot_ros.policy.vlm_prompts import PromptStyle, mark_lines, spatialbot_prompt, to_grid

pytestmark = pytest.mark.sim  # MuJoCo-rendered frames and scenes (module fixtures)


class ScriptedVlm:
    """Returns canned continuations in order and records every request it got."""

    name = "scripted"

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.requests: list[VlmRequest] = []

    def generate(self, request: VlmRequest) -> str:
        self.requests.append(request)
        return self.answers.pop(0) if self.answers else ""


@pytest.fixture(scope="module")
def scene(six_object_cell):
    cell, objects, frame = six_object_cell
    marks = GeometricProposer().propose(frame, cell.base_from_camera).marks
    xy = {o.name: np.array(o.position) for o in objects}
    by_name = {}
    for m in marks:
        name = min(xy, key=lambda n: np.linalg.norm(xy[n] - m.centroid_base[:2]))
        by_name[name] = m
    return cell, frame, marks, by_name


def test_depth_loop_answers_from_the_frame_and_continues(scene):
    _, frame, _, _ = scene
    truth = round(DepthAPI(frame).depth_at(0.5, 0.6))
    client = ScriptedVlm(["I check Depth(0.5,0.6)=99 and more text", " mm, so it is Mark 2."])
    result = run_depth_loop(client, VlmRequest("q?"), frame, max_rounds=3)
    # the model's own value (99) is replaced by the frame's depth; generation resumed after it
    assert result.text == f"I check Depth(0.5,0.6)={truth} mm, so it is Mark 2."
    assert result.answer == "mm, so it is Mark 2."
    assert result.queries == [(0.5, 0.6, float(truth))] and result.rounds == 1
    assert client.requests[1].assistant_prefix == f"I check Depth(0.5,0.6)={truth}"


def test_bare_final_depth_request_is_resolved(scene):
    _, frame, _, _ = scene
    truth = round(DepthAPI(frame).depth_at(0.25, 0.75))
    result = run_depth_loop(ScriptedVlm(["Depth(0.25,0.75)"]), VlmRequest("How far?"), frame, max_rounds=0)
    assert result.answer == str(truth)
    result = run_depth_loop(ScriptedVlm(["Depth(0.25,0.75)", ""]), VlmRequest("How far?"), frame, max_rounds=2)
    assert result.answer == str(truth) and result.rounds == 1


def test_depth_rounds_are_bounded(scene):
    _, frame, _, _ = scene
    client = ScriptedVlm(["Depth(0.1,0.1)"] * 10)
    result = run_depth_loop(client, VlmRequest("q?"), frame, max_rounds=3)
    assert result.rounds == 3 and len(client.requests) == 4 and result.exhausted


def test_out_of_range_depth_request_is_answered_unknown(scene):
    _, frame, _, _ = scene
    result = run_depth_loop(ScriptedVlm(["Depth(1.7,0.2)", " no idea"]), VlmRequest("q?"), frame)
    assert "Depth(1.7,0.2)=unknown" in result.text and result.queries == [(1.7, 0.2, None)]


def test_som_prompt_lists_marks_on_the_256_grid(scene):
    _, frame, marks, _ = scene
    h, w = frame.depth_mm.shape
    lines = mark_lines(marks, w, h)
    assert len(lines) == len(marks)
    m = marks[0]
    assert lines[0] == f"Mark {m.id} at [{int(m.centroid_px[0] / w * 256)},{int(m.centroid_px[1] / h * 256)}]"
    assert to_grid(w - 0.001, w) == 255 and to_grid(0, w) == 0
    text = spatialbot_prompt("Which mark?", 2)
    assert "USER: <image 1>\n<image 2>\nWhich mark? ASSISTANT:" in text


def test_grounder_sends_som_overlay_and_spatialbot_depth(scene):
    cell, frame, marks, by_name = scene
    red = by_name["red_cup"]
    client = ScriptedVlm([f"Mark {red.id}"])
    grounding = VlmGrounder(client).ground("pick up the red cup", frame, marks, cell.base_from_camera)
    assert grounding.pick_mark_id == red.id and grounding.place is None
    req = client.requests[0]
    assert "the red cup" in req.question and f"Mark {red.id} at [" in req.question and "Depth(x,y)" in req.question
    overlay, depth_img = req.images
    assert overlay.shape == frame.color_rgb.shape and not np.array_equal(overlay, frame.color_rgb)
    np.testing.assert_array_equal(decode_depth(depth_img, "spatialbot16"), frame.depth_mm)


def test_grounder_place_relation_uses_reference_mark(scene):
    cell, frame, marks, by_name = scene
    pick, ref = by_name["green_cup"], by_name["white_plate"]
    client = ScriptedVlm([f"It is Mark {pick.id}.", f"Mark {ref.id}"])
    g = VlmGrounder(client).ground("put the green cup to the left of the plate", frame, marks, cell.base_from_camera)
    assert g.pick_mark_id == pick.id and g.place.mark_id == ref.id and g.place.kind == "relative"
    assert g.place.relation == "left_of" and "the plate" in client.requests[1].question
    assert f"Mark {pick.id} at" not in client.requests[1].question  # the picked object is not a place candidate
    g = VlmGrounder(ScriptedVlm([f"Mark {pick.id}", f"Mark {by_name['blue_bowl'].id}"])).ground(
        "place the green cup into the bowl", frame, marks, cell.base_from_camera)
    assert g.place.kind == "into" and g.place.mark_id == by_name["blue_bowl"].id


@pytest.mark.parametrize("answer", ["I am not sure.", "Mark 99", "Mark 1 or Mark 2", "", "Depth(0.5"])
def test_unusable_answers_refuse_to_ground(scene, answer):
    cell, frame, marks, _ = scene
    with pytest.raises(GroundingError, match="VLM answer"):
        VlmGrounder(ScriptedVlm([answer])).ground("pick up the red cup", frame, marks, cell.base_from_camera)


def test_points_and_boxes_name_marks(scene):
    _, frame, marks, by_name = scene
    h, w = frame.depth_mm.shape
    ball = by_name["purple_ball"]
    u, v = ball.centroid_px
    assert mark_from_answer(f"It is at ({u / w:.3f}, {v / h:.3f})", marks, w, h).value == ball.id
    x0, y0, x1, y1 = ball.box_xyxy
    box = f"[{x0 / w * 1000:.0f}, {y0 / h * 1000:.0f}, {x1 / w * 1000:.0f}, {y1 / h * 1000:.0f}]"
    assert mark_from_answer(box, marks, w, h).value == ball.id
    assert not mark_from_answer("[0, 0, 5, 5]", marks, w, h).ok


def test_geometric_policy_with_vlm_grounder_refuses_without_motion(scene):
    from spatialbot_ros.core.task import TaskPhase
    from spatialbot_ros.policy.base import Observation
    from spatialbot_ros.policy.geometric import GeometricPolicy

    cell, frame, _, by_name = scene
    obs = Observation("pick up the red cup", TaskPhase.APPROACH, cell.tcp_pose(), 0.08,
                      cell.fingertip_positions(), cell.base_from_camera, frame)
    bad = GeometricPolicy(grounder=VlmGrounder(ScriptedVlm(["no idea"])))
    bad.reset(obs.instruction)
    step = bad.step(obs)
    assert not step.ok and "VLM answer" in step.error and step.action.is_zero_motion
    good = GeometricPolicy(grounder=VlmGrounder(ScriptedVlm([f"Mark {by_name['red_cup'].id}"]),
                                                VlmGrounderConfig(style=PromptStyle(with_depth=False))))
    good.reset(obs.instruction)
    step = good.step(obs)
    assert step.ok and step.target.mark_id == by_name["red_cup"].id and not step.action.is_zero_motion


def test_clean_image_style_sends_the_frame_and_lists_marks(scene):
    cell, frame, marks, by_name = scene
    client = ScriptedVlm([f"Mark {by_name['red_cup'].id}"])
    style = PromptStyle(with_depth=False, depth_tool=False, som_overlay=False)
    VlmGrounder(client, VlmGrounderConfig(style=style)).ground("pick up the red cup", frame, marks, cell.base_from_camera)
    (image,) = client.requests[0].images
    np.testing.assert_array_equal(image, frame.color_rgb)
    assert "Marks: Mark" in client.requests[0].question and "numbered marks" not in client.requests[0].question
    with pytest.raises(ValueError, match="cannot name a mark"):
        PromptStyle(som_overlay=False, list_marks=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40) |
                st.from_regex(r"Depth\([-0-9.]{0,6},[-0-9.]{0,6}\)(=[0-9a-z]{0,5})?[ a-zA-Z0-9]{0,10}", fullmatch=True),
                min_size=1, max_size=6))
def test_depth_loop_and_mark_parsing_never_raise(scene, outputs):
    """Whatever a model writes, the loop ends and the answer either names a valid mark or is refused."""
    _, frame, marks, _ = scene
    result = run_depth_loop(ScriptedVlm(outputs), VlmRequest("q?"), frame, max_rounds=3)
    assert result.rounds <= 3
    h, w = frame.depth_mm.shape
    parsed = mark_from_answer(result.answer, marks, w, h)
    assert (parsed.ok and parsed.value in {m.id for m in marks}) or parsed.reason.startswith("unparseable")
