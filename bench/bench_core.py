"""Core step latency on 640x480 RGB-D frames with 3-6 objects (rendered by the MuJoCo cell).

Prints per-stage medians (proposals, grounding, grasp, contact, delta), the whole core step, and a
baseline measured in the same run on the same frames: one plain numpy pass (depth -> metres ->
organised point cloud -> mean). Run: `python bench/bench_core.py [--frames N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from spatialbot_ros.core.contact import ContactConfig, judge_contact
from spatialbot_ros.core.ee_delta import StepLimits, compute_ee_delta
from spatialbot_ros.core.geometry import to_base
from spatialbot_ros.core.grasp import GraspConfig, plan_top_down_grasp
from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.som_proposer import GeometricProposer
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.scene_generator import generate_scene


def frames_with_objects(n: int, seed: int, min_objects: int = 3):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        scene = generate_scene(int(rng.integers(0, 2**31 - 1)), n_objects=(min_objects, 6))
        cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
        cell.reset()
        out.append((cell.render_rgbd(), cell.base_from_camera, scene.instruction, cell.tcp_pose()))
        cell.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = frames_with_objects(args.frames, args.seed)
    proposer = GeometricProposer()
    limits, gcfg, ccfg = StepLimits(), GraspConfig(), ContactConfig()
    stages: dict[str, list[float]] = {s: [] for s in ("proposals", "grounding", "grasp", "contact", "delta",
                                                       "core_step", "numpy_pass")}
    n_marks = []
    for _ in range(args.repeat):
        for frame, base_from_camera, text, tcp in data:
            t0 = time.perf_counter()
            props = proposer.propose(frame, base_from_camera)
            t1 = time.perf_counter()
            g = ground_instruction(text, props.marks, None, base_from_camera)
            t2 = time.perf_counter()
            mark = props.by_id(g.pick_mark_id)
            grasp = plan_top_down_grasp(to_base(mark.points_cam, base_from_camera), gcfg,
                                        round_object=mark.shape in ("cylinder", "sphere"))
            t3 = time.perf_counter()
            y = grasp.grasp_pose[:3, 1] * (grasp.width_m / 2 + 0.004)
            tips = np.stack([grasp.grasp_pose[:3, 3] + y, grasp.grasp_pose[:3, 3] - y])
            judge_contact(frame, tips, mark.mask, ccfg, base_from_camera, "base", reference_depth_mm=frame.depth_mm)
            t4 = time.perf_counter()
            compute_ee_delta(tcp, grasp.pregrasp_pose, limits)
            t5 = time.perf_counter()
            for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0), strict=False):
                stages[key].append(value)
            n_marks.append(len(props.marks))

            t0 = time.perf_counter()
            k = frame.intrinsics
            z = frame.depth_mm.astype(np.float32) * np.float32(1e-3)
            v, u = np.mgrid[0:k.height, 0:k.width]
            pts = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], axis=-1)
            pts[z > 0].mean(axis=0)
            stages["numpy_pass"].append(time.perf_counter() - t0)

    print(f"core step: {len(data)} frames x {args.repeat}, 640x480, {min(n_marks)}-{max(n_marks)} marks per frame")
    print(f"{'stage':<12} {'median ms':>10} {'p90 ms':>8}")
    for name, vals in stages.items():
        print(f"{name:<12} {statistics.median(vals) * 1e3:>10.2f} {np.percentile(vals, 90) * 1e3:>8.2f}")
    core = statistics.median(stages["core_step"]) * 1e3
    base = statistics.median(stages["numpy_pass"]) * 1e3
    print(f"ratio core_step / numpy_pass = {core / base:.2f}x (target: core step <= 15 ms median)")


if __name__ == "__main__":
    main()
