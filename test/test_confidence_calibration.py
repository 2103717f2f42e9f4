"""Confidence calibration maths (core.calibration): ECE, reliability bins, temperature fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialbot_ros.core.calibration import (
    ConfidenceCalibration,
    chosen_confidence,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)

pytestmark = pytest.mark.core


def _calibrated_set(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    conf = rng.uniform(0.1, 1.0, n)
    return conf, rng.uniform(size=n) < conf


def test_perfectly_calibrated_set_has_near_zero_ece() -> None:
    conf, correct = _calibrated_set(20000, np.random.default_rng(0))
    assert expected_calibration_error(conf, correct) < 0.02


def test_over_confident_set_has_large_ece() -> None:
    rng = np.random.default_rng(1)
    conf = np.full(5000, 0.95)
    correct = rng.uniform(size=5000) < 0.6
    assert expected_calibration_error(conf, correct) == pytest.approx(0.35, abs=0.03)


def test_reliability_bins_are_ten_equal_width_and_count_every_sample() -> None:
    conf = np.array([0.0, 0.05, 0.1, 0.55, 0.999, 1.0])
    bins = reliability_bins(conf, [True, False, True, True, False, True])
    assert len(bins) == 10 and sum(b.count for b in bins) == conf.size
    assert [round(b.lo, 2) for b in bins] == [round(0.1 * i, 2) for i in range(10)]
    assert bins[9].count == 2 and bins[9].accuracy == 0.5          # 1.0 falls in the last bin
    assert math.isnan(bins[3].accuracy) and bins[3].count == 0


def test_ece_rejects_non_probabilities_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        expected_calibration_error([1.2], [True])
    with pytest.raises(ValueError):
        expected_calibration_error([0.5, 0.5], [True])
    assert math.isnan(expected_calibration_error([], []))


def test_temperature_fit_recovers_a_known_temperature() -> None:
    """Labels drawn from softmax(z / 2.5): the fit on z must find T ~ 2.5 and lower the ECE."""
    rng = np.random.default_rng(2)
    true_t = 2.5
    logits, correct = [], []
    for _ in range(4000):
        z = rng.normal(0.0, 4.0, size=int(rng.integers(2, 8)))
        p = np.exp(z / true_t - (z / true_t).max())
        p /= p.sum()
        label = rng.choice(z.size, p=p)
        logits.append(z)
        correct.append(label == int(np.argmax(z)))
    t = fit_temperature(logits, correct)
    assert t == pytest.approx(true_t, rel=0.12)
    raw = [chosen_confidence(z) for z in logits]
    fitted = [chosen_confidence(z, t) for z in logits]
    assert expected_calibration_error(fitted, correct) < 0.5 * expected_calibration_error(raw, correct)


def test_temperature_keeps_the_choice() -> None:
    z = np.array([0.3, 2.0, -1.0])
    assert chosen_confidence(z, 4.0) < chosen_confidence(z, 1.0) < chosen_confidence(z, 0.25)


def test_calibration_file_round_trip_and_missing(tmp_path) -> None:  # noqa: ANN001
    assert ConfidenceCalibration.load(tmp_path) is None
    ConfidenceCalibration(1.7, {"seed": 9, "scenes": 10}, 0.2, 0.05).save(tmp_path)
    cal = ConfidenceCalibration.load(tmp_path)
    assert cal is not None and cal.temperature == 1.7 and cal.fit_on["scenes"] == 10
    (tmp_path / "calibration.json").write_text('{"temperature": -1}')
    with pytest.raises(ValueError):
        ConfidenceCalibration.load(tmp_path)
