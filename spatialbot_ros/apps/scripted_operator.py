"""A scripted operator for the simulated cell: intervenes the way a person watching the policy would.

It looks at what the policy is about to do and takes over when the policy heads for the wrong
object, is about to miss it, or is about to place it in the wrong spot; then it steers with teleop
commands (twists, gripper open/close: the same commands a keyboard or a SpaceMouse gives, through
the same safety gate) to grasp the right object or put it where it belongs, and hands back.
Simulator truth is used only to decide when and how to correct, never by the policy.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.apps.episode import expected_place_point
from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.core.teleop import TeleopCommand, TeleopConfig, TeleopEvent, TeleopFrame, twist_command
from spatialbot_ros.executive.shared_autonomy import OperatorView
from spatialbot_ros.sim.cell import Ur5Cell
from spatialbot_ros.sim.scene import Scene

log = logging.getLogger(__name__)


class Intent(enum.StrEnum):
    GRASP = "grasp"  # grasp the right object and lift it
    PLACE = "place"  # put the held object where it belongs and let go


@dataclass(frozen=True)
class ScriptedOperatorConfig:
    wrong_object_m: float = 0.03      # the policy's object this far from the right one: take over
    miss_m: float = 0.012             # descending this far off the object's centre: take over
    wrong_place_m: float = 0.03       # the policy's place point this far from the right one: take over
    take_over_at: TaskPhase | None = None  # also take over once in this phase (demonstrations, tests)
    gain: float = 4.0                 # 1/s: twist = gain * pose error, clipped by the teleop limits
    reach_tol_m: float = 0.004
    reach_tol_rad: float = 0.03
    clearance_m: float = 0.12         # travel this high above object tops
    grasp_depth_m: float = 0.035
    min_tcp_height_m: float = 0.027
    place_drop_m: float = 0.01


@dataclass
class _Waypoint:
    position: np.ndarray
    rotation: np.ndarray
    gripper: GripperCommand = GripperCommand.HOLD  # sent once the waypoint is reached


class ScriptedOperator:
    """Operator protocol (executive/shared_autonomy.py) over the simulator's truth."""

    name = "scripted"
    device = "sim-truth"
    realtime = False

    def __init__(self, cell: Ur5Cell, scene: Scene, teleop: TeleopConfig,
                 config: ScriptedOperatorConfig | None = None) -> None:
        self.cell = cell
        self.scene = scene
        self.teleop = teleop
        self.config = config or ScriptedOperatorConfig()
        self._plan: list[_Waypoint] = []
        self._forced_done = False
        self.intents: list[Intent] = []

    def reset(self, instruction: str) -> None:
        self._plan = []
        self._forced_done = False
        self.intents = []

    # -- when ----------------------------------------------------------------------------------
    def _intent(self, view: OperatorView) -> Intent | None:
        cfg = self.config
        pick = self.scene.expected.pick
        if pick not in self.cell.object_names:
            return None
        held = self.cell.object_in_gripper(pick)
        if cfg.take_over_at is not None and not self._forced_done and view.phase == cfg.take_over_at:
            self._forced_done = True
            return Intent.PLACE if held else Intent.GRASP
        obj_xy = self.cell.object_pose(pick)[:2, 3]
        step = view.proposal
        if view.phase in (TaskPhase.APPROACH, TaskPhase.DESCEND) and not held:
            if step is not None and step.target is not None and \
                    np.linalg.norm(step.target.point_base[:2] - obj_xy) > cfg.wrong_object_m:
                return Intent.GRASP
            if view.phase == TaskPhase.DESCEND and np.linalg.norm(view.tcp_pose_base[:2, 3] - obj_xy) > cfg.miss_m \
                    and step is not None and step.target is not None:
                return Intent.GRASP
        if view.phase in (TaskPhase.CARRY, TaskPhase.PLACE) and held:
            place = expected_place_point(self.scene, self.cell)
            if place is not None and step is not None and step.place is not None and \
                    np.linalg.norm(step.place.point_base[:2] - place) > cfg.wrong_place_m:
                return Intent.PLACE
        return None

    def wants_control(self, view: OperatorView, now_s: float) -> bool:
        intent = self._intent(view)
        if intent is None:
            return False
        log.info("scripted operator: %s in %s", intent.value, view.phase.value)
        self.intents.append(intent)
        self._plan = self._grasp_plan(view) if intent == Intent.GRASP else self._place_plan(view)
        return True

    # -- how -----------------------------------------------------------------------------------
    def _object_top(self, name: str) -> float:
        spec = next(o for o in self.scene.objects if o.name == name)
        return float(self.cell.object_pose(name)[2, 3] + spec.height_m / 2)

    def _grasp_rotation(self, name: str) -> np.ndarray:
        spec = next(o for o in self.scene.objects if o.name == name)
        if not spec.object_kind.yawed:  # round kinds: any yaw grasps alike
            return top_down_rotation(0.0)
        hx, hy = spec.size["half_extents"]
        x_axis = self.cell.object_pose(name)[:3, 0]
        yaw = math.atan2(x_axis[1], x_axis[0]) + (0.0 if hx >= hy else math.pi / 2)
        yaw = (yaw + math.pi / 2) % math.pi - math.pi / 2  # parallel jaws: yaw and yaw + pi grasp alike
        return top_down_rotation(yaw)

    def _travel_z(self) -> float:
        return max(self._object_top(o.name) for o in self.scene.objects) + self.config.clearance_m

    def _grasp_plan(self, view: OperatorView) -> list[_Waypoint]:
        cfg = self.config
        pick = self.scene.expected.pick
        spec = next(o for o in self.scene.objects if o.name == pick)
        xy = self.cell.object_pose(pick)[:2, 3]
        top = self._object_top(pick)
        grasp_z = max(cfg.min_tcp_height_m, top - min(cfg.grasp_depth_m, 0.5 * spec.height_m))
        rot = self._grasp_rotation(pick)
        here = view.tcp_pose_base
        travel = max(self._travel_z(), float(here[2, 3]))
        plan = [_Waypoint(np.array([here[0, 3], here[1, 3], travel]), here[:3, :3],
                          GripperCommand.OPEN if view.gripper_closed else GripperCommand.HOLD),
                _Waypoint(np.array([xy[0], xy[1], travel]), rot),
                _Waypoint(np.array([xy[0], xy[1], grasp_z]), rot, GripperCommand.CLOSE),
                _Waypoint(np.array([xy[0], xy[1], grasp_z + 0.15]), rot)]
        return plan

    def _place_plan(self, view: OperatorView) -> list[_Waypoint]:
        cfg = self.config
        exp = self.scene.expected
        pick = exp.pick
        spec = next(o for o in self.scene.objects if o.name == pick)
        place = expected_place_point(self.scene, self.cell)
        assert place is not None
        support_top = self._object_top(exp.place) if exp.place is not None else 0.0
        here = view.tcp_pose_base
        offset = float(here[2, 3] - self.cell.object_pose(pick)[2, 3])  # TCP above the held object's centre
        release_z = support_top + spec.height_m / 2 + cfg.place_drop_m + offset
        travel = max(float(here[2, 3]), release_z + 0.05)
        rot = here[:3, :3]
        return [_Waypoint(np.array([here[0, 3], here[1, 3], travel]), rot),
                _Waypoint(np.array([place[0], place[1], travel]), rot),
                _Waypoint(np.array([place[0], place[1], release_z]), rot, GripperCommand.OPEN),
                _Waypoint(np.array([place[0], place[1], release_z + cfg.clearance_m]), rot)]

    def command(self, view: OperatorView, now_s: float) -> TeleopCommand:
        cfg = self.config
        if not self._plan:
            return dataclasses.replace(TeleopCommand.idle(now_s, TeleopFrame.BASE), events=(TeleopEvent.HAND_BACK,))
        wp = self._plan[0]
        pose = view.tcp_pose_base
        err = wp.position - pose[:3, 3]
        rot_err = Rotation.from_matrix(wp.rotation @ pose[:3, :3].T).as_rotvec()
        if np.linalg.norm(err) <= cfg.reach_tol_m and np.linalg.norm(rot_err) <= cfg.reach_tol_rad:
            self._plan.pop(0)
            if wp.gripper != GripperCommand.HOLD:
                return twist_command(np.zeros(3), np.zeros(3), now_s, self.teleop, frame=TeleopFrame.BASE,
                                     gripper=wp.gripper)
            return self.command(view, now_s)
        return twist_command(cfg.gain * err, cfg.gain * rot_err, now_s, self.teleop, frame=TeleopFrame.BASE)
