"""The main job: one headless pick-and-place in the MuJoCo cell with SoM-annotated frames, an
animation and a final picture written to disk."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import imageio.v2 as imageio
import numpy as np

from spatialbot_ros.apps.episode import EpisodeResult, run_episode
from spatialbot_ros.core.geometry import project
from spatialbot_ros.core.som_overlay import draw_marks
from spatialbot_ros.core.transforms import invert, transform_points
from spatialbot_ros.executive.pick_place import StepRecord
from spatialbot_ros.policy.registry import make_policy
from spatialbot_ros.sim.scene import Scene, default_scene_path, load_scene

if TYPE_CHECKING:  # MuJoCo is imported when the episode runs
    from spatialbot_ros.sim.cell import Ur5Cell

log = logging.getLogger(__name__)


def _annotate(rec: StepRecord, cell: Ur5Cell, rgb: np.ndarray) -> np.ndarray:
    step = rec.step
    place_px = None
    if step.place is not None:
        cam_from_base = invert(cell.base_from_camera)
        p = transform_points(cam_from_base, step.place.point_base)
        if p[2] > 0:
            place_px = tuple(project(p, cell.intrinsics))
    chosen = step.target.mark_id if step.target is not None else None
    img = draw_marks(rgb, step.marks, chosen_id=chosen, place_point_px=place_px) if step.marks else rgb.copy()
    lines = [f"{rec.index:03d} {rec.phase.value}"]
    if step.contact is not None:
        lines.append(f"contact: {'YES' if step.contact.touching else 'no'} gap {step.contact.gap_mm:.0f} mm")
    a = step.action.as_vector()
    lines.append("dxyz " + " ".join(f"{v * 100:+.1f}" for v in a[:3]) + " cm  grip " + f"{a[6]:.1f}")
    for i, text in enumerate(lines):
        y = 22 + 22 * i
        cv2.putText(img, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def run_demo(scene: Scene, out_dir: Path, policy_name: str = "geometric", animate: bool = True) -> EpisodeResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    frames_dir = out_dir / "frames"
    frames_dir.mkdir(exist_ok=True)
    for old in frames_dir.glob("*.png"):
        old.unlink()
    animation: list[np.ndarray] = []
    seen: dict[str, Ur5Cell] = {}

    def on_step(rec: StepRecord, cell: Ur5Cell) -> None:
        seen["cell"] = cell
        log.info("step %03d %-13s %s", rec.index, rec.phase.value, rec.step.explanation if rec.index == 0 else "")
        if rec.frame is not None:
            rgb = rec.frame.color_rgb
        elif animate:
            rgb = cell.render_rgbd().color_rgb
        else:
            return
        img = _annotate(rec, cell, rgb)
        if rec.frame is not None:
            cv2.imwrite(str(frames_dir / f"{rec.index:03d}_{rec.phase.value}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        animation.append(cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA))

    policy = make_policy(policy_name)
    result = run_episode(scene, policy, on_step=on_step)
    cell = seen.get("cell")
    final = cell.render_rgbd().color_rgb if cell is not None else None
    if final is not None:
        cv2.putText(final, f"{'SUCCESS' if result.success else 'FAILED: ' + result.reason}", (8, 28),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 160, 0) if result.success else (200, 0, 0), 2, cv2.LINE_AA)
        cv2.imwrite(str(out_dir / "final.png"), cv2.cvtColor(final, cv2.COLOR_RGB2BGR))
        animation.append(cv2.resize(final, (320, 240), interpolation=cv2.INTER_AREA))
    if animation:
        imageio.mimsave(out_dir / "demo.gif", animation, duration=0.25, loop=0)
    (out_dir / "summary.json").write_text(json.dumps(asdict(result), indent=2, default=float))
    return result


def load_demo_scene(path: Path | None) -> Scene:
    return load_scene(path or default_scene_path())
