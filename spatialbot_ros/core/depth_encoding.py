"""Depth images as 3-channel uint8, the form spatial VLMs take.

`spatialbot16`: the layout of the released SpatialBot checkpoints, uint16 mm split 6-5-5:
ch0 = (d >> 10) * 4, ch1 = ((d >> 5) & 31) * 8, ch2 = (d & 31) * 8; 0..65535 mm.
`rgb24`: the paper's 24-bit layout, ch0 = d >> 16, ch1 = (d >> 8) & 255, ch2 = d & 255; 0..16777215 mm.
Values that do not fit are an error, never a silent wrap.
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.errors import DepthEncodingError

DEPTH_ENCODINGS: tuple[str, ...] = ("spatialbot16", "rgb24")
MAX_MM: dict[str, int] = {"spatialbot16": 2**16 - 1, "rgb24": 2**24 - 1}
_SB16_STEPS = (4, 8, 8)  # channel value = code * step
_SB16_MAX_CODE = (63, 31, 31)  # 6, 5, 5 bits


def _check_name(encoding: str) -> None:
    if encoding not in DEPTH_ENCODINGS:
        raise DepthEncodingError(f"unknown depth encoding {encoding!r}; known: {', '.join(DEPTH_ENCODINGS)}")


def _as_mm(depth_mm: np.ndarray, encoding: str) -> np.ndarray:
    d = np.asarray(depth_mm)
    if d.ndim != 2:
        raise DepthEncodingError(f"depth must be an HxW image, got shape {d.shape}")
    if d.dtype.kind == "f":
        if not np.all(np.isfinite(d)):
            raise DepthEncodingError("depth contains NaN or inf; use 0 for 'no data'")
        if np.any(d != np.round(d)):
            raise DepthEncodingError("depth in millimetres must be whole numbers")
    elif d.dtype.kind not in "iu":
        raise DepthEncodingError(f"depth must be an integer or float array, got {d.dtype}")
    if d.size and (d.min() < 0 or d.max() > MAX_MM[encoding]):
        raise DepthEncodingError(f"depth {d.min()}..{d.max()} mm outside 0..{MAX_MM[encoding]} mm of {encoding}")
    return d.astype(np.uint32)


def encode_depth(depth_mm: np.ndarray, encoding: str = "spatialbot16") -> np.ndarray:
    """HxW millimetres -> HxWx3 uint8."""
    _check_name(encoding)
    d = _as_mm(depth_mm, encoding)
    out = np.empty(d.shape + (3,), dtype=np.uint8)
    if encoding == "spatialbot16":
        out[..., 0] = (d >> 10) * 4
        out[..., 1] = ((d >> 5) & 31) * 8
        out[..., 2] = (d & 31) * 8
    else:
        out[..., 0] = d >> 16
        out[..., 1] = (d >> 8) & 255
        out[..., 2] = d & 255
    return out


def decode_depth(image: np.ndarray, encoding: str = "spatialbot16", strict: bool = True) -> np.ndarray:
    """HxWx3 uint8 -> millimetres (uint16 for spatialbot16, uint32 for rgb24).

    strict: spatialbot16 channel values must be multiples of their step (4, 8, 8), as the encoder
    writes them, so a colour image passed by mistake is refused instead of decoded into nonsense.
    strict=False rounds each channel to the nearest step (halves up), for images that went through
    lossy resizing or compression. rgb24 accepts every uint8 triple, so strict has no effect on it.
    """
    _check_name(encoding)
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise DepthEncodingError(f"encoded depth must be HxWx3 uint8, got {img.shape} {img.dtype}")
    c = img.astype(np.uint32)
    if encoding == "rgb24":
        return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]
    steps = np.array(_SB16_STEPS, dtype=np.uint32)
    if strict:
        off = np.any(c % steps, axis=-1)
        if np.any(off):
            v, u = (int(i[0]) for i in np.nonzero(off))
            raise DepthEncodingError(
                f"image is not a spatialbot16 encoding: {int(off.sum())} pixel(s) have channel values that are "
                f"not multiples of 4/8/8 (first at column {u}, row {v}: {img[v, u].tolist()}); "
                "pass strict=False to round"
            )
        q = c // steps
    else:  # nearest step, halves up, integer arithmetic so the result does not depend on float rounding
        q = np.minimum((c + steps // 2) // steps, np.array(_SB16_MAX_CODE, dtype=np.uint32))
    return ((q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2]).astype(np.uint16)
