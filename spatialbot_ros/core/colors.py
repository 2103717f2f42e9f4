"""Named object colours: the palette the simulator paints with and the namer perception uses."""

from __future__ import annotations

import cv2
import numpy as np

# Linear-ish sRGB in 0..1. Hues are far apart so naming survives shading.
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.10, 0.10),
    "orange": (0.95, 0.50, 0.05),
    "yellow": (0.95, 0.85, 0.10),
    "green": (0.10, 0.70, 0.15),
    "blue": (0.10, 0.25, 0.90),
    "purple": (0.55, 0.15, 0.75),
    "white": (0.92, 0.92, 0.92),
    "black": (0.06, 0.06, 0.06),
}
COLOR_NAMES: tuple[str, ...] = tuple(PALETTE)

# OpenCV hue (0..179) centres of the chromatic names.
_HUE_CENTRES = {"red": 0, "orange": 14, "yellow": 28, "green": 62, "blue": 115, "purple": 140}
UNKNOWN = "unknown"
# abstain below these: the hue vectors of a painted surface agree (resultant length near 1 under
# shading); noise, glare or a corrupted stream scatters them, and a confident wrong name is worse
# than "unknown", which no stated colour can match
MIN_HUE_AGREEMENT = 0.6
MIN_ACHROMATIC_AGREEMENT = 0.7


MIN_CHROMATIC_SATURATION, MIN_CHROMATIC_VALUE = 60, 40   # OpenCV HSV: below either, a pixel has no hue


# painted white and black, told from a grey machine surface and its shading: brighter / darker than grey gets
MIN_PAINTED_WHITE_VALUE, MAX_PAINTED_BLACK_VALUE = 215, 35


def paint_evidence(pixels_rgb: np.ndarray) -> dict[str, np.ndarray]:
    """(N,3) uint8 RGB pixels that look painted rather than grey: {"hue": ..., "white": ..., "black": ...}
    boolean masks. Grey links of the simulated UR5, shading included, fall in none of them."""
    px = np.asarray(pixels_rgb, dtype=np.uint8).reshape(-1, 1, 3)
    hsv = cv2.cvtColor(px, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hue = (hsv[:, 1] >= MIN_CHROMATIC_SATURATION) & (hsv[:, 2] >= MIN_CHROMATIC_VALUE)
    return {"hue": hue, "white": ~hue & (hsv[:, 2] >= MIN_PAINTED_WHITE_VALUE),
            "black": hsv[:, 2] <= MAX_PAINTED_BLACK_VALUE}


def name_color(pixels_rgb: np.ndarray) -> str:
    """Name the dominant colour of (N,3) uint8 RGB pixels from the palette, or "unknown".

    Uses median HSV: low saturation -> white/black by value, otherwise nearest hue centre. Abstains
    ("unknown") when the pixels do not agree on a hue (or, for white/black, on brightness).
    """
    px = np.asarray(pixels_rgb, dtype=np.uint8).reshape(-1, 1, 3)
    if px.shape[0] == 0:
        return UNKNOWN
    hsv = cv2.cvtColor(px, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(float)
    sat, val = np.median(hsv[:, 1]), np.median(hsv[:, 2])
    if sat < MIN_CHROMATIC_SATURATION or val < MIN_CHROMATIC_VALUE:
        name = "white" if sat < MIN_CHROMATIC_SATURATION and val > 110 else "black"
        bright = hsv[:, 2] > 110
        agree = float(np.mean(bright if name == "white" else ~bright))
        return name if agree >= MIN_ACHROMATIC_AGREEMENT else UNKNOWN
    hued = hsv[hsv[:, 1] >= MIN_CHROMATIC_SATURATION]
    # circular median-ish: mean of unit vectors on the hue circle
    ang = hued[:, 0] / 180.0 * 2 * np.pi
    s_mean, c_mean = np.sin(ang).mean(), np.cos(ang).mean()
    if float(np.hypot(s_mean, c_mean)) < MIN_HUE_AGREEMENT:
        return UNKNOWN
    hue = (np.degrees(np.arctan2(s_mean, c_mean)) % 360) / 2.0

    def dist(c: float) -> float:
        d = abs(hue - c) % 180
        return min(d, 180 - d)

    return min(_HUE_CENTRES, key=lambda n: dist(_HUE_CENTRES[n]))
