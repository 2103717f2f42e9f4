"""MJCF of the simulated cell, generated from the UR DH table: arm, parallel-jaw gripper, table,
lights, the D435-like camera and the scene's objects. Primitive geometry only; nothing downloaded.

Collision policy: arm links do not collide (the executive keeps them clear of the table); the
gripper palm and finger pads collide with objects and the table; objects collide with everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol
from xml.sax.saxutils import quoteattr

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.colors import PALETTE
from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.object_kinds import KindRegistry, Primitive, default_registry
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, DHParams, dh_transform

# Gripper geometry (a Robotiq 2F-85-like parallel jaw), tool0 frame: z out of the flange.
PALM_LENGTH_M = 0.06
FINGER_LENGTH_M = 0.09
PAD_HALF = (0.011, 0.005, 0.022)      # x (width), y (thickness), z (along the finger) half sizes
MAX_OPENING_M = 0.085
TCP_OFFSET_M = PALM_LENGTH_M + FINGER_LENGTH_M - PAD_HALF[2]  # centre of the pads
GRIP_FORCE_N = 60.0
LINK_RADIUS_M = (0.06, 0.05, 0.04, 0.04, 0.04, 0.035)
LINK_MASS_KG = (3.7, 8.4, 2.3, 1.2, 1.2, 0.19)

class ObjectSpecLike(Protocol):
    """What the model builder needs of an object (sim.scene.ObjectSpec is the concrete type)."""

    name: str
    kind: str
    color: str
    size: dict
    position: tuple[float, float]
    yaw: float
    mass: float | None


def _fmt(v: np.ndarray | list[float] | tuple[float, ...]) -> str:
    return " ".join(f"{float(x):.6g}" for x in v)


def _quat_wxyz(R: np.ndarray) -> np.ndarray:
    x, y, z, w = Rotation.from_matrix(R).as_quat()
    return np.array([w, x, y, z])


def object_height(spec: ObjectSpecLike, kinds: KindRegistry | None = None) -> float:
    return (kinds or default_registry())[spec.kind].height(spec.size)


def _primitive_xml(name: str, p: Primitive, common: str) -> str:
    """One declared primitive (core.object_kinds) as an MJCF geom."""
    attrs = f'name={quoteattr(name)} type="{p.type.value}" size="{_fmt(p.size)}"'
    if any(p.pos):
        attrs += f' pos="{_fmt(p.pos)}"'
    if p.yaw:
        attrs += f' quat="{_fmt(_quat_wxyz(Rotation.from_euler("z", p.yaw).as_matrix()))}"'
    return f"<geom {attrs} {common}/>"


def _object_xml(spec: ObjectSpecLike, kinds: KindRegistry | None = None, base_z: float = 0.0) -> str:
    """base_z: where the object's bottom stands (0: the table; a support's top when it is stacked)."""
    kind = (kinds or default_registry())[spec.kind]
    rgba = (*PALETTE[spec.color], 1.0)
    h = kind.height(spec.size)
    mass = spec.mass if spec.mass is not None else kind.mass_kg
    x, y = spec.position
    quat = _fmt(_quat_wxyz(Rotation.from_euler("z", spec.yaw).as_matrix()))
    common = f'rgba="{_fmt(rgba)}" friction="1.0 0.02 0.002" condim="4" solref="0.004 1"'
    name = quoteattr(spec.name)
    geoms = [_primitive_xml(f"{spec.name}_g{i}", p, common) for i, p in enumerate(kind.geometry(spec.size))]
    return (f'<body name={name} pos="{x:.6g} {y:.6g} {base_z + h / 2 + 0.0005:.6g}" quat="{quat}">'
            f'<freejoint name={quoteattr(spec.name + "_free")}/>'
            f'<inertial pos="0 0 0" mass="{mass:.6g}" diaginertia="{_box_inertia(mass, h):s}"/>'
            + "".join(geoms) + "</body>")


def _stand_height(spec: ObjectSpecLike, objects: list[ObjectSpecLike]) -> float:
    """The top of the object `spec` stands on (a scene's `stands_on`), else 0 (the table)."""
    on = getattr(spec, "stands_on", None)  # not part of ObjectSpecLike: a plain spec stands on the table
    support = next((o for o in objects if o.name == on), None) if on else None
    return default_registry()[support.kind].height(support.size) + 0.001 if support is not None else 0.0


def _box_inertia(mass: float, h: float) -> str:
    r = max(h, 0.03) / 2
    i = 0.4 * mass * r * r
    return f"{i:.6g} {i:.6g} {i:.6g}"


def _arm_xml(dh: DHParams, tool0_extra: str = "") -> str:
    """Nested bodies: body i sits at DH frame i-1 and rotates about its z (joint i)."""
    d, a, alpha = dh.d, dh.a, dh.alpha
    parts: list[str] = []
    for i in range(6):
        lo, hi = UR5_JOINT_LIMITS[i]
        offset = dh_transform(0.0, d[i], a[i], alpha[i])  # frame i in the rotated frame i-1
        p = offset[:3, 3]
        r = LINK_RADIUS_M[i]
        # capsule from the joint origin to the next frame's origin (visual only)
        seg = f'fromto="0 0 0 {_fmt(p)}"' if np.linalg.norm(p) > 1e-6 else f'fromto="0 0 0 0 0 {0.02:.3g}"'
        pos = "0 0 0"
        quat = "1 0 0 0"
        if i > 0:
            prev = dh_transform(0.0, d[i - 1], a[i - 1], alpha[i - 1])
            pos, quat = _fmt(prev[:3, 3]), _fmt(_quat_wxyz(prev[:3, :3]))
        parts.append(
            f'<body name="link{i + 1}" pos="{pos}" quat="{quat}" gravcomp="1">'
            f'<inertial pos="{_fmt(p / 2)}" mass="{LINK_MASS_KG[i]}" diaginertia="0.01 0.01 0.01"/>'
            f'<joint name="{_JOINTS[i]}" axis="0 0 1" range="{lo:.6g} {hi:.6g}" damping="8" armature="0.1"/>'
            f'<geom type="capsule" size="{r}" {seg} contype="0" conaffinity="0" rgba="0.55 0.6 0.65 1"/>'
        )
    last = dh_transform(0.0, d[5], a[5], alpha[5])
    parts.append(f'<body name="tool0" pos="{_fmt(last[:3, 3])}" quat="{_fmt(_quat_wxyz(last[:3, :3]))}" gravcomp="1">'
                 f'<site name="tool0" size="0.005"/>' + _gripper_xml() + tool0_extra + "</body>")
    return "".join(parts) + "</body>" * 6


_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint",
           "wrist_3_joint")


