"""Synthetic hand-eye calibration data from the MuJoCo cell. Eye-to-hand: a ChArUco board fixed to
tool0 and the cell's fixed D435 watching it. Eye-in-hand: a D435 on a wrist mount and the board
lying on the table. The arm is posed at N varied, reachable poses that show the whole board to the
camera, and the colour image is rendered at each. The truth (camera and board poses) is kept
beside the views to score a calibration, never to compute one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.charuco import BoardSpec, CameraModel, render_board_image
from spatialbot_ros.core.transforms import invert, make_pose, transform_points
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, UR_JOINT_NAMES, dh_for, fk, fk_all, ik
from spatialbot_ros.sim.cell import CellConfig
from spatialbot_ros.sim.ur5_mjcf import (
    MAX_OPENING_M,
    CellExtras,
    build_cell_mjcf,
    calibration_board_xml,
    camera_xml,
)

log = logging.getLogger(__name__)

_TEXTURE = "calibration_board.png"
_WRIST_CAMERA = "wrist_d435"


def default_tool0_from_camera() -> np.ndarray:
    """A D435 on a wrist bracket: 9 cm off the tool axis, looking along it (the fingers stay out of view)."""
    return make_pose([0.0, -0.09, 0.04], Rotation.from_euler("z", np.pi / 2))


def default_board() -> BoardSpec:
    """7x5 squares of 40 mm (280 x 200 mm): big enough for ~25 px squares at 0.6-0.8 m on a D435."""
    return BoardSpec(squares_x=7, squares_y=5, square_length_m=0.04, marker_length_m=0.03, dictionary="DICT_4X4_50")


@dataclass
class CalibrationSimConfig:
    views: int = 12
    seed: int = 0
    ur_type: str = "ur5"
    eye_in_hand: bool = False
    board: BoardSpec = field(default_factory=default_board)
    camera: CellConfig = field(default_factory=CellConfig)  # image size, FOV and the fixed camera's pose
    # eye-to-hand: the board on the gripper
    board_offset_m: float = 0.16            # board face beyond the flange (clear of the 0.15 m fingers)
    board_centre_min: tuple[float, float, float] = (0.45, -0.2, 0.15)  # where the board centre is placed (base)
    board_centre_max: tuple[float, float, float] = (0.70, 0.2, 0.40)
    # eye-in-hand: the camera on the wrist, the board on the table
    tool0_from_camera: np.ndarray = field(default_factory=default_tool0_from_camera)
    table_board_centre: tuple[float, float] = (0.5, 0.0)
    view_distance_m: tuple[float, float] = (0.35, 0.55)
    min_tilt_deg: float = 10.0              # board normal tilted away from the camera ray by this much ..
    max_tilt_deg: float = 35.0              # .. up to this much, about a random axis
    max_spin_deg: float = 60.0              # and turned about its normal
    image_margin_px: int = 20
    max_attempts: int = 2000
    # sensor and robot imperfections (0: ideal)
    image_noise_std: float = 0.0            # Gaussian pixel noise, grey levels
    image_blur_px: float = 0.0              # Gaussian blur sigma, px (defocus, motion)
    joint_noise_rad: float = 0.0            # error of the reported joint angles


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
    eye_in_hand: bool
    camera_truth: np.ndarray                # base_from_camera (eye-to-hand) / tool0_from_camera (eye-in-hand)
    board_truth: np.ndarray                 # tool0_from_board (eye-to-hand) / base_from_board (eye-in-hand)


def tool0_from_board_for(board: BoardSpec, offset_m: float) -> np.ndarray:
    """Board centred on the tool axis at offset_m, printed face looking along +z of tool0."""
    w, h = board.size_m
    return make_pose([-w / 2, h / 2, offset_m], Rotation.from_euler("x", np.pi))


def base_from_table_board(board: BoardSpec, centre_xy: tuple[float, float]) -> np.ndarray:
    """Board lying on the table, printed face up, centred at centre_xy."""
    w, h = board.size_m
    R = Rotation.from_euler("x", np.pi)
    return make_pose([centre_xy[0], centre_xy[1], 0.0005], R) @ make_pose([-w / 2, -h / 2, 0.0])


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
    z = _random_tilt(rng, n, cfg)
    return _tool0_showing(centre, z, np.radians(rng.uniform(-cfg.max_spin_deg, cfg.max_spin_deg)), cfg.board_offset_m)


def _random_tilt(rng: np.random.Generator, n: np.ndarray, cfg: CalibrationSimConfig) -> np.ndarray:
    axis = np.cross(n, rng.normal(size=3))
    axis /= np.linalg.norm(axis)
    return Rotation.from_rotvec(axis * np.radians(rng.uniform(cfg.min_tilt_deg, cfg.max_tilt_deg))).apply(n)


def _sample_wrist_camera(rng: np.random.Generator, cfg: CalibrationSimConfig, base_from_board: np.ndarray) -> np.ndarray:
    """base_from_camera looking at (near) the board centre from a tilted direction above it."""
    w, h = cfg.board.size_m
    centre = transform_points(base_from_board, [w / 2, h / 2, 0.0])
    up = _random_tilt(rng, np.array([0.0, 0.0, 1.0]), cfg)
    eye = centre + rng.uniform(*cfg.view_distance_m) * up
    aim = centre + rng.uniform(-0.03, 0.03, 3) * [1, 1, 0]
    z = (aim - eye) / np.linalg.norm(aim - eye)
    x = np.cross(z, [1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    R = np.column_stack([x, np.cross(z, x), z]) @ Rotation.from_euler(
        "z", np.radians(rng.uniform(-cfg.max_spin_deg, cfg.max_spin_deg))).as_matrix()
    return make_pose(eye, R)


class _BoardCell:
    """The cell model with the board (on tool0, or on the table with a wrist camera), posed
    kinematically: a still view needs no physics, the joints are set and the scene rendered."""

    def __init__(self, cfg: CalibrationSimConfig, board_pose: np.ndarray) -> None:
        k = cfg.camera.intrinsics
        board = calibration_board_xml(cfg.board.size_m, board_pose, _TEXTURE, on_tool0=not cfg.eye_in_hand)
        if cfg.eye_in_hand:
            board = CellExtras(board.assets, tool0=camera_xml(_WRIST_CAMERA, cfg.tool0_from_camera, k),
                               world=board.world)
        self._camera = _WRIST_CAMERA if cfg.eye_in_hand else "d435"
        xml = build_cell_mjcf([], dh_for(cfg.ur_type), np.asarray(cfg.camera.base_from_camera, float), k,
                              extras=board)
        ok, png = cv2.imencode(".png", render_board_image(cfg.board, px_per_square=120))
        if not ok:
            raise RuntimeError("could not encode the board texture")
        self.model = mujoco.MjModel.from_xml_string(xml, {_TEXTURE: png.tobytes()})
        self.data = mujoco.MjData(self.model)
        jid = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in UR_JOINT_NAMES]
        self._qadr = np.array([self.model.jnt_qposadr[j] for j in jid])
        fingers = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, f"{s}_finger_joint")
                   for s in ("left", "right")]
        self._fadr = np.array([self.model.jnt_qposadr[j] for j in fingers])
        self._renderer = mujoco.Renderer(self.model, k.height, k.width)

    def render(self, q: np.ndarray) -> np.ndarray:
        self.data.qpos[self._qadr] = q
        self.data.qpos[self._fadr] = MAX_OPENING_M / 2
        mujoco.mj_forward(self.model, self.data)
        self._renderer.update_scene(self.data, camera=self._camera)
        return self._renderer.render().copy()

    def close(self) -> None:
        self._renderer.close()


def render_calibration_views(cfg: CalibrationSimConfig | None = None) -> CalibrationViewSet:
    """N views of the board, each from a reachable pose that shows the whole board."""
    cfg = cfg or CalibrationSimConfig()
    if cfg.views < 1:
        raise ValueError(f"calibration views: need at least one view, got {cfg.views}")
    dh = dh_for(cfg.ur_type)
    camera = CameraModel.from_intrinsics(cfg.camera.intrinsics)
    fixed_camera = np.asarray(cfg.camera.base_from_camera, float)
    tool0_from_camera = np.asarray(cfg.tool0_from_camera, float)
    if cfg.eye_in_hand:
        board_pose = base_from_table_board(cfg.board, cfg.table_board_centre)
        camera_truth = tool0_from_camera
    else:
        board_pose = tool0_from_board_for(cfg.board, cfg.board_offset_m)
        camera_truth = fixed_camera
    rng = np.random.default_rng(cfg.seed)

    def sample() -> tuple[np.ndarray, np.ndarray]:
        """(base_from_tool0, camera_from_board) of one candidate view."""
        if cfg.eye_in_hand:
            base_from_camera = _sample_wrist_camera(rng, cfg, board_pose)
            return base_from_camera @ invert(tool0_from_camera), invert(base_from_camera) @ board_pose
        tool0 = _sample_tool0(rng, cfg, fixed_camera[:3, 3])
        return tool0, invert(fixed_camera) @ tool0 @ board_pose

    q_ref = _reference_posture(cfg, dh, fixed_camera)
    joints: list[np.ndarray] = []
    for _ in range(cfg.max_attempts):
        if len(joints) == cfg.views:
            break
        tool0, camera_from_board = sample()
        if not _visible(cfg, camera, camera_from_board):
            continue
        q = _pick_solution(ik(tool0, dh), q_ref, dh)
        if q is not None:
            joints.append(q)
    if len(joints) < cfg.views:
        raise RuntimeError(f"calibration views: found only {len(joints)} of {cfg.views} reachable poses showing the "
                           f"board in {cfg.max_attempts} tries; widen the board placement region")
    noise = np.random.default_rng(cfg.seed + 1_000_003)  # imperfections do not change the poses
    cell = _BoardCell(cfg, board_pose)
    views = []
    try:
        for i, q in enumerate(joints):
            reported = q + noise.normal(0.0, cfg.joint_noise_rad, 6) if cfg.joint_noise_rad > 0 else q.copy()
            image = _degrade(cell.render(q), cfg, noise)
            views.append(CalibrationView(f"view_{i:03d}", image, reported, fk(reported, dh)))
    finally:
        cell.close()
    log.info("rendered %d %s calibration views (%dx%d)", len(views), "eye-in-hand" if cfg.eye_in_hand else "eye-to-hand",
             camera.width, camera.height)
    return CalibrationViewSet(camera, cfg.board, cfg.ur_type, views, cfg.eye_in_hand, camera_truth, board_pose)


def _degrade(image: np.ndarray, cfg: CalibrationSimConfig, rng: np.random.Generator) -> np.ndarray:
    if cfg.image_blur_px > 0:
        image = cv2.GaussianBlur(image, (0, 0), cfg.image_blur_px)
    if cfg.image_noise_std > 0:
        image = np.clip(image + rng.normal(0.0, cfg.image_noise_std, image.shape), 0, 255).astype(np.uint8)
    return image


def _reference_posture(cfg: CalibrationSimConfig, dh: object, fixed_camera: np.ndarray) -> np.ndarray:
    """Elbow-up joints the views stay near: the tool pointing at the fixed camera from the middle of
    the board region (eye-to-hand) or straight down above the table board (eye-in-hand)."""
    if cfg.eye_in_hand:
        x, y = cfg.table_board_centre
        nominal = make_pose([x, y, 0.45], Rotation.from_euler("x", np.pi))
    else:
        centre = (np.asarray(cfg.board_centre_min) + np.asarray(cfg.board_centre_max)) / 2
        facing = fixed_camera[:3, 3] - centre
        nominal = _tool0_showing(centre, facing / np.linalg.norm(facing), 0.0, cfg.board_offset_m)
    sols = ik(nominal, dh)
    if len(sols) == 0:
        raise RuntimeError("calibration views: the reference posture is unreachable")
    return max(sols, key=lambda q: fk_all(q, dh)[2][2, 3] - 0.1 * abs(q[0]))
