"""The phrase parser on the everyday words and frames dev7 (sim/dev_grammar7.py) found it refusing, one case
per rule: errand frames ('go pick up', 'go and', 'come and', 'go on and'), a place said as a clause ('where the
plate is', 'so it sits on the plate'), a pick then 'and hold/lift it', a group named before the verb ('of the
cups, take the leftmost one'), comparatives against the rest ('bigger than the others') and the dimension as a
noun ('with the largest size'), depth as scenery ('in the foreground', 'at the front of the table'), ordinal
position nouns and verbs ('at position 3', 'that comes second'), viewpoint labels and frames ('(robot's view)',
'in the robot frame', 'from the operator's side', 'facing the camera'), verbs of putting ('rest', 'park',
'lower', ...). Each rule must leave its look-alikes refused: a comparison with one named object, a kind that
does not match, a verb word used as a noun or an adjective ('the rest', 'the lower cup', 'the stand'), a
clause place that is not an object or holds a negation, a held object put 'over' something.

Scene: test/parser_scene.py (red cups A small, B, C big left to right in the camera image, blue cup D,
a green box, a white plate, a yellow bowl; the robot's left is the camera's right).
"""

from __future__ import annotations

import pytest
from parser_scene import CAM, SCENE, ground_names, rule_grounder

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.instruction_templates import marks_from_facts
from spatialbot_ros.core.phrase_parser import parse_instruction
from spatialbot_ros.sim.dev_grammar import score_grounder
from spatialbot_ros.sim.dev_grammar7 import dev7_cases

pytestmark = pytest.mark.core


@pytest.fixture(scope="module")
def marks():
    return marks_from_facts(SCENE, CAM)


@pytest.mark.parametrize("text, pick, place", [
    ("go pick up the blue cup", "D", None),                                      # errands
    ("go and put the green box on the plate", "box", "plate"),
    ("come and take the blue cup", "D", None),
    ("go on and put the green box in the bowl", "box", "bowl"),
    ("could you go and put the blue cup on the plate?", "D", "plate"),
    ("put the green box where the plate is", "box", "plate"),                    # a place as a clause
    ("move the blue cup over to where the bowl is", "D", "bowl"),
    ("place the green box so it sits on the plate", "box", "plate"),
    ("drop the green box so that it lands in the bowl", "box", "bowl"),
    ("pick up the blue cup and hold it", "D", None),                             # the same pick, held
    ("grab the blue cup and lift it up", "D", None),
    ("of the cups, take the leftmost one", "A", None),                           # a group before the verb
    ("of the red cups, take the rightmost one", "C", None),
    ("among the cups, the second one from the left goes in the bowl", "B", "bowl"),
    ("from the cups, pick the leftmost one", "A", None),
    ("of all the cups, put the rightmost one on the plate", "D", "plate"),
    ("pick up the cup that is bigger than the others", "C", None),               # against the rest
    ("pick up the red cup smaller than the rest", "A", None),
    ("pick up the cup taller than the other cups", "C", None),
    ("pick up the cup with the largest size", "C", None),                        # the dimension as a noun
    ("pick up the cup of the least size", "A", None),
    ("pick up the cup that comes second from the right", "C", None),             # ordinal verbs and nouns
    ("pick up the cup at position 3 from the left", "C", None),
    ("pick up the cup ranked second from the left", "B", None),
    ("pick up the cup farthest toward the right", "D", None),
    ("pick up the most leftward cup", "A", None),
    ("pick up the leftmost cup (robot's view)", "D", None),                      # viewpoint labels and frames
    ("pick up the leftmost cup, robot's view", "D", None),
    ("pick up the leftmost cup in the robot frame", "D", None),
    ("pick up the leftmost cup in robot coordinates", "D", None),
    ("using the robot's frame, pick up the leftmost cup", "D", None),
    ("pick up the leftmost cup from the operator's side", "A", None),
    ("facing the robot, pick up the leftmost cup", "A", None),
    ("facing the camera, pick up the leftmost cup", "D", None),
    ("rest the green box on the plate", "box", "plate"),                         # verbs of putting
    ("park the green box on the plate", "box", "plate"),
    ("stand the blue cup on the plate", "D", "plate"),
    ("sit the green box in the bowl", "box", "bowl"),
    ("nestle the green box in the bowl", "box", "bowl"),
    ("lower the blue cup into the bowl", "D", "bowl"),
    ("ferry the green box over to the plate", "box", "plate"),
    ("carry the green box across to the plate", "box", "plate"),
    ("take a hold of the blue cup", "D", None),
])
def test_dev7_rules_read_what_the_words_mean(marks, text: str, pick: str, place: str | None) -> None:
    assert ground_names(marks, text) == (pick, place)


@pytest.mark.parametrize("text, selector", [
    ("pick up the green box in the foreground", ("depth", "near")),
    ("pick up the green box in the background", ("depth", "far")),
    ("pick up the green box at the front of the table", ("depth", "near")),
    ("pick up the green box at the back of the table", ("depth", "far")),   # not 'behind the table'
    ("pick up the green box closest to the back edge", ("depth", "far")),
    ("pick up the green box way in the back", ("depth", "far")),
    ("pick up the green box with the greatest height", ("height", "max")),  # the noun says which dimension
])
def test_dev7_scenery_and_dimension_words_are_selectors(text: str, selector: tuple[str, str]) -> None:
    parsed = parse_instruction(text)
    assert parsed.pick.selectors == [selector] and parsed.pick.relation is None


@pytest.mark.parametrize("text, match", [
    ("pick up the cup bigger than the box", "negation"),              # a comparison with one object
    ("pick up the red cup rather than the others", "negation"),
    ("pick up the cup bigger than the other boxes", "than the other boxes"),   # the rest of another kind
    ("pick up the red cup than the others", "than the others"),       # no comparative before it
    ("grab the lower cup", "'lower'"),                                 # a verb word as an adjective
    ("the lower cup goes in the bowl", "'lower'"),
    ("pick up the rest of the cups", "'rest'"),                        # ... as a noun
    ("the cup on the stand", "'stand'"),
    ("put the green box where the lamp is", "'lamp'"),                 # a clause place that is no object
    ("put the green box where the robot is", "'where'"),
    ("put the green box where the plate is not", "negation"),
    ("place the green box so it is upside down", "'upside'"),          # how it ends up, not where
    ("place the green box so that it sits under the plate", "'under'"),
    ("pick up the blue cup and hold it over the bowl", "'it'"),        # held over, not put in
    ("pick up the blue cup and hold them", "'them'"),
    ("go pick up the cup", "ambiguous"),
    ("of the cups, take one", "ambiguous"),
    ("of the cups, take the green box", "'green', 'box'"),             # a choice outside the group
    ("of the boxes, take the leftmost cup", "'cup'"),
    ("go away", "names no object"),
    ("pick up the heaviest cup", "'heaviest'"),                        # not something a camera sees
])
def test_dev7_look_alikes_stay_refused(marks, text: str, match: str) -> None:
    with pytest.raises(GroundingError, match=match):
        ground_instruction(text, marks, base_from_camera=CAM)


def test_dev7_split_slice_is_read_in_full() -> None:
    """A slice of each dev7 part (guard; bench/bench_parser.py --dev7-only runs the whole split)."""
    for part in ("tune", "check", "unseen"):
        s = score_grounder(rule_grounder, dev7_cases(part, 80))
        assert s.success == 1.0 and s.misreadings == 0, (part, s.failures[:3])
