"""ONNX Runtime execution providers side by side: the shipped policy network (and, with
--vision-encoder, an exported VLM vision encoder) on every provider this onnxruntime build offers,
each against CPU in the same run.

Prints per provider: the providers the session actually runs on (ORT falls back silently, so this
is read back from the session), batch-1 median latency, the ratio to CPU, and the max abs output
difference to CPU. Inputs are seeded random tensors of the model's metadata shapes: latency does
not depend on their values, and parity is checked on the same tensors.
Run: `python bench/bench_providers.py [--model-dir DIR] [--vision-encoder ONNX] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import numpy as np

from spatialbot_ros.policy.onnx_policy import MODEL_DIR
from spatialbot_ros.policy.ort_providers import PROVIDER_NAMES, ProviderConfig, make_session


def _inputs(session, batch: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in session.get_inputs():
        shape = [batch if not isinstance(d, int) else d for d in inp.shape]
        feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
        if "valid" in inp.name:
            feeds[inp.name] = (feeds[inp.name] > -0.5).astype(np.float32)
    return feeds


def _median_ms(session, feeds, repeat: int) -> float:
    for _ in range(10):
        session.run(None, feeds)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def compare(model: Path, repeat: int, fp16: bool, cache: str, batch: int = 1) -> list[dict]:
    """Rows: each provider alone (CUDA with and without TF32), then the default preference order
    (what the onnx policy runs on), each against the CPU row."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    configs = {
        "cpu": ProviderConfig(preference=("cpu",)),
        "cuda": ProviderConfig(preference=("cuda",)),
        "cuda_tf32": ProviderConfig(preference=("cuda",), cuda_tf32=True),
        "tensorrt": ProviderConfig(preference=("tensorrt",), trt_fp16=fp16, trt_engine_cache_dir=cache),
        "default": ProviderConfig(trt_fp16=fp16, trt_engine_cache_dir=cache),
    }
    rows = []
    ref_out = None
    cpu_ms = None
    for key, cfg in configs.items():
        if key != "default" and PROVIDER_NAMES[cfg.preference[0]] not in available:
            rows.append({"provider": key, "available": False})
            continue
        session = make_session(model, cfg)
        feeds = _inputs(session, batch, 0)
        out = session.run(None, feeds)
        ms = _median_ms(session, feeds, repeat)
        if key == "cpu":
            ref_out, cpu_ms = out, ms
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(out, ref_out, strict=True))
        rows.append({"provider": key, "available": True, "runs_on": session.get_providers(), "median_ms": ms,
                     "speedup_vs_cpu": cpu_ms / ms, "max_abs_diff_vs_cpu": diff})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--vision-encoder", type=Path, default=None, help="an ONNX file from export_vision_encoder")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--fp16", action="store_true", help="TensorRT fp16")
    parser.add_argument("--trt-cache", default="", help="TensorRT engine cache directory")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import onnxruntime as ort

    print(f"onnxruntime {ort.__version__}; available providers: {ort.get_available_providers()}")
    models = {"policy": args.model_dir / "policy.onnx"}
    if args.vision_encoder is not None:
        models["vision_encoder"] = args.vision_encoder
    report = {}
    for name, path in models.items():
        rows = compare(path, args.repeat, args.fp16, args.trt_cache)
        report[name] = rows
        print(f"\n{name} ({path.name}), batch 1, median of {args.repeat}:")
        for r in rows:
            if not r["available"]:
                print(f"  {r['provider']:<10} not in this onnxruntime build")
                continue
            print(f"  {r['provider']:<10} {r['median_ms']:8.3f} ms  x{r['speedup_vs_cpu']:5.2f} vs CPU  "
                  f"max|diff| {r['max_abs_diff_vs_cpu']:.2e}  runs on {r['runs_on']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