def _gripper_xml() -> str:
    pl, fl = PALM_LENGTH_M, FINGER_LENGTH_M
    px, py, pz = PAD_HALF
    fingers = []
    for side, sign in (("left", 1.0), ("right", -1.0)):
        fingers.append(
            f'<body name="{side}_finger" pos="0 0 {pl:.6g}" gravcomp="1">'
            f'<inertial pos="0 {sign * 0.02:.3g} {fl / 2:.3g}" mass="0.05" diaginertia="1e-5 1e-5 1e-5"/>'
            f'<joint name="{side}_finger_joint" type="slide" axis="0 {sign:.0f} 0" range="0 {MAX_OPENING_M / 2:.6g}" '
            f'damping="20" armature="0.01"/>'
            f'<geom type="box" size="{px * 0.8:.6g} 0.004 {(fl - 2 * pz) / 2:.6g}" pos="0 {sign * 0.009:.4g} {(fl - 2 * pz) / 2:.6g}" '
            f'contype="0" conaffinity="0" rgba="0.2 0.2 0.2 1"/>'
            f'<geom name="{side}_pad" type="box" size="{px} {py} {pz}" pos="0 {sign * py:.6g} {fl - pz:.6g}" '
            f'friction="1.5 0.05 0.005" condim="6" solref="0.004 1" rgba="0.15 0.15 0.15 1"/>'
            f'<site name="{side}_fingertip" pos="0 0 {fl - pz:.6g}" size="0.004"/>'
            "</body>"
        )
    return (f'<geom name="palm" type="box" size="0.03 0.045 {pl / 2:.6g}" pos="0 0 {pl / 2:.6g}" rgba="0.25 0.25 0.28 1"/>'
            f'<site name="tcp" pos="0 0 {TCP_OFFSET_M:.6g}" size="0.005"/>' + "".join(fingers))


def _camera_xml(base_from_camera: np.ndarray, k: CameraIntrinsics, name: str = "d435") -> str:
    """MuJoCo cameras look along -z with y up; the optical frame looks along +z with y down.
    `base_from_camera` is the optical frame in the parent body (the world, or tool0 for a wrist camera)."""
    R = base_from_camera[:3, :3]
    x_axis, y_up = R[:, 0], -R[:, 1]
    fovy = math.degrees(2 * math.atan(k.height / (2 * k.fy)))
    return (f'<camera name={quoteattr(name)} pos="{_fmt(base_from_camera[:3, 3])}" xyaxes="{_fmt(x_axis)} {_fmt(y_up)}" '
            f'fovy="{fovy:.6g}"/>')


def camera_xml(name: str, parent_from_camera: np.ndarray, intrinsics: CameraIntrinsics) -> str:
    """A pinhole camera element (e.g. a wrist camera for CellExtras.tool0) from its optical frame."""
    return _camera_xml(parent_from_camera, intrinsics, name)


@dataclass(frozen=True)
class CellExtras:
    """Optional additions to the cell model (e.g. a calibration board): asset elements, bodies
    attached to tool0 and bodies in the world. Empty by default: the cell is unchanged."""

    assets: str = ""
    tool0: str = ""
    world: str = ""


