"""The verification layer every grounder's choice passes (core.grounding_check), and the learned
policy refusing through it: confident and wrong must become a refusal, never a motion.

The onnx cases feed the policy's own choice code (_choose) network outputs that are confidently
wrong, as the shipped model's were in the cases the issue lists (p = 0.94 .. 1.00).
"""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.colors import name_color
from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import Grounding, PlaceTarget, ground_instruction
from spatialbot_ros.core.grounding_check import CheckContext, verify_grounding, verify_mark
from spatialbot_ros.core.instruction_templates import SceneObjectFacts, marks_from_facts
from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.core.transforms import look_at

pytestmark = pytest.mark.core

CAM = look_at([1.15, 0.0, 0.62], [0.5, 0.0, 0.0])
SIZES = {"cup": ((0.064, 0.064), 0.10), "bowl": ((0.16, 0.16), 0.06), "plate": ((0.2, 0.2), 0.02)}


def _obj(name, kind, color, x, y, scale=1.0):
    (a, b), h = SIZES[kind]
    return SceneObjectFacts(name, kind, color, np.array([x, y, h / 2]), (a * scale, b * scale), h * scale)


THREE_CUPS = [_obj("red", "cup", "red", 0.45, -0.15), _obj("green", "cup", "green", 0.45, 0.0),
              _obj("blue", "cup", "blue", 0.45, 0.15), _obj("bowl", "bowl", "blue", 0.62, 0.0)]
# two red cups at different distances from the camera (x=1.15) and a blue one farthest of all
DEPTH = [_obj("red_near", "cup", "red", 0.62, -0.15), _obj("red_far", "cup", "red", 0.40, 0.0),
         _obj("blue_far", "cup", "blue", 0.30, 0.18)]
SIZED = [_obj("big", "cup", "red", 0.45, -0.15, 1.4), _obj("small", "cup", "red", 0.45, 0.1, 0.8)]


def _marks(objs):
    return marks_from_facts(objs, CAM)


def _id(marks, label):
    return next(m.id for m in marks if m.label == label)


# -- the layer itself ----------------------------------------------------------------------------
def test_a_stated_colour_or_kind_must_match_the_chosen_mark():
    marks = _marks(THREE_CUPS)
    ctx = CheckContext(marks)
    with pytest.raises(GroundingError, match="says purple.*purple objects seen: none"):
        verify_mark("the purple cup", marks[_id(marks, "red") - 1], ctx, "pick")
    with pytest.raises(GroundingError, match="names a plate.*plate objects seen: none"):
        verify_mark("the plate", next(m for m in marks if m.label == "bowl"), ctx, "place")
    verify_mark("the green cup", next(m for m in marks if m.label == "green"), ctx, "pick")


def test_ambiguity_and_superlatives_are_checked():
    marks = _marks(THREE_CUPS)
    with pytest.raises(GroundingError, match="ambiguous: 3 objects fit") as exc:
        verify_mark("the cup", marks[0], CheckContext(marks), "pick")
    assert len(exc.value.candidates) == 3
    sized = _marks(SIZED)
    small = next(m for m in sized if m.label == "small")
    with pytest.raises(GroundingError, match="biggest"):
        verify_mark("the biggest red cup", small, CheckContext(sized), "pick")
    verify_mark("the smallest red cup", small, CheckContext(sized), "pick")


def test_width_and_size_words_are_checked_on_their_own_dimension():
    """A learned choice of the tall narrow cup for 'the widest cup' is refused; for 'the tallest' it stands."""
    objs = [SceneObjectFacts("thin", "cup", "red", np.array([0.45, -0.12, 0.065]), (0.054, 0.054), 0.13),
            SceneObjectFacts("squat", "cup", "red", np.array([0.45, 0.12, 0.04]), (0.076, 0.076), 0.08)]
    marks = _marks(objs)
    thin = next(m for m in marks if m.label == "thin")
    with pytest.raises(GroundingError, match="widest.*is not"):
        verify_mark("the widest cup", thin, CheckContext(marks), "pick")
    with pytest.raises(GroundingError, match="biggest.*is not"):   # 0.054^2 x 0.13 < 0.076^2 x 0.08 by 19 %
        verify_mark("the biggest cup", thin, CheckContext(marks), "pick")
    verify_mark("the tallest cup", thin, CheckContext(marks), "pick")


def test_an_unmeasured_object_is_not_ruled_out():
    """Perception saw a yellow object it could not measure (merged with the arm): a phrase it could match is
    refused, one that states another colour is not."""
    from spatialbot_ros.core.marks import Unmeasured

    marks = _marks(THREE_CUPS)
    ctx = CheckContext(marks, unmeasured=(Unmeasured("yellow", 3144, (292, 57, 406, 202)),))
    red, bowl = (next(m for m in marks if m.label == n) for n in ("red", "bowl"))

    def grounding(pick_phrase, place_phrase):
        return Grounding(red.id, PlaceTarget("into", bowl.id), "", pick_phrase, place_phrase)

    for pick_phrase, place_phrase in (("the leftmost cup", "into the blue bowl"), ("the yellow cup", "into the blue bowl"),
                                      ("the red cup", "into the bowl")):
        with pytest.raises(GroundingError, match="cannot measure"):
            verify_grounding(grounding(pick_phrase, place_phrase), ctx)
    verify_grounding(grounding("the red cup", "into the blue bowl"), ctx)
    verify_grounding(grounding("the leftmost cup", "into the blue bowl"), CheckContext(marks))


