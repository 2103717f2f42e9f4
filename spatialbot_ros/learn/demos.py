"""Demonstrations from the MuJoCo cell for training the learned policy.

The scripted expert is the built-in policy run by the real executive; ground truth is used only
for the labels (which mark is the object to pick, where it goes, is the gripper touching it) and
to keep only episodes the expert actually solved with the right objects. Scenes vary objects,
colours, sizes, camera pose (jitter) and instruction phrasings; every episode also carries extra
instructions about the same scene (train phrasings) for the grounding heads.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from spatialbot_ros.core.durable import (
    JsonlLog,
    atomic_write_bytes,
    atomic_write_json,
    check_writable,
    read_jsonl,
)
from spatialbot_ros.core.errors import OutputError, RunStateError, TaskFailedError
from spatialbot_ros.core.instruction_templates import generate_instruction
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.datasets.lerobot_v3 import Feature, LeRobotV3Writer
from spatialbot_ros.policy.learned_features import (
    MAX_MARKS,
    N_CAMERA,
    N_MARK_FEATURES,
    N_PROPRIO,
    PLACE_RELATIONS,
    camera_features,
    mark_features,
    proprio_features,
    select_marks,
)
from spatialbot_ros.sim.scene import Scene, SceneError
from spatialbot_ros.sim.scene_generator import generate_scene, to_facts

log = logging.getLogger(__name__)

STORE_HW = (120, 160)
FPS = 10
MATCH_RADIUS_M = 0.04

DEMO_FEATURES: dict[str, Feature] = {
    "observation.images.color": Feature("video", (*STORE_HW, 3)),
    "observation.images.depth": Feature("depth_video", STORE_HW),
    "observation.state": Feature("float32", (N_PROPRIO,)),
    "observation.marks": Feature("float32", (MAX_MARKS, N_MARK_FEATURES)),
    "observation.marks_valid": Feature("float32", (MAX_MARKS,)),
    "observation.camera": Feature("float32", (N_CAMERA,)),
    "action": Feature("float32", (7,), ["dx", "dy", "dz", "rx", "ry", "rz", "gripper"]),
    "label.pick_mark": Feature("int64", (1,)),
    "label.place_mark": Feature("int64", (1,)),
    "label.place_relation": Feature("int64", (1,)),
    "label.contact": Feature("float32", (1,)),
}


@dataclass
class DemoConfig:
    episodes: int = 300
    seed: int = 1000
    camera_jitter_m: float = 0.02
    extra_instructions: int = 12
    grounding_scenes: int = 0          # extra perception-only scenes for the grounding heads
    workers: int = 2


@dataclass
class _Episode:
    instruction: str
    frames: dict[str, list[Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def match_marks_to_objects(marks: list[Mark], object_xy: dict[str, np.ndarray]) -> list[str | None]:
    """Ground truth for labels only: the object under each mark (nearest centre within 4 cm)."""
    out: list[str | None] = []
    for m in select_marks(marks):
        c = np.asarray(m.centroid_base if m.centroid_base is not None else [np.inf] * 3)[:2]
        best = min(object_xy, key=lambda n: float(np.linalg.norm(object_xy[n] - c)), default=None)
        out.append(best if best is not None and np.linalg.norm(object_xy[best] - c) <= MATCH_RADIUS_M else None)
    return out


def _grounding_labels(objects: list[str | None], pick: str, place: str | None,
                      relation: str | None, has_place: bool) -> tuple[int, int, int]:
    pick_i = objects.index(pick) if pick in objects else -1
    place_i = objects.index(place) if place is not None and place in objects else -1
    rel = -1
    if has_place:
        rel = PLACE_RELATIONS.index(relation) if relation is not None else 0
    return pick_i, place_i, rel


@dataclass
class EpisodeLabels:
    """Training labels from the simulator's truth, fixed at the first step that shows marks: which
    proposed mark is each object, the pick / place / relation labels, the mark and camera features.
    Used by the expert demonstrations and by teleop-assisted collection alike."""

    scene: Scene
    objects: list[str | None] | None = None
    marks: np.ndarray | None = None
    valid: np.ndarray | None = None
    camera: np.ndarray | None = None
    labels: tuple[int, int, int] = (-1, -1, -1)

    @property
    def ready(self) -> bool:
        return self.objects is not None

    def observe(self, step: Any, frame: Any, cell: Any) -> None:
        """Fix the labels from this step if it is the first with a frame and marks."""
        if self.ready or frame is None or not step.marks:
            return
        exp = self.scene.expected
        obj_xy = {n: cell.object_pose(n)[:2, 3].copy() for n in cell.object_names}
        self.objects = match_marks_to_objects(step.marks, obj_xy)
        self.marks, self.valid = mark_features(step.marks, frame, cell.base_from_camera)
        self.camera = camera_features(cell.base_from_camera, self.scene.viewpoint)
        place_obj = exp.place
        if exp.relation is not None and step.place is not None and step.place.support_mark_id is not None:
            # relative places: the reference the expert measured from (the episode must still succeed)
            ids = [m.id for m in select_marks(step.marks)]
            ref = step.place.support_mark_id
            place_obj = self.objects[ids.index(ref)] if ref in ids else None
        self.labels = _grounding_labels(self.objects, exp.pick, place_obj, exp.relation,
                                        exp.place is not None or exp.place_point is not None)

    def row(self, cell: Any) -> dict[str, Any]:
        """The per-frame label features (zeros and -1 before the labels are fixed)."""
        marks = self.marks if self.marks is not None else np.zeros((MAX_MARKS, N_MARK_FEATURES), np.float32)
        valid = self.valid if self.valid is not None else np.zeros(MAX_MARKS, bool)
        camera = self.camera if self.camera is not None else camera_features(cell.base_from_camera, self.scene.viewpoint)
        pick_i, place_i, rel = self.labels
        pick = self.scene.expected.pick
        touching = pick in cell.object_names and any(cell.fingertip_contacts(pick))
        return {"observation.marks": marks, "observation.marks_valid": valid.astype(np.float32),
                "observation.camera": camera, "label.pick_mark": [pick_i], "label.place_mark": [place_i],
                "label.place_relation": [rel], "label.contact": [float(touching)]}


def collect_episode(scene: Scene, extra_instructions: int = 12) -> _Episode | None:
    """Run the expert on one scene; None when it failed or perceived the wrong objects."""
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.policy.geometric import GeometricPolicy

    ep = _Episode(scene.instruction)
    labels = EpisodeLabels(scene)

    def on_step(rec: Any, cell: Any) -> None:
        labels.observe(rec.step, rec.frame, cell)
        if not labels.ready:
            return
        frame = rec.frame if rec.frame is not None else cell.render_rgbd(stamp_s=cell.time_s)
        width = cell.gripper_opening()
        f = ep.frames
        f.setdefault("observation.images.color", []).append(
            cv2.resize(frame.color_rgb, STORE_HW[::-1], interpolation=cv2.INTER_AREA))
        f.setdefault("observation.images.depth", []).append(
            cv2.resize(frame.depth_mm, STORE_HW[::-1], interpolation=cv2.INTER_NEAREST))
        f.setdefault("observation.state", []).append(proprio_features(rec.tcp_pose_base, width, rec.phase))
        f.setdefault("action", []).append(step_action(rec).as_vector().astype(np.float32))
        for key, value in labels.row(cell).items():
            f.setdefault(key, []).append(value)

    result = run_episode(scene, GeometricPolicy(), on_step=on_step)
    if not result.success or not result.grounding_correct or not labels.ready:
        return None
    if labels.labels[0] < 0 or (labels.labels[2] >= 0 and labels.labels[1] < 0):
        return None
    state = {"objects": labels.objects}
    ep.meta = {"scene": scene.name, "seed": int(scene.seed or 0), "category": scene.category or "",
               "viewpoint": scene.viewpoint, "mark_objects": json.dumps(labels.objects),
               "grounding_extra": json.dumps(_extra_instructions(scene, state, extra_instructions))}
    return ep


def step_action(rec: Any) -> Any:
    """What was executed at a step: the operator's command under shared autonomy, else the policy's."""
    return rec.executed if getattr(rec, "executed", None) is not None else rec.step.action


def _extra_instructions(scene: Scene, state: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """More verified instructions about the same scene and the same perceived marks."""
    rng = np.random.default_rng((scene.seed or 0) + 7)
    facts = to_facts(scene.objects)
    base_from_camera = scene.camera.base_from_camera()
    out: list[dict[str, Any]] = []
    seen = {scene.instruction}
    for _ in range(n * 2):
        if len(out) >= n:
            break
        try:
            case = generate_instruction(facts, rng, base_from_camera, viewpoint=scene.viewpoint,
                                        pick_only=bool(rng.random() < 0.1), vary_nouns=True)
        except ValueError:
            continue
        if case.instruction in seen:
            continue
        seen.add(case.instruction)
        has_place = case.place_name is not None or case.place_point_base is not None
        place_obj = case.place_name if case.place_relation is None else case.reference_name
        labels = _grounding_labels(state["objects"], case.pick_name, place_obj, case.place_relation, has_place)
        if labels[0] < 0 or (has_place and labels[1] < 0):
            continue
        out.append({"instruction": case.instruction, "pick": labels[0], "place": labels[1], "relation": labels[2],
                    "category": case.category})
    return out


GROUNDING_FILE = "grounding/scenes.parquet"  # beside the LeRobot layout: perception-only samples


def collect_grounding_scene(seed: int, camera_jitter_m: float, n_instructions: int) -> list[dict[str, Any]]:
    """One rendered scene seen from the observe pose, its proposed marks, and verified instructions
    with ground-truth labels: grounding examples without running a whole episode."""
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell

    scene = generate_scene(seed, camera_jitter=camera_jitter_m)
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    try:
        cell.reset()
        _, frame = view_from_observe_pose(cell)
        marks = GeometricProposer().propose(frame, cell.base_from_camera).marks
        if not marks:
            return []
        obj_xy = {n: cell.object_pose(n)[:2, 3].copy() for n in cell.object_names}
        state = {"objects": match_marks_to_objects(marks, obj_xy)}
        feats, valid = mark_features(marks, frame, cell.base_from_camera)
        camera = camera_features(cell.base_from_camera, scene.viewpoint)
    finally:
        cell.close()
    items = _extra_instructions(scene, state, n_instructions)
    return [{**it, "marks": feats.ravel().tolist(), "valid": valid.astype(np.float32).tolist(),
             "camera": camera.tolist(), "viewpoint": scene.viewpoint, "seed": seed} for it in items]


def _grounding_seed(args: tuple[int, float, int]) -> list[dict[str, Any]]:
    seed, jitter, n = args
    try:
        return collect_grounding_scene(seed, jitter, n)
    except SceneError:
        return []
    except Exception:
        log.exception("grounding scene for seed %d failed", seed)
        return []


def _collect_seed(args: tuple[int, float, int]) -> _Episode | None:
    seed, jitter, extra = args
    try:
        scene = generate_scene(seed, camera_jitter=jitter)
    except SceneError:
        return None
    try:
        return collect_episode(scene, extra)
    except Exception:  # one broken scene must not end a long collection run
        log.exception("episode for seed %d failed", seed)
        return None


RUN_FILE = "demos_run.json"       # the recording's settings (a resume must match them)
TRIED_FILE = "demos_tried.jsonl"  # one line per finished scene, kept or not: what a resume skips


def _run_settings(config: DemoConfig) -> dict[str, Any]:
    return {"episodes": config.episodes, "seed": config.seed, "camera_jitter_m": config.camera_jitter_m,
            "extra_instructions": config.extra_instructions}


def collect_demos(out_dir: Path, config: DemoConfig, progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Write a LeRobot v3 dataset of expert demonstrations; returns a summary. Each kept episode is
    durable when written; resume=True continues a killed recording with the same settings (the
    same seeds, so the same episodes as one uninterrupted run)."""
    out_dir = Path(out_dir)
    check_writable(out_dir)
    if not resume and ((out_dir / "meta" / "info.json").exists() or (out_dir / RUN_FILE).exists()):
        raise OutputError(f"{out_dir} already holds a recording; pass --resume to continue it, or choose another --out")
    settings = _run_settings(config)
    if resume and (out_dir / RUN_FILE).exists():
        before = json.loads((out_dir / RUN_FILE).read_text())
        differ = [k for k in settings if before.get(k) != settings[k]]
        if differ:
            raise RunStateError(f"{out_dir}: --resume with other settings ({', '.join(differ)} differ); use the "
                                "same arguments or another --out")
    writer = LeRobotV3Writer(out_dir, FPS, DEMO_FEATURES, robot_type="ur5", resume=resume)
    atomic_write_json(out_dir / RUN_FILE, settings)
    seeds = np.random.default_rng(config.seed).integers(0, 2**31 - 1, size=config.episodes)
    jobs = [(int(s), config.camera_jitter_m, config.extra_instructions) for s in seeds]
    tried, _ = read_jsonl(out_dir / TRIED_FILE, repair=True) if resume else ([], 0)
    done = {int(r["job"]) for r in tried}
    kept_seeds = {int(e["seed"]) for e in writer.episode_meta() if "seed" in e}
    done |= {i for i, job in enumerate(jobs) if job[0] in kept_seeds}  # written, killed before it was logged
    resumed = writer.episodes_written
    todo = [(i, job) for i, job in enumerate(jobs) if i not in done]
    if resume:
        log.info("%s: resuming: %d scenes done (%d episodes kept), %d to go", out_dir, len(done), resumed, len(todo))
    kept = resumed
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="demos", unit="ep", disable=not progress)
    ctx = mp.get_context("spawn")
    with bar, JsonlLog(out_dir / TRIED_FILE, truncate=not resume) as tried_log, \
            (ctx.Pool(max(1, config.workers)) if config.workers > 1 else _Serial()) as pool:
        for (i, job), ep in zip(todo, pool.imap(_collect_seed, [job for _, job in todo]), strict=True):
            bar.update(1)
            index = None
            if ep is not None:
                frames = {k: np.stack(v) for k, v in ep.frames.items()}
                index = writer.add_episode(frames, ep.instruction, ep.meta)
                kept += 1
                bar.set_postfix(kept=kept)
            tried_log.append({"job": i, "seed": job[0], "episode": index})
    bar.close()
    if kept == 0:
        raise TaskFailedError("the expert solved none of the scenes; nothing to write")
    writer.finalize()
    n_grounding = 0
    if config.grounding_scenes:
        n_grounding = _collect_grounding(out_dir, config, progress, reuse=resume)
    return {"episodes_tried": len(jobs), "episodes_kept": kept, "episodes_resumed": resumed,
            "frames": writer.frames_written, "grounding_samples": n_grounding, "out": str(out_dir)}


def _collect_grounding(out_dir: Path, config: DemoConfig, progress: bool, reuse: bool = False) -> int:
    """All the perception-only samples in one parquet file, renamed into place when complete (a
    resumed recording keeps a finished one and redoes an unfinished one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = out_dir / GROUNDING_FILE
    if reuse and path.exists():
        return pq.read_metadata(path).num_rows

    seeds = np.random.default_rng(config.seed + 1).integers(0, 2**31 - 1, size=config.grounding_scenes)
    jobs = [(int(s), config.camera_jitter_m, config.extra_instructions) for s in seeds]
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(jobs), desc="grounding scenes", unit="scene", disable=not progress)
    with mp.get_context("spawn").Pool(config.workers) if config.workers > 1 else _Serial() as pool:
        for items in pool.imap(_grounding_seed, jobs, chunksize=4):
            rows.extend(items)
            bar.update(1)
    bar.close()
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return len(rows)


class _Serial:
    """Pool stand-in for workers=1 (tests, debugging): same imap interface, this process."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(self, fn: Any, jobs: list[Any], chunksize: int = 1) -> Any:
        return map(fn, jobs)
