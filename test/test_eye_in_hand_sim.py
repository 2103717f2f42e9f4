"""Eye-in-hand against the simulator: a D435 on the wrist of the MuJoCo cell, the arm at the observe
pose; depth rendered by MuJoCo from that camera, deprojected and moved to the base frame through
wrist_camera_pose(joints, tool0_from_camera) lands on the table plane and on the cups where they are."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.geometry import deproject
from spatialbot_ros.core.hand_eye import wrist_camera_pose
from spatialbot_ros.core.transforms import make_pose
from spatialbot_ros.core.ur_kinematics import UR5_JOINT_LIMITS, dh_for, ik_nearest

pytestmark = pytest.mark.sim


def test_wrist_camera_depth_lands_on_the_table_and_the_cups_in_the_base_frame():
    mujoco = pytest.importorskip("mujoco")
    from spatialbot_ros.sim.calibration_views import default_tool0_from_camera
    from spatialbot_ros.sim.cell import TCP_OFFSET_M, CellConfig, top_down_tcp_pose
    from spatialbot_ros.sim.scene import default_scene_path, load_scene
    from spatialbot_ros.sim.ur5_mjcf import CellExtras, build_cell_mjcf, camera_xml

    scene = load_scene(default_scene_path())
    config = CellConfig.from_scene(scene)
    k = config.intrinsics.scaled(320, 240)
    dh = dh_for(config.ur_type)
    tool0_from_camera = default_tool0_from_camera()
    xml = build_cell_mjcf(list(scene.objects), dh, np.asarray(config.base_from_camera, float), config.intrinsics,
                          extras=CellExtras(tool0=camera_xml("wrist_d435", tool0_from_camera, k)))
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    tool0 = top_down_tcp_pose((0.45, 0.0, 0.30)) @ np.linalg.inv(make_pose([0.0, 0.0, TCP_OFFSET_M]))
    q = ik_nearest(tool0, np.array([0.0, -1.9, 1.9, -1.57, -1.57, 0.0]), dh, UR5_JOINT_LIMITS)
    assert q is not None
    for name, value in zip(("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint",
                            "wrist_2_joint", "wrist_3_joint"), q, strict=True):
        data.qpos[model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)]] = value
    mujoco.mj_forward(model, data)
    renderer = mujoco.Renderer(model, k.height, k.width)
    try:
        renderer.enable_depth_rendering()
        renderer.update_scene(data, camera="wrist_d435")
        z = renderer.render().copy()
    finally:
        renderer.close()
    v, u = np.nonzero((z > 0.05) & (z < 2.0))
    p_cam = deproject(u.astype(float), v.astype(float), z[v, u], k)
    base_from_camera = wrist_camera_pose(q, tool0_from_camera, dh)
    p_base = p_cam @ base_from_camera[:3, :3].T + base_from_camera[:3, 3]
    table = np.abs(p_base[:, 2]) < 0.003
    assert table.mean() > 0.5, f"only {table.mean():.0%} of the view on the table plane: the camera pose is off"
    for obj in scene.objects:
        if obj.kind != "cup":
            continue
        near = np.linalg.norm(p_base[:, :2] - np.asarray(obj.position), axis=1) < obj.size["radius"] + 0.003
        assert np.count_nonzero(p_base[near, 2] > 0.01) > 50, f"{obj.name} not seen standing where it stands"
    # the cup under the camera shows its rim: at the cup's height where the cup stands
    green = next(o for o in scene.objects if o.name == "green_cup")
    near = np.linalg.norm(p_base[:, :2] - np.asarray(green.position), axis=1) < green.size["radius"] + 0.003
    assert abs(p_base[near, 2].max() - green.size["height"]) < 0.005
