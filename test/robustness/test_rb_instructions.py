"""Instructions through the policy API: any text ends in a grounding or a SpatialBotError, quickly.
Grounding quality is issue 13's business; only 'no crash, no hang' is asserted here."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.errors import SpatialBotError

pytestmark = [pytest.mark.sim, pytest.mark.surface("instructions")]

INSTRUCTIONS = [
    "", " ", "\n\t", "pick", "put it there", "pick the", "the the the the", "pick the red cup " * 2000,
    "x" * 100_000, "pick the red cup and put it on the plate" + "!" * 10_000, "\x00pick the red cup",
    "pick the \u202eredcup\u202c", "pick the 🍵 and put it on the 🍽️", "ПОДНИМИ КРАСНУЮ ЧАШКУ", "拿起红色的杯子",
    "pick the {0} and put it {L}", "pick the %s%s%s%n", "pick the .*+?[(\\", "pick the red cup; DROP TABLE marks",
    "pick the leftmost rightmost middle cup", "pick the 3rd-from-the-left cup of 999999999999999999999999 cups",
    "pick mark 99999999999999999999", "pick mark -1", "pick Mark 3 at [1e309, nan]", "Depth(0.5,0.5)",
    "Depth(nan,inf)", "pick the cup closest to Depth(2,-1)", "put the red cup on the red cup",
    "put the plate on the cup", "pick the red cup and put it left of itself", "put the red cup 1e308 m left",
    "pick the red cup\r\nput it on the plate", "PICK THE RED CUP", "pick the reed cupp", "pick the green cup " + "and " * 500,
]


@pytest.fixture(scope="module")
def policy():
    from spatialbot_ros.policy.geometric import GeometricPolicy

    return GeometricPolicy()


def _ground(policy, cell, frame, text: str) -> None:
    t0 = time.perf_counter()
    try:
        policy.ground(frame, text, cell.base_from_camera)
    except SpatialBotError as exc:
        assert str(exc)
    assert time.perf_counter() - t0 < 10.0


@pytest.mark.parametrize("text", INSTRUCTIONS, ids=[repr(t[:24]) for t in INSTRUCTIONS])
def test_hostile_instruction(six_object_cell, policy, text):
    cell, _, frame = six_object_cell
    _ground(policy, cell, frame, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["pick", "put", "the", "red", "green", "cup", "plate", "bowl", "left", "of",
                                       "on", "into", "middle", "closest", "farthest", "biggest", "and", "it", "mark",
                                       "3", "behind", "next", "to", "ball", "box", "yellow"]) | st.text(max_size=8),
                      max_size=20))
def test_fuzzed_instructions(six_object_cell, policy, words, probes):
    probes(1)
    cell, _, frame = six_object_cell
    _ground(policy, cell, frame, " ".join(words))
