"""dev10 (sim/dev_grammar10.py, crowded rows) is about perception and grasping, not wording: its plain sentences
(ordinals from either end and viewpoint, leftmost / rightmost, the middle one, "between", nearest / farthest
with two rows) must read in full on ideal marks, and its look-alikes (an ordinal past the count, the middle of an
even row, an absent colour, negation) must be refused. The episodes are in test/test_dev_eval.py."""

from __future__ import annotations

import pytest
from parser_scene import rule_grounder

from spatialbot_ros.sim.dev_grammar import score_grounder
from spatialbot_ros.sim.dev_grammar10 import dev10_cases

pytestmark = pytest.mark.core


@pytest.mark.parametrize("part", ["tune", "check"])
def test_dev10_split_slice_is_read_in_full_and_its_look_alikes_refused(part: str) -> None:
    cases = dev10_cases(part, 80)
    s = score_grounder(rule_grounder, cases)
    assert s.success == 1.0 and s.misreadings == 0, (part, s.failures[:3])
    assert {c.case for c in cases if c.outcome == "refuse"} == {"refuse_beyond", "refuse_even_middle",
                                                                  "refuse_absent", "refuse_negation"}
