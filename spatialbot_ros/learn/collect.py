"""`spatialbot-ros collect`: teleop-assisted data collection in the MuJoCo cell.

The policy runs the task; an operator (scripted on simulator truth, a terminal keyboard, a
SpaceMouse, or Twist/Joy topics over ROS) may take over at any step and hand back
(executive/shared_autonomy.py). Every step is recorded to a LeRobot v3 dataset: what was executed
(`action`), what the policy proposed (`action.policy`), who was in control (`intervention`,
`complementary_info.is_intervention`), reward and done, and per episode the success, the number of
interventions, the operator and the device. Episodes are durable one by one (datasets/lerobot_v3.py):
a collection killed at any moment keeps every finished episode, and --resume continues it.

Collection scenes come from their own seeds (default 50000 onwards), never the evaluation's.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.core.teleop import TeleopConfig
from spatialbot_ros.datasets.lerobot_v3 import Feature, LeRobotV3Writer
from spatialbot_ros.executive.pick_place import StepRecord
from spatialbot_ros.executive.shared_autonomy import (
    Control,
    EpisodeLabel,
    Operator,
    SharedAutonomyConfig,
    TeleopOperator,
)
from spatialbot_ros.learn.demos import DEMO_FEATURES, STORE_HW, EpisodeLabels, step_action
from spatialbot_ros.policy.learned_features import N_PROPRIO, proprio_features

log = logging.getLogger(__name__)

FPS = 10  # one record per control step (the control period is 0.1 s)
COLLECTION_SEED = 50000
ACTION_NAMES = ["dx", "dy", "dz", "rx", "ry", "rz", "gripper"]
COLLECT_FEATURES: dict[str, Feature] = {
    "observation.images.color": Feature("video", (*STORE_HW, 3)),
    "observation.images.depth": Feature("depth_video", STORE_HW),
    "observation.state": Feature("float32", (N_PROPRIO,)),
    "action": Feature("float32", (7,), ACTION_NAMES),
    "action.policy": Feature("float32", (7,), ACTION_NAMES),
    "intervention": Feature("int64", (1,)),
    "complementary_info.is_intervention": Feature("float32", (1,)),
    "next.reward": Feature("float32", (1,)),
    "next.done": Feature("bool", (1,)),
    # what `train` learns from (as in the expert demonstrations): marks, camera and labels from sim truth
    **{k: DEMO_FEATURES[k] for k in ("observation.marks", "observation.marks_valid", "observation.camera",
                                     "label.pick_mark", "label.place_mark", "label.place_relation", "label.contact")},
}


class TeleopDevice(enum.StrEnum):
    SCRIPTED = "scripted"
    KEYBOARD = "keyboard"
    SPACEMOUSE = "spacemouse"
    ROS = "ros"


class CollectError(SpatialBotError):
    """A collection that cannot start (bad options, device unavailable)."""


@dataclass
class CollectOptions:
    out: Path
    teleop: TeleopDevice = TeleopDevice.SCRIPTED
    policy: str = "geometric"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    episodes: int = 10
    seed: int = COLLECTION_SEED
    resume: bool = False
    take_over_at: TaskPhase | None = None   # scripted: also take over once in this phase
    teleop_config: TeleopConfig = field(default_factory=lambda: TeleopConfig(max_linear_mps=0.25, max_angular_rps=1.0))
    hand_back_idle_s: float = 1.0          # ROS / SpaceMouse: no input this long hands control back
    live_view: Path | None = None          # people: the latest frame with who is in control, rewritten each step
    rosbag: bool = False                   # also one rosbag2 (MCAP) per episode under out/rosbag
    twist_topic: str = "/cmd_vel"          # --teleop ros
    joy_topic: str = "/joy"


@dataclass
class _Recorder:
    """One episode's frames, built from the executive's step records."""

    labels: EpisodeLabels
    live_view: Path | None = None
    bag: Any = None  # datasets/rosbag_record.EpisodeBag when recording rosbags
    frames: dict[str, list[Any]] = field(default_factory=dict)
    status: Callable[[str, Control], None] | None = None

    def __call__(self, rec: StepRecord, cell: Any) -> None:
        frame = rec.frame if rec.frame is not None else cell.render_rgbd(stamp_s=cell.time_s)
        self.labels.observe(rec.step, rec.frame, cell)
        executed = step_action(rec)
        engaged = rec.control == Control.OPERATOR
        f = self.frames
        f.setdefault("observation.images.color", []).append(
            cv2.resize(frame.color_rgb, STORE_HW[::-1], interpolation=cv2.INTER_AREA))
        f.setdefault("observation.images.depth", []).append(
            cv2.resize(frame.depth_mm, STORE_HW[::-1], interpolation=cv2.INTER_NEAREST))
        f.setdefault("observation.state", []).append(proprio_features(rec.tcp_pose_base, cell.gripper_opening(), rec.phase))
        f.setdefault("action", []).append(executed.as_vector().astype(np.float32))
        f.setdefault("action.policy", []).append(rec.step.action.as_vector().astype(np.float32))
        f.setdefault("intervention", []).append([int(engaged)])
        f.setdefault("complementary_info.is_intervention", []).append([float(engaged)])
        for key, value in self.labels.row(cell).items():
            f.setdefault(key, []).append(value)
        if self.bag is not None:
            self.bag.add(cell.time_s, frame, cell.joint_positions(), executed, engaged)
        if self.status is not None:
            self.status(rec.phase.value, rec.control)
        if self.live_view is not None:
            write_live_view(self.live_view, frame.color_rgb, rec.control, rec.phase)

    def arrays(self, success: bool) -> dict[str, np.ndarray]:
        n = len(self.frames["action"])
        reward = np.zeros((n, 1), np.float32)
        done = np.zeros((n, 1), bool)
        reward[-1, 0] = float(success)
        done[-1, 0] = True
        out = {k: np.asarray(v) for k, v in self.frames.items()}
        out["next.reward"], out["next.done"] = reward, done
        return out


DEVICES = {TeleopDevice.SCRIPTED: "sim-truth", TeleopDevice.KEYBOARD: "terminal",
           TeleopDevice.SPACEMOUSE: "spacemouse", TeleopDevice.ROS: "ros-topics"}


def commit_episode(writer: LeRobotV3Writer, root: Path, rec: _Recorder, task: str, truth_success: bool,
                   label: EpisodeLabel, meta: dict[str, Any]) -> tuple[int, bool, int]:
    """Write one recorded episode: the operator's verdict (y / n) overrides the measured success, the
    rosbag (if any) is whole before the episode commits (a killed run's extra bag is removed on resume).
    Returns (episode index, success, frames under the operator)."""
    success = label == EpisodeLabel.SUCCESS if label in (EpisodeLabel.SUCCESS, EpisodeLabel.FAILURE) else truth_success
    arrays = rec.arrays(success)
    engaged = int(arrays["intervention"].sum())
    if rec.bag is not None:
        from spatialbot_ros.datasets.rosbag_record import bag_path

        rec.bag.write(bag_path(root, writer.episodes_written))
    index = writer.add_episode(arrays, task, {"success": bool(success), "frames_with_operator": engaged,
                                              "label": label.value, **meta})
    return index, success, engaged


class NoLabels:
    """A real cell has no simulator truth: no grounding labels (-1), no mark features; the camera
    features still describe where the camera is."""

    ready = False

    def __init__(self, base_from_camera: np.ndarray) -> None:
        self.base_from_camera = base_from_camera

    def observe(self, step: Any, frame: Any, cell: Any) -> None:
        return None

    def row(self, cell: Any) -> dict[str, Any]:
        from spatialbot_ros.policy.learned_features import MAX_MARKS, N_MARK_FEATURES, camera_features

        return {"observation.marks": np.zeros((MAX_MARKS, N_MARK_FEATURES), np.float32),
                "observation.marks_valid": np.zeros(MAX_MARKS, np.float32),
                "observation.camera": camera_features(self.base_from_camera, "camera"),
                "label.pick_mark": [-1], "label.place_mark": [-1], "label.place_relation": [-1], "label.contact": [0.0]}


class GateView:
    """What GoalRecorder reads on a ROS cell: frames from the node (its FrameSource), the arm and the
    gripper through the safety gate."""

    def __init__(self, source: Any, motion: Any) -> None:
        self.source, self.motion = source, motion

    @property
    def time_s(self) -> float:
        return float(self.source.now_s())

    @property
    def base_from_camera(self) -> np.ndarray:
        return self.source.base_from_camera

    def render_rgbd(self, stamp_s: float | None = None) -> Any:
        return self.source.latest_frame()

    def gripper_opening(self) -> float:
        return float(self.motion.gripper_state().width_m)

    def joint_positions(self) -> np.ndarray:
        return self.motion.current_joints()


class GoalRecorder:
    """Recording for a node that runs goals (pick_place with teleop): one dataset, one episode per
    goal. `view` gives what the simulator's cell gives the collector: time_s, render_rgbd(stamp_s),
    gripper_opening(), joint_positions(), base_from_camera."""

    def __init__(self, root: Path, view: Any, operator: str, device: str, policy: str, rosbag: bool = False,
                 control_period_s: float = 0.1) -> None:
        self.root = Path(root)
        self.writer = LeRobotV3Writer(self.root, FPS, COLLECT_FEATURES, resume=(self.root / "meta").exists())
        self.view, self.operator, self.device, self.policy = view, operator, device, policy
        self.rosbag, self.control_period_s = rosbag, control_period_s
        if rosbag:
            from spatialbot_ros.datasets.rosbag_record import remove_unfinished_bags

            remove_unfinished_bags(self.root, self.writer.episodes_written)
        self._current: _Recorder | None = None

    def start(self) -> Callable[[StepRecord], None]:
        """A fresh episode; the returned callable records one step (chain it into the executive's on_step)."""
        bag = None
        if self.rosbag:
            from spatialbot_ros.datasets.rosbag_record import EpisodeBag

            bag = EpisodeBag(self.control_period_s)
        self._current = _Recorder(NoLabels(self.view.base_from_camera), bag=bag)
        current = self._current
        return lambda rec: current(rec, self.view)

    def finish(self, task: str, succeeded: bool, interventions: int, reason: str, label: str) -> int | None:
        """Write the episode (None when nothing was recorded, e.g. refused before the first step)."""
        rec, self._current = self._current, None
        if rec is None or not rec.frames:
            return None
        index, _, _ = commit_episode(self.writer, self.root, rec, task, succeeded, EpisodeLabel(label), {
            "interventions": int(interventions), "operator": self.operator, "device": self.device,
            "policy": self.policy, "reason": reason})
        return index


def write_live_view(path: Path, rgb: np.ndarray, control: Control, phase: TaskPhase) -> None:
    """The operator's window onto a headless simulator: the camera image with who is in control."""
    from spatialbot_ros.core.durable import atomic_write_bytes

    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    colour = (0, 0, 255) if control == Control.OPERATOR else (0, 160, 0)
    cv2.rectangle(img, (0, 0), (img.shape[1], 34), colour, -1)
    cv2.putText(img, f"{control.value.upper()} in control - {phase.value}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX,
                0.7, (255, 255, 255), 2, cv2.LINE_AA)
    ok, buf = cv2.imencode(".png", img)
    if ok:
        atomic_write_bytes(path, buf.tobytes())


def _operator_factory(opts: CollectOptions, scene: Any, source: Any) -> Callable[[Any], Operator]:
    if opts.teleop == TeleopDevice.SCRIPTED:
        from spatialbot_ros.apps.scripted_operator import ScriptedOperator, ScriptedOperatorConfig

        cfg = ScriptedOperatorConfig(take_over_at=opts.take_over_at)
        return lambda cell: ScriptedOperator(cell, scene, opts.teleop_config, cfg)
    idle = None if opts.teleop == TeleopDevice.KEYBOARD else opts.hand_back_idle_s
    return lambda cell: TeleopOperator(source, opts.teleop.value, DEVICES[opts.teleop], idle)


def open_source(opts: CollectOptions) -> Any:
    """The device for a person (None for the scripted operator); its errors say what to do."""
    if opts.teleop == TeleopDevice.KEYBOARD:
        from spatialbot_ros.teleop.keyboard import KEY_HELP, KeyboardTeleop, KeyboardUnavailable

        try:
            kb = KeyboardTeleop(opts.teleop_config)
            kb.open()
        except KeyboardUnavailable as exc:
            raise CollectError(str(exc)) from exc
        log.info("keyboard teleop:\n%s", KEY_HELP)
        return kb
    if opts.teleop == TeleopDevice.SPACEMOUSE:
        from spatialbot_ros.teleop.spacemouse import SpaceMouseTeleop, SpaceMouseUnavailable

        sm = SpaceMouseTeleop(opts.teleop_config)
        try:
            sm.open()
        except SpaceMouseUnavailable as exc:
            raise CollectError(str(exc)) from exc
        return sm
    if opts.teleop == TeleopDevice.ROS:
        from spatialbot_ros.teleop.ros_topics import start_teleop_input

        return start_teleop_input(opts.teleop_config, twist_topic=opts.twist_topic, joy_topic=opts.joy_topic)
    return None


def run_collect(opts: CollectOptions) -> dict[str, Any]:
    """Collect opts.episodes assisted episodes into opts.out; returns the summary."""
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.registry import make_policy
    from spatialbot_ros.sim.scene_generator import generate_scene

    writer = LeRobotV3Writer(Path(opts.out), FPS, COLLECT_FEATURES, resume=opts.resume)
    done_before = writer.episodes_written
    if opts.rosbag:
        from spatialbot_ros.datasets.rosbag_record import EpisodeBag, remove_unfinished_bags

        remove_unfinished_bags(Path(opts.out), done_before)
    seeds = np.random.default_rng(opts.seed).integers(0, 2**31 - 1, size=opts.episodes + 1000)
    shared = SharedAutonomyConfig(teleop=opts.teleop_config)
    policy = make_policy(opts.policy, **opts.policy_kwargs)  # reset by the executive at every episode
    source = open_source(opts)
    tried = 0
    summary: dict[str, Any] = {"episodes": done_before, "successes": 0, "interventions": 0, "frames_with_operator": 0,
                               "stopped_by_operator": False}
    summary["successes"] = sum(bool(m.get("success")) for m in writer.episode_meta())
    summary["interventions"] = sum(int(m.get("interventions", 0)) for m in writer.episode_meta())
    summary["frames_with_operator"] = sum(int(m.get("frames_with_operator", 0)) for m in writer.episode_meta())
    bar = tqdm(total=opts.episodes, initial=done_before, desc="collect", unit="ep")
    try:
        seed_index = max(int(m.get("seed_index", -1)) for m in writer.episode_meta()) + 1 if done_before else 0
        while writer.episodes_written < opts.episodes and seed_index < len(seeds):
            scene = generate_scene(int(seeds[seed_index]))
            def status(phase: str, control: Control) -> None:
                bar.set_postfix(episode=writer.episodes_written, phase=phase, control=control.value,
                                interventions=summary["interventions"], refresh=False)

            recorder = _Recorder(EpisodeLabels(scene), opts.live_view,
                                 bag=EpisodeBag(shared.control_period_s) if opts.rosbag else None, status=status)
            result = run_episode(scene, policy, on_step=recorder, operator_for=_operator_factory(opts, scene, source),
                                 shared=shared)
            tried += 1
            label = EpisodeLabel(result.operator_label)
            if label == EpisodeLabel.RERECORD:
                log.info("operator asked to record scene %s again", scene.name)
                continue  # same seed again
            seed_index += 1
            if not recorder.frames:
                log.info("scene %s: nothing recorded (%s: %s)", scene.name, result.reason, result.message)
            else:
                _, success, engaged = commit_episode(writer, Path(opts.out), recorder, scene.instruction,
                                                     result.success, label, {
                    "interventions": int(result.interventions), "operator": opts.teleop.value,
                    "device": DEVICES[opts.teleop], "policy": opts.policy, "scene": scene.name,
                    "seed": int(seeds[seed_index - 1]), "seed_index": seed_index - 1, "reason": result.reason})
                summary["episodes"] = writer.episodes_written
                summary["successes"] += int(success)
                summary["interventions"] += int(result.interventions)
                summary["frames_with_operator"] += engaged
                bar.update(1)
            if label == EpisodeLabel.STOP:
                summary["stopped_by_operator"] = True
                break
    finally:
        bar.close()
        if source is not None and hasattr(source, "close"):
            source.close()
    summary["scenes_tried"] = tried
    summary["out"] = str(opts.out)
    return summary


__all__ = ["COLLECT_FEATURES", "CollectError", "CollectOptions", "TeleopDevice", "run_collect"]
