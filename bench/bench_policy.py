"""Learned-policy latency: ONNX Runtime (CPU) vs PyTorch eager, batch 1, in the same run.

Inputs are real: scenes rendered by the MuJoCo cell, marks from the SoM proposer, the instruction
embedded by the text encoder. Prints medians for
  network only: PyTorch eager vs ONNX Runtime on identical inputs (and the ratio),
  control step: OnnxPolicy.step without a new frame (proprioception -> ONNX -> action),
  contact step: with a new frame (image preprocessing + ONNX + contact judgment),
  perception step: the first step of an episode (SoM proposals + mark features + ONNX + grounding).
Both runtimes use the same thread count (--threads).
Run: `python bench/bench_policy.py [--model-dir DIR] [--scenes N] [--repeat N] [--threads N]`.
"""

# ruff: noqa: B023  (the per-scene closures are called only inside their own loop iteration)
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from spatialbot_ros.core.task import TaskPhase
from spatialbot_ros.learn.model import INPUT_NAMES
from spatialbot_ros.policy.base import Observation
from spatialbot_ros.policy.onnx_policy import MODEL_DIR, OnnxPolicy, OnnxPolicyConfig
from spatialbot_ros.policy.ort_providers import ProviderConfig
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.scene_generator import generate_scene


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--scenes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from spatialbot_ros.learn.model import NetConfig, SpatialPolicyNet

    torch.set_num_threads(args.threads)
    ckpt = torch.load(args.model_dir / "model.pt", weights_only=False)
    net = SpatialPolicyNet(ckpt["mark_mean"], ckpt["mark_std"], NetConfig(**ckpt["net_config"]))
    net.load_state_dict(ckpt["state_dict"])
    net.eval()
    policy = OnnxPolicy(OnnxPolicyConfig(model_dir=str(args.model_dir),
                                         providers=ProviderConfig(preference=("cpu",), intra_op_threads=args.threads)))
    print(f"providers: {policy.providers}; threads: {args.threads}")

    rng = np.random.default_rng(args.seed)
    stages: dict[str, list[float]] = {k: [] for k in ("torch_eager", "onnxruntime", "control_step", "contact_step",
                                                       "perception_step")}
    feeds_seen = 0
    for _ in range(args.scenes):
        scene = generate_scene(int(rng.integers(0, 2**31 - 1)))
        cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
        cell.reset()
        frame = cell.render_rgbd()
        tcp = cell.tcp_pose()
        width = 0.085
        tips = np.stack([tcp[:3, 3], tcp[:3, 3]])

        def obs(phase: TaskPhase, with_frame: bool) -> Observation:
            return Observation(scene.instruction, phase, tcp, width, tips, cell.base_from_camera,
                               frame if with_frame else None)

        def perception() -> None:
            policy.reset(scene.instruction)
            policy.step(obs(TaskPhase.APPROACH, True))

        stages["perception_step"].append(_median_ms(perception, max(3, args.repeat // 10)))
        first = policy.step(obs(TaskPhase.APPROACH, False))
        if not first.ok:
            cell.close()
            continue
        feeds = {}
        original = policy.session.run

        def capture(names, f, _orig=original):
            feeds.update(f)
            return _orig(names, f)

        policy.session.run = capture
        policy.step(obs(TaskPhase.DESCEND, False))
        policy.session.run = original
        tensors = tuple(torch.from_numpy(feeds[k]) for k in INPUT_NAMES)

        def torch_forward() -> None:
            with torch.no_grad():
                net(*tensors)

        def ort_forward() -> None:
            policy.session.run(None, feeds)

        torch_forward()
        ort_forward()
        stages["torch_eager"].append(_median_ms(torch_forward, args.repeat))
        stages["onnxruntime"].append(_median_ms(ort_forward, args.repeat))
        stages["control_step"].append(_median_ms(lambda: policy.step(obs(TaskPhase.DESCEND, False)), args.repeat))
        stages["contact_step"].append(_median_ms(lambda: policy.step(obs(TaskPhase.CHECK_CONTACT, True)), args.repeat))
        feeds_seen += 1
        cell.close()

    print(f"{feeds_seen} scenes x {args.repeat} repeats, batch 1, 640x480 frames")
    print(f"{'stage':<18}{'median ms':>12}")
    for k, v in stages.items():
        if v:
            print(f"{k:<18}{statistics.median(v):>12.3f}")
    t, o = statistics.median(stages["torch_eager"]), statistics.median(stages["onnxruntime"])
    print(f"ONNX Runtime vs PyTorch eager (network only): {t / o:.2f}x faster")
    print(f"whole control step: {statistics.median(stages['control_step']):.2f} ms; "
          f"with a new frame (contact): {statistics.median(stages['contact_step']):.2f} ms; "
          f"first step with SoM proposals: {statistics.median(stages['perception_step']):.2f} ms")


if __name__ == "__main__":
    main()
