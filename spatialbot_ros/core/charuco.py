"""ChArUco calibration target: the board definition, its printable image, the colour camera model
with distortion, and detection of the board's pose in a photo (cv2.aruco CharucoDetector, then
solvePnP on the interpolated chessboard corners).

Board frame (OpenCV's): origin at the board's top-left outer corner, x along the squares_x
columns, y down the squares_y rows, z into the board, so the printed face looks along -z.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.transforms import make_pose

log = logging.getLogger(__name__)

MIN_CORNERS = 6  # fewer interpolated corners give poses too weak for hand-eye


class BoardNotFound(ValueError):
    """The board is not (usably) visible in an image; the message says why."""


@dataclass(frozen=True)
class BoardSpec:
    """A ChArUco board as printed: squares, their size and the ArUco dictionary of its markers."""

    squares_x: int = 5
    squares_y: int = 4
    square_length_m: float = 0.04
    marker_length_m: float = 0.03
    dictionary: str = "DICT_4X4_50"

    def __post_init__(self) -> None:
        if self.squares_x < 3 or self.squares_y < 3:
            raise ValueError(f"board: need at least 3x3 squares, got {self.squares_x}x{self.squares_y}")
        if not 0 < self.marker_length_m < self.square_length_m:
            raise ValueError(f"board: marker length {self.marker_length_m} m must be positive and smaller than "
                             f"the square length {self.square_length_m} m")
        if not self.dictionary.startswith("DICT_") or not hasattr(cv2.aruco, self.dictionary):
            raise ValueError(f"board: unknown ArUco dictionary '{self.dictionary}' (e.g. DICT_4X4_50, DICT_5X5_100)")
        markers = (self.squares_x * self.squares_y) // 2
        size = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary)).bytesList.shape[0]
        if markers > size:
            raise ValueError(f"board: {self.squares_x}x{self.squares_y} needs {markers} markers, "
                             f"{self.dictionary} has {size}")

    @property
    def size_m(self) -> tuple[float, float]:
        return self.squares_x * self.square_length_m, self.squares_y * self.square_length_m

    def cv_board(self) -> cv2.aruco.CharucoBoard:
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.squares_x, self.squares_y), self.square_length_m,
                                      self.marker_length_m, d)

    def to_dict(self) -> dict:
        return {"squares_x": self.squares_x, "squares_y": self.squares_y, "square_length_m": self.square_length_m,
                "marker_length_m": self.marker_length_m, "dictionary": self.dictionary}

    @classmethod
    def from_dict(cls, d: dict) -> BoardSpec:
        """Every key is required: a guessed square length would silently scale the calibration."""
        known = ("squares_x", "squares_y", "square_length_m", "marker_length_m", "dictionary")
        unknown, missing = set(d) - set(known), [k for k in known if k not in d]
        if unknown or missing:
            raise ValueError(f"board: {'unknown keys ' + str(sorted(unknown)) if unknown else ''}"
                             f"{'; ' if unknown and missing else ''}{'missing ' + ', '.join(missing) if missing else ''}"
                             f" (a board needs {', '.join(known)})")
        try:
            return cls(int(d["squares_x"]), int(d["squares_y"]), float(d["square_length_m"]),
                       float(d["marker_length_m"]), str(d["dictionary"]))
        except (TypeError, ValueError) as e:
            if str(e).startswith("board:"):
                raise
            raise ValueError(f"board: {e}") from None


def render_board_image(board: BoardSpec, px_per_square: int = 100) -> np.ndarray:
    """Greyscale image of exactly the board area (no margin): pixel (0, 0) is the board origin."""
    w, h = board.squares_x * px_per_square, board.squares_y * px_per_square
    return board.cv_board().generateImage((w, h), marginSize=0, borderBits=1)


@dataclass(frozen=True)
class CameraModel:
    """Colour camera intrinsics with OpenCV distortion (k1, k2, p1, p2[, k3...]); RealSense colour
    streams publish plumb_bob / inverse Brown-Conrady coefficients that are often all zero."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, ...] = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))

    def __post_init__(self) -> None:
        CameraIntrinsics(self.width, self.height, self.fx, self.fy, self.cx, self.cy)  # validates
        if len(self.distortion) not in (4, 5, 8, 12, 14) or not all(math.isfinite(v) for v in self.distortion):
            raise ValueError(f"camera: distortion needs 4, 5, 8, 12 or 14 finite coefficients, got {self.distortion}")

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist(self) -> np.ndarray:
        return np.asarray(self.distortion, float)

    @classmethod
    def from_intrinsics(cls, k: CameraIntrinsics) -> CameraModel:
        return cls(k.width, k.height, k.fx, k.fy, k.cx, k.cy)

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fx": self.fx, "fy": self.fy, "cx": self.cx,
                "cy": self.cy, "distortion": [float(v) for v in self.distortion]}

    @classmethod
    def from_dict(cls, d: dict) -> CameraModel:
        """Our keys (fx, fy, cx, cy, distortion), a sensor_msgs/CameraInfo echo (k, d) or a
        camera_calibration YAML (camera_matrix.data, distortion_coefficients.data)."""
        try:
            if "fx" in d:
                w, h = d["width"], d["height"]
                fx, fy, cx, cy = d["fx"], d["fy"], d["cx"], d["cy"]
                dist = d.get("distortion", [0.0] * 5)
            elif "k" in d:
                w, h, K = d["width"], d["height"], d["k"]
                fx, fy, cx, cy = K[0], K[4], K[2], K[5]
                dist = d.get("d") or [0.0] * 5
            elif "camera_matrix" in d:
                w, h, K = d["image_width"], d["image_height"], d["camera_matrix"]["data"]
                fx, fy, cx, cy = K[0], K[4], K[2], K[5]
                dist = d.get("distortion_coefficients", {}).get("data") or [0.0] * 5
            else:
                raise KeyError("fx")
        except (KeyError, IndexError, TypeError) as e:
            raise ValueError(f"camera: intrinsics need width, height, fx, fy, cx, cy (+ distortion), a CameraInfo "
                             f"(width, height, k, d) or camera_calibration YAML; missing {e}") from None
        return cls(int(w), int(h), float(fx), float(fy), float(cx), float(cy), tuple(float(v) for v in dist))


