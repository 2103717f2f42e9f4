"""The executive against the real sim and policy, through the safety gate: refusals happen
before any motion, e-stop / watchdog / cancel preempt the move in progress, run() never raises."""

import threading

import numpy as np
import pytest

from spatialbot_ros.apps.episode import SimCamera
from spatialbot_ros.core.actions import EEAction
from spatialbot_ros.core.safety import SafetyChecker, SafetyLimits, Watchdog
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.executive.pick_place import ExecutiveConfig, PickPlaceExecutive
from spatialbot_ros.motion.base import MotionStatus
from spatialbot_ros.motion.safety_gate import SafeMotion
from spatialbot_ros.policy.geometric import GeometricPolicy
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.mujoco_backend import MujocoMotionBackend
from spatialbot_ros.sim.scene import default_scene_path, load_scene

pytestmark = pytest.mark.sim


class CountingBackend(MujocoMotionBackend):
    """The sim backend, counting what it is asked to execute."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.moves = 0

    def execute(self, plan):
        self.moves += 1
        return super().execute(plan)


def make(config=None, limits=None, camera_cls=SimCamera, real_hardware=False, **gate):
    scene = load_scene(default_scene_path())
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    backend = CountingBackend(cell)
    motion = SafeMotion(backend, SafetyChecker(limits or SafetyLimits()), real_hardware=real_hardware, **gate)
    ex = PickPlaceExecutive(GeometricPolicy(), motion, camera_cls(cell), config=config)
    return ex, cell, backend, scene


@pytest.mark.parametrize("instruction, reason", [
    ("", FailureReason.BAD_INPUT),
    ("pick the cup and put it on the plate", FailureReason.GROUNDING_FAILED),  # three cups: ambiguous
    ("pick the purple cup and put it on the plate", FailureReason.GROUNDING_FAILED),
    ("hello", FailureReason.GROUNDING_FAILED),  # parsed at reset(): names no object, nothing moves
])
def test_bad_instructions_end_before_any_motion(instruction, reason):
    ex, cell, backend, _ = make()
    q0 = cell.joint_positions()
    result = ex.run(instruction)
    assert not result.succeeded and result.reason == reason and result.message
    assert backend.moves == 0 and np.allclose(cell.joint_positions(), q0, atol=1e-3)


def test_safety_refusal_stops_without_moving():
    # a workspace floor above the grasp height: the descend is refused, nothing below it is commanded
    ex, cell, backend, _ = make(limits=SafetyLimits(workspace_min_m=(0.15, -0.6, 0.12)))
    q0 = cell.joint_positions()
    result = ex.run("pick the middle cup and put it on the plate")
    assert result.reason == FailureReason.SAFETY_REFUSED and "z=" in result.message and "grasp" in result.message
    assert backend.moves == 0 and np.allclose(cell.joint_positions(), q0, atol=1e-3)


def test_stale_camera_aborts():
    class FrozenCamera(SimCamera):
        def latest_frame(self):
            if not hasattr(self, "_frozen"):
                self._frozen = super().latest_frame()
            return self._frozen

    ex, cell, backend, _ = make(camera_cls=FrozenCamera)
    result = ex.run("pick the middle cup and put it on the plate")
    assert result.reason == FailureReason.STALE_FRAME and result.phase_reached == TaskPhase.CHECK_CONTACT


def test_estop_and_cancel_end_with_their_reasons():
    ex, cell, backend, _ = make()
    ex.motion.estop.engage("operator pressed e-stop")
    r = ex.run("pick the middle cup and put it on the plate")
    assert r.reason == FailureReason.ESTOP and backend.moves == 0
    ex2, _, _, _ = make()
    ex2.on_step = lambda rec: ex2.cancel() if rec.phase == TaskPhase.DESCEND else None
    r2 = ex2.run("pick the middle cup and put it on the plate")
    assert r2.reason == FailureReason.CANCELLED and r2.phase_reached == TaskPhase.DESCEND


def test_full_pick_and_place_through_the_executive():
    ex, cell, backend, scene = make(ExecutiveConfig())
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
    ex, cell, backend, _ = make()
    ex.policy = GeometricPolicy(proposer=proposer)
    result = ex.run("pick the green cup and put it on the plate")
    assert proposer.calls == 1 and result.reason == FailureReason.GROUNDING_FAILED and backend.moves == 0


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


GOAL = "pick the middle cup and put it on the plate"


def test_place_target_outside_the_workspace_is_refused_before_any_motion():
    # the plate (x = 0.66) lies beyond the box, the cup (x = 0.46) inside: refused at grounding, not mid-carry
    ex, cell, backend, _ = make(limits=SafetyLimits(workspace_max_m=(0.6, 0.6, 0.8)))
    q0 = cell.joint_positions()
    result = ex.run(GOAL)
    assert result.reason == FailureReason.SAFETY_REFUSED and "preplace" in result.message and "x=0.66" in result.message
    assert result.phase_reached == TaskPhase.APPROACH and backend.moves == 0
    assert np.allclose(cell.joint_positions(), q0, atol=1e-3)


def _engage_during_phase(ex, backend, phase, action, after_sim_s=0.12):
    """From another thread, run `action` in the middle of a move of `phase` (after_sim_s of
    simulated time into it, when the arm is near its top speed)."""
    fired = threading.Event()

    def on_step(rec):
        if rec.phase == phase and not fired.is_set():
            fired.set()

            def wait_then_act():
                assert backend.executing.wait(5.0)
                t0 = backend.cell.time_s
                while backend.executing.is_set() and backend.cell.time_s < t0 + after_sim_s:
                    pass
                action()

            threading.Thread(target=wait_then_act, daemon=True).start()

    ex.on_step = on_step
    return fired


def test_estop_from_another_thread_mid_move_stops_the_arm_within_a_small_travel():
    ex, cell, backend, _ = make()
    at_engage = {}

    def record(reason):
        at_engage.update(tcp=cell.tcp_pose()[:3, 3].copy(), qvel=float(np.max(np.abs(cell.data.qvel[cell._arm_qpos]))))

    ex.motion.estop.add_listener(record)
    fired = _engage_during_phase(ex, backend, TaskPhase.CARRY, lambda: ex.motion.estop.engage("operator"))
    result = ex.run(GOAL)
    assert fired.is_set() and result.reason == FailureReason.ESTOP and result.phase_reached == TaskPhase.CARRY
    assert "estopped" in result.message
    cell.step_seconds(0.5)  # let it come to rest where the stop left it
    travel = float(np.linalg.norm(cell.tcp_pose()[:3, 3] - at_engage["tcp"]))
    print(f"TCP travel after e-stop engaged mid-carry: {travel * 1000:.1f} mm "
          f"(fastest joint at engage {at_engage['qvel']:.2f} rad/s)")
    assert at_engage["qvel"] > 0.05  # it was moving
    assert travel < 0.003  # the listener stops it at once; the monitor's 10 ms poll alone lets it run on
    moves = backend.moves
    assert ex.motion.move_by_delta(EEAction(np.array([0.01, 0, 0]), np.zeros(3))).status == MotionStatus.REFUSED
    assert backend.moves == moves  # latched: refused until reset


def test_a_watchdog_that_stops_being_fed_mid_move_aborts_with_stale_frame():
    # slow moves, so that one carry step lasts longer in wall time than the gate's 10 ms monitor poll
    # (the simulator otherwise runs a 5 cm step in about 10 ms)
    ex, cell, backend, _ = make(ExecutiveConfig(speed_scale=0.05))

    class CameraStream(Watchdog):
        """A camera publishing continuously in simulated time until it dies at dead_at."""

        dead_at: float | None = None

        def age_s(self):
            return 0.0 if self.dead_at is None or cell.time_s < self.dead_at else cell.time_s - self.dead_at

    stream = ex.motion.watchdogs["camera"] = CameraStream(0.2)

    def on_step(rec):
        if rec.phase == TaskPhase.CARRY and stream.dead_at is None:
            stream.dead_at = cell.time_s + 0.1  # dies during the first carry move, expires 0.2 s later

    ex.on_step = on_step
    result = ex.run(GOAL)
    assert result.reason == FailureReason.STALE_FRAME and "watchdog 'camera' expired during linear" in result.message
    assert result.phase_reached == TaskPhase.CARRY
    late = cell.time_s - (stream.dead_at + stream.timeout_s)
    print(f"watchdog: the arm stopped {late * 1000:.0f} ms of sim time after the camera watchdog expired")
    assert late < 2.0  # one 10 ms wall-clock poll of the monitor; the sim runs faster than real time


def test_cancel_from_another_thread_preempts_the_move_in_progress():
    ex, cell, backend, _ = make()
    fired = _engage_during_phase(ex, backend, TaskPhase.LIFT, ex.cancel)
    result = ex.run(GOAL)
    assert fired.is_set() and result.reason == FailureReason.CANCELLED and result.phase_reached == TaskPhase.LIFT


def test_dry_run_walks_the_whole_goal_without_moving_and_previews_every_motion():
    previews = []
    ex, cell, backend, _ = make(real_hardware=True, preview=previews.append)
    q0 = cell.joint_positions()
    result = ex.run(GOAL)
    assert not result.succeeded and result.reason == FailureReason.DRY_RUN, result.message
    assert result.phase_reached == TaskPhase.DONE and backend.moves == 0
    assert np.allclose(cell.joint_positions(), q0, atol=1e-6)
    arm_moves = result.steps - 6 - 3  # every policy step moved but the 6 phase-done ones and 3 perception steps
    assert len(previews) == arm_moves == ex.motion.dry_run_count - 3 > 15  # 3 gripper commands: open, close, open
    assert all(p.kind.value == "linear" for p in previews)
    assert f"{ex.motion.dry_run_count} commands validated and not sent" in result.message
    # the shadow walked the goal: the last preview ends above the plate, the real arm never left home
    end = ex.motion.current_pose()[:3, 3]
    assert np.linalg.norm(end[:2] - np.array([0.66, 0.1])) < 0.02 and end[2] > 0.1
    first = len(previews)
    again = ex.run(GOAL)  # the next goal starts from the real arm again, not from the shadow above the plate
    assert again.reason == FailureReason.DRY_RUN and backend.moves == 0
    assert previews[first].kind.value == "linear" and np.allclose(previews[first].q_start, q0, atol=1e-3)


def test_an_exception_inside_the_run_is_internal_error_and_stops_the_arm():
    ex, cell, backend, _ = make()
    stops = []

    def broken(*a, **k):
        raise RuntimeError("driver crashed")

    backend.plan_linear = broken
    real_stop = backend.stop
    backend.stop = lambda: (stops.append(1), real_stop())
    result = ex.run(GOAL)
    assert result.reason == FailureReason.INTERNAL_ERROR and "driver crashed" in result.message and stops


def test_pick_only_is_honoured_per_call():
    ex, cell, backend, scene = make()
    result = ex.run(GOAL, pick_only=True)
    assert result.succeeded and result.phase_reached == TaskPhase.DONE
    assert cell.object_in_gripper("green_cup")
    assert ex.run(GOAL, pick_only="yes").reason == FailureReason.BAD_INPUT  # type: ignore[arg-type]


def test_a_robot_that_cannot_take_commands_ends_with_robot_not_ready():
    from spatialbot_ros.motion.base import MotionResult, PlanningFailed

    ex, cell, backend, _ = make()

    def program_stopped(*a, **k):
        raise PlanningFailed(MotionResult(MotionStatus.NOT_READY, "robot program not running", "program_stopped"))

    backend.plan_linear = program_stopped
    result = ex.run(GOAL)
    assert result.reason == FailureReason.ROBOT_NOT_READY and "program not running" in result.message
    assert backend.moves == 0


def test_policies_refuse_an_instruction_naming_no_object_at_reset():
    from spatialbot_ros.core.errors import GroundingError
    from spatialbot_ros.policy.onnx_policy import OnnxPolicy

    policies = (GeometricPolicy(), OnnxPolicy())
    for instruction in ("hello", "go", "do it now please"):
        for policy in policies:
            with pytest.raises(GroundingError, match="names no object"):
                policy.reset(instruction)
    for policy in policies:
        policy.reset("pick the left one")  # a position alone names an object


def test_verify_without_lift_evidence_is_lift_failed():
    """The typed PolicyStep.lift decides VERIFY: a policy whose view still shows the object on the
    table ends the goal as lift_failed, with the figure it saw, before the carry."""

    class StillOnTable(GeometricPolicy):
        def object_left_table(self, frame):
            return False, 0.12

    ex, cell, backend, _ = make()
    ex.policy = StillOnTable()
    result = ex.run("pick the middle cup and put it on the plate")
    assert result.reason == FailureReason.LIFT_FAILED and "still on the table (12%" in result.message
