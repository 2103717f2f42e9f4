"""Shared autonomy in the MuJoCo cell: the operator takes over, steers through the same safety
gate, hands back, and the policy resumes from the state the operator left."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.core.teleop import TeleopCommand, TeleopConfig, TeleopEvent, TeleopFrame, twist_command
from spatialbot_ros.executive.shared_autonomy import (
    Control,
    EpisodeLabel,
    OperatorView,
    SharedAutonomyConfig,
    resume_phase,
)

TELEOP = TeleopConfig(max_linear_mps=0.25, max_angular_rps=1.0)
SHARED = SharedAutonomyConfig(teleop=TELEOP)


class Misled:
    """A policy that grounds another instruction than the one given (a stand-in for a wrong reading)."""

    def __init__(self, inner, instruction: str) -> None:  # noqa: ANN001
        self.inner, self.instruction = inner, instruction
        self.frame_every_step = getattr(inner, "frame_every_step", False)
        self.resets = 0

    def reset(self, instruction: str) -> None:
        self.resets += 1
        self.inner.reset(self.instruction)

    def step(self, obs):  # noqa: ANN001, ANN201
        return self.inner.step(dataclasses.replace(obs, instruction=self.instruction))


class ScriptOperator:
    """A fake operator: takes over once in `phase`, sends `commands` (callables of the view), hands back."""

    name, device, realtime = "test", "none", False

    def __init__(self, phase: TaskPhase, commands: list) -> None:  # noqa: ANN001
        self.phase, self.commands, self.used, self.views = phase, commands, False, []

    def reset(self, instruction: str) -> None:
        pass

    def wants_control(self, view: OperatorView, now_s: float) -> bool:
        if not self.used and view.phase == self.phase:
            self.used = True
            return True
        return False

    def command(self, view: OperatorView, now_s: float) -> TeleopCommand:
        self.views.append(view)
        if not self.commands:
            return dataclasses.replace(TeleopCommand.idle(now_s, TeleopFrame.BASE), events=(TeleopEvent.HAND_BACK,))
        return self.commands.pop(0)(view, now_s)


def _run(scene, policy, operator_for, records=None):  # noqa: ANN001, ANN202
    from spatialbot_ros.apps.episode import run_episode

    def on_step(rec, cell):  # noqa: ANN001
        if records is not None:
            records.append((rec, cell.tcp_pose().copy()))

    return run_episode(scene, policy, on_step=on_step, operator_for=operator_for, shared=SHARED)


@pytest.fixture(scope="module")
def scene():
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    return load_scene(default_scene_path())


@pytest.mark.core
def test_resume_phase_follows_the_state():
    assert resume_phase(holding=True, released=False, pick_only=False) == TaskPhase.LIFT
    assert resume_phase(holding=False, released=True, pick_only=False) == TaskPhase.RETREAT
    assert resume_phase(holding=False, released=False, pick_only=False) == TaskPhase.APPROACH
    assert resume_phase(holding=False, released=True, pick_only=True) == TaskPhase.APPROACH


@pytest.mark.sim
def test_wrong_object_the_scripted_operator_grasps_the_right_one_and_the_policy_finishes(scene):
    from spatialbot_ros.apps.scripted_operator import Intent, ScriptedOperator
    from spatialbot_ros.policy.geometric import GeometricPolicy

    made = []

    def operator_for(cell):  # noqa: ANN001
        made.append(ScriptedOperator(cell, scene, TELEOP))
        return made[0]

    records = []
    policy = Misled(GeometricPolicy(), "pick the red cup and put it on the plate")
    result = _run(scene, policy, operator_for, records)
    assert result.success, result
    assert result.interventions == 1 and made[0].intents == [Intent.GRASP]
    assert result.grounding_correct is False  # the policy's own reading was wrong; the operator fixed it
    engaged = [r for r, _ in records if r.control == Control.OPERATOR]
    assert len(engaged) >= 10
    # every operator step went through the gate as a clipped delta (0.25 m/s for 0.1 s = 25 mm)
    assert max(np.linalg.norm(r.executed.delta_translation_m) for r in engaged) <= 0.025 + 1e-9
    assert any(r.executed.gripper == GripperCommand.CLOSE for r in engaged)
    # the policy resumed holding the object: lift and carry came after the operator, with no re-grounding
    phases_after = [r.phase for r, _ in records[records.index(next(x for x in records if x[0] is engaged[-1])) + 1:]]
    assert TaskPhase.LIFT in phases_after and TaskPhase.CARRY in phases_after and TaskPhase.APPROACH not in phases_after
    assert policy.resets == 1


@pytest.mark.sim
def test_wrong_place_the_operator_places_and_the_policy_retreats():
    from spatialbot_ros.apps.scripted_operator import Intent, ScriptedOperator
    from spatialbot_ros.policy.geometric import GeometricPolicy
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    base = load_scene(default_scene_path())
    bowl = dataclasses.replace(base.objects[0], name="blue_bowl", kind="bowl", color="blue",
                               size={"radius": 0.07, "height": 0.05}, position=(0.64, -0.17))
    scene = dataclasses.replace(base, objects=[*base.objects, bowl])
    made = []

    def operator_for(cell):  # noqa: ANN001
        made.append(ScriptedOperator(cell, scene, TELEOP))
        return made[0]

    records = []
    result = _run(scene, Misled(GeometricPolicy(), "pick the middle cup and put it in the blue bowl"), operator_for,
                  records)
    assert result.success, result
    assert made[0].intents == [Intent.PLACE] and result.interventions == 1
    engaged = [r for r, _ in records if r.control == Control.OPERATOR]
    assert engaged[0].phase in (TaskPhase.CARRY, TaskPhase.PLACE)
    assert any(r.executed.gripper == GripperCommand.OPEN for r in engaged)
    last = records.index(next(x for x in records if x[0] is engaged[-1]))
    assert {r.phase for r, _ in records[last + 1:]} <= {TaskPhase.RETREAT}


@pytest.mark.sim
def test_empty_handed_hand_back_grounds_again_and_the_policy_completes(scene):
    from spatialbot_ros.policy.geometric import GeometricPolicy

    nudge = [lambda v, t: twist_command([0.0, 0.2, 0.0], [0.0, 0.0, 0.0], t, TELEOP)] * 4
    op = ScriptOperator(TaskPhase.DESCEND, list(nudge))
    policy = Misled(GeometricPolicy(), scene.instruction)
    records = []
    result = _run(scene, policy, lambda cell: op, records)
    assert result.success, result
    assert result.interventions == 1 and policy.resets == 2  # once at the start, once after the hand-back
    moved = [p for r, p in records if r.control == Control.OPERATOR]
    assert moved[-1][1, 3] - moved[0][1, 3] > 0.05  # the operator really moved the arm (+y)


@pytest.mark.sim
def test_operator_commands_pass_the_safety_gate(scene):
    from spatialbot_ros.policy.geometric import GeometricPolicy

    down = [lambda v, t: twist_command([0.0, 0.0, -0.25], [0.0, 0.0, 0.0], t, TELEOP)] * 200
    op = ScriptOperator(TaskPhase.DESCEND, list(down))
    records = []
    result = _run(scene, GeometricPolicy(), lambda cell: op, records)
    assert not result.success and result.reason == FailureReason.SAFETY_REFUSED.value, result
    assert min(p[2, 3] for _, p in records) > 0.0  # never into the table


@pytest.mark.sim
def test_the_operator_can_end_the_episode_with_a_verdict(scene):
    from spatialbot_ros.policy.geometric import GeometricPolicy

    verdict = [lambda v, t: dataclasses.replace(TeleopCommand.idle(t, TeleopFrame.BASE), events=(TeleopEvent.FAILURE,))]
    op = ScriptOperator(TaskPhase.APPROACH, verdict)
    result = _run(scene, GeometricPolicy(), lambda cell: op)
    assert not result.success and result.operator_label == EpisodeLabel.FAILURE.value
    assert result.reason == FailureReason.CANCELLED.value
