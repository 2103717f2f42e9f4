"""The phrase parser on the users dev5 (sim/dev_grammar5.py) found it refusing, one case per general rule:
labelled slots and call notation read by role, dropped articles in any multi-word lexeme, speech
disfluencies (repeats, 'yeah', 'i guess'), 'at' as a destination after a place verb, a digit rank after a
noun, the place before the object, a colour after its noun, 'the X, the red one', 'X is what to pick', a
size word. Each rule must leave its look-alikes refused: symbolic negation, a self-correction, an unknown
slot label, 'throw', an unknown colour, 'at the back' (a position, not a place), 'at' with no place verb.

Scene: test/parser_scene.py (red cups A small, B, C big left to right in the camera image, blue cup D,
a green box, a white plate, a yellow bowl).
"""

from __future__ import annotations

import pytest
from parser_scene import CAM, SCENE, ground_names

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.instruction_templates import marks_from_facts

pytestmark = pytest.mark.core


@pytest.fixture(scope="module")
def marks():
    return marks_from_facts(SCENE, CAM)


_ground = ground_names


@pytest.mark.parametrize("text, pick, place", [
    ("target: blue cup; goal: bowl", "D", "bowl"),                 # labelled slots
    ("obj=green box dest=plate", "box", "plate"),
    ("pick(blue_cup) place(plate)", "D", "plate"),                 # call notation
    ("move(green box, bowl)", "box", "bowl"),
    ("um grab the the blue cup and yeah put it in the bowl i guess", "D", "bowl"),   # speech disfluencies
    ("take the blue cup from table and put in bowl", "D", "bowl"),  # dropped articles
    ("pick up the cup second counting from left", "B", None),
    ("put the blue cup at the plate", "D", "plate"),                # 'at' after a place verb
    ("pick up cup 2 from the left", "B", None),                     # a digit rank after the noun
    ("put on the plate the blue cup", "D", "plate"),                # place before object
    ("into the bowl put the green box", "box", "bowl"),
    ("the cup blue put in the bowl", "D", "bowl"),                  # colour after the noun
    ("the box, the green one, on the plate", "box", "plate"),
    ("the blue cup is what to pick", "D", None),                    # pseudo-cleft
    ("grab the mini red cup", "A", None),                           # a size word
    # round 2 (from the unseen part)
    ("object -> blue cup, target -> bowl", "D", "bowl"),           # '->' slots; 'target' after 'object' is the place
    ("from: green box to: plate", "box", "plate"),
    ("put the blue cup on top of the plate on top of the plate", "D", "plate"),   # a 5-word repeat
    ("put blue cup on top plate", "D", "plate"),                    # a dropped 'of'
    ("grab the second cup along, from the left", "B", None),
])
def test_dev5_rules_read_what_the_words_mean(marks, text: str, pick: str, place: str | None) -> None:
    assert _ground(marks, text) == (pick, place)


@pytest.mark.parametrize("text, match", [
    ("target: cup != blue", "negation"),                       # '!=' is a negation, not a comma
    ("grab the red no wait the blue cup", "negation|'wait'"),  # a self-correction: one reading is wrong
    ("target: blue cup, correction: red cup", "'correction'"),  # an unknown label keeps the slots unread
    ("obj=blue cup dest=plate speed=fast", "'speed'"),
    ("throw(blue_cup)", "'throw'"),
    ("um throw the the blue cup yeah", "'throw'"),
    ("pick up the crimson cup", "'crimson'"),
    ("put the blue cup at the back", "no place"),              # 'at the back' is a position
    ("pick up the blue cup at the plate", "'at'"),             # no place verb: 'at' stays unread
    ("object -> blue cup, speed -> fast", "'speed'"),
    ("pick up the cup all the way", "'way'"),                  # 'all the way' with no position after it
])
def test_dev5_look_alikes_stay_refused(marks, text: str, match: str) -> None:
    with pytest.raises(GroundingError, match=match):
        ground_instruction(text, marks, base_from_camera=CAM)
