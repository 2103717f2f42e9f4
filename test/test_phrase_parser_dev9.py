"""Sizes that differ in one dimension (dev9, sim/dev_grammar9.py): "bigger" is the bounding volume, "wider"
the footprint's long side, "taller" the height, each its own ordering, and the comparatives and "longest"
that dev9 found refused ('the fatter mug', 'the narrower block', 'the longest box'). Look-alikes that must
be refused: the biggest of two cups that hold about the same, the widest of two equally wide, the tallest of
two equally tall.
"""

from __future__ import annotations

import numpy as np
import pytest
from parser_scene import CAM

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.instruction_templates import SceneObjectFacts, marks_from_facts
from spatialbot_ros.core.marks import extent_of
from spatialbot_ros.core.phrase_parser import parse_instruction
from spatialbot_ros.sim.dev_grammar import score_grounder
from spatialbot_ros.sim.dev_grammar9 import dev9_cases

pytestmark = pytest.mark.core


def _box(name, x, y, long_side, short_side, height):
    return SceneObjectFacts(name, "box", "green", np.array([x, y, height / 2]), (long_side, short_side), height)


def _cup(name, x, y, diameter, height):
    return SceneObjectFacts(name, "cup", "red", np.array([x, y, height / 2]), (diameter, diameter), height)


# boxes of one height and one short side whose long sides are 20 % apart; a tall narrow cup and a short wide
# one holding 40 % more
BOXES = [_box("short", 0.45, -0.2, 0.046, 0.035, 0.07), _box("mid", 0.45, 0.0, 0.055, 0.035, 0.07),
         _box("long", 0.45, 0.2, 0.066, 0.035, 0.07)]
CUPS = [_cup("tall", 0.6, -0.15, 0.048, 0.13), _cup("wide", 0.6, 0.15, 0.068, 0.091)]


def _pick(scene, text: str) -> str:
    marks = marks_from_facts(scene, CAM)
    g = ground_instruction(text, marks, base_from_camera=CAM)
    return next(m.label for m in marks if m.id == g.pick_mark_id)


@pytest.mark.parametrize("word, sel", [("fatter", ("width", "max")), ("thinner", ("width", "min")),
                                       ("narrower", ("width", "min")), ("slimmer", ("width", "min")),
                                       ("longest", ("width", "max")), ("longer", ("width", "max")),
                                       ("widest", ("width", "max")), ("biggest", ("size", "max")),
                                       ("squattest", ("height", "min"))])
def test_width_words_are_their_own_ordering(word: str, sel: tuple[str, str]) -> None:
    assert parse_instruction(f"pick up the {word} cup").pick.selectors == [sel]


@pytest.mark.parametrize("text, pick", [("grab the longest box", "long"), ("pick up the longer of the boxes", "long"),
                                        ("pick up the biggest box", "long"), ("pick up the second widest box", "mid"),
                                        ("pick up the narrowest box", "short")])
def test_boxes_that_differ_in_length_only(text: str, pick: str) -> None:
    assert _pick(BOXES, text) == pick


@pytest.mark.parametrize("text, pick", [("pick up the taller cup", "tall"), ("pick up the fatter mug", "wide"),
                                        ("pick up the bigger cup", "wide"), ("pick up the thinner cup", "tall"),
                                        ("pick up the cup with the widest diameter", "wide")])
def test_the_tallest_and_the_biggest_can_be_different_cups(text: str, pick: str) -> None:
    assert extent_of((0.068, 0.068), 0.091, "size") > 1.3 * extent_of((0.048, 0.048), 0.13, "size")
    assert _pick(CUPS, text) == pick


@pytest.mark.parametrize("scene, text, match", [
    ([_cup("a", 0.6, -0.15, 0.05, 0.12), _cup("b", 0.6, 0.15, 0.0612, 0.08)], "pick up the biggest cup", "same size"),
    ([_cup("a", 0.6, -0.15, 0.06, 0.12), _cup("b", 0.6, 0.15, 0.06, 0.08)], "pick up the widest cup", "same width"),
    ([_cup("a", 0.6, -0.15, 0.05, 0.1), _cup("b", 0.6, 0.15, 0.065, 0.1)], "pick up the shortest cup", "same height"),
])
def test_a_dimension_they_share_cannot_rank_them(scene, text: str, match: str) -> None:
    with pytest.raises(GroundingError, match=match):
        _pick(scene, text)


def test_dev9_split_slice_is_read_in_full() -> None:
    """A slice of each dev9 part (guard; bench/bench_parser.py --dev9-only runs the whole split)."""
    from parser_scene import rule_grounder

    for part in ("tune", "check"):
        s = score_grounder(rule_grounder, dev9_cases(part, 80))
        assert s.success == 1.0 and s.misreadings == 0, (part, s.failures[:3])
