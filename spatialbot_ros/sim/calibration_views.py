"""Synthetic hand-eye calibration data from the MuJoCo cell: a ChArUco board fixed to tool0
(eye-to-hand, the fixed D435 watching it), the arm posed at N varied, reachable poses that show
the board to the camera, and the colour image rendered at each. The truth (base_from_camera,
tool0_from_board) is kept beside the views to score a calibration, never to compute one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.charuco import BoardSpec, CameraModel, render_board_image
from spatialbot_ros.core.transforms import invert, make_pose, transform_points
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, dh_for, fk, fk_all, ik
from spatialbot_ros.sim.cell import CellConfig
from spatialbot_ros.sim.ur5_mjcf import MAX_OPENING_M, build_cell_mjcf, calibration_board_xml

log = logging.getLogger(__name__)

_ARM_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint",
               "wrist_3_joint")
_TEXTURE = "calibration_board.png"


def default_board() -> BoardSpec:
    """7x5 squares of 40 mm (280 x 200 mm): big enough for ~25 px squares at 0.6-0.8 m on a D435."""
    return BoardSpec(squares_x=7, squares_y=5, square_length_m=0.04, marker_length_m=0.03, dictionary="DICT_4X4_50")


@dataclass
class CalibrationSimConfig:
    views: int = 12
    seed: int = 0
    ur_type: str = "ur5"
    board: BoardSpec = field(default_factory=default_board)
    board_offset_m: float = 0.16            # board face beyond the flange (clear of the 0.15 m fingers)
    camera: CellConfig = field(default_factory=CellConfig)
    board_centre_min: tuple[float, float, float] = (0.45, -0.2, 0.15)  # where the board centre is placed (base)
    board_centre_max: tuple[float, float, float] = (0.70, 0.2, 0.40)
    min_tilt_deg: float = 10.0              # board normal tilted away from the camera ray by this much ..
    max_tilt_deg: float = 35.0              # .. up to this much, about a random axis
    max_spin_deg: float = 60.0              # and turned about its normal
    image_margin_px: int = 20
    max_attempts: int = 2000


@dataclass(frozen=True)
class CalibrationView:
    name: str
    image: np.ndarray                       # HxWx3 rgb8
    joints: np.ndarray                      # the arm's joint angles, as the controller reports them
    base_from_tool0: np.ndarray             # fk of the joints (what the robot reports)


@dataclass(frozen=True)
class CalibrationViewSet:
    camera: CameraModel
    board: BoardSpec
    ur_type: str
    views: list[CalibrationView]
    base_from_camera: np.ndarray            # truth, for scoring
    tool0_from_board: np.ndarray            # truth, for scoring


def tool0_from_board_for(board: BoardSpec, offset_m: float) -> np.ndarray:
    """Board centred on the tool axis at offset_m, printed face looking along +z of tool0."""
    w, h = board.size_m
    return make_pose([-w / 2, h / 2, offset_m], Rotation.from_euler("x", np.pi))


def _board_outline(board: BoardSpec) -> np.ndarray:
    w, h = board.size_m
    return np.array([[0, 0, 0], [w, 0, 0], [w, h, 0], [0, h, 0], [w / 2, h / 2, 0]], float)


def _visible(cfg: CalibrationSimConfig, camera: CameraModel, camera_from_board: np.ndarray) -> bool:
    p = transform_points(camera_from_board, _board_outline(cfg.board))
    if np.any(p[:, 2] < 0.2):
        return False
    u = camera.fx * p[:, 0] / p[:, 2] + camera.cx
    v = camera.fy * p[:, 1] / p[:, 2] + camera.cy
    m = cfg.image_margin_px
    return bool(np.all((u > m) & (u < camera.width - m) & (v > m) & (v < camera.height - m)))


def _pick_solution(sols: np.ndarray, q_ref: np.ndarray, dh: object) -> np.ndarray | None:
    """The IK solution nearest q_ref among those inside the limits with the arm above the table."""
    lo, hi = np.array(UR5_JOINT_LIMITS).T
    best, best_d = None, np.inf
    for q in sols:
        if np.any(q < lo) or np.any(q > hi):
            continue
        frames = fk_all(q, dh)
        # frames[i] is DH frame i+1: 0 shoulder, 1 elbow, 2.. wrist and flange
        if min(F[2, 3] for F in frames[1:]) < 0.05 or frames[1][2, 3] < frames[0][2, 3]:  # link low / elbow down
            continue
        d = float(np.linalg.norm(np.angle(np.exp(1j * (q - q_ref)))))
        if d < best_d:
            best, best_d = q, d
    return best


def _tool0_showing(centre: np.ndarray, z: np.ndarray, spin_rad: float, offset_m: float) -> np.ndarray:
    """tool0 pose putting the board centre at `centre` with its printed face looking along z."""
    x = np.cross([0.0, 0.0, 1.0], z)
    x /= np.linalg.norm(x)
    R = np.column_stack([x, np.cross(z, x), z]) @ Rotation.from_euler("z", spin_rad).as_matrix()
    return make_pose(centre - offset_m * z, R)


def _sample_tool0(rng: np.random.Generator, cfg: CalibrationSimConfig, cam_pos: np.ndarray) -> np.ndarray:
    centre = rng.uniform(cfg.board_centre_min, cfg.board_centre_max)
    n = cam_pos - centre
    n /= np.linalg.norm(n)
    axis = np.cross(n, rng.normal(size=3))
    axis /= np.linalg.norm(axis)
    z = Rotation.from_rotvec(axis * np.radians(rng.uniform(cfg.min_tilt_deg, cfg.max_tilt_deg))).apply(n)
    return _tool0_showing(centre, z, np.radians(rng.uniform(-cfg.max_spin_deg, cfg.max_spin_deg)), cfg.board_offset_m)


class _BoardCell:
    """The cell model with the board on tool0, posed kinematically (no physics needed for a still view)."""

    def __init__(self, cfg: CalibrationSimConfig, tool0_from_board: np.ndarray) -> None:
        k = cfg.camera.intrinsics
        extras = calibration_board_xml(cfg.board.size_m, tool0_from_board, _TEXTURE)
        xml = build_cell_mjcf([], dh_for(cfg.ur_type), np.asarray(cfg.camera.base_from_camera, float), k,
                              extras=extras)
        ok, png = cv2.imencode(".png", render_board_image(cfg.board, px_per_square=120))
        if not ok:
            raise RuntimeError("could not encode the board texture")
        self.model = mujoco.MjModel.from_xml_string(xml, {_TEXTURE: png.tobytes()})
        self.data = mujoco.MjData(self.model)
        jid = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in _ARM_JOINTS]
        self._qadr = np.array([self.model.jnt_qposadr[j] for j in jid])
        fingers = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, f"{s}_finger_joint")
                   for s in ("left", "right")]
        self._fadr = np.array([self.model.jnt_qposadr[j] for j in fingers])
        self._renderer = mujoco.Renderer(self.model, k.height, k.width)

    def render(self, q: np.ndarray) -> np.ndarray:
        self.data.qpos[self._qadr] = q
        self.data.qpos[self._fadr] = MAX_OPENING_M / 2
        mujoco.mj_forward(self.model, self.data)
        self._renderer.update_scene(self.data, camera="d435")
        return self._renderer.render().copy()

    def close(self) -> None:
        self._renderer.close()


def render_calibration_views(cfg: CalibrationSimConfig | None = None) -> CalibrationViewSet:
    """N views of the board on the gripper, each from a reachable pose that shows the whole board."""
    cfg = cfg or CalibrationSimConfig()
    if cfg.views < 1:
        raise ValueError(f"calibration views: need at least one view, got {cfg.views}")
    dh = dh_for(cfg.ur_type)
    camera = CameraModel.from_intrinsics(cfg.camera.intrinsics)
    base_from_camera = np.asarray(cfg.camera.base_from_camera, float)
    tool0_from_board = tool0_from_board_for(cfg.board, cfg.board_offset_m)
    rng = np.random.default_rng(cfg.seed)
    # reference posture: elbow up, the board square to the camera in the middle of the region
    centre = (np.asarray(cfg.board_centre_min) + np.asarray(cfg.board_centre_max)) / 2
    facing = base_from_camera[:3, 3] - centre
    nominal = _tool0_showing(centre, facing / np.linalg.norm(facing), 0.0, cfg.board_offset_m)
    sols = ik(nominal, dh)
    if len(sols) == 0:
        raise RuntimeError("calibration views: the middle of the board placement region is unreachable")
    q_ref = max(sols, key=lambda q: fk_all(q, dh)[2][2, 3] - 0.1 * abs(q[0]))
    joints: list[np.ndarray] = []
    for _ in range(cfg.max_attempts):
        if len(joints) == cfg.views:
            break
        tool0 = _sample_tool0(rng, cfg, base_from_camera[:3, 3])
        if not _visible(cfg, camera, invert(base_from_camera) @ tool0 @ tool0_from_board):
            continue
        q = _pick_solution(ik(tool0, dh), q_ref, dh)
        if q is not None:
            joints.append(q)
    if len(joints) < cfg.views:
        raise RuntimeError(f"calibration views: found only {len(joints)} of {cfg.views} reachable poses showing the "
                           f"board in {cfg.max_attempts} tries; widen the board placement region")
    cell = _BoardCell(cfg, tool0_from_board)
    try:
        views = [CalibrationView(f"view_{i:03d}", cell.render(q), q.copy(), fk(q, dh)) for i, q in enumerate(joints)]
    finally:
        cell.close()
    log.info("rendered %d calibration views (%dx%d)", len(views), camera.width, camera.height)
    return CalibrationViewSet(camera, cfg.board, cfg.ur_type, views, base_from_camera, tool0_from_board)
