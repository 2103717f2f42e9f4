"""Confidence calibration of a choice among candidates: ECE, reliability bins, temperature scaling.

A policy that refuses below a confidence threshold is only as safe as that confidence is honest:
"p=0.9" must be right about 90% of the time. Temperature scaling divides the choice logits by one
scalar T fitted on a dev split; the argmax (the choice itself) is unchanged, only its probability.
The fit needs just (logits, was the argmax right), so it works from graded episodes without the
index of the correct candidate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_FILE = "calibration.json"
DEFAULT_BINS = 10
_EPS = 1e-12


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    mean_confidence: float   # nan when empty
    accuracy: float          # nan when empty


def _arrays(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidence, dtype=float).ravel()
    corr = np.asarray(correct, dtype=float).ravel()
    if conf.shape != corr.shape:
        raise ValueError(f"{conf.size} confidences but {corr.size} outcomes")
    if conf.size and (not np.all(np.isfinite(conf)) or conf.min() < 0.0 or conf.max() > 1.0):
        raise ValueError("confidences must be finite probabilities in [0, 1]")
    return conf, corr


def reliability_bins(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                     n_bins: int = DEFAULT_BINS) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; a confidence of exactly 1 falls in the last bin."""
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    conf, corr = _arrays(confidence, correct)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        sel = idx == b
        n = int(sel.sum())
        bins.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), n,
                                   float(conf[sel].mean()) if n else math.nan,
                                   float(corr[sel].mean()) if n else math.nan))
    return bins


def expected_calibration_error(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                               n_bins: int = DEFAULT_BINS) -> float:
    """sum_b |B_b|/N * |accuracy_b - mean confidence_b| (nan for no samples)."""
    bins = reliability_bins(confidence, correct, n_bins)
    total = sum(b.count for b in bins)
    if total == 0:
        return math.nan
    return float(sum(b.count / total * abs(b.accuracy - b.mean_confidence) for b in bins if b.count))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=float) / float(temperature)
    e = np.exp(z - z.max())
    return e / e.sum()


def chosen_confidence(logits: np.ndarray, temperature: float = 1.0) -> float:
    """Probability of the argmax candidate after dividing the logits by temperature."""
    return float(softmax(logits, temperature).max())


def _padded(logit_sets: Sequence[np.ndarray]) -> np.ndarray:
    """The logit sets as one array, rows padded with -inf (a padded candidate has probability 0)."""
    width = max(int(np.asarray(z).size) for z in logit_sets)
    out = np.full((len(logit_sets), width), -np.inf)
    for i, z in enumerate(logit_sets):
        flat = np.asarray(z, dtype=float).ravel()
        out[i, :flat.size] = flat
    return out


def _nll(padded: np.ndarray, correct: np.ndarray, temperature: float) -> float:
    z = padded / temperature
    z = z - z.max(axis=1, keepdims=True)
    conf = 1.0 / np.exp(z).sum(axis=1)  # the argmax candidate's probability (its term is exp(0))
    conf = np.clip(conf, _EPS, 1.0 - _EPS)
    return float(-np.mean(correct * np.log(conf) + (1.0 - correct) * np.log(1.0 - conf)))


def fit_temperature(logit_sets: Sequence[np.ndarray], correct: Sequence[bool] | np.ndarray,
                    bounds: tuple[float, float] = (0.05, 50.0)) -> float:
    """The T minimising the binary log loss of the chosen candidate's confidence against whether the
    choice was right: a log-spaced grid, then golden-section refinement around its best point."""
    corr = np.asarray(correct, dtype=float).ravel()
    if len(logit_sets) != corr.size or corr.size == 0:
        raise ValueError("need one outcome per logit set, at least one")
    padded = _padded(logit_sets)
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    grid = np.linspace(lo, hi, 61)
    losses = [_nll(padded, corr, math.exp(g)) for g in grid]
    k = int(np.argmin(losses))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        c, d = b - phi * (b - a), a + phi * (b - a)
        if _nll(padded, corr, math.exp(c)) <= _nll(padded, corr, math.exp(d)):
            b = d
        else:
            a = c
    return float(math.exp((a + b) / 2))


@dataclass
class ConfidenceCalibration:
    """A fitted temperature and what it was fitted on (stored next to the model)."""

    temperature: float = 1.0
    fit_on: dict[str, Any] = field(default_factory=dict)   # generator, seeds, counts
    ece_before: float | None = None
    ece_after: float | None = None

    def save(self, model_dir: Path) -> Path:
        from spatialbot_ros.core.durable import atomic_write_json

        path = Path(model_dir) / CALIBRATION_FILE
        atomic_write_json(path, asdict(self))
        return path

    @classmethod
    def load(cls, model_dir: Path) -> ConfidenceCalibration | None:
        """None when the model has no calibration file (then T = 1: the raw softmax)."""
        path = Path(model_dir) / CALIBRATION_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        t = float(data.get("temperature", 1.0))
        if not math.isfinite(t) or t <= 0:
            raise ValueError(f"{path}: temperature must be a positive number, got {t}")
        return cls(t, dict(data.get("fit_on", {})), data.get("ece_before"), data.get("ece_after"))
