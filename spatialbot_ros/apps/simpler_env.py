"""Our policies behind SimplerEnv's policy interface.

SimplerEnv's evaluator calls `reset(task_description)`, then `step(image, task_description)` each
control step and sends `action` (world_vector, rot_axangle, gripper, terminate_episode) to the
environment; `raw_action` is what it plots with `visualize_epoch`. Our policies are
phase-conditioned (APPROACH ... RETREAT) and perceive in RGB-D, so this adapter keeps the phase
machine the executive would keep, integrates its own TCP pose when the caller gives none, and
refuses (ValueError) a step without the depth a policy needs rather than guess.

Gripper conventions follow SimplerEnv's adapters per `policy_setup`: `widowx_bridge` absolute
(+1 open, -1 close), `google_robot` relative and sticky (+1 close, -1 open, 0 keep; a change is
repeated for `sticky_gripper_num_repeat` steps).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.robotiq import STROKE_M
from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.executive.pick_place import PHASE_SEQUENCE, PICK_ONLY_SEQUENCE, ExecutiveConfig
from spatialbot_ros.policy.base import Observation, Policy, PolicyStep
from spatialbot_ros.policy.registry import make_policy

log = logging.getLogger(__name__)

POLICY_SETUPS = ("widowx_bridge", "google_robot")
# SimplerEnv's control rates: WidowX (Bridge) 5 Hz, Google Robot 3 Hz
DEFAULT_CONTROL_PERIOD_S = {"widowx_bridge": 0.2, "google_robot": 1.0 / 3.0}
# the Octo adapter's sticky repeat for the Google Robot's relative gripper
DEFAULT_STICKY_REPEAT = {"widowx_bridge": 1, "google_robot": 15}
ACTION_DIM_LABELS = ("x", "y", "z", "roll", "pitch", "yaw", "grasp")
_GRIPPER_PHASES = {TaskPhase.CLOSE: GripperCommand.CLOSE, TaskPhase.RELEASE: GripperCommand.OPEN}
_JUDGE_PHASES = (TaskPhase.CHECK_CONTACT, TaskPhase.VERIFY)  # the policy looks, the adapter advances


class AbsoluteGripper:
    """WidowX (Bridge): the target state every step, +1 open / -1 close."""

    def reset(self) -> None:
        pass

    def __call__(self, open_gripper: float) -> float:
        return 1.0 if open_gripper > 0.5 else -1.0


class StickyRelativeGripper:
    """Google Robot: +1 close / -1 open / 0 keep, from the change of the open (1) / closed (0)
    target; once a change is seen it is repeated for `num_repeat` steps so the slow gripper
    finishes the motion (as SimplerEnv's Octo adapter does)."""

    def __init__(self, num_repeat: int) -> None:
        if num_repeat < 1:
            raise ValueError(f"sticky_gripper_num_repeat must be at least 1, got {num_repeat}")
        self.num_repeat = num_repeat
        self.reset()

    def reset(self) -> None:
        self._previous: float | None = None
        self._sticky_value = 0.0
        self._repeats = 0

    def __call__(self, open_gripper: float) -> float:
        relative = 0.0 if self._previous is None else self._previous - open_gripper
        self._previous = open_gripper
        if self._repeats == 0 and abs(relative) > 0.5:
            self._sticky_value = 1.0 if relative > 0 else -1.0
        elif self._repeats == 0:
            return 0.0
        self._repeats += 1
        value = self._sticky_value
        if self._repeats >= self.num_repeat:
            self._repeats, self._sticky_value = 0, 0.0
        return value


def intrinsics_from(value: Any, height: int, width: int) -> CameraIntrinsics:
    """CameraIntrinsics from ours, a {fx, fy, cx, cy[, width, height]} mapping or a 3x3 K matrix
    (ManiSkill's intrinsic_cv); the size defaults to the image's."""
    if isinstance(value, CameraIntrinsics):
        return value
    if isinstance(value, Mapping):
        missing = [k for k in ("fx", "fy", "cx", "cy") if k not in value]
        if missing:
            raise ValueError(f"intrinsics: missing {', '.join(missing)}")
        try:
            return CameraIntrinsics(int(value.get("width", width)), int(value.get("height", height)),
                                    float(value["fx"]), float(value["fy"]), float(value["cx"]), float(value["cy"]))
        except (TypeError, ValueError, SpatialBotError) as exc:
            raise ValueError(f"intrinsics: {exc}") from exc
    k = np.asarray(value, dtype=float)
    if k.shape != (3, 3):
        raise ValueError(f"intrinsics: expected a mapping or a 3x3 matrix, got shape {k.shape}")
    try:
        return CameraIntrinsics(width, height, float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]))
    except SpatialBotError as exc:
        raise ValueError(f"intrinsics: {exc}") from exc


