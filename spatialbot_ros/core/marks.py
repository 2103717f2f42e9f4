"""Set-of-Mark data: numbered candidate regions with their 2-D and 3-D description, and the
proposer interface a learned segmenter can implement instead of the geometric one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from spatialbot_ros.core.frame import RGBDFrame


@dataclass(frozen=True)
class DepthStats:
    """SpatialBot's object-depth description, millimetres; invalid (0) pixels ignored."""

    center_mm: float
    mean_mm: float
    max_mm: float
    min_mm: float
    valid_fraction: float

    def as_text(self) -> str:
        return (
            f"center {self.center_mm:.0f} mm, mean {self.mean_mm:.0f} mm, "
            f"min {self.min_mm:.0f} mm, max {self.max_mm:.0f} mm"
        )


@dataclass(frozen=True)
class SupportPlane:
    """The table: points p with normal·p + offset = 0 in the camera optical frame; normal points
    from the table towards the camera (up out of the table)."""

    normal: np.ndarray
    offset: float
    inlier_fraction: float

    def height_of(self, points: np.ndarray) -> np.ndarray:
        """Signed height of points (N,3) above the plane, metres."""
        return points @ self.normal + self.offset


@dataclass
class Mark:
    """One numbered candidate region (an object on the table).

    Coordinates: pixels (u right, v down) in the colour image; `*_cam` in the colour optical
    frame (x right, y down, z forward), metres; `*_base` in the robot base frame when the camera
    extrinsic is known. `footprint_m` is (long side, short side) on the table, `height_m` the
    object's own height above what it stands on: the table, or (`resting_on`, the id of that mark)
    another object whose top is `base_height_m` above the table (a cup on a plate).
    `shape` is one of: cylinder, box, sphere, plate, bowl, unknown.
    """

    id: int
    mask: np.ndarray
    box_xyxy: tuple[int, int, int, int]
    centroid_px: tuple[float, float]
    centroid_cam: np.ndarray
    footprint_m: tuple[float, float]
    height_m: float
    color_name: str
    depth: DepthStats
    shape: str = "unknown"
    yaw_cam_rad: float = 0.0
    points_cam: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)), repr=False)
    centroid_base: np.ndarray | None = None
    top_center_base: np.ndarray | None = None
    label: str = ""
    base_height_m: float = 0.0
    resting_on: int | None = None

    @property
    def area_px(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def size_m(self) -> float:
        """A scalar size for big/small comparisons: the largest dimension."""
        return float(max(self.footprint_m[0], self.height_m))

    def describe(self) -> str:
        return f"mark {self.id} ({self.color_name} {self.shape})"


@dataclass
class Proposals:
    """Output of a proposer: marks numbered 1..K plus the support plane they stand on."""

    marks: list[Mark]
    plane: SupportPlane | None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def by_id(self, mark_id: int) -> Mark:
        for m in self.marks:
            if m.id == mark_id:
                return m
        raise KeyError(f"no mark {mark_id}; marks are {[m.id for m in self.marks]}")


class MarkProposer(Protocol):
    """Anything that turns an RGB-D frame into numbered marks (geometric, learned, ...).

    base_from_camera: optional 4x4 extrinsic; when given, marks carry base-frame coordinates.
    """

    def propose(self, frame: RGBDFrame, base_from_camera: np.ndarray | None = None) -> Proposals: ...
