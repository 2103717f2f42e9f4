"""Local VLM backend plumbing speed: transformers generation of a fixed number of tokens on the
requested device/dtype against CPU float32 in the same run, on tiny offline LLaVA and Qwen2.5-VL
models (or --model DIR), with the two SpatialBot images (RGB + spatialbot16 depth).

The tiny models measure the backend's overhead (processor, prompt, image tokens, generate loop),
not a real VLM's speed. Optionally exports the LLaVA vision encoder to ONNX (--export-vision).
Run: `python bench/bench_vlm.py [--device cuda] [--dtype bfloat16] [--tokens 16] [--repeat 10]`.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from spatialbot_ros.core.depth_encoding import encode_depth
from spatialbot_ros.policy.tiny_vlm import ARCHITECTURES, build_tiny_vlm
from spatialbot_ros.policy.transformers_vlm import TransformersVlm, TransformersVlmConfig
from spatialbot_ros.policy.vlm_client import VlmRequest


def _median_ms(vlm: TransformersVlm, req: VlmRequest, tokens: int, repeat: int, sync) -> float:
    vlm.generate_token_ids(req, tokens)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ids = vlm.generate_token_ids(req, tokens)
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
        assert len(ids) == tokens
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="a model directory (default: tiny models)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--export-vision", type=Path, default=None, help="write the LLaVA vision encoder ONNX here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    depth = encode_depth(rng.integers(300, 3000, (480, 640)).astype(np.uint16), "spatialbot16")
    req = VlmRequest("Which mark is the red cup? Answer with 'Mark k'.", [rgb, depth])
    with tempfile.TemporaryDirectory() as tmp:
        models = {"model": args.model} if args.model else {a: build_tiny_vlm(a, Path(tmp) / a) for a in ARCHITECTURES}
        print(f"torch {torch.__version__}, device {args.device} ({args.dtype}) vs cpu (float32), "
              f"{args.tokens} new tokens, median of {args.repeat}")
        for name, path in models.items():
            cpu = TransformersVlm(TransformersVlmConfig(str(path), local_files_only=True))
            base = _median_ms(cpu, req, args.tokens, args.repeat, lambda: None)
            line = f"  {name:<11} cpu {base:8.1f} ms"
            if args.device != "cpu":
                dev = TransformersVlm(TransformersVlmConfig(str(path), local_files_only=True, device=args.device,
                                                            dtype=args.dtype))
                ms = _median_ms(dev, req, args.tokens, args.repeat, sync)
                line += f"   {args.device} {ms:8.1f} ms   cpu/{args.device} {base / ms:5.2f}x   params on " \
                        f"{next(dev.model.parameters()).device} {next(dev.model.parameters()).dtype}"
            print(line)
        if args.export_vision is not None:
            from spatialbot_ros.policy.vision_onnx import export_vision_encoder

            info = export_vision_encoder(models.get("llava", args.model), args.export_vision)
            print(f"vision encoder -> {info.onnx_path}: {info.num_tokens} tokens x {info.feature_dim}, "
                  f"ORT CPU vs torch max|diff| {info.max_abs_diff:.2e}")


if __name__ == "__main__":
    main()
