"""The executive against the real sim and policy: refusals happen before any motion."""

import numpy as np
import pytest

from spatialbot_ros.core.safety import SafetyChecker, SafetyLimits
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.executive.pick_place import ExecutiveConfig, PickPlaceExecutive
from spatialbot_ros.motion.mujoco_backend import MujocoMotionBackend
from spatialbot_ros.policy.geometric import GeometricPolicy
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.demo import default_scene_path
from spatialbot_ros.sim.episode import SimCamera
from spatialbot_ros.sim.scene import load_scene

pytestmark = pytest.mark.sim


class CountingMotion(MujocoMotionBackend):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.moves = 0

    def move_linear(self, *a, **k):
        self.moves += 1
        return super().move_linear(*a, **k)


def make(config=None, limits=None, camera_cls=SimCamera):
    scene = load_scene(default_scene_path())
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    safety = SafetyChecker(limits or SafetyLimits())
    motion = CountingMotion(cell, safety=safety)
    ex = PickPlaceExecutive(GeometricPolicy(), motion, camera_cls(cell), safety, config)
    return ex, cell, motion, scene


@pytest.mark.parametrize("instruction, reason", [
    ("", FailureReason.BAD_INPUT),
    ("pick the cup and put it on the plate", FailureReason.GROUNDING_FAILED),  # three cups: ambiguous
    ("pick the purple cup and put it on the plate", FailureReason.GROUNDING_FAILED),
])
def test_bad_instructions_end_before_any_motion(instruction, reason):
    ex, cell, motion, _ = make()
    q0 = cell.joint_positions()
    result = ex.run(instruction)
    assert not result.succeeded and result.reason == reason and result.message
    assert motion.moves == 0 and np.allclose(cell.joint_positions(), q0, atol=1e-3)


def test_safety_refusal_stops_without_moving():
    # a workspace floor above the grasp height: the descend is refused, nothing below it is commanded
    ex, cell, motion, _ = make(limits=SafetyLimits(workspace_min_m=(0.15, -0.6, 0.12)))
    result = ex.run("pick the middle cup and put it on the plate")
    assert result.reason == FailureReason.SAFETY_REFUSED and "z=" in result.message
    assert cell.tcp_pose()[2, 3] >= 0.12 - 0.005


def test_stale_camera_aborts():
    class FrozenCamera(SimCamera):
        def latest_frame(self):
            if not hasattr(self, "_frozen"):
                self._frozen = super().latest_frame()
            return self._frozen

    ex, cell, motion, _ = make(camera_cls=FrozenCamera)
    result = ex.run("pick the middle cup and put it on the plate")
    assert result.reason == FailureReason.STALE_FRAME and result.phase_reached == TaskPhase.CHECK_CONTACT


def test_estop_and_cancel_end_with_their_reasons():
    ex, cell, motion, _ = make()
    ex.estop.engage("operator pressed e-stop")
    r = ex.run("pick the middle cup and put it on the plate")
    assert r.reason == FailureReason.ESTOP and motion.moves == 0
    ex2, _, motion2, _ = make()
    ex2.on_step = lambda rec: ex2.cancel() if rec.phase == TaskPhase.DESCEND else None
    r2 = ex2.run("pick the middle cup and put it on the plate")
    assert r2.reason == FailureReason.CANCELLED and r2.phase_reached == TaskPhase.DESCEND


def test_full_pick_and_place_through_the_executive():
    ex, cell, motion, scene = make(ExecutiveConfig())
    result = ex.run(scene.instruction)
    assert result.succeeded, result.message
    cell.step_seconds(0.5)
    cup, plate = cell.object_pose("green_cup"), cell.object_pose("plate")
    assert np.linalg.norm(cup[:2, 3] - plate[:2, 3]) < 0.03 and cell.object_upright("green_cup")
    assert [p for p, *_ in result.contact_judgments] == [TaskPhase.CHECK_CONTACT, TaskPhase.CLOSE]
    assert [t for _, t, _ in result.contact_judgments] == [False, True]


def test_a_custom_proposer_replaces_the_geometric_one():
    """MarkProposer is the seam for a learned segmenter: the policy perceives only through it."""
    from spatialbot_ros.core.som_proposer import GeometricProposer

    class DropGreen:
        def __init__(self):
            self.calls = 0
            self.inner = GeometricProposer()

        def propose(self, frame, base_from_camera=None):
            self.calls += 1
            props = self.inner.propose(frame, base_from_camera)
            props.marks = [m for m in props.marks if m.color_name != "green"]
            return props

    proposer = DropGreen()
    ex, cell, motion, _ = make()
    ex.policy = GeometricPolicy(proposer=proposer)
    result = ex.run("pick the green cup and put it on the plate")
    assert proposer.calls == 1 and result.reason == FailureReason.GROUNDING_FAILED and motion.moves == 0


def test_cell_loads_a_model_from_a_local_path(tmp_path):
    from spatialbot_ros.sim.ur5_mjcf import build_cell_mjcf

    scene = load_scene(default_scene_path())
    cfg = CellConfig.from_scene(scene)
    path = tmp_path / "cell.xml"
    path.write_text(build_cell_mjcf(scene.objects, Ur5Cell([], cfg).dh, cfg.base_from_camera, cfg.intrinsics))
    cfg.model_path = path
    cell = Ur5Cell(scene.objects, cfg)
    cell.reset()
    assert cell.object_names == [o.name for o in scene.objects]
    assert np.allclose(cell.object_pose("plate")[:2, 3], [0.66, 0.1], atol=1e-3)
