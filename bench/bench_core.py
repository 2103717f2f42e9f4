"""Core step latency on a 640x480 RGB-D frame with 3-6 objects.

Prints per-stage medians (proposals, grounding, contact, delta) and the whole core step, beside a
baseline measured in the same run: one plain numpy pass over the same frame (depth -> metres ->
organised point cloud -> mean). Run: `python bench/bench_core.py [--frames N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from spatialbot_ros.core.synthetic_scene import SyntheticObject, default_camera_pose, render_synthetic_scene

from spatialbot_ros.core.contact import ContactConfig, judge_contact
from spatialbot_ros.core.ee_delta import StepLimits, compute_ee_delta
from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.geometry import to_base
from spatialbot_ros.core.grasp import GraspConfig, plan_top_down_grasp
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.som_proposer import GeometricProposer, ProposerConfig
from spatialbot_ros.core.transforms import make_pose

KINDS = [("cup", {"radius": 0.035, "height": 0.10}), ("box", {"half_extents": [0.025, 0.02], "height": 0.06}),
         ("sphere", {"radius": 0.03})]
COLORS = ["red", "green", "blue", "yellow", "orange", "purple"]


def make_scenes(n: int, seed: int) -> list[tuple[list[SyntheticObject], str]]:
    """n scenes of 3-6 objects in a row; the instruction picks the leftmost one onto the plate."""
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        k = int(rng.integers(2, 6))
        ys = np.linspace(-0.28, 0.28, k)
        objs = []
        for i, y in enumerate(ys):
            kind, size = KINDS[int(rng.integers(0, len(KINDS)))]
            objs.append(SyntheticObject(f"o{i}", kind, COLORS[i], (0.5 + rng.uniform(-0.05, 0.05), float(y)), size))
        objs.append(SyntheticObject("plate", "plate", "white", (0.68, 0.0), {"radius": 0.09, "height": 0.015}))
        scenes.append((objs, f"pick the {objs[0].color} object and put it on the plate"))
    return scenes


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    k = CameraIntrinsics.from_hfov(640, 480, 69.0)
    base_from_camera = default_camera_pose()
    proposer = GeometricProposer(ProposerConfig())
    limits = StepLimits()
    frames = [(render_synthetic_scene(objs, base_from_camera, k, rng=np.random.default_rng(i))[0], text)
              for i, (objs, text) in enumerate(make_scenes(args.frames, args.seed))]

    stages: dict[str, list[float]] = {s: [] for s in ("proposals", "grounding", "grasp", "contact", "delta", "core_step",
                                                       "numpy_pass")}
    n_marks = []
    for frame, text in frames:
        t0 = time.perf_counter()
        props = proposer.propose(frame, base_from_camera)
        t1 = time.perf_counter()
        g = ground_instruction(text, props.marks)
        t2 = time.perf_counter()
        mark = props.by_id(g.pick_mark_id)
        grasp = plan_top_down_grasp(to_base(mark.points_cam, base_from_camera), GraspConfig())
        t3 = time.perf_counter()
        tips = grasp.grasp_pose[:3, 3] + np.array([[0, 0.04, 0], [0, -0.04, 0]])
        judge_contact(frame, tips, mark.mask, ContactConfig(), base_from_camera=base_from_camera, points_frame="base")
        t4 = time.perf_counter()
        compute_ee_delta(make_pose([0.4, 0.0, 0.35]), grasp.pregrasp_pose, limits)
        t5 = time.perf_counter()
        stages["proposals"].append(t1 - t0)
        stages["grounding"].append(t2 - t1)
        stages["grasp"].append(t3 - t2)
        stages["contact"].append(t4 - t3)
        stages["delta"].append(t5 - t4)
        stages["core_step"].append(t5 - t0)
        n_marks.append(len(props.marks))

        t0 = time.perf_counter()
        z = frame.depth_mm.astype(np.float32) * np.float32(1e-3)
        v, u = np.mgrid[0:480, 0:640]
        pts = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], axis=-1)
        pts[z > 0].mean(axis=0)
        stages["numpy_pass"].append(time.perf_counter() - t0)

    print(f"core step on {len(frames)} frames, 640x480, {min(n_marks)}-{max(n_marks)} marks per frame")
    print(f"{'stage':<12} {'median ms':>10}")
    for name, vals in stages.items():
        print(f"{name:<12} {median_ms(vals):>10.2f}")
    base = median_ms(stages["numpy_pass"])
    core = median_ms(stages["core_step"])
    print(f"ratio core_step / numpy_pass = {core / base:.2f}x  (target: core step <= 15 ms median)")


if __name__ == "__main__":
    main()
