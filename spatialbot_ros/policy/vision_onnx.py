"""The vision encoder of a transformers VLM (vision tower + projector) as an ONNX model, run with
ONNX Runtime on the same TensorRT -> CUDA -> CPU providers as the onnx policy.

The image features are the expensive, fixed-shape part of a LLaVA-family VLM; exporting them lets
a GPU deployment run them under TensorRT. Supported: models whose `get_image_features` takes
fixed-size `pixel_values` (LLaVA and its CLIP/SigLIP relatives). Qwen-VL encoders take a variable
patch list with a grid and are not exported.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.policy.ort_providers import ProviderConfig, make_session

log = logging.getLogger(__name__)

INPUT_NAME = "pixel_values"
OUTPUT_NAME = "image_features"


@dataclass(frozen=True)
class VisionExport:
    onnx_path: str
    image_size: int
    num_tokens: int
    feature_dim: int
    opset: int
    max_abs_diff: float


def _encoder_module(model: Any) -> Any:
    """Vision tower -> feature layer -> (drop CLS) -> projector, batched: the same computation as
    the model's get_image_features (the export is checked against it), without its per-image list."""
    import torch

    inner = getattr(model, "model", model)
    conf = model.config
    if not all(hasattr(inner, a) for a in ("get_image_features", "vision_tower", "multi_modal_projector")):
        raise ValueError(f"{type(model).__name__} has no fixed-size vision tower + projector to export")
    layers = conf.vision_feature_layer
    strategy = conf.vision_feature_select_strategy

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tower = inner.vision_tower
            self.projector = inner.multi_modal_projector

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            hidden = self.tower(pixel_values, output_hidden_states=True).hidden_states
            picked = [hidden[i] for i in ([layers] if isinstance(layers, int) else layers)]
            if strategy == "default":
                picked = [h[:, 1:] for h in picked]
            return self.projector(torch.cat(picked, dim=-1))

    return inner, Encoder().eval()


def _reference_features(inner: Any, x: Any) -> np.ndarray:
    import torch

    out = inner.get_image_features(pixel_values=x)
    feats = out.pooler_output if hasattr(out, "pooler_output") else out
    return (torch.stack(list(feats)) if isinstance(feats, (list, tuple)) else feats).numpy()


def export_vision_encoder(model_dir: Path | str, out_path: Path | str, opset: int = 17, batch: int = 2,
                          seed: int = 0) -> VisionExport:
    """Export, then check ONNX Runtime (CPU) against PyTorch on random pixels; writes a JSON sidecar."""
    import torch
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    vision_conf = model.config.vision_config
    size = int(vision_conf.image_size)
    inner, enc = _encoder_module(model)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, size, size, generator=gen)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        ref = _reference_features(inner, x)
    torch.onnx.export(enc, (x,), str(out_path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                      dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, opset_version=opset,
                      dynamo=False)
    got = VisionEncoderOnnx(out_path, ProviderConfig(preference=("cpu",)))(x.numpy())
    diff = float(np.max(np.abs(got - ref)))
    info = VisionExport(str(out_path), size, int(ref.shape[1]), int(ref.shape[2]), opset, diff)
    out_path.with_suffix(".json").write_text(json.dumps(asdict(info), indent=2))
    log.info("vision encoder exported to %s: %d tokens x %d, parity %.2e", out_path, info.num_tokens,
             info.feature_dim, diff)
    return info


class VisionEncoderOnnx:
    """pixel_values (N, 3, S, S) float32 -> image features (N, tokens, dim)."""

    def __init__(self, onnx_path: Path | str, providers: ProviderConfig | None = None) -> None:
        self.session = make_session(Path(onnx_path), providers or ProviderConfig())
        self.providers = self.session.get_providers()
        shape = self.session.get_inputs()[0].shape
        self.image_size = int(shape[-1]) if isinstance(shape[-1], int) else None

    def __call__(self, pixel_values: np.ndarray) -> np.ndarray:
        x = np.asarray(pixel_values, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3 or (self.image_size and x.shape[2:] != (self.image_size, self.image_size)):
            raise ValueError(f"vision encoder: pixel_values must be (N, 3, {self.image_size}, {self.image_size}), "
                             f"got {x.shape}")
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
