"""Objects standing on a plate: perception splits them (they touch, so they are one depth surface),
measures the upper one from the plate's top, the grasp and the lift check follow, and a support that
already carries something is refused as a place. Scenes state a stacked start with `stands_on`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from spatialbot_ros.core.errors import GroundingError

pytestmark = pytest.mark.sim
SCENE = Path(__file__).resolve().parents[1] / "scenes" / "green_cup_off_the_plate.yaml"


@pytest.fixture(scope="module")
def stacked():
    """The scene's start, seen from the observe pose: marks and the simulator's truth."""
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.apps.perception_study import owner_of
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene import load_scene

    scene = load_scene(SCENE)
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    try:
        _, frame = view_from_observe_pose(cell)
        marks = GeometricProposer().propose(frame, cell.base_from_camera).marks
        seg = cell.segmentation()
        owners = {owner_of(seg, m, cell.object_names): m for m in marks}
        truth = {n: cell.object_pose(n)[:3, 3].copy() for n in cell.object_names}
        yield scene, marks, owners, truth
    finally:
        cell.close()


def test_the_scene_file_puts_the_cup_on_the_plate_in_the_simulator(stacked):
    scene, _, _, truth = stacked
    cup = scene.objects[[o.name for o in scene.objects].index("green_cup")]
    assert cup.stands_on == "plate" and cup.position == scene.objects[1].position
    # resting on the plate's top (15 mm), not sunk into it or dropped through it
    assert truth["green_cup"][2] == pytest.approx(0.015 + 0.045, abs=0.003)
    assert np.linalg.norm(truth["green_cup"][:2] - truth["plate"][:2]) < 0.005


def test_the_cup_on_the_plate_is_its_own_mark_measured_from_the_plates_top(stacked):
    _, marks, owners, truth = stacked
    assert set(owners) == {"red_cup", "plate", "green_cup", "bowl"} and len(marks) == 4  # before: one "white box"
    cup, plate = owners["green_cup"], owners["plate"]
    assert (cup.color_name, cup.shape) == ("green", "cylinder") and (plate.color_name, plate.shape) == ("white", "plate")
    assert cup.resting_on == plate.id and plate.resting_on is None and owners["red_cup"].resting_on is None
    assert cup.base_height_m == pytest.approx(0.015, abs=0.004)
    assert cup.height_m == pytest.approx(0.09, abs=0.006)  # its own height, not 0.105 from the table
    assert np.linalg.norm(cup.centroid_base - truth["green_cup"]) < 0.012
    assert cup.top_center_base[2] == pytest.approx(0.015 + 0.09, abs=0.006)
    assert plate.footprint_m[0] == pytest.approx(0.18, abs=0.02) and plate.height_m < 0.03


def test_an_occupied_plate_is_refused_as_a_place_by_the_shared_check(stacked):
    from spatialbot_ros.core.grounding import Grounding, PlaceTarget
    from spatialbot_ros.core.grounding_check import CheckContext, verify_grounding

    _, marks, owners, _ = stacked
    red, plate, cup = owners["red_cup"], owners["plate"], owners["green_cup"]
    onto_plate = Grounding(red.id, PlaceTarget("on", plate.id, None, plate.centroid_base), "",
                           "the red cup", "on the plate")
    with pytest.raises(GroundingError, match=r"already stands on it") as err:
        verify_grounding(onto_plate, CheckContext(marks))
    assert cup.describe() in str(err.value)
    # taking the cup itself off the plate, or putting it back there, is not blocked by the cup
    verify_grounding(Grounding(cup.id, PlaceTarget("on", plate.id, None, plate.centroid_base), "",
                               "the green cup", "on the plate"), CheckContext(marks))


@pytest.mark.parametrize("policy", ["geometric", "onnx"])
def test_the_cup_comes_off_the_plate_and_an_occupied_plate_is_refused(policy):
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.registry import make_policy
    from spatialbot_ros.sim.scene import load_scene

    scene = load_scene(SCENE)  # "take the green cup off the plate and put it in the bowl"
    for instruction in (scene.instruction, "take the cup off the plate and put it in the bowl"):  # two cups
        r = run_episode(dataclasses.replace(scene, instruction=instruction), make_policy(policy))
        assert r.success and r.grounding_correct and r.place_grounding_correct, (instruction, r.message)
    refused = run_episode(dataclasses.replace(scene, instruction="put the red cup on the plate"), make_policy(policy))
    assert not refused.success and refused.reason == "grounding_failed" and "already stands on it" in refused.message
    assert refused.contact_total == 0  # refused before any motion toward the cup


def test_stands_on_is_checked_and_round_trips(tmp_path):
    from spatialbot_ros.sim.scene import SceneError, load_scene, save_scene, scene_from_dict

    d = yaml.safe_load(SCENE.read_text())
    out = tmp_path / "s.yaml"
    save_scene(load_scene(SCENE), out)
    again = load_scene(out)
    assert [(o.name, o.stands_on, o.position) for o in again.objects] == [(o.name, o.stands_on, o.position)
                                                                    for o in load_scene(SCENE).objects]

    def bad(edit, match):
        e = yaml.safe_load(yaml.safe_dump(d))
        edit(e["objects"])
        with pytest.raises(SceneError, match=match):
            scene_from_dict(e, "s.yaml")

    bad(lambda o: o[2].update(stands_on="table"), r"objects\[2\]\.stands_on: 'table' is not another object")
    bad(lambda o: o[2].update(stands_on="bowl"), r"cannot stand on 'bowl': only a plate")
    bad(lambda o: o[2].update(position=[0.5, 0.1]), r"objects\[2\]: give either position .* or stands_on")
    bad(lambda o: o[0].update(stands_on="plate", position=None) or o[0].pop("position"), r"'plate' already carries")
    bad(lambda o: (o[1].update(size={"radius": 0.05, "height": 0.015}),
                   o[2].update(kind="box", size={"half_extents": [0.037, 0.037], "height": 0.06})),
        r"'green_cup' \(5\.2 cm\) does not fit on 'plate' \(5\.0 cm\)")
