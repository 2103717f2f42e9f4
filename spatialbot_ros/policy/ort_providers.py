"""ONNX Runtime execution providers: TensorRT, then CUDA, then CPU, from what this machine has.

The choice is logged, so a run on a GPU cell says whether TensorRT actually ran. onnxruntime-gpu
lists TensorRT as available whether or not the TensorRT libraries are installed, and a session
asked for it without them falls back noisily (on an H100 with CUDA 13 it fell back to the CPU alone
when CUDA was not also named), so TensorRT is only asked for when libnvinfer loads. CUDA runs with
TF32 off by default: on that H100, TF32 put the policy's outputs 2.8e-3 from the CPU's.
"""

from __future__ import annotations

import ctypes
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
    cuda_tf32: bool = False             # TF32 matmuls: faster on Ampere+, but ~1e-3 from fp32 results
    intra_op_threads: int = 1

    def __post_init__(self) -> None:
        unknown = [p for p in self.preference if p not in PROVIDER_NAMES]
        if unknown or not self.preference:
            raise ValueError(f"providers must be a non-empty list of {list(PROVIDER_NAMES)}; got {list(self.preference)}")


TENSORRT_LIBRARIES = ("libnvinfer.so.10", "libnvinfer.so.11", "libnvinfer.so")


def tensorrt_loadable() -> bool:
    """Whether the TensorRT runtime library can be loaded (LD_LIBRARY_PATH, ldconfig, tensorrt_libs)."""
    for lib in TENSORRT_LIBRARIES:
        try:
            ctypes.CDLL(lib)
            return True
        except OSError:
            continue
    try:
        import tensorrt_libs  # noqa: F401  (pip TensorRT: importing it loads its libraries)
    except ImportError:
        return False
    return True


def select_providers(config: ProviderConfig, available: list[str] | None = None,
                     trt_loadable: bool | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(provider, options) in preference order, keeping only those this onnxruntime build offers
    (and TensorRT only when its libraries load). CPU is always appended last so a session can
    always be created."""
    if available is None:
        import onnxruntime as ort

        available = list(ort.get_available_providers())
    chosen: list[tuple[str, dict[str, Any]]] = []
    for key in config.preference:
        name = PROVIDER_NAMES[key]
        if name not in available:
            continue
        if key == "tensorrt" and not (tensorrt_loadable() if trt_loadable is None else trt_loadable):
            log.warning("onnxruntime offers TensorRT but libnvinfer does not load; skipping it (install TensorRT "
                        "or the tensorrt-cu13 wheel to use it)")
            continue
        if key == "tensorrt":
            cache = Path(config.trt_engine_cache_dir or Path.home() / ".cache" / "spatialbot_ros" / "trt")
            chosen.append((name, {"device_id": config.cuda_device_id, "trt_fp16_enable": config.trt_fp16,
                                  "trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
                                  "trt_max_workspace_size": config.trt_max_workspace_bytes}))
        elif key == "cuda":
            chosen.append((name, {"device_id": config.cuda_device_id, "use_tf32": int(config.cuda_tf32)}))
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
