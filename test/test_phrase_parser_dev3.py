"""The phrase parser on the forms dev3 (sim/dev_grammar3.py) found it refusing: request frames, material
compounds, viewpoint clauses, 'that one' referring back, a verb last, an appositive colour, 'X but one',
an end of the row with a side. Each must ground to the object the words mean; the same rules must not
open a door to silent misreading (an unknown content word, a lone 'but one' or 'at the end', a
negation are still refused).

Scene: test/parser_scene.py.
"""

from __future__ import annotations

import pytest
from parser_scene import CAM, SCENE, ground_names, rule_grounder, scene_object

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.instruction_templates import marks_from_facts

pytestmark = pytest.mark.core

@pytest.fixture(scope="module")
def marks():
    return marks_from_facts(SCENE, CAM)


_ground = ground_names


@pytest.mark.parametrize("text, pick, place", [
    # request frames around the object phrase (hedges, timing, sign-offs)
    ("would it be possible for you to put the blue cup on the plate?", "D", "plate"),
    ("I was wondering if you could pick up the blue mug, if you can", "D", None),
    ("blue cup -> bowl asap, thx", "D", "bowl"),
    ("move the blue cup into the bowl when you get a chance", "D", "bowl"),
    # a material names the kind
    ("the green toy brick goes in the bowl", "box", "bowl"),
    ("put the green wooden box on the plate", "box", "plate"),
    # viewpoint clauses
    ("from my end of the table, pick the leftmost red cup", "A", None),
    ("the way you see it, pick the leftmost red cup", "C", None),
    ("from where you're standing, grab the red cup on the left", "C", None),
    # 'that one' / a later pronoun refers back to the fronted object; a leading 'see'
    ("there's a blue cup on the table, could you take that one and set it down on top of the plate?", "D", "plate"),
    ("see the blue mug? please pick it up and put it on the plate", "D", "plate"),
    # the terse technician: verb last, appositive colour
    ("cup, blue, pick up", "D", None),
    ("cup (blue) -> plate", "D", "plate"),
    ("mug, blue, into the bowl", "D", "bowl"),
    # positions in a row
    ("the leftmost red cup but one goes in the bowl", "B", "bowl"),
    ("pick the last cup but one", "C", None),
    ("lift the cup at the very end, on the left", "A", None),
    ("the red cup that's furthest over to the right", "C", None),
])
def test_dev3_forms_ground_to_the_meant_object(marks, text: str, pick: str, place: str | None) -> None:
    assert _ground(marks, text) == (pick, place)


@pytest.mark.parametrize("text, pick, place", [
    # dev3 round 2: the place first with '<-', a bare noun-colour pair, more frames and viewpoint clauses
    ("plate <- blue cup", "D", "plate"),
    ("mug blue -> bowl", "D", "bowl"),
    ("um, can you, like, grab the blue cup?", "D", None),
    ("if you don't mind, put the blue cup on the plate", "D", "plate"),
    ("set the blue cup on the plate, no rush", "D", "plate"),
    ("I'd like the blue cup to end up in the bowl, please", "D", "bowl"),
    ("what I'd like you to do is pick up the blue cup and put it on the plate", "D", "plate"),
    ("from behind the robot, pick the leftmost red cup", "C", None),
    ("if you look at it from where I am, pick the leftmost red cup", "A", None),
    ("pick the middlemost red cup", "B", None),
    ("the teeniest red cup goes on the plate", "A", "plate"),
])
def test_dev3_round2_forms_ground_to_the_meant_object(marks, text: str, pick: str, place: str | None) -> None:
    assert _ground(marks, text) == (pick, place)


def test_between_a_plural_means_between_the_two_of_them() -> None:
    scene = [scene_object("left", "box", "green", 0.5, -0.2), scene_object("mid", "cup", "red", 0.5, 0.0),
             scene_object("right", "box", "blue", 0.5, 0.2), scene_object("out", "cup", "red", 0.5, 0.32),
             scene_object("plate", "plate", "white", 0.7, 0.0)]
    m = marks_from_facts(scene, CAM)
    assert _ground(m, "the cup between the boxes goes on the plate") == ("mid", "plate")
    with pytest.raises(GroundingError, match="exactly two"):   # three cups: 'the cups' are not a pair
        ground_instruction("pick the box between the cups", marks_from_facts(
            scene + [scene_object("far", "cup", "red", 0.5, -0.32)], CAM), base_from_camera=CAM)


@pytest.mark.parametrize("text, match", [
    ("pick up the wet blue cup", "cannot use the word.*'wet'"),             # an unknown content word
    ("put the blue cup on the coaster", "cannot use the word.*'coaster'"),  # an unseen noun
    ("pick the cup at the end", "'at the end'"),                           # which end? not said
    ("pick the cup but one", "'but one'"),                                 # 'but one' with nothing to shift
    ("pick up any cup other than the blue one", "negation"),
    ("see the blue cup", "cannot use the word.*'see'"),                    # no request at all
    ("the blue cup, pick up the red cup", "before the verb"),              # two objects, one verb
    ("cup (red) next to the box -> plate", "'red'"),                       # whose colour? not the head's for sure
    ("the cup red next to the box -> plate", "'red'"),
    ("put the blue cup <- plate", "around '<-'"),                           # a verb and a reversed arrow
    ("if you don't mind, don't touch the red cup", "negation.*don't"),     # the frame is not the negation
    ("no rush, but not the red one", "negation"),
])
def test_dev3_rules_do_not_swallow_content(marks, text: str, match: str) -> None:
    with pytest.raises(GroundingError, match=match):
        ground_instruction(text, marks, base_from_camera=CAM)


def test_dev3_split_grounds_without_misreadings() -> None:
    """A slice of both dev3 parts: every must-refuse case refused and nothing acted on wrongly."""
    from spatialbot_ros.sim.dev_grammar import score_grounder
    from spatialbot_ros.sim.dev_grammar3 import dev3_cases


    for part in ("tune", "check"):
        s = score_grounder(rule_grounder, dev3_cases(part, 80))
        assert s.misreadings == 0 and s.refusal_recall == 1.0, s.failures
        assert s.success >= 0.95, s.failures