def test_a_place_relation_other_than_stated_is_refused():
    marks = _marks(THREE_CUPS)
    red, bowl = (next(m for m in marks if m.label == n) for n in ("red", "bowl"))
    wrong = Grounding(red.id, PlaceTarget("relative", bowl.id, "left_of", np.zeros(3)), "", "the red cup",
                      "into the bowl")
    with pytest.raises(GroundingError, match="states on/into but the grounder chose left of"):
        verify_grounding(wrong, CheckContext(marks))
    missing = Grounding(red.id, None, "", "the red cup", "into the bowl")
    with pytest.raises(GroundingError, match="states a place"):
        verify_grounding(missing, CheckContext(marks))


def test_every_rule_grounding_passes_the_check():
    """The check must not refuse what the rules chose correctly (else it would be too strict)."""
    marks = _marks(THREE_CUPS)
    for text in ("pick the red cup and put it in the bowl", "put the green cup to the left of the bowl",
                 "pick the leftmost cup", "pick the cup right of the green cup"):
        g = ground_instruction(text, marks, base_from_camera=CAM)
        verify_grounding(g, CheckContext(marks, g.viewpoint))


# -- perception abstains ---------------------------------------------------------------------
def test_noise_reads_unknown_and_never_satisfies_a_colour():
    rng = np.random.default_rng(0)
    assert name_color(rng.integers(0, 256, (400, 3), dtype=np.uint8)) == "unknown"
    shaded_red = np.clip(np.array([217, 25, 25]) * rng.uniform(0.5, 1.1, (400, 1)), 0, 255).astype(np.uint8)
    assert name_color(shaded_red) == "red"
    marks = _marks(THREE_CUPS)
    marks[0].color_name = "unknown"     # the red cup, seen through noise
    with pytest.raises(GroundingError):
        ground_instruction("pick the red cup", marks, base_from_camera=CAM)
    with pytest.raises(GroundingError, match="perceived as unknown"):
        verify_mark("the red cup", marks[0], CheckContext(marks), "pick")


# -- the learned policy refuses through the layer ----------------------------------------------
class _FakeOnnx:
    """The policy's choice code with the network replaced by fixed, confident logits."""

    def __init__(self, instruction: str):
        from spatialbot_ros.policy.learned_features import InstructionText
        from spatialbot_ros.policy.onnx_policy import OnnxPolicy, OnnxPolicyConfig

        self.policy = OnnxPolicy.__new__(OnnxPolicy)
        self.policy.config = OnnxPolicyConfig()
        self.policy.temperature, self.policy.last_pick_logits = 1.0, None  # raw softmax: the logits below are the probe
        self.policy._text = InstructionText.from_instruction(instruction)
        self.instruction = instruction

    def choose(self, marks, pick_label, place_label=None, relation="support"):
        from spatialbot_ros.policy.base import Observation
        from spatialbot_ros.policy.learned_features import PLACE_RELATIONS
        from spatialbot_ros.policy.onnx_policy import _Percept

        n = len(marks)
        pick = np.full((1, n), -5.0)
        pick[0, _id(marks, pick_label) - 1] = 10.0     # p ~ 1.0 for the wrong mark
        place = np.full((1, n), -5.0)
        if place_label is not None:
            place[0, _id(marks, place_label) - 1] = 10.0
        rel = np.full((1, len(PLACE_RELATIONS)), -5.0)
        rel[0, PLACE_RELATIONS.index(relation)] = 10.0
        p = _Percept(marks, np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))
        obs = Observation(self.instruction, TaskPhase.APPROACH, np.eye(4), 0.0, np.zeros((2, 3)), CAM, None)
        try:
            return self.policy._choose({"pick_logits": pick, "place_logits": place, "relation_logits": rel}, p, obs)
        finally:
            self.last = p


@pytest.mark.parametrize("instruction, scene, pick, place, match", [
    ("pick the purple cup", THREE_CUPS, "red", None, "says purple"),
    ("pick the cup", THREE_CUPS, "green", None, "ambiguous: 3 objects fit"),
    ("put the red cup on the plate", THREE_CUPS, "red", "bowl", "names a plate.*none"),
    ("pick the red cup that is farthest from the camera", DEPTH, "blue_far", None, "says red"),
    ("pick the red cup that is farthest from the camera", DEPTH, "red_near", None, "farthest"),
])
def test_the_learned_policy_refuses_confident_wrong_choices(instruction, scene, pick, place, match):
    fake = _FakeOnnx(instruction)
    marks = _marks(scene)
    with pytest.raises(GroundingError, match=match):
        fake.choose(marks, pick, place)
    assert fake.last.target is None and fake.last.place is None   # nothing left to act on


def test_the_learned_policy_keeps_a_correct_choice():
    fake = _FakeOnnx("pick the red cup and put it in the bowl")
    marks = _marks(THREE_CUPS)
    g = fake.choose(marks, "red", "bowl")
    assert g.pick_mark_id == _id(marks, "red") and g.place.mark_id == _id(marks, "bowl")
    assert fake.last.target is not None and fake.last.place is not None
    # the same phrase-by-phrase report as the rule grounder's, in the result and its explanation
    assert ("red", "pick: colour red") in g.report and ("bowl", "place reference: kind bowl") in g.report
    assert "'bowl' = place reference: kind bowl" in g.explanation


def test_a_learned_relative_place_point_is_above_the_table():
    """The executive checks the place point against the workspace (z >= 5 mm) before moving: a
    relative place is where the held object's centre will rest, not a point in the table."""
    fake = _FakeOnnx("put the red cup to the left of the bowl")
    marks = _marks(THREE_CUPS)
    g = fake.choose(marks, "red", "bowl", relation="left_of")
    assert g.place.kind == "relative" and g.place.relation == "left_of"
    assert fake.last.place.point_base[2] == pytest.approx(0.05)   # half the 0.10 m cup
