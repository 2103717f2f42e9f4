"""ManiSkill3 (SAPIEN 3) behind our camera and robot seams: a Panda driven by `pd_ee_delta_pose`,
seen through the task's own RGB-D sensor.

What crosses this seam is what a real cell gives: an RGB-D frame (depth in mm, the sensor's
intrinsics and its pose from the sensor parameters), the TCP pose and gripper opening
(proprioception), and the task's own success flag. Object poses never cross it. mani_skill,
gymnasium and torch are imported when an env is made, so the package imports without them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.transforms import invert, make_pose

log = logging.getLogger(__name__)

# pd_ee_delta_pose normalises each arm dimension to [-1, 1] = +-0.1 m or +-0.1 rad (ManiSkill's Panda
# controller config); the gripper dimension maps [-1, 1] to a finger target of -0.01 .. 0.04 m
ARM_DELTA_SCALE = 0.1
PANDA_MAX_OPENING_M = 0.08
PANDA_BASE_IN_WORLD = (-0.615, 0.0, 0.0)  # the tabletop tasks' Panda root pose (identity rotation)
PANDA_ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
PANDA_FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")


@dataclass(frozen=True)
class TaskSpec:
    """A ManiSkill task as our pipeline states it: the instruction (one pick-and-place per step)
    and the camera it perceives through.

    steps: instructions for our grounder, in order. `vocabulary` rewrites scene words our grounder
    does not know into ones it does, before grounding; the instruction reported is the original
    (none is needed today: "bin" is a container noun of the grounder's).
    place_between: (step index, phrase A, phrase B): that step's place point is the midpoint of the
    two named objects (StackPyramid's "on top of both"), resolved from the same frame.
    goal_from_task: the place point is the task's stated goal position (PickCube: a point in the air
    that no camera shows), not a perceived object.
    """

    env_id: str
    instruction: str
    steps: tuple[str, ...]
    camera: str = "base_camera"
    max_steps: int = 300
    vocabulary: dict[str, str] = field(default_factory=dict)
    place_between: tuple[int, str, str] | None = None
    goal_from_task: bool = False
    # "next to": centre distance from the reference (the grounder's default suits cups in our cell;
    # ManiSkill's cubes are 4 cm and must stay within 6 cm, yet more than the proposer's 8 mm merge gap apart)
    place_offset_m: float | None = None
    # later steps ground on the first frame, with the objects this episode moved where it set them
    # down: two cubes set 1-2 cm apart read as one region to the proposer
    perceive_once: bool = False
    # the task camera's look-at in ManiSkill's world (the task's _default_sensor_configs), for
    # consumers that need the extrinsic before an env exists (the sim_maniskill launch)
    camera_eye_world: tuple[float, float, float] = (0.3, 0.0, 0.6)
    camera_target_world: tuple[float, float, float] = (-0.1, 0.0, 0.1)


TASKS: dict[str, TaskSpec] = {
    "StackCube-v1": TaskSpec("StackCube-v1", "stack the red cube on the green cube",
                             ("stack the red cube on the green cube",)),
    "PickCube-v1": TaskSpec("PickCube-v1", "pick the red cube and lift it to the goal",
                            ("pick the red cube",), goal_from_task=True),
    "PlaceSphere-v1": TaskSpec("PlaceSphere-v1", "put the blue ball in the bin",
                               ("put the blue ball in the bin",),
                               camera_eye_world=(0.3, 0.0, 0.2), camera_target_world=(-0.1, 0.0, 0.0)),
    "StackPyramid-v1": TaskSpec(
        "StackPyramid-v1", "put the red cube next to the green cube, then the blue cube on top of both",
        ("put the red cube next to the green cube", "put the blue cube on the green cube"),
        place_between=(1, "the red cube", "the green cube"), place_offset_m=0.05, perceive_once=True, max_steps=400,
        camera_eye_world=(0.3, 0.0, 0.4), camera_target_world=(-0.05, 0.0, 0.1)),
}


def task_spec(env_id: str) -> TaskSpec:
    try:
        return TASKS[env_id]
    except KeyError:
        raise ValueError(f"unknown ManiSkill task '{env_id}'; supported: {', '.join(TASKS)}") from None


def nominal_base_from_camera(spec: TaskSpec) -> np.ndarray:
    """The task camera's optical frame in the Panda base frame, from the task's look-at (what the
    env's sensor parameters give once it runs; test_maniskill_smoke compares the two)."""
    from spatialbot_ros.core.transforms import look_at

    world_from_cam = look_at(spec.camera_eye_world, spec.camera_target_world)
    return invert(make_pose(PANDA_BASE_IN_WORLD)) @ world_from_cam


def maniskill_available() -> str | None:
    """None when mani_skill and sapien import here, else why not (for skips and CLI errors)."""
    try:
        import mani_skill  # noqa: F401
        import sapien  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "not installed here"
        return f"{type(exc).__name__}: {exc}"
    return None


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def pose_from_raw(raw_pose: Any) -> np.ndarray:
    """4x4 from SAPIEN's raw pose (x, y, z, qw, qx, qy, qz)."""
    p = _np(raw_pose).reshape(-1)[:7].astype(float)
    return make_pose(p[:3], Rotation.from_quat([p[4], p[5], p[6], p[3]]))


def frame_from_sensor(rgb: np.ndarray, depth_mm: np.ndarray, intrinsic_cv: np.ndarray, stamp_s: float = 0.0) -> RGBDFrame:
    """Our RGBDFrame from a ManiSkill camera: rgb uint8, depth int16 mm (HxWx1), intrinsic_cv 3x3."""
    rgb = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).reshape(rgb.shape[-3:]))
    d = np.asarray(depth_mm).reshape(rgb.shape[:2])
    depth = np.clip(d.astype(np.int32), 0, 65535).astype(np.uint16)
    K = np.asarray(intrinsic_cv, dtype=float).reshape(3, 3)
    h, w = depth.shape
    k = CameraIntrinsics(int(w), int(h), float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]))
    return RGBDFrame(rgb, depth, k, stamp_s=stamp_s, frame_id="maniskill_camera_optical")


