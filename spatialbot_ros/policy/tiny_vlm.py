"""Tiny random-weight VLMs of real transformers architectures, built offline.

They exercise everything between a user's model directory and a parsed answer (loading, processors,
prompt formats, generation, the Depth loop, action tokens, ONNX export of the vision encoder) without
the hub. Their answers are noise; tests force token sequences to check the protocol. The tokenizer
is a byte-level BPE trained on a few prompts, so any text round-trips exactly.
"""

from __future__ import annotations

from pathlib import Path

ARCHITECTURES = ("llava", "qwen2_5_vl")

_CORPUS = [
    "Which mark is the red cup? Answer with 'Mark k' for exactly one k. Mark 3",
    "Depth(0.50,0.25)=612 Depth(0.1,0.9)=unknown mm millimetres",
    "Is the robot's gripper touching the blue box? yes no [0.01, -0.02, 0.0, 0.0, 0.0, 0.1, 1]",
    "A chat between a curious user and an artificial intelligence assistant. USER: ASSISTANT:",
    "What action should the robot take to pick up the green ball?",
]
_LLAVA_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() }}: {% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for c in message['content'] %}{% if c['type'] == 'image' %}<image>\n"
    "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %} {% endfor %}{% if add_generation_prompt %}"
    "ASSISTANT:{% endif %}")
_QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for c in message['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tokenizer(specials: list[str], vocab_size: int, **named: str):  # noqa: ANN202 (transformers type)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS * 4, trainer)
    extra = {k: v for k, v in named.items() if k.endswith("_token") and k not in ("bos_token", "eos_token", "pad_token")}
    base = {k: v for k, v in named.items() if k in ("bos_token", "eos_token", "pad_token")}
    return PreTrainedTokenizerFast(tokenizer_object=tok, extra_special_tokens=extra, **base)


def build_tiny_vlm(arch: str, out_dir: Path | str, seed: int = 0, vocab_size: int = 320) -> Path:
    """Write a tiny `arch` model + processor files to out_dir (loadable with from_pretrained)."""
    import torch

    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown tiny architecture {arch!r}; choose one of {ARCHITECTURES}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    if arch == "llava":
        _build_llava(out, vocab_size)
    else:
        _build_qwen2_5_vl(out, vocab_size)
    return out


def _build_llava(out: Path, vocab_size: int) -> None:
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = _tokenizer(["<pad>", "<s>", "</s>", "<image>"], vocab_size, bos_token="<s>", eos_token="</s>",
                     pad_token="<pad>", image_token="<image>")
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=56, patch_size=14, projection_dim=32)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_layer=-1, vision_feature_select_strategy="default")
    LlavaForConditionalGeneration(config).eval().save_pretrained(out)
    images = CLIPImageProcessorPil(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56})
    LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                   num_additional_image_tokens=1, chat_template=_LLAVA_TEMPLATE).save_pretrained(out)


def _build_qwen2_5_vl(out: Path, vocab_size: int) -> None:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
    tok = _tokenizer(specials, vocab_size, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                     image_token="<|image_pad|>", video_token="<|video_pad|>")
    ids = {s: tok.convert_tokens_to_ids(s) for s in specials}
    config = Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 2048,
                     "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
                     "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"], "bos_token_id": None},
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
                       "fullatt_block_indexes": [1]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    Qwen2_5_VLForConditionalGeneration(config).eval().save_pretrained(out)
    tok.chat_template = _QWEN_TEMPLATE
    tok.save_pretrained(out)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14, merge_size=2,
                             temporal_patch_size=2).save_pretrained(out)
