"""Learning from teleop-assisted collections: intervention-weighted training on demonstrations plus
collections (`train --data D1 --data D2 --intervention-weight W`) and the DAgger loop (`dagger`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def encoder():
    from spatialbot_ros.policy.text_encoder import PhraseEncoder

    return PhraseEncoder()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from spatialbot_ros.core.task import TaskPhase
    from spatialbot_ros.learn.collect import CollectOptions, run_collect
    from spatialbot_ros.learn.demos import DemoConfig, collect_demos

    root = tmp_path_factory.mktemp("interventions")
    collect_demos(root / "demos", DemoConfig(episodes=2, seed=3, workers=1, extra_instructions=3, grounding_scenes=0),
                  progress=False)
    run_collect(CollectOptions(out=root / "collect", episodes=2, take_over_at=TaskPhase.DESCEND))
    return root


def test_operator_frames_and_their_episodes_weigh_more(data, encoder):
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset
    from spatialbot_ros.learn.train import load_training_data, load_training_sets

    ds = LeRobotV3Dataset(data / "collect")
    engaged = ds.column("intervention").reshape(-1) > 0
    assert engaged.any() and not engaged.all()
    steps, grounding = load_training_data(data / "collect", encoder, intervention_weight=5.0)
    assert np.array_equal(steps.weight == 5.0, engaged) and set(np.unique(steps.weight)) == {1.0, 5.0}
    assert (grounding.weight == 5.0).all()  # every collected episode had an intervention (take over at descend)
    assert (steps.pick >= 0).all()  # labels from sim truth: the right object's mark, whoever drove
    both, gboth = load_training_sets([data / "demos", data / "collect"], encoder, intervention_weight=5.0)
    assert len(both) == len(steps) + len(LeRobotV3Dataset(data / "demos"))
    assert (both.weight[:len(both) - len(steps)] == 1.0).all()  # demonstrations: no operator
    assert len(set(both.episode)) == len(set(both.episode[:len(both) - len(steps)])) + len(set(steps.episode))


def test_weighted_losses_are_weighted_means(data, encoder):
    import torch

    from spatialbot_ros.learn.model import NetConfig, SpatialPolicyNet
    from spatialbot_ros.learn.train import _losses, load_training_data

    steps, grounding = load_training_data(data / "collect", encoder, intervention_weight=1.0)
    torch.manual_seed(0)
    marks = steps.marks[steps.valid > 0.5]
    model = SpatialPolicyNet(marks.mean(0), marks.std(0), NetConfig())
    rows = np.arange(min(8, len(steps)))
    s, g = steps.subset(rows), grounding.subset(np.arange(len(grounding)))
    _, flat = _losses(model, s, g)
    s.weight = np.full(len(s), 3.0, np.float32)
    _, scaled = _losses(model, s, g)
    assert flat["action"] == pytest.approx(scaled["action"], rel=1e-5)  # uniform weights change nothing
    s.weight = np.ones(len(s), np.float32)
    s.weight[0] = 50.0
    _, heavy = _losses(model, s, g)
    assert heavy["action"] != pytest.approx(flat["action"], rel=1e-3)  # one heavy row moves the mean


def test_train_cli_on_demonstrations_and_a_collection(data, tmp_path):
    from spatialbot_ros.cli import main
    from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset

    out = tmp_path / "model"
    assert main(["train", "--data", str(data / "demos"), "--data", str(data / "collect"),
                 "--intervention-weight", "5", "--epochs", "2", "--out", str(out)]) == 0
    meta = json.loads((out / "policy.json").read_text())
    assert meta["training"]["data"] == [str(data / "demos"), str(data / "collect")]
    assert meta["training"]["intervention_weight"] == 5.0
    engaged = int(LeRobotV3Dataset(data / "collect").column("intervention").sum())
    assert meta["training"]["weighted_frames"] == engaged
    assert (out / "policy.onnx").exists() and meta["onnx_parity_max_abs"] <= 1e-4


def test_dagger_rounds_report_intervention_rate_and_success(data, tmp_path):
    from spatialbot_ros.cli import main

    out = tmp_path / "dagger"
    argv = ["dagger", "--data", str(data / "demos"), "--out", str(out), "--rounds", "1", "--episodes-per-round", "2",
            "--eval-episodes", "2", "--epochs", "1"]
    assert main(argv) == 0
    report = json.loads((out / "dagger.json").read_text())
    r0, r1 = report["rounds"]
    assert r0["round"] == 0 and r1["round"] == 1 and r1["collected_episodes"] == 2
    assert r1["model_dir"] == str(out / "round1" / "model") and (out / "round1" / "model" / "policy.onnx").exists()
    for r in (r0, r1):
        lo, hi = r["eval_ci95"]
        assert 0.0 <= lo <= r["eval_success"] <= hi <= 1.0
    assert r1["intervention_rate"] == r1["interventions"] / 2
    table = (out / "dagger.md").read_text()
    assert "| 1 | 2 |" in table and (out / "dagger.png").stat().st_size > 1000
    assert main(argv) == 4  # the run exists: refuses without --resume (a run-state error)
    assert main([*argv, "--resume"]) == 0  # nothing left to do: the finished rounds are kept
    assert json.loads((out / "dagger.json").read_text())["rounds"] == report["rounds"]
