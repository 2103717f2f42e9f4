"""Local VLM backends on tiny random-weight LLaVA and Qwen2.5-VL models built offline.

Their answers are noise, so a logits processor forces scripted token sequences through the real
`generate` loop: this checks loading, processors, prompt formats, image tokens, the Depth API
loop, parsing, Magma action decoding and the vision-encoder ONNX export end to end.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialbot_ros.core.actions import GripperCommand  # noqa: E402
from spatialbot_ros.core.depth_api import DepthAPI  # noqa: E402
from spatialbot_ros.core.ee_delta import StepLimits  # noqa: E402
from spatialbot_ros.core.errors import GroundingError  # noqa: E402
from spatialbot_ros.core.som_proposer import GeometricProposer  # noqa: E402
from spatialbot_ros.core.task import TaskPhase  # noqa: E402
from spatialbot_ros.policy.base import Observation  # noqa: E402
from spatialbot_ros.policy.magma_policy import MagmaActionConfig, MagmaPolicy, action_from_tokens  # noqa: E402
from spatialbot_ros.policy.registry import make_policy, make_policy_from_params  # noqa: E402
from spatialbot_ros.policy.tiny_vlm import build_tiny_vlm  # noqa: E402
from spatialbot_ros.policy.transformers_vlm import (  # noqa: E402
    BUNNY_IMAGE_IDS,
    TransformersVlm,
    TransformersVlmConfig,
    bunny_input_ids,
)
from spatialbot_ros.policy.vision_onnx import VisionEncoderOnnx, export_vision_encoder  # noqa: E402
from spatialbot_ros.policy.vlm_client import VlmRequest  # noqa: E402
from spatialbot_ros.policy.vlm_grounder import VlmGrounder, VlmGrounderConfig  # noqa: E402
from spatialbot_ros.policy.vlm_prompts import PromptStyle, spatialbot_prompt  # noqa: E402

pytestmark = pytest.mark.sim  # MuJoCo-rendered frames and scenes (module fixtures)


class ForceTokens:
    """Each generate call emits the next scripted token ids, then EOS: the real loop, fixed output."""

    def __init__(self, scripts: list[list[int]], eos: int) -> None:
        self.scripts, self.eos, self.call, self.start = list(scripts), eos, -1, None
        self.prompts: list[int] = []

    def reset(self) -> None:
        self.call += 1
        self.start = None

    def __call__(self, input_ids, scores):
        if self.start is None:
            self.start = input_ids.shape[1]
            self.prompts.append(self.start)
        i = input_ids.shape[1] - self.start
        script = self.scripts[self.call] if self.call < len(self.scripts) else []
        tok = script[i] if i < len(script) else self.eos
        forced = torch.full_like(scores, -float("inf"))
        forced[:, tok] = 0.0
        return forced


def forced_text(vlm: TransformersVlm, answers: list[str]) -> ForceTokens:
    tok = vlm.tokenizer
    proc = ForceTokens([tok(a, add_special_tokens=False).input_ids for a in answers], tok.eos_token_id)
    vlm.logits_processors = [proc]
    return proc


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_vlm")
    return {arch: build_tiny_vlm(arch, root / arch) for arch in ("llava", "qwen2_5_vl")}


@pytest.fixture(scope="module")
def scene(six_object_cell):
    cell, _, frame = six_object_cell
    return cell, frame, GeometricProposer().propose(frame, cell.base_from_camera).marks


def load(path, **kw) -> TransformersVlm:
    return TransformersVlm(TransformersVlmConfig(str(path), local_files_only=True, **kw))


@pytest.mark.parametrize("arch", ["llava", "qwen2_5_vl"])
def test_reload_and_forced_answer_round_trip(tiny_dirs, arch):
    vlm = load(tiny_dirs[arch])
    assert vlm.prompt_format == "chat_template"
    forced_text(vlm, ["It is Mark 3."])
    img = np.zeros((48, 64, 3), np.uint8)
    assert vlm.generate(VlmRequest("Which mark is the red cup?", [img, img])) == "It is Mark 3."


def test_image_tokens_per_image_and_format(tiny_dirs):
    vlm = load(tiny_dirs["llava"], prompt_format="spatialbot")
    img = np.zeros((48, 64, 3), np.uint8)
    req = VlmRequest("Which mark?", [img, img], assistant_prefix="Depth(0.5,0.5)=640")
    text = vlm.prompt_text(req)
    assert text.startswith("A chat between") and "USER: <image>\n<image>\nWhich mark? ASSISTANT: Depth(0.5,0.5)=640" in text
    ids = vlm._inputs(req)["input_ids"][0]
    # LLaVA with a 56 px, 14 px-patch CLIP tower: 16 feature tokens per image, two images
    assert int((ids == vlm.model.config.image_token_id).sum()) == 2 * 16


def test_qwen_grid_processor_expands_each_image(tiny_dirs):
    vlm = load(tiny_dirs["qwen2_5_vl"])
    small, big = np.zeros((56, 56, 3), np.uint8), np.zeros((112, 112, 3), np.uint8)
    inputs = vlm._inputs(VlmRequest("q?", [small, big]))
    n_pad = int((inputs["input_ids"][0] == vlm.model.config.image_token_id).sum())
    assert n_pad == int(inputs["image_grid_thw"].prod(dim=1).sum()) // 4 and n_pad > 0


def test_depth_loop_and_som_grounding_through_generate(tiny_dirs, scene):
    cell, frame, marks = scene
    target = marks[1]
    vlm = load(tiny_dirs["llava"], prompt_format="spatialbot")
    proc = forced_text(vlm, ["Depth(0.5,0.5)", f" mm, so Mark {target.id}"])
    grounder = VlmGrounder(vlm, VlmGrounderConfig(max_new_tokens=24))
    # a phrase that names one object (the shared grounding check refuses an ambiguous "the object")
    g = grounder.ground(f"pick up the {target.color_name} object", frame, marks, cell.base_from_camera)
    assert g.pick_mark_id == target.id
    depth = round(DepthAPI(frame).depth_at(0.5, 0.5))
    assert grounder.last_transcripts[0].text == f"Depth(0.5,0.5)={depth} mm, so Mark {target.id}"
    # the second generation's prompt carried the answered request
    assert proc.prompts[1] > proc.prompts[0]


def test_noise_answer_refuses(tiny_dirs, scene):
    cell, frame, marks = scene
    vlm = load(tiny_dirs["qwen2_5_vl"])
    forced_text(vlm, ["maybe the left one"])
    grounder = VlmGrounder(vlm, VlmGrounderConfig(style=PromptStyle(with_depth=False, depth_tool=False)))
    with pytest.raises(GroundingError, match="VLM answer"):
        grounder.ground("pick up the red cup", frame, marks, cell.base_from_camera)


def test_bunny_input_ids_splice_image_placeholders(tiny_dirs):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_dirs["llava"]))
    prompt = spatialbot_prompt("What is the depth of Mark 2?", 2)
    ids = bunny_input_ids(tok, prompt, 2)
    i = ids.index(BUNNY_IMAGE_IDS[0])
    assert ids[i + 1] == BUNNY_IMAGE_IDS[1] and ids.count(BUNNY_IMAGE_IDS[0]) == 1
    head, tail = prompt.split("<image 1>\n<image 2>\n")
    assert tok.decode(ids[:i], skip_special_tokens=True) == head
    assert tok.decode(ids[i + 2:], skip_special_tokens=True) == tail
    with pytest.raises(ValueError, match="trust_remote_code"):
        TransformersVlmConfig("x", prompt_format="bunny")


def test_magma_tokens_decode_to_clipped_delta(tiny_dirs, scene):
    cell, frame, _ = scene
    vlm = load(tiny_dirs["llava"])
    v = vlm.vocab_size
    bins = [254, 0, 127, 127, 127, 200, 250]          # +x max, -y max, ~0 ..., gripper strongly positive
    vlm.logits_processors = [ForceTokens([[v - 1 - b for b in bins]], vlm.tokenizer.eos_token_id)]
    cfg = MagmaActionConfig(step_limits=StepLimits(max_translation_m=0.02, max_rotation_rad=0.35))
    policy = MagmaPolicy(vlm, cfg)
    policy.reset("pick up the red cup")
    obs = Observation("pick up the red cup", TaskPhase.APPROACH, cell.tcp_pose(), 0.08, cell.fingertip_positions(),
                      cell.base_from_camera, frame)
    step = policy.step(obs)
    assert step.ok, step.error
    assert step.extras["tokens"] == [v - 1 - b for b in bins] and step.marks
    raw = np.array(step.extras["raw_delta"])
    assert raw[0] == pytest.approx(0.03, abs=3e-4) and raw[1] == pytest.approx(-0.03, abs=3e-4)
    assert np.linalg.norm(step.action.delta_translation_m) == pytest.approx(0.02)  # clipped to the step limit
    assert step.action.gripper == GripperCommand.CLOSE
    opened, _ = action_from_tokens([v - 1 - b for b in bins[:6]] + [v - 1 - 10], v,
                                   MagmaActionConfig(gripper_convention="close_positive"))
    assert opened.gripper == GripperCommand.OPEN
    with pytest.raises(ValueError, match="7 integer"):
        action_from_tokens([1, 2, 3], v, cfg)


def test_magma_step_without_frame_refuses(tiny_dirs, scene):
    cell, _, _ = scene
    policy = make_policy("magma", model=str(tiny_dirs["llava"]), trust_remote_code=False, local_files_only=True,
                         low=[-0.01] * 6, high=[0.01] * 6)
    step = policy.step(Observation("pick", TaskPhase.APPROACH, cell.tcp_pose(), 0.08, cell.fingertip_positions(),
                                   cell.base_from_camera, None))
    assert not step.ok and step.action.is_zero_motion


def test_registry_builds_transformers_backends_from_a_model_dir(tiny_dirs):
    p = make_policy_from_params("spatialbot", model_dir=str(tiny_dirs["llava"]))
    assert p.grounder.config.style.with_depth and p.grounder.client.prompt_format == "chat_template"
    p = make_policy("transformers", model=str(tiny_dirs["qwen2_5_vl"]), local_files_only=True)
    assert not p.grounder.config.style.with_depth


def test_vision_encoder_onnx_parity(tiny_dirs, tmp_path):
    info = export_vision_encoder(tiny_dirs["llava"], tmp_path / "vision.onnx")
    assert info.max_abs_diff <= 1e-4 and (info.num_tokens, info.feature_dim) == (16, 32)
    enc = VisionEncoderOnnx(tmp_path / "vision.onnx")
    assert enc.providers == ["CPUExecutionProvider"]
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(str(tiny_dirs["llava"])).eval()
    x = torch.randn(3, 3, 56, 56, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        ref = torch.stack(list(model.model.get_image_features(pixel_values=x).pooler_output)).numpy()
    assert np.max(np.abs(enc(x.numpy()) - ref)) <= 1e-4      # another batch size than the export's
    with pytest.raises(ValueError, match="pixel_values"):
        enc(np.zeros((1, 3, 32, 32), np.float32))