def camera_from_world(extrinsic_cv: np.ndarray) -> np.ndarray:
    """4x4 camera(OpenCV optical)_from_world from ManiSkill's 3x4 extrinsic_cv."""
    T = np.eye(4)
    T[:3, :] = np.asarray(extrinsic_cv, dtype=float).reshape(3, 4)
    return T


@dataclass
class StepOutcome:
    success: bool
    elapsed_steps: int


class ManiSkillEnv:
    """One CPU ManiSkill env (num_envs=1) with a Panda on pd_ee_delta_pose (step: TCP deltas, what
    maniskill-eval's executor sends) or pd_joint_pos (step_joints: joint targets, what a joint
    trajectory controller gives; the maniskill_sim node's trajectory interface).

    obs_mode is state_dict so a physics step costs ~5 ms; the camera renders only when capture()
    is called (as our executive perceives at chosen moments, not every step). The state dict's
    object poses are never read: only tcp pose, finger joints and the task's stated goal.
    """

    CONTROL_MODES = ("pd_ee_delta_pose", "pd_joint_pos")

    def __init__(self, env_id: str, width: int = 640, height: int = 480, max_episode_steps: int | None = None,
                 camera: str | None = None, control_mode: str = "pd_ee_delta_pose") -> None:
        if control_mode not in self.CONTROL_MODES:
            raise ValueError(f"control_mode must be one of {', '.join(self.CONTROL_MODES)}, got {control_mode!r}")
        self.control_mode = control_mode
        self.spec = task_spec(env_id)
        os.environ.setdefault("MANI_SKILL_NO_DISPLAY", "1")
        import gymnasium as gym
        import mani_skill.envs  # noqa: F401 - registers the tasks

        self.camera_name = camera or self.spec.camera
        self._env = gym.make(env_id, obs_mode="state_dict", control_mode=control_mode, sim_backend="cpu",
                             render_backend="cpu", num_envs=1, sensor_configs=dict(width=width, height=height),
                             max_episode_steps=max_episode_steps or self.spec.max_steps)
        self._u = self._env.unwrapped
        self._obs: dict[str, Any] = {}
        self._info: dict[str, Any] = {}
        self.elapsed_steps = 0

    # -- episode ----------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        self._obs, self._info = self._env.reset(seed=int(seed))
        self.elapsed_steps = 0
        self._base_from_world = invert(pose_from_raw(self._u.agent.robot.pose.raw_pose))

    def close(self) -> None:
        self._env.close()

    # -- perception -------------------------------------------------------------------------
    def capture(self) -> tuple[RGBDFrame, np.ndarray]:
        """(frame, base_from_camera) from the task camera, rendered now. Objects the task hides
        from its sensors (PickCube's goal marker) stay hidden, as in ManiSkill's own observation."""
        u = self._u
        for obj in u._hidden_objects:
            obj.hide_visual()
        u.scene.update_render(update_sensors=True, update_human_render_cameras=False)
        cam = u.scene.sensors[self.camera_name]
        cam.capture()
        data = cam.get_obs(rgb=True, depth=True, position=False, segmentation=False)
        params = cam.get_params()
        frame = frame_from_sensor(_np(data["rgb"])[0], _np(data["depth"])[0], _np(params["intrinsic_cv"])[0],
                                  stamp_s=self.elapsed_steps * self.control_dt_s)
        world_from_cam = invert(camera_from_world(_np(params["extrinsic_cv"])[0]))
        return frame, self._base_from_world @ world_from_cam

    # -- proprioception ---------------------------------------------------------------------
    @property
    def control_dt_s(self) -> float:
        return 1.0 / float(self._u.control_freq)

    def tcp_pose_base(self) -> np.ndarray:
        return self._base_from_world @ pose_from_raw(self._u.agent.tcp.pose.raw_pose)

    def gripper_opening_m(self) -> float:
        q = _np(self._u.agent.robot.get_qpos())[0]
        return float(q[-2] + q[-1])

    def joint_positions(self) -> np.ndarray:
        """Seven arm joints then the two finger joints (m), PANDA_ARM_JOINTS + PANDA_FINGER_JOINTS."""
        return _np(self._u.agent.robot.get_qpos())[0].astype(float)

    def wrist_rad(self) -> float:
        """The Panda's last arm joint (panda_joint7): the one a top-down yaw turns."""
        return float(_np(self._u.agent.robot.get_qpos())[0][6])

    def stated_goal_base(self) -> np.ndarray | None:
        """The task's goal position when the task states one (PickCube's goal_pos), base frame."""
        extra = self._obs.get("extra", {}) if isinstance(self._obs, dict) else {}
        if "goal_pos" not in extra:
            return None
        g = _np(extra["goal_pos"]).reshape(-1)[:3].astype(float)
        return (self._base_from_world @ np.r_[g, 1.0])[:3]

    # -- acting -----------------------------------------------------------------------------
    def step(self, delta_translation_m: np.ndarray, delta_rotvec: np.ndarray, gripper_open: bool) -> StepOutcome:
        """One control step: base-frame TCP translation and rotation vector (each clipped to the
        controller's 0.1 m / 0.1 rad range), gripper open (1) or closed (-1)."""
        a = np.zeros(7, dtype=np.float32)
        a[:3] = np.clip(np.asarray(delta_translation_m, float) / ARM_DELTA_SCALE, -1.0, 1.0)
        # measured here (and checked by test_maniskill_smoke): pd_ee_delta_pose on mani-skill 3.0.1 turns
        # the TCP by the opposite of its rotation input in the root frame; negate so the base-frame
        # rotation vector we command is the one the TCP makes
        a[3:6] = np.clip(-np.asarray(delta_rotvec, float) / ARM_DELTA_SCALE, -1.0, 1.0)
        a[6] = 1.0 if gripper_open else -1.0
        return self._step(a, "pd_ee_delta_pose")

    def step_joints(self, arm_q: np.ndarray, gripper_open: bool) -> StepOutcome:
        """One control step toward absolute arm joint targets (7, rad; pd_joint_pos), gripper open or closed."""
        q = np.asarray(arm_q, dtype=float).reshape(-1)
        if q.shape != (7,) or not np.all(np.isfinite(q)):
            raise ValueError(f"arm joint targets must be 7 finite values, got {q}")
        a = np.zeros(8, dtype=np.float32)
        a[:7] = q
        a[7] = 1.0 if gripper_open else -1.0
        return self._step(a, "pd_joint_pos")

    def _step(self, action: np.ndarray, mode: str) -> StepOutcome:
        if self.control_mode != mode:
            raise RuntimeError(f"this env runs {self.control_mode}; the command needs {mode}")
        self._obs, _, _, _, self._info = self._env.step(action)
        self.elapsed_steps += 1
        return StepOutcome(self.success(), self.elapsed_steps)

    def success(self) -> bool:
        s = self._info.get("success")
        return bool(_np(s).reshape(-1)[0]) if s is not None else False
