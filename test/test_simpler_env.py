"""SimplerEnvPolicy: SimplerEnv's policy interface over our phase-conditioned RGB-D policies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.apps.simpler_env import AbsoluteGripper, SimplerEnvPolicy, StickyRelativeGripper
from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.policy.base import GroundedTarget, Observation, PolicyStep

K = CameraIntrinsics(64, 48, 50.0, 50.0, 32.0, 24.0)
CAMERA = make_pose((1.0, 0.0, 0.6))
IMAGE = np.zeros((48, 64, 3), np.uint8)
DEPTH = np.full((48, 64), 800, np.uint16)
MOVES_PER_PHASE = 2  # the scripted policy's steps before each move phase is done


class ScriptedPolicy:
    """Moves +1 cm x for MOVES_PER_PHASE steps in each move phase, then reports it done; records
    what it was shown."""

    name = "scripted"
    frame_every_step = False

    def __init__(self, refuse_in: TaskPhase | None = None) -> None:
        self.refuse_in = refuse_in
        self.seen: list[Observation] = []
        self._count: dict[TaskPhase, int] = {}

    def reset(self, instruction: str) -> None:
        self.seen.clear()
        self._count.clear()

    def step(self, obs: Observation) -> PolicyStep:
        self.seen.append(obs)
        if obs.phase == self.refuse_in:
            return PolicyStep(EEAction(), error="scripted refusal")
        n = self._count.get(obs.phase, 0)
        self._count[obs.phase] = n + 1
        done = n >= MOVES_PER_PHASE
        return PolicyStep(EEAction(np.array([0.01, 0.0, 0.0]), np.array([0.0, 0.0, 0.05]), GripperCommand.HOLD),
                          phase_done=done)


def adapter(setup: str = "widowx_bridge", **kwargs) -> SimplerEnvPolicy:
    return SimplerEnvPolicy("scripted", setup, policy=kwargs.pop("policy", ScriptedPolicy()), intrinsics=K,
                            base_from_camera=CAMERA, **kwargs)


def run(policy: SimplerEnvPolicy, budget: int = 200) -> list[tuple[dict, dict]]:
    policy.reset("pick the cup and put it on the plate")
    out = []
    for _ in range(budget):
        raw, action = policy.step(IMAGE, "pick the cup and put it on the plate", depth_mm=DEPTH)
        out.append((raw, action))
        if action["terminate_episode"][0] > 0:
            break
    return out


@pytest.mark.core
def test_action_has_simplerenv_keys_shapes_and_rotation_conventions():
    raw, action = adapter().step(IMAGE, "pick the cup and put it on the plate", depth_mm=DEPTH)
    assert {k: v.shape for k, v in action.items()} == {
        "world_vector": (3,), "rot_axangle": (3,), "gripper": (1,), "terminate_episode": (1,)}
    assert {"world_vector", "rotation_delta", "open_gripper"} <= set(raw)
    np.testing.assert_allclose(action["world_vector"], [0.01, 0, 0])
    np.testing.assert_allclose(action["rot_axangle"], [0, 0, 0.05])  # our rotvec is SimplerEnv's axis*angle
    # raw rotation_delta is roll/pitch/yaw whose static-xyz rotation is that axis-angle (as Octo's raw output)
    np.testing.assert_allclose(Rotation.from_euler("xyz", raw["rotation_delta"]).as_rotvec(), action["rot_axangle"],
                               atol=1e-12)
    assert raw["open_gripper"][0] == 1.0 and raw["phase"] == "approach"


@pytest.mark.core
def test_absolute_gripper_widowx_open_plus_one_close_minus_one():
    g = AbsoluteGripper()
    assert [g(1.0), g(0.0), g(0.0), g(1.0)] == [1.0, -1.0, -1.0, 1.0]


@pytest.mark.core
def test_sticky_relative_gripper_repeats_a_change_then_idles():
    g = StickyRelativeGripper(num_repeat=3)
    seq = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]  # open target, closed, open again
    assert [g(v) for v in seq] == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, -1.0, -1.0, -1.0, 0.0]
    g.reset()
    assert g(0.0) == 0.0  # the first step has no previous target: no change


@pytest.mark.core
def test_phase_machine_widowx_absolute_gripper_and_terminates_after_retreat():
    steps = run(adapter("widowx_bridge", gripper_settle_steps=2))
    phases = [raw["phase"] for raw, _ in steps]
    grip = [float(a["gripper"][0]) for _, a in steps]
    assert steps[-1][1]["terminate_episode"][0] == 1.0 and not steps[-1][0]["error"]
    assert all(a["terminate_episode"][0] == 0.0 for _, a in steps[:-1])
    # every move phase acts, the gripper phases hold the arm for the settle steps
    for phase in ("approach", "descend", "lift", "carry", "place", "retreat"):
        assert phases.count(phase) == MOVES_PER_PHASE, phase
    assert phases.count("close") == 2 and phases.count("release") == 2
    assert "check_contact" not in phases and "verify" not in phases  # judged and advanced within a step
    for (raw, a) in steps:
        if raw["phase"] in ("close", "release"):
            assert not np.any(a["world_vector"]) and not np.any(a["rot_axangle"])
    first_close, first_release = phases.index("close"), phases.index("release")
    assert set(grip[:first_close]) == {1.0}
    assert set(grip[first_close:first_release]) == {-1.0}
    assert set(grip[first_release:]) == {1.0}


@pytest.mark.core
def test_phase_machine_google_robot_relative_sticky_gripper():
    steps = run(adapter("google_robot"))  # sticky repeat 15, the arm waits for it
    grip = [float(a["gripper"][0]) for _, a in steps]
    phases = [raw["phase"] for raw, _ in steps]
    c = phases.index("close")
    assert grip[:c] == [0.0] * c
    assert grip[c:c + 15] == [1.0] * 15 and phases[c:c + 15] == ["close"] * 15
    assert phases[c + 15] == "lift" and grip[c + 15] == 0.0
    r = phases.index("release")
    assert grip[r:r + 15] == [-1.0] * 15
    assert set(grip[c + 15:r]) == {0.0}


@pytest.mark.core
def test_pick_only_instruction_ends_after_verify_holding_the_object():
    class PickOnly(ScriptedPolicy):
        def step(self, obs):
            step = super().step(obs)
            step.target = GroundedTarget(3, (0, 0, 4, 4), np.zeros(3), np.array([0.5, 0.0, 0.05]), "red cup")
            return step  # place stays None: "pick up the red cup"

    steps = run(adapter(policy=PickOnly()))
    phases = [raw["phase"] for raw, _ in steps]
    assert steps[-1][1]["terminate_episode"][0] == 1.0 and not steps[-1][0]["error"]
    assert "lift" in phases and not {"carry", "place", "release", "retreat"} & set(phases)
    assert steps[-2][1]["gripper"][0] == -1.0  # still closed on the object


@pytest.mark.core
def test_integrates_its_own_tcp_pose_or_uses_the_callers():
    scripted = ScriptedPolicy()
    start = make_pose((0.4, 0.0, 0.3))
    p = adapter(policy=scripted, initial_tcp_pose_base=start)
    p.reset("pick the cup and put it on the plate")
    for _ in range(2):
        p.step(IMAGE, depth_mm=DEPTH)
    seen = [o.tcp_pose_base for o in scripted.seen]
    np.testing.assert_allclose(seen[0][:3, 3], [0.4, 0, 0.3])
    np.testing.assert_allclose(seen[1][:3, 3], [0.41, 0, 0.3])  # the first action applied
    np.testing.assert_allclose(Rotation.from_matrix(seen[1][:3, :3]).as_rotvec(), [0, 0, 0.05], atol=1e-12)
    given = make_pose((0.5, 0.1, 0.2))
    p.step(IMAGE, depth_mm=DEPTH, tcp_pose_base=given, gripper_width_m=0.02)
    np.testing.assert_allclose(scripted.seen[-1].tcp_pose_base, given)
    assert scripted.seen[-1].gripper_width_m == 0.02
    assert scripted.seen[-1].frame is not None and scripted.seen[-1].frame.depth_mm.dtype == np.uint16


@pytest.mark.core
def test_motion_is_clipped_to_one_control_period():
    class Far(ScriptedPolicy):
        def step(self, obs):
            return PolicyStep(EEAction(np.array([0.3, 0.4, 0.0]), np.array([0.0, 0.0, 2.0])))

    p = adapter(policy=Far(), control_period_s=0.1, max_linear_speed_m_s=0.2, max_angular_speed_rad_s=1.0)
    _, a = p.step(IMAGE, "pick the cup", depth_mm=DEPTH)
    np.testing.assert_allclose(a["world_vector"], [0.012, 0.016, 0.0])  # 2 cm along the same direction
    np.testing.assert_allclose(a["rot_axangle"], [0, 0, 0.1])


@pytest.mark.core
def test_missing_depth_intrinsics_or_camera_pose_refused_with_a_clear_error():
    p = SimplerEnvPolicy("scripted", policy=ScriptedPolicy())
    with pytest.raises(ValueError, match="needs depth: pass depth_mm"):
        p.step(IMAGE, "pick the cup")
    with pytest.raises(ValueError, match="intrinsics"):
        p.step(IMAGE, "pick the cup", depth_mm=DEPTH)
    with pytest.raises(ValueError, match="base_from_camera"):
        p.step(IMAGE, "pick the cup", depth_mm=DEPTH, intrinsics={"fx": 50, "fy": 50, "cx": 32, "cy": 24})
    with pytest.raises(ValueError, match="depth_mm: expected shape"):
        p.step(IMAGE, "pick the cup", depth_mm=DEPTH[:10], intrinsics=K, base_from_camera=CAMERA)
    with pytest.raises(ValueError, match="image"):
        p.step(IMAGE.astype(np.float32), "pick the cup", depth_mm=DEPTH, intrinsics=K, base_from_camera=CAMERA)
    with pytest.raises(ValueError, match="policy_setup"):
        SimplerEnvPolicy("scripted", "franka", policy=ScriptedPolicy())


@pytest.mark.core
def test_refusals_terminate_with_the_reason():
    refused = run(adapter(policy=ScriptedPolicy(refuse_in=TaskPhase.LIFT)))
    raw, action = refused[-1]
    assert action["terminate_episode"][0] == 1.0 and raw["error"] == "scripted refusal" and raw["phase"] == "lift"
    assert not np.any(action["world_vector"])
    # the built-in policy refuses an instruction that names no object: the first step ends the episode
    p = SimplerEnvPolicy("geometric", intrinsics=K, base_from_camera=CAMERA)
    p.reset("hello there")
    raw, action = p.step(IMAGE, depth_mm=DEPTH)
    assert action["terminate_episode"][0] == 1.0 and raw["error"]
    # a new task description starts a new episode
    raw, action = p.step(IMAGE, "pick the cup", depth_mm=DEPTH)
    assert p.task_description == "pick the cup"


@pytest.fixture(scope="module")
def default_cell():
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    scene = load_scene(default_scene_path())
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    yield scene, cell
    cell.close()


@pytest.mark.sim
@pytest.mark.parametrize("setup, robot_state", [("widowx_bridge", False), ("google_robot", True)])
def test_simplerenv_loop_picks_and_places_in_the_mujoco_cell(default_cell, tmp_path, setup, robot_state):
    """SimplerEnv's evaluator loop (reset, step until terminate_episode or the budget, visualize_epoch),
    closed through the cell: each action goes to the TCP through the safety gate, the next frame is
    rendered. WidowX: only the image, depth and the fixed camera reach the adapter (it integrates the
    TCP itself), the gripper is absolute. Google Robot: the caller also gives the measured TCP pose and
    finger opening, the gripper is relative (+1 close, -1 open, 0 keep) and sticky."""
    from spatialbot_ros.apps.episode import view_from_observe_pose

    scene, cell = default_cell
    cell.reset()
    motion, frame = view_from_observe_pose(cell)
    model = SimplerEnvPolicy("geometric", setup, intrinsics=frame.intrinsics, base_from_camera=cell.base_from_camera)
    model.reset(scene.instruction)
    images, raws, gripper_open, terminated = [frame.color_rgb], [], True, False
    for _ in range(200):
        state = {"tcp_pose_base": motion.current_pose(), "gripper_width_m": cell.gripper_opening()} if robot_state else {}
        raw, action = model.step(frame.color_rgb, scene.instruction, depth_mm=frame.depth_mm, **state)
        raws.append(raw)
        if action["terminate_episode"][0] > 0:
            terminated = True
            break
        g = float(action["gripper"][0])
        want_open = g > 0 if setup == "widowx_bridge" else (gripper_open if g == 0 else g < 0)
        if want_open != gripper_open:
            assert motion.gripper(GripperCommand.OPEN if want_open else GripperCommand.CLOSE).ok
            gripper_open = want_open
        if np.any(action["world_vector"]) or np.any(action["rot_axangle"]):
            result = motion.move_by_delta(EEAction(action["world_vector"], action["rot_axangle"]))
            assert result.ok, result.message
        frame = cell.render_rgbd(stamp_s=cell.time_s)
        images.append(frame.color_rgb)
    assert terminated and not raws[-1]["error"], raws[-1]
    cell.step_seconds(0.6)
    cup, plate = cell.object_pose(scene.expected.pick), cell.object_pose(scene.expected.place)
    assert np.linalg.norm(cup[:2, 3] - plate[:2, 3]) <= 0.03
    assert cell.object_upright(scene.expected.pick) and not cell.object_in_gripper(scene.expected.pick)
    assert raws[0]["mark_id"] >= 0 and "middle" in raws[0]["explanation"]
    out = tmp_path / "actions" / "episode.png"
    model.visualize_epoch(raws, images, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