def load_yaml_mapping(path: Path | str, what: str) -> dict:
    """A YAML/JSON file holding one mapping, with a clear error naming `what` it should be."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as e:
        raise ValueError(f"{what}: cannot read {p}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{what}: {p} is not valid YAML/JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: {p} must hold a mapping")
    return data


@dataclass(frozen=True)
class BoardDetection:
    """The board seen in one image: its pose and the corners that fixed it."""

    camera_from_board: np.ndarray
    corner_ids: np.ndarray          # (N,) ChArUco corner ids
    object_points: np.ndarray       # (N, 3) board frame, m
    image_points: np.ndarray        # (N, 2) px
    reprojection_px: float          # mean distance of reprojected corners to the detected ones
    markers: int


def _detector(board: BoardSpec, camera: CameraModel) -> cv2.aruco.CharucoDetector:
    cp = cv2.aruco.CharucoParameters()
    cp.cameraMatrix, cp.distCoeffs = camera.matrix, camera.dist
    cp.tryRefineMarkers = True  # recover markers missed at first from the board layout (small/blurred ones)
    dp = cv2.aruco.DetectorParameters()
    dp.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    return cv2.aruco.CharucoDetector(board.cv_board(), cp, dp)


def project_points(camera: CameraModel, camera_from_obj: np.ndarray, points: np.ndarray) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(np.asarray(camera_from_obj[:3, :3], float))
    px, _ = cv2.projectPoints(np.asarray(points, float).reshape(-1, 1, 3), rvec, camera_from_obj[:3, 3].astype(float),
                              camera.matrix, camera.dist)
    return px.reshape(-1, 2)


def detect_board(image: np.ndarray, board: BoardSpec, camera: CameraModel) -> BoardDetection:
    """Board pose in the camera optical frame; raises BoardNotFound when too little is seen."""
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[:2] != (camera.height, camera.width):
        raise BoardNotFound(f"image is {img.shape[1] if img.ndim > 1 else '?'}x{img.shape[0]}, camera intrinsics "
                            f"are for {camera.width}x{camera.height}")
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    corners, ids, _, marker_ids = _detector(board, camera).detectBoard(grey)
    n_markers = 0 if marker_ids is None else len(marker_ids)
    if ids is None or len(ids) < MIN_CORNERS:
        raise BoardNotFound(f"board not found ({n_markers} markers, {0 if ids is None else len(ids)} corners; "
                            f"need {MIN_CORNERS} corners)")
    obj, imgp = board.cv_board().matchImagePoints(corners, ids)
    obj, imgp = obj.reshape(-1, 3).astype(float), imgp.reshape(-1, 2).astype(float)
    spread = np.linalg.svd(obj[:, :2] - obj[:, :2].mean(axis=0), compute_uv=False)
    if spread[1] < 0.5 * board.square_length_m:
        raise BoardNotFound(f"board corners are (nearly) on one line ({len(obj)} corners): pose is ambiguous")
    ok, rvec, tvec = cv2.solvePnP(obj, imgp, camera.matrix, camera.dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise BoardNotFound("board pose: solvePnP failed")
    rvec, tvec = cv2.solvePnPRefineLM(obj, imgp, camera.matrix, camera.dist, rvec, tvec)
    T = make_pose(tvec.ravel(), cv2.Rodrigues(rvec)[0])
    if T[2, 3] <= 0:
        raise BoardNotFound("board pose lies behind the camera")
    err = np.linalg.norm(project_points(camera, T, obj) - imgp, axis=1)
    return BoardDetection(T, ids.ravel().astype(int), obj, imgp, float(err.mean()), n_markers)
