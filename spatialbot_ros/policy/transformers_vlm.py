"""Local VLMs through Hugging Face transformers (torch and transformers are imported lazily).

Prompt formats:
- `chat_template`: the processor's own chat template (LLaVA, Qwen2.5-VL, ...), images then question.
- `spatialbot`: SpatialBot's single-turn template (`<image 1>`/`<image 2>` slots) run through a
  standard processor, whose image token fills each slot.
- `bunny`: the released SpatialBot/Bunny checkpoints (trust_remote_code): the template is
  tokenized around the image slots, which become the negative ids -201, -202 that their remote
  code replaces with `model.process_images(...)` features; generation is `model.generate(input_ids,
  images=...)`. That path needs the real checkpoint (RussRobin/SpatialBot-3B) and is not run in CI.
- `auto`: `bunny` for a model with `process_images`, else `chat_template` when the processor has
  one, else `spatialbot`.

Processors that cannot load here (Qwen2.5-VL's needs torchvision for its video half) fall back to
the image processor + tokenizer, with the image placeholder expanded from `image_grid_thw` as the
Qwen-VL processors do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatialbot_ros.policy.vlm_client import VlmError, VlmRequest
from spatialbot_ros.policy.vlm_prompts import SPATIALBOT_IMAGE_SLOTS, spatialbot_prompt

log = logging.getLogger(__name__)

PROMPT_FORMATS = ("auto", "chat_template", "spatialbot", "bunny")
DTYPES = ("auto", "float32", "float16", "bfloat16")
BUNNY_IMAGE_IDS = (-201, -202)  # SpatialBot's placeholders for image 1 and image 2


@dataclass(frozen=True)
class TransformersVlmConfig:
    model: str                       # local directory or hub id (e.g. RussRobin/SpatialBot-3B)
    prompt_format: str = "auto"
    trust_remote_code: bool = False
    dtype: str = "auto"
    device: str = "cpu"              # cpu, cuda, cuda:1, ...
    local_files_only: bool = False   # True: never reach the hub

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("transformers backend: model (a directory or hub id) must be set")
        if self.prompt_format not in PROMPT_FORMATS:
            raise ValueError(f"transformers backend: prompt_format must be one of {PROMPT_FORMATS}, "
                             f"not {self.prompt_format!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"transformers backend: dtype must be one of {DTYPES}, not {self.dtype!r}")
        if self.prompt_format == "bunny" and not self.trust_remote_code:
            raise ValueError("transformers backend: prompt_format 'bunny' (SpatialBot checkpoints) needs "
                             "trust_remote_code: true")


def bunny_input_ids(tokenizer: Any, prompt: str, n_images: int) -> list[int]:
    """SpatialBot's input ids: the template tokenized around the image slots, each slot one
    negative placeholder id; the second chunk's BOS (if the tokenizer adds one) is dropped."""
    marker = "".join(f"{s}\n" for s in SPATIALBOT_IMAGE_SLOTS[:n_images])
    if prompt.count(marker) != 1:
        raise VlmError("SpatialBot prompt must contain the image slots exactly once")
    head, tail = prompt.split(marker)
    head_ids = list(tokenizer(head).input_ids)
    tail_ids = list(tokenizer(tail).input_ids)
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is not None and tail_ids and tail_ids[0] == bos:
        tail_ids = tail_ids[1:]
    return head_ids + list(BUNNY_IMAGE_IDS[:n_images]) + tail_ids


def _pil(images: Sequence[np.ndarray]) -> list[Any]:
    from PIL import Image

    return [Image.fromarray(np.ascontiguousarray(im)) for im in images]


