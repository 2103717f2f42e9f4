"""Fit the onnx policy's pick-confidence temperature on a dev split and store it with the model.

Dev scenes come from the training generator with a seed disjoint from the eval seeds (0, 777, 4242)
and never from the frozen held-out suite. Each episode runs as in `eval`; the first frame's final pick
logits and whether the pick was right (simulator truth) are kept, the temperature is fitted on them
(core.calibration.fit_temperature) and written as calibration.json next to policy.onnx. The network is
not retrained; the argmax is unchanged, only the confidence the refusal threshold reads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialbot_ros.apps.episode import run_episode
from spatialbot_ros.core.calibration import (
    ConfidenceCalibration,
    chosen_confidence,
    expected_calibration_error,
    fit_temperature,
)
from spatialbot_ros.sim.scene_generator import generate_scenes

log = logging.getLogger(__name__)
EVAL_SEEDS = frozenset({0, 777, 4242})
DEV_SEED = 9101


@dataclass
class DevScores:
    logits: list[np.ndarray]
    correct: list[bool]
    refusals: int
    episodes: int


def dev_scores(episodes: int, seed: int, model_dir: str = "", temperature: float | None = None) -> DevScores:
    """Run the onnx policy on `episodes` dev scenes; (pick logits, pick right) of each graded pick."""
    if seed in EVAL_SEEDS:
        raise ValueError(f"seed {seed} is an eval seed; calibrate on a disjoint dev seed")
    from spatialbot_ros.policy.onnx_policy import OnnxPolicy, OnnxPolicyConfig

    policy = OnnxPolicy(OnnxPolicyConfig(model_dir=model_dir))
    if temperature is not None:
        policy.temperature = temperature
    out = DevScores([], [], 0, 0)
    for scene in generate_scenes(episodes, seed):
        policy.last_pick_logits = None
        res = run_episode(scene, policy)
        out.episodes += 1
        out.refusals += res.reason == "grounding_failed"
        if res.pick_confidence is not None and res.grounding_correct is not None and policy.last_pick_logits is not None:
            out.logits.append(policy.last_pick_logits)
            out.correct.append(bool(res.grounding_correct))
    return out


def calibrate(episodes: int = 150, seed: int = DEV_SEED, model_dir: str = "") -> ConfidenceCalibration:
    from spatialbot_ros.policy.onnx_policy import MODEL_DIR

    scores = dev_scores(episodes, seed, model_dir, temperature=1.0)
    if not scores.logits:
        raise ValueError("no graded picks on the dev split; nothing to fit")
    t = fit_temperature(scores.logits, scores.correct)
    before = expected_calibration_error([chosen_confidence(z) for z in scores.logits], scores.correct)
    after = expected_calibration_error([chosen_confidence(z, t) for z in scores.logits], scores.correct)
    cal = ConfidenceCalibration(t, {"generator": "spatialbot_ros.sim.scene_generator.generate_scenes",
                                    "phrasing_set": "train", "seed": seed, "episodes": scores.episodes,
                                    "graded_picks": len(scores.logits), "correct_picks": int(sum(scores.correct)),
                                    "refusals_at_t1": scores.refusals}, before, after)
    path = cal.save(Path(model_dir) if model_dir else MODEL_DIR)
    log.info("temperature %.3f (ECE %.3f -> %.3f on %d dev picks) -> %s", t, before, after, len(scores.logits), path)
    return cal
