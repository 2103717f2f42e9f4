"""Phrases about what an object stands on or in ("the cup on the plate", "take the cup off the plate",
"the ball in the bowl"), and a place that already holds something, over marks built from facts."""

from __future__ import annotations

import numpy as np
import pytest
from parser_scene import CAM, scene_object

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import Grounding, PlaceTarget, ground_instruction
from spatialbot_ros.core.grounding_check import CheckContext, verify_grounding
from spatialbot_ros.core.instruction_templates import marks_from_facts
from spatialbot_ros.core.phrase_parser import STANDS_ON, parse_instruction

pytestmark = pytest.mark.core


def on_top(name: str, colour: str, support) -> object:  # noqa: ANN001
    """A cup standing on a support's centre (its facts: the support's xy, raised by its height)."""
    cup = scene_object(name, "cup", colour, float(support.position_base[0]), float(support.position_base[1]))
    return type(cup)(cup.name, cup.kind, cup.color, cup.position_base + np.array([0, 0, support.height_m]),
                     cup.footprint_m, cup.height_m)


@pytest.fixture(scope="module")
def marks():
    plate = scene_object("plate", "plate", "white", 0.66, 0.15)
    bowl = scene_object("bowl", "bowl", "yellow", 0.38, 0.28)
    facts = [scene_object("red", "cup", "red", 0.45, -0.20), scene_object("blue", "cup", "blue", 0.45, 0.0),
             plate, on_top("green", "green", plate), bowl, on_top("purple", "purple", bowl)]
    return marks_from_facts(facts, CAM)


def names(marks, text: str) -> tuple[str, str | None]:  # noqa: ANN001
    g = ground_instruction(text, marks, base_from_camera=CAM)
    by_id = {m.id: m.label for m in marks}
    return by_id[g.pick_mark_id], by_id[g.place.mark_id] if g.place is not None else None


@pytest.mark.parametrize("text, pick, place", [
    ("pick the cup on the plate", "green", None),
    ("take the cup off the plate and put it next to the red cup", "green", "red"),
    ("lift the cup off of the plate", "green", None),
    ("pick up the cup that is sitting on the plate", "green", None),
    ("grab the cup from the plate", "green", None),
    ("take the cup out of the bowl", None, None),        # "out of the" is partitive elsewhere: refused
    ("pick the cup in the bowl", "purple", None),
    ("the cup inside the bowl goes next to the blue cup", "purple", "blue"),
    ("take off the red cup", "red", None),               # a particle after the verb, not a support
])
def test_what_an_object_stands_on_or_in_picks_it(marks, text, pick, place):
    if pick is None:
        with pytest.raises(GroundingError):
            names(marks, text)
        return
    assert names(marks, text) == (pick, place)


def test_the_relation_is_reported_and_a_wrong_support_is_refused(marks):
    parsed = parse_instruction("pick the cup on the plate")
    assert parsed.pick.relation == STANDS_ON and parsed.pick.reference.noun == "plate"
    g = ground_instruction("pick the cup on the plate", marks, base_from_camera=CAM)
    assert ("on", "pick: relation on") in g.report and "standing on/in" in g.explanation
    with pytest.raises(GroundingError, match=r"no red cup is standing on/in .*white plate"):
        ground_instruction("pick the red cup on the plate", marks, base_from_camera=CAM)
    with pytest.raises(GroundingError, match=r"no cup is standing on/in"):
        ground_instruction("pick the cup on the box", marks + marks_from_facts(
            [scene_object("box", "box", "green", 0.62, -0.10)], CAM), base_from_camera=CAM)


def test_two_places_for_one_object_are_still_refused_not_read_as_a_support():
    with pytest.raises(GroundingError, match="'it'"):
        parse_instruction("put the blue cup on the plate. it goes in the bowl")


def test_the_shared_check_refuses_another_grounders_choice_that_stands_elsewhere(marks):
    by = {m.label: m for m in marks}
    wrong = Grounding(by["red"].id, None, "", "the cup on the plate")
    with pytest.raises(GroundingError, match=r"says it stands on or in the plate, but the chosen .* stands on the table"):
        verify_grounding(wrong, CheckContext(marks))
    verify_grounding(Grounding(by["green"].id, None, "", "the cup on the plate"), CheckContext(marks))


@pytest.mark.parametrize("support", ["plate", "bowl"])
def test_a_place_that_already_holds_an_object_is_refused(marks, support):
    by = {m.label: m for m in marks}
    onto = Grounding(by["red"].id, PlaceTarget("on" if support == "plate" else "into", by[support].id, None,
                                               by[support].centroid_base), "", "the red cup",
                     f"{'on' if support == 'plate' else 'in'} the {support}")
    with pytest.raises(GroundingError, match=r"already stands on it"):
        verify_grounding(onto, CheckContext(marks))