class _GridProcessor:
    """Image processor + tokenizer for Qwen-VL-style models when their AutoProcessor cannot load:
    each image placeholder becomes grid_t*grid_h*grid_w / merge_size**2 copies."""

    def __init__(self, image_processor: Any, tokenizer: Any) -> None:
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.chat_template = getattr(tokenizer, "chat_template", None)

    def apply_chat_template(self, messages: list[dict[str, Any]], **kwargs: Any) -> str:
        return self.tokenizer.apply_chat_template(messages, **kwargs)

    def __call__(self, images: list[Any], text: str, return_tensors: str = "pt") -> dict[str, Any]:
        pix = self.image_processor(images=images, return_tensors=return_tensors) if images else {}
        if images:
            merge = int(getattr(self.image_processor, "merge_size", 2))
            counts = [int(g.prod()) // merge**2 for g in pix["image_grid_thw"]]
            parts = text.split(self.image_token)
            if len(parts) != len(counts) + 1:
                raise VlmError(f"prompt has {len(parts) - 1} image placeholders for {len(counts)} images")
            text = parts[0] + "".join(self.image_token * c + p for c, p in zip(counts, parts[1:], strict=True))
        enc = self.tokenizer(text, return_tensors=return_tensors)
        return {**dict(enc), **dict(pix)}


class TransformersVlm:
    """VlmClient for a local transformers VLM. `logits_processors` are passed to every generate
    call, after their `reset()` if they have one (constrained decoding; tests force token sequences
    through the real generation loop with them)."""

    def __init__(self, config: TransformersVlmConfig, logits_processors: Sequence[Any] = ()) -> None:
        self.config = config
        self.name = f"transformers:{config.model}"
        self.logits_processors = list(logits_processors)
        self._load()

    # ---- loading ------------------------------------------------------------------------------

    def _torch_dtype(self) -> Any:
        import torch

        return {"auto": "auto", "float32": torch.float32, "float16": torch.float16,
                "bfloat16": torch.bfloat16}[self.config.dtype]

    def _load(self) -> None:
        try:
            import torch  # noqa: F401
            import transformers
        except ImportError as e:
            raise VlmError("the transformers backend needs torch and transformers "
                           "(scripts/setup.sh learn installs them)") from e
        cfg = self.config
        common = {"trust_remote_code": cfg.trust_remote_code, "local_files_only": cfg.local_files_only}
        fmt = cfg.prompt_format
        try:
            if fmt == "bunny" or (fmt == "auto" and cfg.trust_remote_code and self._is_bunny(common)):
                self.model = transformers.AutoModelForCausalLM.from_pretrained(cfg.model, dtype=self._torch_dtype(), **common)
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(cfg.model, **common)
                self.processor = None
                fmt = "bunny"
            else:
                self.model = self._load_image_text_model(common)
                self.processor = self._load_processor(common)
                self.tokenizer = self.processor.tokenizer
        except (OSError, ValueError, KeyError) as e:
            raise VlmError(f"cannot load VLM '{cfg.model}': {e}") from e
        if fmt == "auto":
            fmt = "chat_template" if getattr(self.processor, "chat_template", None) else "spatialbot"
        self.prompt_format = fmt
        self.model.to(cfg.device).eval()
        log.info("transformers VLM %s loaded (%s, prompt format %s, device %s)", cfg.model,
                 type(self.model).__name__, fmt, cfg.device)

    def _load_image_text_model(self, common: dict[str, Any]) -> Any:
        """AutoModelForImageTextToText; remote-code models registered only as causal LMs (Magma-8B)
        load through AutoModelForCausalLM."""
        import transformers

        try:
            return transformers.AutoModelForImageTextToText.from_pretrained(
                self.config.model, dtype=self._torch_dtype(), **common)
        except ValueError:
            if not self.config.trust_remote_code:
                raise
            return transformers.AutoModelForCausalLM.from_pretrained(self.config.model, dtype=self._torch_dtype(), **common)

    def _is_bunny(self, common: dict[str, Any]) -> bool:
        import transformers

        conf = transformers.AutoConfig.from_pretrained(self.config.model, **common)
        return "bunny" in str(getattr(conf, "model_type", "")).lower() or bool(getattr(conf, "mm_vision_tower", None))

    def _load_processor(self, common: dict[str, Any]) -> Any:
        import transformers

        try:
            return transformers.AutoProcessor.from_pretrained(self.config.model, **common)
        except (ImportError, AttributeError, OSError, ValueError) as e:
            log.info("AutoProcessor for %s unavailable (%s); using image processor + tokenizer", self.config.model,
                     str(e).strip().splitlines()[0])
            return _GridProcessor(transformers.AutoImageProcessor.from_pretrained(self.config.model, **common),
                                  transformers.AutoTokenizer.from_pretrained(self.config.model, **common))

    # ---- prompting ----------------------------------------------------------------------------

    def prompt_text(self, request: VlmRequest) -> str:
        """The full prompt string (before image-token expansion) for a request."""
        n = len(request.images)
        if self.prompt_format in ("spatialbot", "bunny"):
            text = spatialbot_prompt(request.question, n, request.assistant_prefix)
            if self.prompt_format == "spatialbot":
                token = getattr(self.processor, "image_token", None) or "<image>"
                for slot in SPATIALBOT_IMAGE_SLOTS[:n]:
                    text = text.replace(slot, token)
            return text
        content = [{"type": "image"} for _ in range(n)] + [{"type": "text", "text": request.question}]
        text = self.processor.apply_chat_template([{"role": "user", "content": content}],
                                                  add_generation_prompt=True, tokenize=False)
        return text + request.assistant_prefix

    def _inputs(self, request: VlmRequest) -> dict[str, Any]:
        import torch

        text = self.prompt_text(request)
        if self.prompt_format == "bunny":
            ids = bunny_input_ids(self.tokenizer, text, len(request.images))
            images = self.model.process_images(_pil(request.images), self.model.config)
            return {"input_ids": torch.tensor([ids], dtype=torch.long, device=self.model.device),
                    "images": images.to(dtype=self.model.dtype, device=self.model.device)}
        enc = self.processor(images=_pil(request.images) or None, text=text, return_tensors="pt")
        return {k: (v.to(self.model.device) if hasattr(v, "to") else v) for k, v in dict(enc).items()}

    # ---- generation ---------------------------------------------------------------------------

    def _generate_ids(self, request: VlmRequest, min_new_tokens: int = 0) -> Any:
        import torch
        from transformers import LogitsProcessorList

        for proc in self.logits_processors:  # stateful processors start each generation afresh
            if hasattr(proc, "reset"):
                proc.reset()
        inputs = self._inputs(request)
        n_in = int(inputs["input_ids"].shape[1])
        kwargs: dict[str, Any] = {"max_new_tokens": request.max_new_tokens, "do_sample": False,
                                  "logits_processor": LogitsProcessorList(self.logits_processors)}
        if min_new_tokens:
            kwargs["min_new_tokens"] = min_new_tokens
        pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is not None:
            kwargs["pad_token_id"] = pad
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        return out[0, n_in:]

    def generate(self, request: VlmRequest) -> str:
        try:
            ids = self._generate_ids(request)
        except (RuntimeError, ValueError, IndexError) as e:
            raise VlmError(f"generation failed: {e}") from e
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def generate_token_ids(self, request: VlmRequest, n_tokens: int) -> list[int]:
        """Exactly `n_tokens` new token ids (Magma/OpenVLA action tokens)."""
        req = VlmRequest(request.question, request.images, request.assistant_prefix, n_tokens)
        try:
            ids = self._generate_ids(req, min_new_tokens=n_tokens)
        except (RuntimeError, ValueError, IndexError) as e:
            raise VlmError(f"generation failed: {e}") from e
        return [int(i) for i in ids[-n_tokens:]]

    @property
    def vocab_size(self) -> int:
        conf = self.model.config
        text = getattr(conf, "text_config", None) or conf
        return int(text.vocab_size)