def calibration_board_xml(size_m: tuple[float, float], parent_from_board: np.ndarray, texture_file: str,
                          on_tool0: bool = True, border_m: float = 0.015, name: str = "calibration_board") -> CellExtras:
    """A flat printed board (texture `texture_file`, an asset the caller passes to MuJoCo) on a white
    plate. The body frame is the board frame of the picture: origin at the image's top-left corner,
    x right, y down the image, z into the plate (the printed face looks along -z). `parent_from_board`
    places it on tool0 (board on the gripper) or, with on_tool0=False, in the world (on the table)."""
    w, h = size_m
    t = 0.004
    verts = f"0 0 0  {w:.6g} 0 0  {w:.6g} {h:.6g} 0  0 {h:.6g} 0"
    assets = (f'<texture name="{name}_tex" type="2d" file="{texture_file}"/>'
              f'<material name="{name}_mat" texture="{name}_tex" specular="0" shininess="0" emission="0.25"/>'
              f'<mesh name="{name}_mesh" vertex="{verts}" texcoord="0 0  1 0  1 1  0 1" face="0 2 1  0 3 2" '
              'inertia="shell"/>')
    body = (f'<body name="{name}" pos="{_fmt(parent_from_board[:3, 3])}" quat="{_fmt(_quat_wxyz(parent_from_board[:3, :3]))}">'
            '<inertial pos="0 0 0" mass="0.1" diaginertia="1e-4 1e-4 1e-4"/>'
            f'<geom name="{name}_print" type="mesh" mesh="{name}_mesh" pos="0 0 -0.0002" material="{name}_mat" '
            'contype="0" conaffinity="0"/>'
            f'<geom name="{name}_plate" type="box" size="{w / 2 + border_m:.6g} {h / 2 + border_m:.6g} {t / 2:.6g}" '
            f'pos="{w / 2:.6g} {h / 2:.6g} {t / 2:.6g}" rgba="0.95 0.95 0.95 1" contype="0" conaffinity="0"/>'
            "</body>")
    return CellExtras(assets=assets, tool0=body) if on_tool0 else CellExtras(assets=assets, world=body)


def build_cell_mjcf(objects: list[ObjectSpecLike], dh: DHParams, base_from_camera: np.ndarray,
                    intrinsics: CameraIntrinsics, timestep: float = 0.002, extras: CellExtras | None = None) -> str:
    extras = extras or CellExtras()
    objs = "".join(_object_xml(o, base_z=_stand_height(o, objects)) for o in objects)
    arm_kp = (3000, 3000, 2500, 1000, 1000, 800)
    actuators = "".join(
        f'<position name="{j}_act" joint="{j}" kp="{kp}" kv="{kp / 20:.6g}" ctrlrange="{lo:.6g} {hi:.6g}"/>'
        for j, kp, (lo, hi) in zip(_JOINTS, arm_kp, UR5_JOINT_LIMITS, strict=True))
    grip = "".join(
        f'<position name="{s}_finger_act" joint="{s}_finger_joint" kp="3000" kv="30" ctrlrange="0 {MAX_OPENING_M / 2:.6g}" '
        f'forcerange="-{GRIP_FORCE_N:.6g} {GRIP_FORCE_N:.6g}"/>' for s in ("left", "right"))
    return f"""<mujoco model="spatialbot_ur5_cell">
  <compiler angle="radian" autolimits="true"/>{f"<asset>{extras.assets}</asset>" if extras.assets else ""}
  <option timestep="{timestep}" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <visual><global offwidth="{intrinsics.width}" offheight="{intrinsics.height}"/>
    <quality shadowsize="0"/><headlight ambient="0.35 0.35 0.35" diffuse="0.45 0.45 0.45" specular="0.05 0.05 0.05"/>
    <map znear="0.01" zfar="8"/></visual>
  <worldbody>
    <light name="key" pos="0.6 0.4 2.0" dir="-0.1 -0.2 -1" directional="true" castshadow="false" diffuse="0.5 0.5 0.5"/>
    <geom name="table" type="box" size="0.7 0.9 0.02" pos="0.35 0 -0.02" rgba="0.62 0.6 0.56 1" friction="0.8 0.02 0.002"/>
    <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 -0.75" rgba="0.3 0.3 0.32 1" contype="0" conaffinity="0"/>
    {_camera_xml(base_from_camera, intrinsics)}
    <body name="base_link" pos="0 0 0">
      <geom type="cylinder" size="0.075 0.04" pos="0 0 0.04" contype="0" conaffinity="0" rgba="0.3 0.3 0.35 1"/>
      {_arm_xml(dh, extras.tool0)}
    </body>
    {objs}{extras.world}
  </worldbody>
  <contact><exclude body1="left_finger" body2="right_finger"/></contact>
  <actuator>{actuators}{grip}</actuator>
</mujoco>"""
