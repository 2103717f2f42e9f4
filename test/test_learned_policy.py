"""The learned policy end to end at small scale: expert demonstrations in the MuJoCo cell ->
LeRobot v3 dataset -> training -> ONNX export with parity -> the onnx backend driving the sim.
The shipped model is exercised on a real episode too."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.policy.base import Observation
from spatialbot_ros.policy.learned_features import (
    IMAGE_HW,
    MAX_MARKS,
    N_PROPRIO,
    InstructionText,
    camera_features,
    image_tensor,
    proprio_features,
)
from spatialbot_ros.policy.ort_providers import PROVIDER_NAMES, ProviderConfig, select_providers

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def encoder():
    from spatialbot_ros.policy.text_encoder import PhraseEncoder

    return PhraseEncoder()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, encoder):
    from spatialbot_ros.learn.demos import DemoConfig, collect_demos
    from spatialbot_ros.learn.train import TrainConfig, train

    root = tmp_path_factory.mktemp("learn")
    summary = collect_demos(root / "data", DemoConfig(episodes=2, seed=3, workers=1, extra_instructions=3,
                                                      grounding_scenes=2), progress=False)
    report = train(root / "data", root / "model", TrainConfig(epochs=2, val_every_nth_episode=2), progress=False)
    return root, summary, report


def test_demos_are_a_lerobot_dataset_with_labels(trained):
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    root, summary, _ = trained
    assert summary["episodes_kept"] >= 1 and summary["grounding_samples"] >= 1
    ds = LeRobotV3Dataset(root / "data")
    assert len(ds) == summary["frames"] > 20
    assert ds.info["features"]["observation.images.depth"]["info"]["video.is_depth_map"]
    pick = ds.column("label.pick_mark").ravel()
    assert (pick >= 0).all() and (pick < MAX_MARKS).all()
    contact = ds.column("label.contact").ravel()
    assert set(np.unique(contact)) == {0.0, 1.0}  # open approach and a closed grasp both occur
    action = ds.column("action")
    assert np.linalg.norm(action[:, :3], axis=1).max() <= 0.05 + 1e-6
    state = ds.column("observation.state")
    assert state.shape[1] == N_PROPRIO
    extra = json.loads(ds.episodes[0]["grounding_extra"])
    assert extra and all(e["pick"] >= 0 for e in extra)


def test_training_writes_checkpoint_onnx_and_metadata_with_parity(trained):
    root, _, report = trained
    model = root / "model"
    for name in ("model.pt", "policy.onnx", "policy.json"):
        assert (model / name).is_file()
    meta = json.loads((model / "policy.json").read_text())
    assert list(meta["inputs"]) == ["image", "marks", "marks_valid", "pick_text", "place_text", "camera", "proprio",
                                    "pick_choice", "place_choice", "relation_choice"]
    assert meta["inputs"]["image"]["shape"] == ["batch", 4, *IMAGE_HW]
    assert len(meta["normalisation"]["marks_mean"]) == len(meta["features"]["marks"])
    assert meta["text_encoder"]["dim"] == 384
    assert report["onnx_parity_max_abs"] <= 1e-4


def test_onnx_parity_recomputed(trained, encoder):
    """PyTorch vs ONNX Runtime on fresh inputs from the dataset, not the export example."""
    import torch

    from spatialbot_ros.learn.model import NetConfig, SpatialPolicyNet
    from spatialbot_ros.learn.train import example_inputs, load_training_data, onnx_parity, with_choices

    root, _, _ = trained
    ckpt = torch.load(root / "model" / "model.pt", weights_only=False)
    net = SpatialPolicyNet(ckpt["mark_mean"], ckpt["mark_std"], NetConfig(**ckpt["net_config"]))
    net.load_state_dict(ckpt["state_dict"])
    steps, _ = load_training_data(root / "data", encoder)
    tail = steps.subset(np.arange(len(steps) - 16, len(steps)))
    assert onnx_parity(net, root / "model" / "policy.onnx", with_choices(example_inputs(tail, 16), seed=3)) <= 1e-4


def test_action_head_follows_the_given_choice(trained, encoder):
    """The exported graph moves toward the marks the run time chose; zeros mean its own argmax."""
    import onnxruntime as ort

    from spatialbot_ros.learn.train import example_inputs, load_training_data, with_choices
    from spatialbot_ros.policy.learned_features import PHASES

    root, _, _ = trained
    sess = ort.InferenceSession(str(root / "model" / "policy.onnx"), providers=["CPUExecutionProvider"])
    steps, _ = load_training_data(root / "data", encoder)
    approach = 10 + [p.value for p in PHASES].index("approach")
    rows = np.flatnonzero((steps.valid.sum(1) >= 3) & (steps.proprio[:, approach] > 0.5))
    feeds = with_choices(example_inputs(steps.subset(rows[:1]), 1))
    feeds.update({k: np.zeros_like(v) for k, v in feeds.items() if k.endswith("_choice")})  # zeros: its own choice
    own = sess.run(None, feeds)
    k = int(np.argmax(own[0][0]))
    other = next(i for i in np.flatnonzero(feeds["marks_valid"][0] > 0.5) if i != k)

    def with_pick(i):
        f = dict(feeds)
        f["pick_choice"] = np.zeros_like(feeds["pick_choice"])
        f["pick_choice"][0, i] = 1.0
        return sess.run(None, f)

    forced = with_pick(other)
    np.testing.assert_allclose(forced[0], own[0])                      # the grounding heads do not change
    np.testing.assert_allclose(with_pick(k)[4], own[4], atol=1e-6)      # choosing its argmax = its own choice
    assert not np.allclose(forced[4][0, :3], own[4][0, :3])            # approach moves toward the chosen mark


def test_features_validate_input():
    with pytest.raises(ValueError, match="4x4"):
        proprio_features(np.eye(3), 0.08, TaskPhase.APPROACH)
    bad = np.eye(4)
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        proprio_features(bad, 0.08, TaskPhase.APPROACH)
    cam = camera_features(np.eye(4), "robot")
    assert cam[-1] == 1.0 and np.isclose(np.linalg.norm(cam[0:2]), 1.0)
    text = InstructionText.from_instruction("Grab the red mug from the robot's view and drop it into the bowl")
    assert (text.pick, text.place, text.viewpoint) == ("the red mug", "into the bowl", "robot")


def test_provider_selection_prefers_tensorrt_then_cuda_then_cpu(tmp_path):
    cfg = ProviderConfig(trt_fp16=True, trt_engine_cache_dir=str(tmp_path))
    all_three = [PROVIDER_NAMES["tensorrt"], PROVIDER_NAMES["cuda"], PROVIDER_NAMES["cpu"]]
    chosen = select_providers(cfg, all_three, trt_loadable=True)
    assert [n for n, _ in chosen] == all_three
    trt_opts = chosen[0][1]
    assert trt_opts["trt_fp16_enable"] is True and trt_opts["trt_engine_cache_path"] == str(tmp_path)
    assert [n for n, _ in select_providers(cfg, [PROVIDER_NAMES["cpu"]])] == [PROVIDER_NAMES["cpu"]]
    assert [n for n, _ in select_providers(ProviderConfig(preference=("cuda",)), all_three)] == \
        [PROVIDER_NAMES["cuda"], PROVIDER_NAMES["cpu"]]
    # onnxruntime-gpu lists TensorRT even without libnvinfer: then it is skipped, CUDA goes first
    no_trt = select_providers(cfg, all_three, trt_loadable=False)
    assert [n for n, _ in no_trt] == [PROVIDER_NAMES["cuda"], PROVIDER_NAMES["cpu"]]
    assert no_trt[0][1]["use_tf32"] == 0  # fp32 parity with the CPU by default
    with pytest.raises(ValueError, match="providers"):
        ProviderConfig(preference=("tpu",))


@pytest.fixture(scope="module")
def shipped_policy(encoder):
    from spatialbot_ros.policy.onnx_policy import OnnxPolicy

    return OnnxPolicy(encoder=encoder)


def test_shipped_model_is_small_and_runs_on_cpu_here(shipped_policy):
    from spatialbot_ros.policy.onnx_policy import MODEL_DIR

    assert (MODEL_DIR / "policy.onnx").stat().st_size <= 20 * 1024 * 1024
    assert shipped_policy.providers[-1] == "CPUExecutionProvider"
    meta = json.loads((MODEL_DIR / "policy.json").read_text())
    assert meta["onnx_parity_max_abs"] <= 1e-4


def _scene_obs(cell, scene, phase, with_frame=True, pose=None):
    tcp = cell.tcp_pose() if pose is None else pose
    return Observation(scene.instruction, phase, tcp, 0.085, np.stack([tcp[:3, 3]] * 2), cell.base_from_camera,
                       cell.render_rgbd() if with_frame else None)


def test_bad_input_is_refused_without_motion(shipped_policy):
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene_generator import generate_scene

    scene = generate_scene(11)
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    try:
        shipped_policy.reset("   ")
        step = shipped_policy.step(_scene_obs(cell, scene, TaskPhase.APPROACH))
        assert not step.ok and step.failure == FailureReason.BAD_INPUT
        assert step.action.is_zero_motion
        shipped_policy.reset(scene.instruction)
        step = shipped_policy.step(_scene_obs(cell, scene, TaskPhase.APPROACH, with_frame=False))
        assert not step.ok and "frame" in step.error and step.action.is_zero_motion
        bad = cell.tcp_pose()
        bad[2, 3] = np.inf
        step = shipped_policy.step(_scene_obs(cell, scene, TaskPhase.APPROACH, pose=bad))
        assert not step.ok and step.failure == FailureReason.BAD_INPUT
        assert step.action.is_zero_motion
        # a choice the network is not sure of is refused, never guessed
        strict = shipped_policy.config.min_pick_confidence
        shipped_policy.config.min_pick_confidence = 1.01
        shipped_policy.reset(scene.instruction)
        step = shipped_policy.step(_scene_obs(cell, scene, TaskPhase.APPROACH))
        shipped_policy.config.min_pick_confidence = strict
        assert not step.ok and step.failure == FailureReason.GROUNDING_FAILED
        assert "ambiguous" in step.error and step.action.is_zero_motion
    finally:
        cell.close()


def test_image_tensor_has_depth_channel():
    from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame

    k = CameraIntrinsics(640, 480, 600.0, 600.0, 320.0, 240.0)
    frame = RGBDFrame(np.full((480, 640, 3), 255, np.uint8), np.full((480, 640), 1000, np.uint16), k, 0.0)
    x = image_tensor(frame)
    assert x.shape == (4, *IMAGE_HW) and x.dtype == np.float32
    np.testing.assert_allclose(x[:3], 1.0)
    np.testing.assert_allclose(x[3], 0.5)  # 1 m over the 2 m depth scale


def test_shipped_model_solves_a_sim_episode(shipped_policy):
    """The learned backend drives the real executive in the MuJoCo cell (physics decides success)."""
    from spatialbot_ros.apps.episode import run_episode
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    scene = load_scene(default_scene_path())
    result = run_episode(scene, shipped_policy)
    assert result.success, (result.reason, result.message)
    assert result.grounding_correct
    assert result.contact_total >= 2 and result.contact_agree == result.contact_total


def test_word_anchor_features_carry_unseen_synonyms(encoder):
    """'mug' never appears in training phrases; its closest anchor group must still be the cups."""
    from spatialbot_ros.policy.text_encoder import ANCHOR_GROUPS, TEXT_DIM, TEXT_FEATURES

    groups = list(ANCHOR_GROUPS)
    f = encoder.phrase_features(["the leftmost mug", "the red object", ""])
    assert f.shape == (3, TEXT_FEATURES)
    nouns = [groups.index(g) for g in ("cylinder", "box", "sphere", "plate", "bowl")]
    assert groups[nouns[int(np.argmax(f[0, TEXT_DIM:][nouns]))]] == "cylinder"
    assert f[0, TEXT_DIM + groups.index("left")] > 0.9
    assert f[1, TEXT_DIM + groups.index("red")] > 0.99
    assert not f[2].any()  # no place phrase -> all zeros


def test_lexicon_prior_favours_marks_of_the_named_shape(shipped_policy):
    from types import SimpleNamespace

    marks = [SimpleNamespace(shape=s) for s in ("cylinder", "box", "sphere")]
    logits = np.array([2.0, 0.0, 1.0], np.float32)
    prior = shipped_policy.config.lexicon_prior
    assert prior > 0
    np.testing.assert_allclose(shipped_policy._with_lexicon_prior(logits, "the orange block", marks), [2.0, prior, 1.0])
    np.testing.assert_allclose(shipped_policy._with_lexicon_prior(logits, "the orange thing", marks), logits)
    np.testing.assert_allclose(shipped_policy._with_lexicon_prior(logits, "the plate", marks), logits)  # no plate seen