def pose_matrix(value: Any, what: str) -> np.ndarray:
    """A rigid 4x4 transform, checked (finite, orthonormal rotation, last row 0 0 0 1)."""
    T = np.asarray(value, dtype=float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"{what}: expected a finite 4x4 matrix, got shape {T.shape}")
    R = T[:3, :3]
    if not np.allclose(T[3], [0, 0, 0, 1], atol=1e-6) or not np.allclose(R.T @ R, np.eye(3), atol=1e-3) \
            or np.linalg.det(R) < 0:
        raise ValueError(f"{what}: not a rigid transform (rotation not orthonormal or last row not 0 0 0 1)")
    return T


def depth_from(value: Any, shape: tuple[int, int]) -> np.ndarray:
    """HxW (or HxWx1) depth in millimetres -> uint16 (floats rounded; NaN, inf, <= 0 -> 0 = no data)."""
    d = np.asarray(value)
    if d.ndim == 3 and d.shape[2] == 1:
        d = d[..., 0]
    if d.shape != shape:
        raise ValueError(f"depth_mm: expected shape {shape} (the image's), got {d.shape}")
    if d.dtype == np.uint16:
        return d
    if not (np.issubdtype(d.dtype, np.integer) or np.issubdtype(d.dtype, np.floating)):
        raise ValueError(f"depth_mm: expected numbers, got dtype {d.dtype}")
    f = d.astype(np.float64)
    f[~np.isfinite(f) | (f <= 0)] = 0
    return np.clip(np.rint(f), 0, 65535).astype(np.uint16)


