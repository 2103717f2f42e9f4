"""ONNX Runtime execution providers: TensorRT, then CUDA, then CPU, from what this machine has.

The choice is logged, so a run on a GPU cell says whether TensorRT actually ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROVIDER_NAMES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
                  "cpu": "CPUExecutionProvider"}


@dataclass(frozen=True)
class ProviderConfig:
    preference: tuple[str, ...] = ("tensorrt", "cuda", "cpu")
    trt_fp16: bool = True
    trt_engine_cache_dir: str = ""      # "" -> ~/.cache/spatialbot_ros/trt
    trt_max_workspace_bytes: int = 1 << 30
    cuda_device_id: int = 0
    intra_op_threads: int = 1

    def __post_init__(self) -> None:
        unknown = [p for p in self.preference if p not in PROVIDER_NAMES]
        if unknown or not self.preference:
            raise ValueError(f"providers must be a non-empty list of {list(PROVIDER_NAMES)}; got {list(self.preference)}")


def select_providers(config: ProviderConfig, available: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(provider, options) in preference order, keeping only those this onnxruntime build offers.
    CPU is always appended last so a session can always be created."""
    if available is None:
        import onnxruntime as ort

        available = list(ort.get_available_providers())
    chosen: list[tuple[str, dict[str, Any]]] = []
    for key in config.preference:
        name = PROVIDER_NAMES[key]
        if name not in available:
            continue
        if key == "tensorrt":
            cache = Path(config.trt_engine_cache_dir or Path.home() / ".cache" / "spatialbot_ros" / "trt")
            chosen.append((name, {"device_id": config.cuda_device_id, "trt_fp16_enable": config.trt_fp16,
                                  "trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
                                  "trt_max_workspace_size": config.trt_max_workspace_bytes}))
        elif key == "cuda":
            chosen.append((name, {"device_id": config.cuda_device_id}))
        else:
            chosen.append((name, {}))
    if not any(n == PROVIDER_NAMES["cpu"] for n, _ in chosen):
        chosen.append((PROVIDER_NAMES["cpu"], {}))
    return chosen


def make_session(model_path: Path, config: ProviderConfig) -> Any:
    """An InferenceSession on the best available provider; logs what it asked for and what it got."""
    import onnxruntime as ort

    providers = select_providers(config)
    for name, opts in providers:
        if name == PROVIDER_NAMES["tensorrt"]:
            Path(opts["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = config.intra_op_threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_path), sess_options=so, providers=[p for p, _ in providers],
                                   provider_options=[o for _, o in providers])
    log.info("ONNX Runtime %s: asked for %s, running on %s", ort.__version__, [p for p, _ in providers],
             session.get_providers())
    return session
