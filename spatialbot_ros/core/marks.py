"""Set-of-Mark data: numbered candidate regions with their 2-D and 3-D description, and the
proposer interface a learned segmenter can implement instead of the geometric one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.object_kinds import ROUND_SHAPES

# what size words order by: "size" (big, small, large), "width" (wide, narrow, fat, thin; a round
# thing's diameter) and "height" (tall, short)
SIZE_DIMENSIONS = ("size", "width", "height")


def extent_of(footprint_m: tuple[float, float] | list[float], height_m: float, dim: str,
              shape: str | None = None) -> float:
    """An object's extent along one size dimension, from its footprint (long, short side) and height.

    "size" is the bounding volume (long x short side x height): a cup 20 % wider than another of the
    same height is bigger, as a person sees it, though its largest dimension (its height) is the
    same; "width" is the footprint's long side, "height" the height. Simulator truth (scene objects)
    and perception (marks) both go through here, so they cannot disagree on what "bigger" means.
    A perceived round shape (ROUND_SHAPES) counts its long side both ways: the camera sees only the
    near half of a ball or a cup, so the silhouette's short side reads up to 20 mm short and would
    make every ball look half its volume, and a ball is as wide as it is tall: its height (to 0.6 mm)
    is its diameter, where its silhouette loses 6 mm to the depth edge (bench/bench_perception_size.py).
    """
    long_side = float(max(footprint_m)) if shape != "sphere" else float(max(*footprint_m, height_m))
    short_side = long_side if shape in ROUND_SHAPES else float(min(footprint_m))
    if dim == "size":
        return long_side * short_side * float(height_m)
    if dim == "width":
        return long_side
    if dim == "height":
        return float(height_m)
    raise ValueError(f"unknown size dimension {dim!r}; expected one of {SIZE_DIMENSIONS}")


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

    def extent(self, dim: str) -> float:
        """Its extent along a size dimension (SIZE_DIMENSIONS; extent_of says what each means)."""
        return extent_of(self.footprint_m, self.height_m, dim, self.shape)

    def describe(self) -> str:
        return f"mark {self.id} ({self.color_name} {self.shape})"


@dataclass(frozen=True)
class Unmeasured:
    """Object evidence a proposer saw but could not make a mark of: painted pixels inside a region too
    big to be one object (an object that touches the robot arm in the image joins it in one region), or a
    sliver of an object mostly hidden behind others. Grounding cannot rule such an object out, so a phrase
    it could match is refused (core.grounding_check)."""

    color_name: str
    area_px: int                      # its pixels (painted pixels, for a region merged with the arm)
    box_xyxy: tuple[int, int, int, int]
    why: str = "it merges with something too big to be an object, such as the robot arm"

    def describe(self) -> str:
        x0, y0, x1, y1 = self.box_xyxy
        return (f"a {self.color_name} object at pixels ({x0}, {y0})-({x1}, {y1}) that perception cannot measure "
                f"({self.why})")


@dataclass
class Proposals:
    """Output of a proposer: marks numbered 1..K plus the support plane they stand on, and any object
    evidence it could not measure (`unmeasured`)."""

    marks: list[Mark]
    plane: SupportPlane | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    unmeasured: list[Unmeasured] = field(default_factory=list)

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
