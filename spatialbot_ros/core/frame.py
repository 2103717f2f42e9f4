"""The RGB-D frame as the RealSense driver delivers it: rgb8 colour, 16UC1 depth in mm aligned to
colour, and the colour camera's pinhole intrinsics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spatialbot_ros.core.errors import FrameError

COLOR_OPTICAL_FRAME = "camera_color_optical_frame"


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole model of the colour camera (aligned depth shares it). Distortion is assumed removed."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise FrameError(f"intrinsics: {name} must be a whole number of pixels, got {value!r}")
        if self.width <= 0 or self.height <= 0:
            raise FrameError(f"intrinsics: image size must be positive, got {self.width}x{self.height}")
        for name in ("fx", "fy", "cx", "cy"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise FrameError(f"intrinsics: {name} is not finite ({value})")
        if not (0.05 * self.width <= self.fx <= 20 * self.width and 0.05 * self.height <= self.fy <= 20 * self.height):
            raise FrameError(
                f"intrinsics: focal lengths fx={self.fx:.1f}, fy={self.fy:.1f} are absurd for a "
                f"{self.width}x{self.height} image"
            )
        if not (0 <= self.cx <= self.width and 0 <= self.cy <= self.height):
            raise FrameError(
                f"intrinsics: principal point ({self.cx:.1f}, {self.cy:.1f}) lies outside the "
                f"{self.width}x{self.height} image"
            )

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
        """Square pixels, centred principal point, from a horizontal field of view."""
        if not 1.0 < hfov_deg < 179.0:
            raise FrameError(f"intrinsics: horizontal FOV {hfov_deg} deg is not a camera")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def K(self) -> np.ndarray:  # noqa: N802 - the conventional name of the camera matrix
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.fy)))

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera at another resolution (for low-resolution model inputs)."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(width, height, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)


@dataclass(frozen=True)
class RGBDFrame:
    """One synchronised colour + aligned depth frame.

    color_rgb: HxWx3 uint8 RGB; depth_mm: HxW uint16 millimetres, 0 = no data.
    """

    color_rgb: np.ndarray
    depth_mm: np.ndarray
    intrinsics: CameraIntrinsics
    stamp_s: float = 0.0
    frame_id: str = COLOR_OPTICAL_FRAME
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        c, d, k = self.color_rgb, self.depth_mm, self.intrinsics
        if not isinstance(k, CameraIntrinsics):
            raise FrameError(f"frame: intrinsics must be CameraIntrinsics, got {type(k).__name__}")
        if not isinstance(c, np.ndarray) or not isinstance(d, np.ndarray):
            raise FrameError("frame: colour and depth must be numpy arrays")
        if c.size == 0 or d.size == 0:
            raise FrameError("frame: empty colour or depth image")
        if c.ndim != 3 or c.shape[2] != 3 or c.dtype != np.uint8:
            raise FrameError(f"frame: colour must be HxWx3 uint8 RGB, got shape {c.shape} dtype {c.dtype}")
        if d.ndim != 2 or d.dtype != np.uint16:
            raise FrameError(f"frame: depth must be HxW uint16 millimetres, got shape {d.shape} dtype {d.dtype}")
        if c.shape[:2] != d.shape:
            raise FrameError(f"frame: colour {c.shape[:2]} and depth {d.shape} sizes differ (depth not aligned?)")
        if (k.height, k.width) != d.shape:
            raise FrameError(f"frame: intrinsics are for {k.width}x{k.height}, images are {d.shape[1]}x{d.shape[0]}")
        if not math.isfinite(self.stamp_s):
            raise FrameError("frame: stamp is not finite")

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth_mm.shape  # type: ignore[return-value]

    @property
    def valid_depth_fraction(self) -> float:
        return float(np.count_nonzero(self.depth_mm)) / self.depth_mm.size

    def depth_m(self) -> np.ndarray:
        """Depth in metres as float32 with NaN where the sensor had no data."""
        out = self.depth_mm.astype(np.float32) * 1e-3
        out[self.depth_mm == 0] = np.nan
        return out
