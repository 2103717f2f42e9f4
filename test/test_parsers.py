import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.policy.parsers import (
    ActionTokenizerConfig,
    decode_action_tokens,
    parse_action_list,
    parse_box,
    parse_mark_id,
    parse_point,
    parse_yes_no,
)

pytestmark = pytest.mark.core


@pytest.mark.parametrize("text, mark, form", [
    ("Mark 3", 3, "mark"), ("The answer is mark: 12.", 12, "mark"), ("<region4>", 4, "groma"),
    ("region 2 is the cup", 2, "region"), ("[5]", 5, "bracket"), (" 7 ", 7, "bare"),
])
def test_mark_ids(text, mark, form):
    r = parse_mark_id(text)
    assert r.ok and r.value == mark and r.form == form


@pytest.mark.parametrize("text, valid, reason", [
    ("Mark 2 or Mark 3", None, "several"), ("no idea", None, "no mark"), ("Mark 9", [1, 2, 3], "not one of"),
])
def test_bad_mark_answers_fail_cleanly(text, valid, reason):
    r = parse_mark_id(text, valid)
    assert not r.ok and reason in r.reason and r.reason.startswith("unparseable")


def test_points_in_every_form():
    assert parse_point("Mark 3 at [128, 64]", 640, 480).value == (320.0, 120.0)
    r = parse_point("(0.25, 0.5)", 640, 480)
    assert r.form == "normalized" and r.value == (160.0, 240.0)
    r = parse_point("[500, 250]", 640, 480)
    assert r.form == "per_mille" and r.value == (320.0, 120.0)
    assert not parse_point("[1500, 20]", 640, 480).ok and not parse_point("[-3, 4]", 640, 480).ok
    assert not parse_point("nowhere", 640, 480).ok


def test_boxes():
    r = parse_box("box: [100, 200, 300, 400]", 1000, 500)
    assert r.ok and r.value == (100.0, 100.0, 300.0, 200.0) and r.form == "per_mille"
    assert parse_box("[0.1, 0.1, 0.5, 0.5]", 640, 480).value == pytest.approx((64.0, 48.0, 320.0, 240.0))
    assert not parse_box("[300, 200, 100, 400]", 640, 480).ok  # inverted
    assert not parse_box("[1, 2, 3]", 640, 480).ok


@pytest.mark.parametrize("text, value", [
    ("Yes.", True), ("No, there is a gap.", False), ("The gripper is touching the cup", True),
    ("The gripper is not touching the cup", False), ("yes", True),
])
def test_yes_no(text, value):
    r = parse_yes_no(text)
    assert r.ok and r.value is value


def test_unclear_contact_answers_fail():
    assert not parse_yes_no("maybe").ok


def test_action_lists():
    r = parse_action_list("Action: [0.01, -0.02, 0.0, 0.0, 0.0, 0.1, 1]")
    assert r.ok and r.value.tolist() == [0.01, -0.02, 0.0, 0.0, 0.0, 0.1, 1.0]
    assert not parse_action_list("[0.1, 0.2]").ok and not parse_action_list("[a, b, c, d, e, f, g]").ok
    assert not parse_action_list("[nan, 0, 0, 0, 0, 0, 1]").ok


def test_action_token_decoding_matches_the_256_bin_scheme():
    cfg = ActionTokenizerConfig(vocab_size=32000, low=np.full(6, -0.1), high=np.full(6, 0.1))
    # token id vocab-1 -> bin 0 -> lowest centre; vocab-255 -> bin 254 (clipped top)
    r = decode_action_tokens(np.array([31999, 31745, 31872, 31999, 31745, 31872, 31745]), cfg)
    delta, grip = r.value
    edges = np.linspace(-1, 1, 256)
    centres = (edges[:-1] + edges[1:]) / 2
    assert delta[0] == pytest.approx(0.5 * (centres[0] + 1) * 0.2 - 0.1)
    assert delta[1] == pytest.approx(0.5 * (centres[254] + 1) * 0.2 - 0.1)
    assert delta[2] == pytest.approx(0.5 * (centres[127] + 1) * 0.2 - 0.1)
    assert grip == pytest.approx(centres[254])  # gripper stays normalised
    clipped = decode_action_tokens(np.array([0] * 7), cfg)  # ids far below the action range clip to bin 254
    assert clipped.ok and clipped.value[1] == pytest.approx(centres[254])
    assert not decode_action_tokens(np.array([1, 2, 3]), cfg).ok


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsers_never_raise_on_arbitrary_text(text):
    for result in (parse_mark_id(text), parse_point(text, 640, 480), parse_box(text, 640, 480), parse_yes_no(text),
                   parse_action_list(text)):
        assert result.ok or result.reason.startswith("unparseable")
