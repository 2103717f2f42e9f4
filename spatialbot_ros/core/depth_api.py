"""SpatialBot's Depth API over an RGB-D frame: depth at a point (normalised 0..1 or pixels),
robust to holes, region statistics, batch queries, and answering `Depth(x,y)` requests in model
text with `Depth(x,y)=<mm>` so a VLM can continue its reasoning."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.errors import DepthQueryError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.marks import DepthStats

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
DEPTH_REQUEST = re.compile(rf"Depth\(\s*({_NUM})\s*,\s*({_NUM})\s*\)(\s*=\s*(?:\d+(?:\.\d+)?|unknown))?")


@dataclass(frozen=True)
class DepthRequest:
    x: float
    y: float
    span: tuple[int, int]
    answered: bool


class DepthAPI:
    """Queries against one frame; pixel (u, v) = column, row; normalised x, y scale width, height."""

    def __init__(self, frame: RGBDFrame, max_radius_px: int = 7) -> None:
        self.frame = frame
        self.max_radius_px = max_radius_px

    def _to_pixel(self, x: float, y: float, normalized: bool) -> tuple[int, int]:
        k = self.frame.intrinsics
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DepthQueryError(f"depth query at ({x}, {y}) is not finite")
        if normalized:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise DepthQueryError(f"normalised point ({x}, {y}) is outside 0..1")
            return min(int(x * k.width), k.width - 1), min(int(y * k.height), k.height - 1)
        u, v = int(round(x)), int(round(y))
        if not (0 <= u < k.width and 0 <= v < k.height):
            raise DepthQueryError(f"pixel ({u}, {v}) is outside the {k.width}x{k.height} image")
        return u, v

    def _depth_px(self, u: int, v: int) -> float:
        d = self.frame.depth_mm
        if d[v, u] > 0:
            return float(d[v, u])
        for r in range(1, self.max_radius_px + 1):  # a hole: median of valid pixels in a growing window
            win = d[max(0, v - r): v + r + 1, max(0, u - r): u + r + 1]
            valid = win[win > 0]
            if valid.size:
                return float(np.median(valid))
        return float("nan")

    def depth_at(self, x: float, y: float, normalized: bool = True) -> float:
        u, v = self._to_pixel(x, y, normalized)
        value = self._depth_px(u, v)
        if not np.isfinite(value):
            raise DepthQueryError(f"no valid depth within {self.max_radius_px} px of ({u}, {v})")
        return value

    def depth_at_batch(self, xy: np.ndarray, normalized: bool = True) -> np.ndarray:
        """(N,2) points -> (N,) mm; NaN (not an exception) where a point has no valid depth or is outside."""
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        k = self.frame.intrinsics
        if normalized:
            inside = np.all((pts >= 0) & (pts <= 1), axis=1)
            u = np.minimum((pts[:, 0] * k.width).astype(int), k.width - 1)
            v = np.minimum((pts[:, 1] * k.height).astype(int), k.height - 1)
        else:
            u, v = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
            inside = (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
        out = np.full(len(pts), np.nan)
        ui, vi = np.clip(u, 0, k.width - 1), np.clip(v, 0, k.height - 1)
        direct = self.frame.depth_mm[vi, ui].astype(float)
        hit = inside & (direct > 0)
        out[hit] = direct[hit]
        for i in np.nonzero(inside & ~hit)[0]:  # only holes fall back to the window search
            out[i] = self._depth_px(int(ui[i]), int(vi[i]))
        return out

    def region_stats(self, box_xyxy: tuple[float, float, float, float] | None = None, mask: np.ndarray | None = None,
                     normalized: bool = False) -> DepthStats:
        """Centre, mean, max, min (mm) over valid pixels of a box (x0,y0,x1,y1) and/or a mask."""
        d = self.frame.depth_mm
        k = self.frame.intrinsics
        sel = d > 0
        if mask is not None:
            if mask.shape != d.shape:
                raise DepthQueryError(f"mask {mask.shape} does not match the depth image {d.shape}")
            sel = sel & mask.astype(bool)
        if box_xyxy is not None:
            x0, y0, x1, y1 = box_xyxy
            if normalized:
                x0, x1, y0, y1 = x0 * k.width, x1 * k.width, y0 * k.height, y1 * k.height
            x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
            x1, y1 = min(k.width, int(np.ceil(x1))), min(k.height, int(np.ceil(y1)))
            if x1 <= x0 or y1 <= y0:
                raise DepthQueryError(f"box {box_xyxy} is empty or outside the image")
            box = np.zeros_like(sel)
            box[y0:y1, x0:x1] = True
            sel = sel & box
        vals = d[sel]
        if vals.size == 0:
            raise DepthQueryError("region has no valid depth pixel")
        vv, uu = np.nonzero(sel)
        centre = self._depth_px(int(round(uu.mean())), int(round(vv.mean())))
        total = int(np.count_nonzero(mask)) if mask is not None else vals.size
        return DepthStats(centre, float(vals.mean()), float(vals.max()), float(vals.min()),
                          float(vals.size) / max(total, 1))

    def resolve_depth_requests(self, text: str) -> str:
        """Answer every unanswered `Depth(x,y)` with `Depth(x,y)=<mm>` (or `=unknown`)."""
        def answer(m: re.Match[str]) -> str:
            if m.group(3):
                return m.group(0)
            try:
                mm = self.depth_at(float(m.group(1)), float(m.group(2)), normalized=True)
                return f"Depth({m.group(1)},{m.group(2)})={int(round(mm))}"
            except DepthQueryError:
                return f"Depth({m.group(1)},{m.group(2)})=unknown"
        return DEPTH_REQUEST.sub(answer, text)


def find_depth_requests(text: str) -> list[DepthRequest]:
    return [DepthRequest(float(m.group(1)), float(m.group(2)), m.span(), bool(m.group(3)))
            for m in DEPTH_REQUEST.finditer(text)]
