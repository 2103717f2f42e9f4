"""SpatialBot's Depth API over an RGB-D frame: depth at a point (normalised 0..1 or pixels),
robust to holes, region statistics, batch queries, and answering `Depth(x,y)` requests in model
text with `Depth(x,y)=<mm>` so a VLM can continue its reasoning.

Coordinates: pixel (u, v) = (column, row); normalised (x, y) = (u / width, v / height), so x = 1.0
is the right edge. A pixel with depth 0 is a sensor hole; a hole is answered with the median of
the valid pixels in the smallest square window (3x3, 5x5, ... up to radius `max_radius_px`) that
has any, because RealSense depth has speckle holes exactly on object edges the model points at.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.errors import DepthQueryError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.marks import DepthStats

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
# a value after `=`: like _NUM but a trailing dot ends the sentence ("=1500.") and is not part of it;
# a model-written ".5" is a value too (so an answer is never glued onto it)
_ANSWER = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"
# `Depth(x, y)`, optionally followed by `=` and optionally an answer (a number or `unknown`).
# The look-behind keeps `MaxDepth(…)` or `myDepth(…)` from counting as a request.
DEPTH_REQUEST = re.compile(
    rf"(?<![A-Za-z0-9_])Depth\(\s*({_NUM})\s*,\s*({_NUM})\s*\)(?:(\s*=)(\s*(?:{_ANSWER}|unknown))?)?"
)


@dataclass(frozen=True)
class DepthRequest:
    """One `Depth(x,y)` in model text. span: (start, end) of the whole match in the text, the
    answer included when there is one; answered: the text already carries `=<value>`."""

    x: float
    y: float
    span: tuple[int, int]
    answered: bool


def find_depth_requests(text: str) -> list[DepthRequest]:
    """All well-formed `Depth(x,y)` requests in order; malformed ones (one number, words) are ignored."""
    return [DepthRequest(float(m.group(1)), float(m.group(2)), m.span(), m.group(4) is not None)
            for m in DEPTH_REQUEST.finditer(text)]


class DepthAPI:
    """Depth queries against one frame. Construction is free: nothing is precomputed."""

    def __init__(self, frame: RGBDFrame, max_radius_px: int = 7) -> None:
        if not isinstance(frame, RGBDFrame):
            raise TypeError(f"DepthAPI needs an RGBDFrame, got {type(frame).__name__}")
        if int(max_radius_px) != max_radius_px or max_radius_px < 0:
            raise ValueError(f"max_radius_px must be a non-negative integer, got {max_radius_px}")
        self.frame = frame
        self.max_radius_px = int(max_radius_px)

    # ---- points -------------------------------------------------------------------------------

    def _to_pixel(self, x: float, y: float, normalized: bool) -> tuple[int, int]:
        k = self.frame.intrinsics
        if not (math.isfinite(x) and math.isfinite(y)):
            raise DepthQueryError(f"depth query at ({x}, {y}) is not finite")
        if normalized:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise DepthQueryError(f"normalised point ({x}, {y}) is outside 0..1")
            return min(int(x * k.width), k.width - 1), min(int(y * k.height), k.height - 1)
        u, v = round(x), round(y)
        if not (0 <= u < k.width and 0 <= v < k.height):
            raise DepthQueryError(f"pixel ({u}, {v}) is outside the {k.width}x{k.height} image")
        return u, v

    def _window_depth(self, depth: np.ndarray, valid: np.ndarray | None, u: int, v: int) -> float:
        """Depth at (u, v) if valid, else the median of valid pixels in the smallest window; NaN if none.

        valid: which pixels of `depth` may answer (default depth > 0); a region passes its own mask.
        """
        if valid[v, u] if valid is not None else depth[v, u] > 0:
            return float(depth[v, u])
        for r in range(1, self.max_radius_px + 1):
            rows, cols = slice(max(0, v - r), v + r + 1), slice(max(0, u - r), u + r + 1)
            win = depth[rows, cols]
            vals = win[valid[rows, cols]] if valid is not None else win[win > 0]
            if vals.size:
                return float(np.median(vals))
        return math.nan

    def depth_at(self, x: float, y: float, normalized: bool = True) -> float:
        """Depth in mm at a point; raises DepthQueryError outside the image or with no depth nearby."""
        u, v = self._to_pixel(float(x), float(y), normalized)
        value = self._window_depth(self.frame.depth_mm, None, u, v)
        if math.isnan(value):
            raise DepthQueryError(f"no valid depth within {self.max_radius_px} px of pixel ({u}, {v})")
        return value

    def depth_at_batch(self, xy: np.ndarray, normalized: bool = True) -> np.ndarray:
        """(N,2) points -> (N,) float mm, the same values as depth_at.

        Where depth_at would raise (outside the image, non-finite, no valid depth nearby) the result
        is NaN instead, so one bad point does not lose the others.
        """
        pts = np.asarray(xy, dtype=float)
        if pts.ndim == 1 and pts.shape == (2,):
            pts = pts[None]
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise DepthQueryError(f"batch points must be (N,2), got shape {pts.shape}")
        k = self.frame.intrinsics
        d = self.frame.depth_mm
        finite = np.all(np.isfinite(pts), axis=1)
        safe = np.where(finite[:, None], pts, -1.0)
        if normalized:
            inside = finite & np.all((safe >= 0.0) & (safe <= 1.0), axis=1)
            uf, vf = safe[:, 0] * k.width, safe[:, 1] * k.height  # floor, like int() on non-negatives
        else:
            uf, vf = np.round(safe[:, 0]), np.round(safe[:, 1])  # round half to even, like round()
            inside = finite & (uf >= 0) & (uf < k.width) & (vf >= 0) & (vf < k.height)
        u = np.where(inside, np.minimum(np.floor(np.where(inside, uf, 0)), k.width - 1), 0).astype(np.intp)
        v = np.where(inside, np.minimum(np.floor(np.where(inside, vf, 0)), k.height - 1), 0).astype(np.intp)
        out = np.full(len(pts), np.nan)
        direct = d[v, u]
        hit = inside & (direct > 0)
        out[hit] = direct[hit]
        holes = np.nonzero(inside & ~hit)[0]
        if holes.size:
            out[holes] = self._window_depth_batch(u[holes], v[holes])
        return out

    def _window_depth_batch(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Vectorised _window_depth for hole pixels: one (N, 2R+1, 2R+1) patch stack, radii grown in turn."""
        d = self.frame.depth_mm
        h, w = d.shape
        r_max = self.max_radius_px
        out = np.full(len(u), np.nan)
        if r_max == 0:
            return out
        off = np.arange(-r_max, r_max + 1)
        rows, cols = v[:, None] + off, u[:, None] + off  # (N, 2R+1)
        rows_ok, cols_ok = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
        patch = d[np.clip(rows, 0, h - 1)[:, :, None], np.clip(cols, 0, w - 1)[:, None, :]].astype(float)
        patch[~(rows_ok[:, :, None] & cols_ok[:, None, :]) | (patch == 0)] = np.nan
        todo = np.ones(len(u), bool)
        for r in range(1, r_max + 1):
            win = patch[todo][:, r_max - r: r_max + r + 1, r_max - r: r_max + r + 1].reshape(int(todo.sum()), -1)
            found = ~np.all(np.isnan(win), axis=1)
            if np.any(found):
                idx = np.nonzero(todo)[0][found]
                out[idx] = np.nanmedian(win[found], axis=1)
                todo[idx] = False
            if not todo.any():
                break
        return out

    # ---- regions ------------------------------------------------------------------------------

    def region_stats(self, box_xyxy: tuple[float, float, float, float] | None = None,
                     mask: np.ndarray | None = None, normalized: bool = False) -> DepthStats:
        """SpatialBot's object depth (centre, mean, max, min; mm) over a box and/or a mask.

        box_xyxy: (x0, y0, x1, y1), pixels with x1, y1 exclusive, or 0..1 of width/height when
        normalized (rounded outwards to whole pixels). mask: HxW, nonzero = in the region. With both,
        the region is their intersection; with neither, the whole image. Holes (0) are ignored; the
        centre is the depth at the region's centroid, the hole fallback searching only valid pixels
        of the region (so an object's centre never reads the background behind it), and the median
        of the region when nothing is within max_radius_px. valid_fraction = valid / region pixels.
        """
        d = self.frame.depth_mm
        h, w = d.shape
        y0, y1, x0, x1 = 0, h, 0, w
        if box_xyxy is not None:
            b = np.asarray(box_xyxy, dtype=float)
            if b.shape != (4,) or not np.all(np.isfinite(b)):
                raise DepthQueryError(f"box must be 4 finite numbers (x0, y0, x1, y1), got {box_xyxy}")
            if normalized:
                b = b * np.array([w, h, w, h])
            x0, y0 = max(0, math.floor(b[0])), max(0, math.floor(b[1]))
            x1, y1 = min(w, math.ceil(b[2])), min(h, math.ceil(b[3]))
            if x1 <= x0 or y1 <= y0:
                raise DepthQueryError(f"box {tuple(box_xyxy)} is empty or outside the {w}x{h} image")
        crop = d[y0:y1, x0:x1]
        region = np.ones(crop.shape, bool)
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != d.shape:
                raise DepthQueryError(f"mask {m.shape} does not match the depth image {d.shape}")
            region = m[y0:y1, x0:x1].astype(bool)
        n_region = int(np.count_nonzero(region))
        if n_region == 0:
            raise DepthQueryError("region is empty (mask and box do not overlap)")
        sel = region & (crop > 0)
        vals = crop[sel]
        if vals.size == 0:
            raise DepthQueryError(f"region of {n_region} px has no valid depth pixel")
        rr, cc = np.nonzero(region)
        cu, cv = round(float(cc.mean())), round(float(rr.mean()))
        centre = self._window_depth(crop, sel, cu, cv)
        if math.isnan(centre):
            centre = float(np.median(vals))
        return DepthStats(centre, float(vals.mean()), float(vals.max()), float(vals.min()), vals.size / n_region)

    # ---- model text ---------------------------------------------------------------------------

    def resolve_depth_requests(self, text: str) -> str:
        """Answer every unanswered `Depth(x,y)` (x, y normalised) with its depth in whole mm.

        The request text is kept byte for byte and `=<mm>` appended (a dangling `=` is filled), so
        the answered text still starts with what the model generated. Requests already carrying a
        value are left alone; unresolvable ones (outside 0..1, no depth nearby) get `=unknown`.
        """
        def answer(m: re.Match[str]) -> str:
            if m.group(4) is not None:
                return m.group(0)
            try:
                value = str(round(self.depth_at(float(m.group(1)), float(m.group(2)), normalized=True)))
            except DepthQueryError:
                value = "unknown"
            return m.group(0) + ("" if m.group(3) else "=") + value

        return DEPTH_REQUEST.sub(answer, text)
