"""A self-contained URDF of the simulated UR5/UR5e, generated from the same DH table as the
closed-form kinematics. Its `base_link` is the DH base frame (ur_description's base_link is that
frame turned by pi about z; the real-cell xacro keeps ur_description's convention)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, UR_JOINT_NAMES, DHParams, dh_for, dh_transform

LINKS = ("base_link", "shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link",
         "wrist_3_link")


def _origin(T: np.ndarray) -> str:
    rpy = Rotation.from_matrix(T[:3, :3]).as_euler("xyz")
    xyz = " ".join(f"{v:.9g}" for v in T[:3, 3])
    return f'<origin xyz="{xyz}" rpy="{" ".join(f"{v:.9g}" for v in rpy)}"/>'


def build_urdf(ur_type: str = "ur5", tcp_offset_m: float = 0.15, name: str | None = None) -> str:
    """URDF text: links base_link .. wrist_3_link, tool0 (flange) and tcp (grasp centre)."""
    dh: DHParams = dh_for(ur_type)
    out = ['<?xml version="1.0"?>', f'<robot name="{name or ur_type}_sim">']
    for link in LINKS + ("tool0", "tcp"):
        out.append(f'  <link name="{link}"><inertial><mass value="1.0"/><inertia ixx="0.01" ixy="0" ixz="0" '
                   f'iyy="0.01" iyz="0" izz="0.01"/></inertial>'
                   + ('<visual><geometry><cylinder radius="0.04" length="0.05"/></geometry></visual>'
                      if link not in ("tool0", "tcp") else "") + "</link>")
    for i in range(6):
        parent_offset = np.eye(4) if i == 0 else dh_transform(0.0, dh.d[i - 1], dh.a[i - 1], dh.alpha[i - 1])
        lo, hi = UR5_JOINT_LIMITS[i]
        out.append(f'  <joint name="{UR_JOINT_NAMES[i]}" type="revolute"><parent link="{LINKS[i]}"/>'
                   f'<child link="{LINKS[i + 1]}"/>{_origin(parent_offset)}<axis xyz="0 0 1"/>'
                   f'<limit lower="{lo:.9g}" upper="{hi:.9g}" effort="150" velocity="3.15"/></joint>')
    last = dh_transform(0.0, dh.d[5], dh.a[5], dh.alpha[5])
    out.append(f'  <joint name="wrist_3_link-tool0_fixed_joint" type="fixed"><parent link="wrist_3_link"/>'
               f'<child link="tool0"/>{_origin(last)}</joint>')
    out.append(f'  <joint name="tool0-tcp_fixed_joint" type="fixed"><parent link="tool0"/><child link="tcp"/>'
               f'<origin xyz="0 0 {tcp_offset_m:.9g}" rpy="0 0 0"/></joint>')
    out.append("</robot>")
    return "\n".join(out) + "\n"


def urdf_chain_fk(urdf_text: str, q: np.ndarray, tip: str = "tool0") -> np.ndarray:
    """Forward kinematics by walking the URDF's joint origins (independent of the DH code path)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(urdf_text)
    joints = {j.find("child").get("link"): j for j in root.findall("joint")}  # type: ignore[union-attr]
    chain = []
    link = tip
    while link in joints:
        j = joints[link]
        chain.append(j)
        link = j.find("parent").get("link")  # type: ignore[union-attr]
    T = np.eye(4)
    qi = dict(zip(UR_JOINT_NAMES, np.asarray(q, float), strict=True))
    for j in reversed(chain):
        o = j.find("origin")
        xyz = [float(v) for v in o.get("xyz").split()]  # type: ignore[union-attr]
        rpy = [float(v) for v in o.get("rpy").split()]  # type: ignore[union-attr]
        J = np.eye(4)
        J[:3, :3] = Rotation.from_euler("xyz", rpy).as_matrix()
        J[:3, 3] = xyz
        T = T @ J
        if j.get("type") == "revolute":
            R = np.eye(4)
            R[:3, :3] = Rotation.from_rotvec(np.array([0, 0, 1.0]) * qi[j.get("name")]).as_matrix()
            T = T @ R
    return T