def rotvec_to_rpy(rotvec: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (static x-y-z, transforms3d's 'sxyz') of a rotation vector: the form
    SimplerEnv's raw `rotation_delta` takes before euler2axangle."""
    return Rotation.from_rotvec(np.asarray(rotvec, float)).as_euler("xyz")


class SimplerEnvPolicy:
    """One of our policies (spatialbot_ros.policy.registry) with SimplerEnv's policy interface."""

    def __init__(self, policy_name: str = "geometric", policy_setup: str = "widowx_bridge",
                 policy_kwargs: dict[str, Any] | None = None, control_period_s: float | None = None, *,
                 policy: Policy | None = None, action_scale: float = 1.0,
                 sticky_gripper_num_repeat: int | None = None, gripper_settle_steps: int | None = None,
                 max_linear_speed_m_s: float = 0.25, max_angular_speed_rad_s: float = 1.75,
                 max_steps_per_phase: int = 60, intrinsics: Any = None, base_from_camera: Any = None,
                 initial_tcp_pose_base: Any = None, closed_width_m: float = 0.05) -> None:
        """control_period_s: the env's control period (default per setup: 0.2 s WidowX, 1/3 s Google
        Robot); each step's motion is clipped to what max_*_speed covers in it. gripper_settle_steps:
        steps the arm holds still after a gripper command (default: the sticky repeat on Google Robot,
        3 on WidowX). intrinsics / base_from_camera: the fixed camera, when step() is not given them.
        initial_tcp_pose_base: where the integrated TCP pose starts when the caller never gives one
        (default: the executive's observe pose). closed_width_m: the assumed finger opening while
        closed when the caller gives no gripper width."""
        if policy_setup not in POLICY_SETUPS:
            raise ValueError(f"policy_setup '{policy_setup}' not supported; choose one of {', '.join(POLICY_SETUPS)}")
        self.policy_setup = policy_setup
        self.policy_name = policy_name
        self.policy: Policy = policy if policy is not None else make_policy(policy_name, **(policy_kwargs or {}))
        period = DEFAULT_CONTROL_PERIOD_S[policy_setup] if control_period_s is None else float(control_period_s)
        if not (math.isfinite(period) and period > 0):
            raise ValueError(f"control_period_s must be positive, got {control_period_s}")
        self.control_period_s = period
        self.action_scale = float(action_scale)
        self.sticky_gripper_num_repeat = (DEFAULT_STICKY_REPEAT[policy_setup] if sticky_gripper_num_repeat is None
                                          else int(sticky_gripper_num_repeat))
        self._gripper_map = (AbsoluteGripper() if policy_setup == "widowx_bridge"
                             else StickyRelativeGripper(self.sticky_gripper_num_repeat))
        if gripper_settle_steps is None:
            gripper_settle_steps = self.sticky_gripper_num_repeat if policy_setup == "google_robot" else 3
        self.gripper_settle_steps = max(1, int(gripper_settle_steps))
        self.max_translation_m = max_linear_speed_m_s * period
        self.max_rotation_rad = max_angular_speed_rad_s * period
        self.max_steps_per_phase = int(max_steps_per_phase)
        self.default_intrinsics = intrinsics
        self.default_base_from_camera = None if base_from_camera is None else pose_matrix(base_from_camera,
                                                                                          "base_from_camera")
        observe = ExecutiveConfig().observe_pose()
        self.initial_tcp_pose_base = (pose_matrix(initial_tcp_pose_base, "initial_tcp_pose_base")
                                      if initial_tcp_pose_base is not None
                                      else observe if observe is not None else make_pose((0.42, 0.0, 0.35),
                                                                                         top_down_rotation(0.0)))
        self.closed_width_m = float(closed_width_m)
        self.needs_depth = bool(getattr(self.policy, "needs_depth", True))
        self.task_description: str | None = None
        self.reset("")

    # -- SimplerEnv interface -------------------------------------------------------------------
    def reset(self, task_description: str) -> None:
        """A new episode. A policy that refuses the instruction does not raise here (SimplerEnv's
        loop would die): the first step terminates with the reason in raw_action["error"]."""
        self.task_description = task_description
        self._phase_index = 0
        self._phase_steps = 0
        self._settle_left = 0
        self._gripper_open = True
        self._tcp = self.initial_tcp_pose_base.copy()
        self._steps = 0
        self._pick_only = False
        self._terminated = False
        self._error = ""
        self._gripper_map.reset()
        if not task_description:
            return
        try:
            self.policy.reset(task_description)
        except SpatialBotError as exc:  # e.g. the rule grounder finds no object phrase
            self._error = str(exc)
            log.warning("policy refused the instruction: %s", exc)

    @property
    def phase(self) -> TaskPhase:
        sequence = self._sequence()
        return sequence[self._phase_index] if self._phase_index < len(sequence) else TaskPhase.DONE

    def step(self, image: np.ndarray, task_description: str | None = None, *, depth_mm: Any = None,
             intrinsics: Any = None, base_from_camera: Any = None, tcp_pose_base: Any = None,
             gripper_width_m: float | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """One control step. image: HxWx3 uint8 RGB. depth_mm: HxW aligned depth in mm (needed by
        every built-in policy). tcp_pose_base / gripper_width_m: the robot's state, when known
        (else the adapter's own integration). Raises ValueError naming what is missing or malformed."""
        if task_description is not None and task_description != self.task_description:
            self.reset(task_description)
        frame = self._frame(image, depth_mm, intrinsics)
        base_from_camera = self._camera_pose(base_from_camera)
        if tcp_pose_base is not None:
            self._tcp = pose_matrix(tcp_pose_base, "tcp_pose_base")
        if gripper_width_m is not None and not (math.isfinite(gripper_width_m) and gripper_width_m >= 0):
            raise ValueError(f"gripper_width_m must be a finite non-negative number, got {gripper_width_m}")
        self._steps += 1
        if self._error or self._terminated:
            return self._emit(EEAction(), None, terminate=True)
        if self._settle_left > 0:  # the gripper is still moving: hold the arm
            return self._emit(EEAction(), None, settle=True)
        width = gripper_width_m if gripper_width_m is not None else (STROKE_M if self._gripper_open
                                                                    else self.closed_width_m)
        for _ in range(len(PHASE_SEQUENCE) + 1):  # each phase that is already done hands on in this step
            phase = self.phase
            if phase == TaskPhase.DONE:
                self._terminated = True
                return self._emit(EEAction(), None, terminate=True)
            if phase in _GRIPPER_PHASES:
                self._gripper_open = _GRIPPER_PHASES[phase] == GripperCommand.OPEN
                self._settle_left = self.gripper_settle_steps
                return self._emit(EEAction(gripper=_GRIPPER_PHASES[phase]), None, settle=True)
            obs = Observation(self.task_description or "", phase, self._tcp.copy(), float(width),
                              self._fingertips(width), base_from_camera, frame)
            step = self.policy.step(obs)
            if not step.ok:
                self._error = step.error
                return self._emit(EEAction(), step, terminate=True)
            if step.target is not None and step.place is None:
                self._pick_only = True  # "pick up the red cup": end holding it
            if step.phase_done or phase in _JUDGE_PHASES:
                self._advance()
                continue
            self._phase_steps += 1
            if self._phase_steps > self.max_steps_per_phase:
                self._error = f"{phase.value}: goal not reached in {self.max_steps_per_phase} steps"
                return self._emit(EEAction(), step, terminate=True)
            return self._emit(self._clipped(step.action), step)
        raise AssertionError("phase machine did not settle")  # every pass advances or returns

    def visualize_epoch(self, predicted_raw_actions: Sequence[Mapping[str, Any]], images: Sequence[np.ndarray],
                        save_path: str | Path) -> None:
        """The episode at a glance, as SimplerEnv's adapters draw it: a strip of every third frame
        over the seven action dimensions (x y z roll pitch yaw grasp) against time."""
        plot_epoch(predicted_raw_actions, images, save_path)

    # -- internals ------------------------------------------------------------------------------
    def _sequence(self) -> tuple[TaskPhase, ...]:
        return PICK_ONLY_SEQUENCE if self._pick_only else PHASE_SEQUENCE

    def _advance(self) -> None:
        self._phase_index += 1
        self._phase_steps = 0

    def _frame(self, image: Any, depth_mm: Any, intrinsics: Any) -> RGBDFrame:
        rgb = np.asarray(image)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
            raise ValueError(f"image: expected HxWx3 uint8 RGB, got shape {rgb.shape} dtype {rgb.dtype}")
        h, w = rgb.shape[:2]
        if depth_mm is None:
            if self.needs_depth:
                raise ValueError(f"policy '{self.policy_name}' needs depth: pass depth_mm (HxW aligned depth in "
                                 "millimetres) with each step; SimplerEnv's image alone is not enough")
            depth = np.zeros((h, w), np.uint16)
        else:
            depth = depth_from(depth_mm, (h, w))
        k = intrinsics if intrinsics is not None else self.default_intrinsics
        if k is None:
            raise ValueError(f"policy '{self.policy_name}' needs the camera intrinsics: pass intrinsics "
                             "({fx, fy, cx, cy} or a 3x3 K) to step() or to SimplerEnvPolicy(intrinsics=...)")
        try:
            return RGBDFrame(rgb, depth, intrinsics_from(k, h, w), stamp_s=self._steps * self.control_period_s)
        except SpatialBotError as exc:
            raise ValueError(str(exc)) from exc

    def _camera_pose(self, base_from_camera: Any) -> np.ndarray:
        if base_from_camera is not None:
            return pose_matrix(base_from_camera, "base_from_camera")
        if self.default_base_from_camera is None:
            raise ValueError(f"policy '{self.policy_name}' needs the camera pose: pass base_from_camera (4x4, "
                             "robot base from camera optical frame) to step() or to the constructor")
        return self.default_base_from_camera

    def _fingertips(self, width_m: float) -> np.ndarray:
        y, p = self._tcp[:3, 1], self._tcp[:3, 3]
        return np.stack([p + y * width_m / 2.0, p - y * width_m / 2.0])

    def _clipped(self, action: EEAction) -> EEAction:
        """The step's motion, shortened (direction kept) to what one control period covers."""
        t = np.asarray(action.delta_translation_m, float)
        r = np.asarray(action.delta_rotvec, float)
        nt, nr = float(np.linalg.norm(t)), float(np.linalg.norm(r))
        if nt > self.max_translation_m:
            t = t * (self.max_translation_m / nt)
        if nr > self.max_rotation_rad:
            r = r * (self.max_rotation_rad / nr)
        return EEAction(t, r, action.gripper)

    def _emit(self, action: EEAction, step: PolicyStep | None, *, terminate: bool = False,
              settle: bool = False) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        phase = self.phase  # the phase this step acted in (before a settled gripper hands on)
        if settle:
            self._settle_left -= 1
            if self._settle_left <= 0:
                self._settle_left = 0
                self._advance()
        world = np.asarray(action.delta_translation_m, float) * self.action_scale
        rotvec = np.asarray(action.delta_rotvec, float) * self.action_scale
        if not terminate:  # our own estimate of where the TCP goes (replaced when the caller gives one)
            self._tcp = self._tcp.copy()
            self._tcp[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix() @ self._tcp[:3, :3]
            self._tcp[:3, 3] += world
        open_value = 1.0 if self._gripper_open else 0.0
        raw: dict[str, Any] = {
            "world_vector": np.array(action.delta_translation_m, float),
            "rotation_delta": rotvec_to_rpy(action.delta_rotvec),
            "open_gripper": np.array([open_value]),
            "terminate_episode": np.array([1.0 if terminate else 0.0]),
            "phase": phase.value,
            "error": self._error,
        }
        if step is not None:
            raw["explanation"] = step.explanation
            if step.target is not None:
                raw["mark_id"] = int(step.target.mark_id)
            if step.contact is not None:
                raw["contact_touching"] = bool(step.contact.touching)
        out = {
            "world_vector": world,
            "rot_axangle": rotvec,
            "gripper": np.array([self._gripper_map(open_value)], dtype=float),
            "terminate_episode": np.array([1.0 if terminate else 0.0]),
        }
        return raw, out


def _resize_nearest(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    width = max(1, round(w * height / h))
    rows = np.minimum((np.arange(height) * h / height).astype(int), h - 1)
    cols = np.minimum((np.arange(width) * w / width).astype(int), w - 1)
    return image[rows][:, cols]


def plot_epoch(predicted_raw_actions: Sequence[Mapping[str, Any]], images: Sequence[np.ndarray],
               save_path: str | Path, strip_height: int = 128, max_strip_frames: int = 24) -> None:
    """Write the figure: image strip (every third frame, at most max_strip_frames) above one plot
    per action dimension."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.array([np.concatenate([np.asarray(a["world_vector"], float).ravel(),
                                       np.asarray(a["rotation_delta"], float).ravel(),
                                       np.asarray(a["open_gripper"], float).ravel()])
                       for a in predicted_raw_actions]).reshape(-1, len(ACTION_DIM_LABELS))
    frames = list(images)[::3]
    if len(frames) > max_strip_frames:
        frames = [frames[i] for i in np.linspace(0, len(frames) - 1, max_strip_frames).round().astype(int)]
    layout = [["image"] * len(ACTION_DIM_LABELS), list(ACTION_DIM_LABELS)]
    fig, axs = plt.subplot_mosaic(layout, figsize=(28, 8))
    for i, label in enumerate(ACTION_DIM_LABELS):
        axs[label].plot(values[:, i], label="predicted action")
        axs[label].set_title(label)
        axs[label].set_xlabel("step")
    if frames:
        axs["image"].imshow(np.concatenate([_resize_nearest(np.asarray(f, np.uint8), strip_height) for f in frames],
                                           axis=1))
    axs["image"].set_xlabel("time in the episode (subsampled)")
    axs["image"].set_yticks([])
    axs[ACTION_DIM_LABELS[-1]].legend()
    fig.tight_layout()
    path = Path(save_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=60)
    plt.close(fig)
