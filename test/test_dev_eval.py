"""`eval --suite dev`: the dev splits as full simulator episodes, scored with the frozen suite's rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spatialbot_ros.apps.dev_eval import DEV_SPLITS, dev_suite_cases

pytestmark = pytest.mark.sim


def test_dev_suite_cases_take_the_first_cases_of_each_split_with_their_expectations():
    cases = dev_suite_cases(["dev1", "dev4"], 4)
    assert [c.id[:4] for c in cases] == ["dev0"] * 4 + ["dev4"] * 4
    assert len({c.id for c in cases}) == 8
    refuse = [c for c in cases if c.outcome == "refuse"]
    assert refuse and all(c.pick is None and c.case.startswith("refuse_") for c in refuse)
    # the scene carries the case's instruction and its expected pick (what the episode grades against)
    ex = next(c for c in cases if c.outcome == "execute")
    assert ex.scene.instruction and ex.scene.expected.pick == ex.pick


def test_unknown_split_or_part_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown dev split\(s\) dev99 \(known: dev1, dev2"):
        dev_suite_cases(["dev99"], 2)
    with pytest.raises(ValueError, match="dev2 has no part 'unseen'"):
        dev_suite_cases(["dev2"], 2, part="unseen")
    assert set(DEV_SPLITS) == {f"dev{i}" for i in range(1, 12)}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spatialbot_ros.cli", *args], capture_output=True, text=True,
                          timeout=240)


def test_eval_suite_dev_runs_episodes_and_lists_each_failure(tmp_path: Path):
    # dev1's first five: four to execute (attribute, size, depth, side) and one negation to refuse
    out = tmp_path / "dev"
    r = _cli("eval", "--suite", "dev", "--dev-splits", "dev1", "--episodes", "5", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "on the dev splits dev1 (tune, 5 episodes)" in r.stdout
    rep = json.loads((out / "dev.json").read_text())
    assert rep["episodes"] == 5 and rep["execute_cases"] == 4 and rep["refuse_cases"] == 1
    assert rep["refusal_recall"] == 1.0 and rep["silent_misreadings"] == 0   # the negation was refused
    # every case that did not end as expected is listed with its sentence and the episode's reason
    assert len(rep["failures"]) == round((1 - rep["success_rate"]) * 5)
    assert all(f["instruction"] and f["reason"] for f in rep["failures"])
    md = (out / "dev.md").read_text()
    assert "| refusal recall | 100.0% |" in md and "## Failures" in md
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 5   # the ordinary durable episode log


def test_eval_suite_dev_rejects_unknown_splits_before_running(tmp_path: Path):
    r = _cli("eval", "--suite", "dev", "--dev-splits", "dev1,devX", "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "unknown dev split(s) devX" in r.stderr
    r = _cli("eval", "--suite", "dev", "--dev-splits", "dev3", "--dev-part", "unseen", "--episodes", "2",
             "--out", str(tmp_path / "y"))
    assert r.returncode != 0 and "dev3 has no part 'unseen'" in r.stderr


def _scene(name, instruction, pick, place, objects):
    """A scene the dev episodes drew (frozen here: the dev draws move when a grammar changes)."""
    from spatialbot_ros.sim.scene import Expected, ObjectSpec, Scene

    return Scene(name, [ObjectSpec(*o) for o in objects], instruction, Expected(pick, place))


def _episode(scene):
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.registry import make_policy

    return run_episode(scene, make_policy("geometric"))


def test_the_smallest_cup_is_a_cup_to_perception_so_the_superlative_picks_it():
    # a 36 mm-wide cup was called a box, so 'the tiny tea cup' picked the smaller of the other two (a silent
    # misreading the dev episodes found, in dev1's case dev0031, and the ideal-mark dev scores could not)
    scene = _scene("dev0031", "carry the tiny tea cup in the bowl", "red_cup_0", "yellow_bowl_5", [
        ("red_cup_0", "cup", "red", {"radius": 0.018, "height": 0.0713}, (0.6049, -0.2778)),
        ("red_cup_1", "cup", "red", {"radius": 0.0342, "height": 0.0956}, (0.6335, 0.1215)),
        ("red_cup_2", "cup", "red", {"radius": 0.0415, "height": 0.1282}, (0.6502, -0.1489)),
        ("purple_sphere_3", "sphere", "purple", {"radius": 0.0324}, (0.3657, -0.1584)),
        ("white_plate_4", "plate", "white", {"radius": 0.0775, "height": 0.0197}, (0.6692, 0.3082)),
        ("yellow_bowl_5", "bowl", "yellow", {"radius": 0.0807, "height": 0.0429}, (0.3856, 0.335))])
    r = _episode(scene)
    assert r.grounding_correct is True and r.success, (r.reason, r.message, r.explanation)


def test_a_ball_wider_than_the_gripper_is_refused_before_the_grasp():
    # an 88 mm ball passed the width check on its top cap and was carried off on release (dev1's dev0049)
    scene = _scene("dev0049", "the largest sphere -> onto the plate", "green_sphere_2", "white_plate_4", [
        ("green_sphere_0", "sphere", "green", {"radius": 0.0196}, (0.6, -0.1389)),
        ("green_sphere_1", "sphere", "green", {"radius": 0.033}, (0.4087, -0.186)),
        ("green_sphere_2", "sphere", "green", {"radius": 0.044}, (0.5706, 0.3386)),
        ("blue_box_3", "box", "blue", {"half_extents": [0.0231, 0.027], "height": 0.0688}, (0.6259, 0.1374)),
        ("white_plate_4", "plate", "white", {"radius": 0.0884, "height": 0.013}, (0.4763, 0.0325)),
        ("orange_bowl_5", "bowl", "orange", {"radius": 0.0717, "height": 0.0537}, (0.3442, 0.2065))])
    r = _episode(scene)
    assert r.reason == "no_grasp" and "wide across the grasp" in r.message, (r.reason, r.message)


# dev8t0023: the widest of three yellow tumblers stands against the robot's upper arm in the image, so the two
# join in one region too wide to be an object; it was dropped and "the widest" chose among the other two
HIDDEN_BY_ARM = [("yellow_cup_0", "cup", "yellow", {"radius": 0.0179, "height": 0.0728}, (0.4933, 0.0368)),
                 ("yellow_cup_1", "cup", "yellow", {"radius": 0.0506, "height": 0.1321}, (0.342, 0.0287)),
                 ("yellow_cup_2", "cup", "yellow", {"radius": 0.0308, "height": 0.0704}, (0.3661, -0.1447)),
                 ("white_plate_3", "plate", "white", {"radius": 0.0821, "height": 0.0136}, (0.5443, 0.2084)),
                 ("blue_bowl_4", "bowl", "blue", {"radius": 0.0872, "height": 0.0406}, (0.6841, -0.1228))]


def test_an_object_merged_with_the_arm_is_reported_and_a_phrase_it_could_match_is_refused():
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell

    scene = _scene("dev8t0023", "pick up the tumbler of the greatest width and place it on top of the plate",
                   "yellow_cup_1", "white_plate_3", HIDDEN_BY_ARM)
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    try:
        cell.reset()
        _, frame = view_from_observe_pose(cell)
        proposals = GeometricProposer().propose(frame, cell.config.base_from_camera)
    finally:
        cell.close()
    assert [u.color_name for u in proposals.unmeasured] == ["yellow"]
    assert sum(m.shape == "cylinder" for m in proposals.marks) == 2      # the widest is not among the marks
    r = _episode(scene)
    assert r.reason == "grounding_failed" and "cannot measure" in r.message, (r.reason, r.message)
    # phrases whose stated colours the hidden object does not have are still answered
    red = [("red_cup_2", *o[1:2], "red", *o[3:]) if o[0] == "yellow_cup_2" else o for o in HIDDEN_BY_ARM]
    r = _episode(_scene("dev8t0023r", "put the red tumbler on the white plate", "red_cup_2", "white_plate_3", red))
    assert r.success, (r.reason, r.message)


@pytest.mark.parametrize("colour", ["white", "black"])
def test_a_white_or_black_object_against_the_grey_arm_is_reported_too(colour):
    objects = [(f"{colour}_cup_1", *o[1:2], colour, *o[3:]) if o[0] == "yellow_cup_1" else o for o in HIDDEN_BY_ARM]
    proposals = _marks_of(_scene("dev8t0023" + colour, "pick up the widest tumbler", f"{colour}_cup_1", None, objects))
    assert [u.color_name for u in proposals.unmeasured] == [colour]


def test_seeded_scenes_have_no_unmeasured_objects():
    """The arm alone is grey: in ordinary scenes nothing is reported, so nothing is refused for it."""
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene_generator import generate_scenes

    proposer = GeometricProposer()
    for scene in generate_scenes(12, 3):
        cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
        try:
            cell.reset()
            _, frame = view_from_observe_pose(cell)
            assert proposer.propose(frame, cell.config.base_from_camera).unmeasured == [], scene.name
        finally:
            cell.close()


# dev10 (crowded rows): four purple cups 2 cm apart; at the preferred yaw the open fingers came down on the
# neighbours (motion_failed at descend); the grasp now turns to a yaw whose fingers clear them
PURPLE_ROW = [("purple_cup_back0", "cup", "purple", {"radius": 0.0339, "height": 0.0775}, (0.5056, -0.1154)),
              ("purple_cup_back1", "cup", "purple", {"radius": 0.0301, "height": 0.0932}, (0.505, -0.0324)),
              ("purple_cup_back2", "cup", "purple", {"radius": 0.0288, "height": 0.1092}, (0.5107, 0.0423)),
              ("purple_cup_back3", "cup", "purple", {"radius": 0.0296, "height": 0.116}, (0.5068, 0.1197)),
              ("white_plate", "plate", "white", {"radius": 0.0965, "height": 0.0125}, (0.3386, -0.169)),
              ("green_bowl", "bowl", "green", {"radius": 0.077, "height": 0.0569}, (0.33, 0.0776))]
# a yellow bowl behind a row of yellow cups: the cup in front cut an arc of its wall off (a "yellow cylinder"
# mark, a sixth cup for 'the middle one'); and, further left, a green row hides all but two slivers of a bowl
YELLOW_ROW = [("yellow_cup_back0", "cup", "yellow", {"radius": 0.0286, "height": 0.1137}, (0.5079, -0.1558)),
              ("yellow_cup_back1", "cup", "yellow", {"radius": 0.0308, "height": 0.1171}, (0.5039, -0.0714)),
              ("yellow_cup_back2", "cup", "yellow", {"radius": 0.0266, "height": 0.0997}, (0.5004, 0.0067)),
              ("yellow_cup_back3", "cup", "yellow", {"radius": 0.0295, "height": 0.1225}, (0.5124, 0.0828)),
              ("yellow_cup_back4", "cup", "yellow", {"radius": 0.0284, "height": 0.1026}, (0.5111, 0.156)),
              ("white_plate", "plate", "white", {"radius": 0.0831, "height": 0.0182}, (0.3793, -0.2934)),
              ("yellow_bowl", "bowl", "yellow", {"radius": 0.0805, "height": 0.0511}, (0.3568, 0.2005))]
HIDDEN_BOWL = [("green_cup_back0", "cup", "green", {"radius": 0.0308, "height": 0.097}, (0.5184, -0.1737)),
               ("green_cup_back1", "cup", "green", {"radius": 0.0282, "height": 0.1298}, (0.5036, -0.091)),
               ("green_cup_back2", "cup", "green", {"radius": 0.0348, "height": 0.1279}, (0.5103, -0.0033)),
               ("green_cup_back3", "cup", "green", {"radius": 0.0302, "height": 0.0903}, (0.5158, 0.0841)),
               ("green_cup_back4", "cup", "green", {"radius": 0.0341, "height": 0.0856}, (0.5079, 0.1704)),
               ("green_cup_front0", "cup", "green", {"radius": 0.0349, "height": 0.1085}, (0.6075, -0.0273)),
               ("white_plate", "plate", "white", {"radius": 0.0969, "height": 0.0189}, (0.3881, -0.296)),
               ("yellow_bowl", "bowl", "yellow", {"radius": 0.085, "height": 0.0511}, (0.3363, -0.0227))]


def _marks_of(scene):
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell

    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    try:
        cell.reset()
        _, frame = view_from_observe_pose(cell)
        return GeometricProposer().propose(frame, cell.config.base_from_camera)
    finally:
        cell.close()


def test_a_cup_in_a_crowded_row_is_grasped_without_touching_its_neighbours():
    r = _episode(_scene("dev10t0000", "pick up the fourth cup counting from the left", "purple_cup_back3", None,
                        PURPLE_ROW))
    assert r.success and r.grounding_correct, (r.reason, r.message)


def test_a_bowl_cut_by_a_cup_in_front_is_one_mark_and_slivers_are_not_objects():
    proposals = _marks_of(_scene("dev10t0002", "move the glass in the middle into the basin", "yellow_cup_back2",
                                 "yellow_bowl", YELLOW_ROW))
    assert sorted(m.shape for m in proposals.marks).count("cylinder") == 5
    assert [m.shape for m in proposals.marks if m.color_name == "yellow" and m.shape != "cylinder"] == ["bowl"]
    hidden = _marks_of(_scene("dev10t0006", "move the third glass from the left inside the basin", "green_cup_front0",
                              "yellow_bowl", HIDDEN_BOWL))
    assert not [m for m in hidden.marks if m.color_name == "yellow" and m.shape == "cylinder"]   # no sliver is a cup
    assert hidden.unmeasured and {u.color_name for u in hidden.unmeasured} == {"yellow"}
    assert all("sliver" in u.why for u in hidden.unmeasured)


def test_a_policy_whose_open_fingers_would_hit_a_neighbour_is_stopped_before_the_descent():
    # the learned policy keeps the yaw of its demonstrations (no neighbours there) and came down on the next cup
    # (motion_failed); the executive now checks the open pads against the other marks first, for every policy
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.registry import make_policy

    r = run_episode(_scene("dev10t0000", "pick up the fourth cup counting from the left", "purple_cup_back3", None,
                           PURPLE_ROW), make_policy("onnx"))
    assert r.reason == "no_grasp" and "descend refused before moving" in r.message, (r.reason, r.message)
    assert "purple cylinder" in r.message


def test_the_crowded_scene_through_the_eval_command(tmp_path):
    """scenes/crowded_purple_cups.yaml through `spatialbot-ros eval --scenes`, as a user runs it: the built-in
    policy turns its grasp and succeeds; the learned one, keeping its yaw, is refused before the descent."""
    scene = Path(__file__).resolve().parents[1] / "scenes" / "crowded_purple_cups.yaml"
    for policy, ok in (("geometric", True), ("onnx", False)):
        r = _cli("eval", "--scenes", str(scene), "--policy", policy, "--out", str(tmp_path / policy))
        assert r.returncode == 0, r.stderr[-2000:]
        ep = json.loads((tmp_path / policy / "episodes.jsonl").read_text().splitlines()[0])
        assert ep["success"] is ok, ep
        if not ok:
            assert ep["reason"] == "no_grasp" and "descend refused before moving" in ep["message"], ep


# the learned goal of a short box's descent (dev6t0008) and of a box set into a bowl (dev0054) lay below what the
# fingers and the held box can reach: the arm stopped on the table / the bowl's floor and the network kept asking
# for a few mm more until the phase timed out; the runtime now stops each phase at the geometric planner's floor
SHORT_BOX = [("red_box_0", "box", "red", {"half_extents": [0.0302, 0.0262], "height": 0.0524}, (0.6074, -0.0829)),
             ("purple_box_1", "box", "purple", {"half_extents": [0.0211, 0.0295], "height": 0.0457}, (0.3554, 0.1106)),
             ("yellow_box_2", "box", "yellow", {"half_extents": [0.0266, 0.0264], "height": 0.0713}, (0.5756, 0.3116)),
             ("blue_sphere_3", "sphere", "blue", {"radius": 0.032}, (0.6361, -0.3043)),
             ("white_plate_4", "plate", "white", {"radius": 0.0829, "height": 0.0121}, (0.6570, 0.1168)),
             ("green_bowl_5", "bowl", "green", {"radius": 0.0737, "height": 0.0454}, (0.3434, -0.1891))]
BOX_INTO_BOWL = [("purple_box_0", "box", "purple", {"half_extents": [0.0226, 0.0285], "height": 0.0492}, (0.6579, -0.0461)),
                 ("green_box_1", "box", "green", {"half_extents": [0.0273, 0.0244], "height": 0.0794}, (0.5966, 0.1513)),
                 ("yellow_box_2", "box", "yellow", {"half_extents": [0.0244, 0.0203], "height": 0.0799}, (0.4102, -0.0703)),
                 ("red_sphere_3", "sphere", "red", {"radius": 0.0289}, (0.4942, -0.3221)),
                 ("white_plate_4", "plate", "white", {"radius": 0.0763, "height": 0.0132}, (0.4207, 0.2280)),
                 ("yellow_bowl_5", "bowl", "yellow", {"radius": 0.0741, "height": 0.0422}, (0.6723, -0.2745))]


@pytest.mark.parametrize("name, instruction, pick, place, objects", [
    ("dev6t0008", "you'll want to place the purple box inside the bowl", "purple_box_1", "green_bowl_5", SHORT_BOX),
    ("dev0054", "carry the box that is green into the bowl", "green_box_1", "yellow_bowl_5", BOX_INTO_BOWL)])
def test_the_learned_descent_and_place_end_at_the_floors_the_fingers_and_the_object_reach(name, instruction, pick,
                                                                                          place, objects):
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.registry import make_policy

    r = run_episode(_scene(name, instruction, pick, place, objects), make_policy("onnx"))
    assert r.success and r.grounding_correct, (r.reason, r.message)


def test_an_object_wider_than_the_gripper_is_refused_before_the_learned_descent():
    # a 96 mm tumbler: the built-in planner refuses it, the learned policy came down on its rim (motion_failed, dev0049)
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.registry import make_policy

    scene = _scene("dev0049", "would you take the biggest tumbler and then place it on top of the saucer", "green_cup_2",
                   "white_plate_4", [
                       ("green_cup_0", "cup", "green", {"radius": 0.0194, "height": 0.0585}, (0.6701, -0.3257)),
                       ("green_cup_1", "cup", "green", {"radius": 0.033, "height": 0.0829}, (0.4607, 0.1356)),
                       ("green_cup_2", "cup", "green", {"radius": 0.0478, "height": 0.1284}, (0.5345, -0.1788)),
                       ("purple_sphere_3", "sphere", "purple", {"radius": 0.0274}, (0.3963, -0.2349)),
                       ("white_plate_4", "plate", "white", {"radius": 0.0985, "height": 0.0184}, (0.3465, 0.2927)),
                       ("yellow_bowl_5", "bowl", "yellow", {"radius": 0.0786, "height": 0.0451}, (0.6052, 0.0606))])
    r = run_episode(scene, make_policy("onnx"))
    assert r.reason == "no_grasp" and "descend refused before moving" in r.message, (r.reason, r.message)
    assert "wide across the grasp" in r.message and r.grounding_correct
