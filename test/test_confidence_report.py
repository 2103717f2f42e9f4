"""The eval report carries the pick confidence's ECE and a reliability diagram for the onnx policy."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.sim


def test_onnx_eval_report_has_ece_and_reliability_png(tmp_path) -> None:  # noqa: ANN001
    from spatialbot_ros.apps.evaluate import evaluate, scenes_for_eval

    summary, results = evaluate("onnx", scenes_for_eval(3, 5), seed=5, out_dir=tmp_path, progress=False)
    confident = [r for r in results if r.pick_confidence is not None]
    assert confident and all(0.0 < r.pick_confidence <= 1.0 for r in confident)
    assert summary.ece is not None and summary.confidence_episodes == len(confident)
    assert "pick confidence ECE (10 bins)" in (tmp_path / "eval.md").read_text()
    assert (tmp_path / "reliability.png").stat().st_size > 1000
    assert json.loads((tmp_path / "eval.json").read_text())["ece"] == pytest.approx(summary.ece)


def test_geometric_policy_reports_no_ece(tmp_path) -> None:  # noqa: ANN001
    from spatialbot_ros.apps.evaluate import evaluate, scenes_for_eval

    summary, _ = evaluate("geometric", scenes_for_eval(1, 5), seed=5, out_dir=tmp_path, progress=False)
    assert summary.ece is None and not (tmp_path / "reliability.png").exists()
    assert "ECE" not in (tmp_path / "eval.md").read_text()
