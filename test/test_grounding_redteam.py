"""Red-team cases for the built-in grounder: nothing in an instruction is silently ignored.

Each instruction here was once executed with part of it dropped (a place clause, a negation, a
trailing command, a pronoun) or could stall the parser; each must now either use every content
word (shown in the grounding report) or be refused naming what could not be used.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from spatialbot_ros.core.errors import GroundingError, SpatialBotError
from spatialbot_ros.core.grounding import (
    KNOWN_WORDS,
    ground_instruction,
    require_object_phrase,
    split_instruction,
)
from spatialbot_ros.core.instruction_parse import MAX_INSTRUCTION_CHARS
from spatialbot_ros.core.instruction_templates import SceneObjectFacts, marks_from_facts
from spatialbot_ros.core.transforms import look_at

pytestmark = pytest.mark.core

CAM = look_at([1.15, 0.0, 0.62], [0.5, 0.0, 0.0])
SIZES = {"cup": ((0.064, 0.064), 0.10), "bowl": ((0.16, 0.16), 0.06), "plate": ((0.2, 0.2), 0.02)}


def _obj(name: str, kind: str, color: str, x: float, y: float) -> SceneObjectFacts:
    fp, h = SIZES[kind]
    return SceneObjectFacts(name, kind, color, np.array([x, y, h / 2]), fp, h)


SCENE = [_obj("red", "cup", "red", 0.45, -0.15), _obj("green", "cup", "green", 0.45, 0.0),
         _obj("bowl", "bowl", "blue", 0.60, 0.2), _obj("plate", "plate", "white", 0.60, -0.2)]


@pytest.fixture(scope="module")
def marks():
    return marks_from_facts(SCENE, CAM)


def _names(marks):
    return {m.id: m.label for m in marks}


@pytest.mark.parametrize("text", ["the red cup goes into the bowl", "the red cup into the bowl please",
                                  "take the red cup to the bowl", "pick the red cup and put it in the bowl"])
def test_place_clause_is_never_dropped(marks, text):
    g = ground_instruction(text, marks, base_from_camera=CAM)
    assert _names(marks)[g.pick_mark_id] == "red"
    assert g.place is not None and _names(marks)[g.place.mark_id] == "bowl", g.explanation
    assert ("bowl", "place reference: kind bowl") in g.report


def test_the_report_accounts_for_every_content_word(marks):
    g = ground_instruction("could you put the red cup next to the green cup please", marks, base_from_camera=CAM)
    assert ("red", "pick: colour red") in g.report
    assert ("next to", "place: next to") in g.report
    assert ("green", "place reference: colour green") in g.report
    assert "'red' = pick: colour red" in g.explanation


@pytest.mark.parametrize("text, word", [
    ("do not pick the red cup", "not"), ("pick the cup, not the red one", "not"),
    ("pick anything but the cup", "but"), ("don't grab the green cup", "don't"),
    ("pick the cup other than the red one", "other"),
])
def test_negation_is_refused_never_inverted(marks, text, word):
    with pytest.raises(GroundingError, match=f"negation.*{word}"):
        ground_instruction(text, marks, base_from_camera=CAM)
    with pytest.raises(GroundingError):   # policies refuse it at reset(), before anything moves
        require_object_phrase(text)


@pytest.mark.parametrize("text", ["put it on the red cup", "pick them up and put them in the bowl",
                                  "put the red cup on it"])
def test_a_pronoun_with_nothing_to_refer_to_is_refused(marks, text):
    with pytest.raises(GroundingError, match="nothing it refers to"):
        ground_instruction(text, marks, base_from_camera=CAM)


@pytest.mark.parametrize("text, words", [
    ("move the red cup to x=5 y=5 z=5", "'x', '5'"),
    ("pick the red cup and throw it at the camera", "'throw'"),
    ("pick the red cup and put it in the bowl and then shake it", "'shake'"),
])
def test_trailing_commands_are_refused_not_dropped(marks, text, words):
    with pytest.raises(GroundingError, match=words):
        ground_instruction(text, marks, base_from_camera=CAM)
    with pytest.raises(GroundingError, match=words):
        split_instruction(text)   # the VLM grounder's split refuses it too


@pytest.mark.parametrize("text, word", [
    ("pick the red cup and the green cup", "green"),       # a second object would be ignored
    ("pick the cup under the bowl", "under"),              # a location we cannot read
    ("pick the cup and the red cup", "red"),               # a colour after the head noun: another object
    ("pick the red cup and put it in the bowl and put the green cup on the plate", "put"),
])
def test_known_words_that_a_phrase_cannot_use_are_refused(marks, text, word):
    with pytest.raises(GroundingError, match=f"cannot use.*'{word}'"):
        ground_instruction(text, marks, base_from_camera=CAM)


def test_long_and_deeply_nested_instructions_are_refused_quickly(marks):
    long_text = "pick the red cup " + "left of the green cup " * 450   # about 10,000 characters
    nested = "pick the cup " + "left of the cup " * 6   # under the length bound, too deep
    assert len(long_text) > 9000 and len(nested) < MAX_INSTRUCTION_CHARS
    t0 = time.perf_counter()
    with pytest.raises(GroundingError, match="at most 500"):
        ground_instruction(long_text, marks, base_from_camera=CAM)
    with pytest.raises(GroundingError, match="chains 6 spatial relations"):
        ground_instruction(nested, marks, base_from_camera=CAM)
    with pytest.raises(GroundingError, match="at most 500"):
        require_object_phrase(long_text)
    assert time.perf_counter() - t0 < 1.0


def test_random_word_salad_raises_only_grounding_errors_within_bounds(marks):
    """Fuzz: sentences of known words, filler and punctuation never raise anything else."""
    rng = random.Random(0)
    vocab = sorted(KNOWN_WORDS) + ["the", "a", "please", ",", "'", "x=1", "(", ")", "it", "5"]
    worst = 0.0
    for _ in range(400):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 60)))
        t0 = time.perf_counter()
        try:
            ground_instruction(text, marks, base_from_camera=CAM)
        except SpatialBotError:
            pass
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.5


def test_plain_instructions_still_ground(marks):
    g = ground_instruction("pick up the green cup", marks, base_from_camera=CAM)
    assert _names(marks)[g.pick_mark_id] == "green" and g.place is None
    g = ground_instruction("please put the green cup on the plate", marks, base_from_camera=CAM)
    assert _names(marks)[g.place.mark_id] == "plate"
