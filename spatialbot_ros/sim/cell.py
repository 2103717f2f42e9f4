"""The simulated UR5 cell: MuJoCo physics, the D435-like camera rendered the way the RealSense
driver publishes (rgb8 + 16UC1 mm aligned depth + intrinsics), ground truth for scoring, and
motion primitives that step physics."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.transforms import look_at, make_pose
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, dh_for, fk, ik
from spatialbot_ros.sim.ur5_mjcf import (
    MAX_OPENING_M,
    TCP_OFFSET_M,
    ObjectSpecLike,
    build_cell_mjcf,
)

log = logging.getLogger(__name__)

DEFAULT_CAMERA_POSITION = (1.15, 0.0, 0.62)
DEFAULT_CAMERA_TARGET = (0.5, 0.0, 0.0)
HOME_TCP_POSITION = (0.42, 0.0, 0.35)


def top_down_tcp_pose(position: np.ndarray | tuple[float, float, float], yaw: float = 0.0) -> np.ndarray:
    """TCP pointing down (z = -z base); fingers close along (sin yaw, -cos yaw, 0)."""
    return make_pose(position, top_down_rotation(yaw))


@dataclass
class CellConfig:
    ur_type: str = "ur5"
    base_from_camera: np.ndarray = field(default_factory=lambda: look_at(DEFAULT_CAMERA_POSITION, DEFAULT_CAMERA_TARGET))
    width: int = 640
    height: int = 480
    hfov_deg: float = 69.0
    timestep: float = 0.002
    max_joint_speed_rad_s: float = 1.2
    model_path: Path | None = None  # optional higher-fidelity MJCF with the same joint/site names

    @classmethod
    def from_scene(cls, scene: object) -> CellConfig:
        cam = scene.camera  # type: ignore[attr-defined]
        return cls(ur_type=scene.robot.type, base_from_camera=cam.base_from_camera(),  # type: ignore[attr-defined]
                   width=cam.width, height=cam.height, hfov_deg=cam.hfov_deg)

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics.from_hfov(self.width, self.height, self.hfov_deg)


class Ur5Cell:
    """One simulated cell. Ground-truth accessors are for scoring, never for acting."""

    def __init__(self, objects: list[ObjectSpecLike], config: CellConfig | None = None) -> None:
        self.config = config or CellConfig()
        self.dh = dh_for(self.config.ur_type)
        self.intrinsics = self.config.intrinsics
        self.base_from_camera = np.asarray(self.config.base_from_camera, dtype=float)
        if self.config.model_path is not None:
            self.model = mujoco.MjModel.from_xml_path(str(self.config.model_path))
        else:
            xml = build_cell_mjcf(list(objects), self.dh, self.base_from_camera, self.intrinsics, self.config.timestep)
            self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.object_names: list[str] = [o.name for o in objects]
        self._obj_body = {n: mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, n) for n in self.object_names}
        self._arm_qpos = np.array([m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, j)] for j in _ARM_JOINTS])
        self._finger_qpos = np.array([m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, f"{s}_finger_joint")]
                                      for s in ("left", "right")])
        self._arm_act = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, f"{j}_act") for j in _ARM_JOINTS])
        self._finger_act = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, f"{s}_finger_act")
                                     for s in ("left", "right")])
        self._tcp_site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "tcp")
        self._tool0_site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "tool0")
        self._tip_sites = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, f"{s}_fingertip") for s in ("left", "right")]
        self._pad_geoms = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, f"{s}_pad") for s in ("left", "right")]
        self._cam_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, "d435")
        self._geom_object = np.full(m.ngeom, -1, dtype=int)
        for idx, name in enumerate(self.object_names):
            self._geom_object[m.geom_bodyid == self._obj_body[name]] = idx
        self._renderer: mujoco.Renderer | None = None
        self.tool0_from_tcp = make_pose([0.0, 0.0, TCP_OFFSET_M])

    # -- lifecycle --------------------------------------------------------------------------
    def home_joints(self) -> np.ndarray:
        """Elbow-up IK solution for the home TCP pose (pointing down above the table)."""
        tool0 = top_down_tcp_pose(HOME_TCP_POSITION) @ np.linalg.inv(self.tool0_from_tcp)
        sols = ik(tool0, self.dh)
        if len(sols) == 0:
            raise RuntimeError("home pose unreachable: check the DH table")

        def elbow_up_score(q: np.ndarray) -> float:
            from spatialbot_ros.core.ur_kinematics import fk_all

            frames = fk_all(q, self.dh)
            return frames[2][2, 3] - 0.1 * abs(q[0])  # elbow high, pan near zero

        return max(sols, key=elbow_up_score)

    def reset(self, q_home: np.ndarray | None = None) -> None:
        mujoco.mj_resetData(self.model, self.data)
        q = self.home_joints() if q_home is None else _finite_joints(q_home)
        self.data.qpos[self._arm_qpos] = q
        self.data.ctrl[self._arm_act] = q
        self.data.qpos[self._finger_qpos] = MAX_OPENING_M / 2
        self.data.ctrl[self._finger_act] = MAX_OPENING_M / 2
        mujoco.mj_forward(self.model, self.data)
        self.step_seconds(0.3)

    @property
    def time_s(self) -> float:
        return float(self.data.time)

    def step(self, n: int = 1) -> None:
        mujoco.mj_step(self.model, self.data, nstep=n)

    def step_seconds(self, seconds: float) -> None:
        self.step(max(1, int(round(seconds / self.model.opt.timestep))))

    # -- proprioception ---------------------------------------------------------------------
    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self._arm_qpos].copy()

    def tool0_pose(self) -> np.ndarray:
        return fk(self.joint_positions(), self.dh)

    def tcp_pose(self) -> np.ndarray:
        return self.tool0_pose() @ self.tool0_from_tcp

    def site_pose(self, site: str) -> np.ndarray:
        sid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, site)
        return make_pose(self.data.site_xpos[sid], self.data.site_xmat[sid].reshape(3, 3))

    def gripper_opening(self) -> float:
        return float(np.sum(self.data.qpos[self._finger_qpos]))

    # -- camera -----------------------------------------------------------------------------
    def _get_renderer(self) -> mujoco.Renderer:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.intrinsics.height, self.intrinsics.width)
        return self._renderer

    def render_rgbd(self, stamp_s: float | None = None) -> RGBDFrame:
        r = self._get_renderer()
        r.disable_depth_rendering()
        r.disable_segmentation_rendering()
        r.update_scene(self.data, camera=self._cam_id)
        rgb = r.render().copy()
        r.enable_depth_rendering()
        r.update_scene(self.data, camera=self._cam_id)
        z = r.render()
        r.disable_depth_rendering()
        z = np.where((z > 0.05) & (z < 6.0), z, 0.0)
        depth_mm = np.round(z * 1000.0).astype(np.uint16)
        return RGBDFrame(rgb, depth_mm, self.intrinsics, stamp_s=self.time_s if stamp_s is None else stamp_s)

    def segmentation(self) -> np.ndarray:
        """HxW object index into object_names (-1: robot, table, background)."""
        r = self._get_renderer()
        r.enable_segmentation_rendering()
        r.update_scene(self.data, camera=self._cam_id)
        seg = r.render()
        r.disable_segmentation_rendering()
        ids, types = seg[..., 0], seg[..., 1]
        out = np.full(ids.shape, -1, dtype=int)
        # int(): against the pybind11 enum itself numpy compares element by element in Python (~1 s a frame)
        geom = (types == int(mujoco.mjtObj.mjOBJ_GEOM)) & (ids >= 0)
        out[geom] = self._geom_object[ids[geom]]
        return out

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # -- ground truth (scoring only) --------------------------------------------------------
    def object_pose(self, name: str) -> np.ndarray:
        b = self._obj_body[name]
        return make_pose(self.data.xpos[b], self.data.xmat[b].reshape(3, 3))

    def object_upright(self, name: str, tol_deg: float = 20.0) -> bool:
        z = self.object_pose(name)[:3, 2]
        return bool(z[2] >= math.cos(math.radians(tol_deg)))

    def fingertip_positions(self) -> np.ndarray:
        return np.stack([self.data.site_xpos[s].copy() for s in self._tip_sites])

    def fingertip_contacts(self, name: str) -> tuple[bool, bool]:
        """(left pad touches object, right pad touches object) from MuJoCo's contact list."""
        obj = self._obj_body[name]
        touching = [False, False]
        for i in range(self.data.ncon):
            c = self.data.contact[i]
            g1, g2 = c.geom1, c.geom2
            for k, pad in enumerate(self._pad_geoms):
                other = g2 if g1 == pad else g1 if g2 == pad else None
                if other is not None and self.model.geom_bodyid[other] == obj and c.dist <= 0.001:
                    touching[k] = True
        return touching[0], touching[1]

    def object_in_gripper(self, name: str) -> bool:
        left, right = self.fingertip_contacts(name)
        return left and right and self.object_pose(name)[2, 3] > 0.02 + self._rest_height(name)

    def _rest_height(self, name: str) -> float:
        """Height of the body origin above the table when the object stands on it: the smallest half height
        of its geoms (MuJoCo keeps a cylinder's half height in size[1], a box's in size[2], a sphere's
        radius in size[0])."""
        b = self._obj_body[name]
        half = {int(mujoco.mjtGeom.mjGEOM_SPHERE): lambda sz: sz[0], int(mujoco.mjtGeom.mjGEOM_CYLINDER): lambda sz: sz[1],
                int(mujoco.mjtGeom.mjGEOM_CAPSULE): lambda sz: sz[0] + sz[1]}
        return float(np.min([half.get(int(self.model.geom_type[g]), lambda sz: sz[2])(self.model.geom_size[g])
                             for g in np.nonzero(self.model.geom_bodyid == b)[0]]))

    # -- motion primitives ------------------------------------------------------------------
    def move_joints(self, q_target: np.ndarray, speed_scale: float = 1.0, settle_s: float = 0.1,
                    tol_rad: float = 0.03) -> bool:
        """Smooth (quintic) joint-space motion at the joint speed limit; True if it tracked."""
        q0 = self.data.ctrl[self._arm_act].copy()
        q1 = _finite_joints(q_target)
        speed = self.config.max_joint_speed_rad_s * max(1e-3, min(1.0, speed_scale))
        duration = max(0.05, 1.875 * float(np.max(np.abs(q1 - q0))) / speed)  # quintic peak speed = 1.875 * avg
        dt = self.model.opt.timestep
        n = int(math.ceil(duration / dt))
        for i in range(1, n + 1):
            s = i / n
            blend = 10 * s**3 - 15 * s**4 + 6 * s**5
            self.data.ctrl[self._arm_act] = q0 + (q1 - q0) * blend
            mujoco.mj_step(self.model, self.data)
        self.step_seconds(settle_s)
        return bool(np.max(np.abs(self.joint_positions() - q1)) <= tol_rad)

    def command_joints(self, q: np.ndarray) -> None:
        """Position targets for the arm actuators (physics advances elsewhere)."""
        self.data.ctrl[self._arm_act] = _finite_joints(q)

    def command_gripper(self, opening_m: float) -> None:
        """Opening target (m, clipped to the stroke); NaN or inf is refused before it reaches MuJoCo."""
        if isinstance(opening_m, bool) or not isinstance(opening_m, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(opening_m)):
            raise ValueError(f"gripper opening must be a finite number of metres, got {opening_m!r}")
        self.data.ctrl[self._finger_act] = float(np.clip(opening_m, 0.0, MAX_OPENING_M)) / 2

    def set_gripper(self, opening_m: float, settle_s: float = 0.4) -> float:
        """Command an opening (0 = closed on whatever is between); returns the measured opening."""
        self.command_gripper(opening_m)
        self.step_seconds(settle_s)
        return self.gripper_opening()

    # -- accessors for the UR driver emulator (sim/ur_driver_emulator.py) ---------------------
    def joint_velocities(self) -> np.ndarray:
        """Arm joint velocities (rad/s), as the UR reports them beside the positions."""
        return self.data.qvel[self._arm_qvel()].copy()

    def gripper_opening_rate(self) -> float:
        """d(opening)/dt (m/s): the finger slides' summed velocity; negative while closing."""
        m = self.model
        dofs = [m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, f"{s}_finger_joint")]
                for s in ("left", "right")]
        return float(np.sum(self.data.qvel[dofs]))

    def remove_object(self, name: str) -> None:
        """Fault injection: the object is knocked out of the cell (moved 3 m away, at rest), e.g. to
        make a closing gripper find nothing between its fingers."""
        qadr, vadr = self._free_joint(name)
        self.data.qpos[qadr:qadr + 7] = [0.0, 3.0, 0.05, 1.0, 0.0, 0.0, 0.0]
        self.data.qvel[vadr:vadr + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def stack_object(self, name: str, support: str, offset_xy: tuple[float, float] = (0.0, 0.0),
                     settle_s: float = 0.5) -> None:
        """Stand object `name` upright on object `support` (its centre plus offset_xy), just above
        its top, and let it settle: a stacked start (a cup already on the plate). Raises when it
        does not come to rest there."""
        if support == name or support not in self._obj_body:
            raise ValueError(f"no support '{support}' for '{name}'; objects: {', '.join(self.object_names)}")
        qadr, vadr = self._free_joint(name)
        _, support_top = self._vertical_extent(support)
        low, _ = self._vertical_extent(name)
        below_centre = float(self.object_pose(name)[2, 3]) - low  # body origin above its lowest point
        xy = self.object_pose(support)[:2, 3] + np.asarray(offset_xy, float)
        self.data.qpos[qadr:qadr + 7] = [xy[0], xy[1], support_top + below_centre + 0.002, 1.0, 0.0, 0.0, 0.0]
        self.data.qvel[vadr:vadr + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)
        self.step_seconds(settle_s)
        low, _ = self._vertical_extent(name)
        if abs(low - support_top) > 0.005 or not self.object_upright(name):
            raise RuntimeError(f"'{name}' did not come to rest on '{support}' (its bottom at {low:.3f} m, "
                               f"the support's top at {support_top:.3f} m)")

    def _vertical_extent(self, name: str) -> tuple[float, float]:
        """Lowest and highest world z of an object's geoms (their bounding boxes)."""
        m, d = self.model, self.data
        lo, hi = np.inf, -np.inf
        for g in np.nonzero(m.geom_bodyid == self._obj_body[name])[0]:
            centre, half = m.geom_aabb[g][:3], m.geom_aabb[g][3:]
            rot = d.geom_xmat[g].reshape(3, 3)
            corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * half + centre
            z = (corners @ rot.T)[:, 2] + d.geom_xpos[g][2]
            lo, hi = min(lo, float(z.min())), max(hi, float(z.max()))
        return lo, hi

    def _free_joint(self, name: str) -> tuple[int, int]:
        if name not in self._obj_body:
            raise ValueError(f"no object '{name}' in the cell; objects: {', '.join(self.object_names)}")
        m = self.model
        jnt = int(m.body_jntadr[self._obj_body[name]])
        if jnt < 0 or m.jnt_type[jnt] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError(f"object '{name}' is not free to move")
        return int(m.jnt_qposadr[jnt]), int(m.jnt_dofadr[jnt])

    def _arm_qvel(self) -> np.ndarray:
        m = self.model
        return np.array([m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, j)] for j in _ARM_JOINTS])


def _finite_joints(q: np.ndarray) -> np.ndarray:
    """6 finite joint angles, or ValueError: a NaN target would poison the simulation state."""
    arr = np.asarray(q, dtype=float)
    if arr.shape != (6,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"joint command must be 6 finite angles (rad), got {arr.tolist()}")
    return arr


_ARM_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint",
               "wrist_3_joint")
__all__ = ["CellConfig", "Ur5Cell", "UR5_JOINT_LIMITS", "top_down_tcp_pose"]
