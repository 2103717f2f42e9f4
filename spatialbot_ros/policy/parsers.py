"""Parsers for what spatial VLMs answer: mark ids, normalised points, 0..1000 boxes, Magma's
256-grid points, yes/no contact answers, bracketed action lists, and OpenVLA/Magma action tokens.

Malformed output never raises into the robot loop: every parser returns a ParseResult whose `ok`
is False with a reason, and the caller refuses to move.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class ParseResult:
    ok: bool
    value: Any = None
    reason: str = ""
    form: str = ""

    @staticmethod
    def fail(reason: str) -> ParseResult:
        return ParseResult(False, None, f"unparseable: {reason}")


def parse_mark_id(text: str, valid_ids: list[int] | None = None) -> ParseResult:
    """'Mark 3', 'mark: 3', '[3]', 'region 3', '<region3>' (Groma-style), or a bare single number."""
    if not isinstance(text, str):
        return ParseResult.fail("answer is not text")
    patterns = [(r"\bmark\s*(?:id)?\s*[:#]?\s*(\d+)", "mark"), (r"<\s*region\s*(\d+)\s*>", "groma"),
                (r"\bregion\s*[:#]?\s*(\d+)", "region"), (r"\[\s*(\d+)\s*\]", "bracket"), (r"^\s*(\d+)\s*\.?\s*$", "bare")]
    for rx, form in patterns:
        found = {int(m) for m in re.findall(rx, text, flags=re.IGNORECASE)}
        if not found:
            continue
        if len(found) > 1:
            return ParseResult.fail(f"several marks named: {sorted(found)}")
        mark = found.pop()
        if valid_ids is not None and mark not in valid_ids:
            return ParseResult.fail(f"mark {mark} is not one of {sorted(valid_ids)}")
        return ParseResult(True, mark, form=form)
    return ParseResult.fail("no mark id in the answer")


def _numbers(s: str) -> list[float]:
    return [float(x) for x in re.findall(_NUM, s)]


def parse_point(text: str, width: int, height: int) -> ParseResult:
    """A point in pixels from 'Mark 3 at [x, y]' on Magma's 256 grid, '(0.42, 0.61)' normalised,
    or '[x, y]' on a 0..1000 scale; the form is decided by the numbers' range and the wording."""
    if not isinstance(text, str):
        return ParseResult.fail("answer is not text")
    m = re.search(rf"[\[(]\s*({_NUM})\s*,\s*({_NUM})\s*[\])]", text)
    if not m:
        return ParseResult.fail("no (x, y) pair in the answer")
    x, y = float(m.group(1)), float(m.group(2))
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        return ParseResult.fail(f"point ({x}, {y}) is not a valid coordinate")
    if x <= 1.0 and y <= 1.0 and ("." in m.group(1) or "." in m.group(2)):
        scale, form = (1.0, 1.0), "normalized"
    elif re.search(r"\bmark\s*\d+\s*at\b", text, re.IGNORECASE) or max(x, y) <= 255:
        scale, form = (256.0, 256.0), "grid256"
    elif max(x, y) <= 1000:
        scale, form = (1000.0, 1000.0), "per_mille"
    else:
        return ParseResult.fail(f"point ({x}, {y}) fits none of the coordinate forms")
    if x > scale[0] or y > scale[1]:
        return ParseResult.fail(f"point ({x}, {y}) is outside its {form} range")
    return ParseResult(True, (x / scale[0] * width, y / scale[1] * height), form=form)


def parse_box(text: str, width: int, height: int) -> ParseResult:
    """'[x0, y0, x1, y1]' on a 0..1000 scale (Groma/Qwen style) or normalised 0..1, to pixels."""
    if not isinstance(text, str):
        return ParseResult.fail("answer is not text")
    m = re.search(rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]", text)
    if not m:
        return ParseResult.fail("no [x0, y0, x1, y1] box in the answer")
    v = np.array([float(g) for g in m.groups()])
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        return ParseResult.fail("box has negative or non-finite numbers")
    scale, form = (1.0, "normalized") if v.max() <= 1.0 else (1000.0, "per_mille")
    if v.max() > scale:
        return ParseResult.fail(f"box {v.tolist()} outside 0..{scale:g}")
    if v[2] <= v[0] or v[3] <= v[1]:
        return ParseResult.fail(f"box {v.tolist()} has no area")
    px = v / scale * np.array([width, height, width, height])
    return ParseResult(True, tuple(float(p) for p in px), form=form)


def parse_yes_no(text: str) -> ParseResult:
    """Contact questions: 'Yes, the gripper is touching' -> True; ambiguous answers fail."""
    if not isinstance(text, str):
        return ParseResult.fail("answer is not text")
    t = text.strip().lower()
    yes = re.search(r"\b(yes|touching|in contact|contacts?)\b", t) and not re.search(r"\bnot (touching|in contact)\b", t)
    no = re.search(r"\b(no|not|isn't|is not|doesn't|does not)\b", t)
    first = re.match(r"^\W*(yes|no)\b", t)
    if first:
        return ParseResult(True, first.group(1) == "yes", form="yes_no")
    if yes and not no:
        return ParseResult(True, True, form="statement")
    if no and not yes:
        return ParseResult(True, False, form="statement")
    return ParseResult.fail("neither a clear yes nor a clear no")


def parse_action_list(text: str, dims: int = 7) -> ParseResult:
    """'[0.01, -0.02, 0.0, 0.0, 0.0, 0.1, 1]' -> 7 floats (xyz delta, rotation delta, gripper)."""
    if not isinstance(text, str):
        return ParseResult.fail("answer is not text")
    m = re.search(r"\[([^\[\]]*)\]", text)
    if not m:
        return ParseResult.fail("no bracketed action list")
    parts = [p.strip() for p in m.group(1).split(",") if p.strip()]
    if len(parts) != dims or not all(re.fullmatch(_NUM, p) for p in parts):
        return ParseResult.fail(f"expected {dims} numbers, got {m.group(1)!r}")
    v = np.array([float(p) for p in parts])
    if not np.all(np.isfinite(v)):
        return ParseResult.fail("action has non-finite values")
    return ParseResult(True, v, form="list")


@dataclass(frozen=True)
class ActionTokenizerConfig:
    """OpenVLA/Magma 256-bin action tokens; bounds are the dataset's 1st/99th percentiles."""

    vocab_size: int
    low: np.ndarray = field(default_factory=lambda: np.full(6, -0.05))
    high: np.ndarray = field(default_factory=lambda: np.full(6, 0.05))
    n_bins: int = 256


def decode_action_tokens(token_ids: list[int] | np.ndarray, cfg: ActionTokenizerConfig) -> ParseResult:
    """7 token ids -> (6-DoF delta, gripper). bin = vocab_size - id - 1, clipped to 0..254; the bin
    centres of 256 uniform bins on [-1, 1] are un-normalised per dimension; the gripper is not."""
    ids = np.asarray(token_ids)
    if ids.shape != (7,) or not np.issubdtype(ids.dtype, np.integer):
        return ParseResult.fail(f"expected 7 integer action tokens, got {ids.tolist()}")
    bins = np.clip(cfg.vocab_size - ids - 1, 0, cfg.n_bins - 2)
    edges = np.linspace(-1.0, 1.0, cfg.n_bins)
    centres = (edges[:-1] + edges[1:]) / 2.0
    norm = centres[bins]
    low, high = np.asarray(cfg.low, float), np.asarray(cfg.high, float)
    delta = 0.5 * (norm[:6] + 1.0) * (high - low) + low
    return ParseResult(True, (delta, float(norm[6])), form="tokens")
