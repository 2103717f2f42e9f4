from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.hand_eye import calibrate_hand_eye, read_extrinsics_yaml, write_extrinsics_yaml
from spatialbot_ros.core.transforms import invert, look_at, make_pose
from spatialbot_ros.core.ur_kinematics import UR5_DH, UR5E_DH, fk, fk_all
from spatialbot_ros.core.urdf_builder import build_urdf, urdf_chain_fk
from spatialbot_ros.sim.ur5_mjcf import TCP_OFFSET_M

URDF_DIR = Path(__file__).resolve().parents[1] / "urdf"


@pytest.mark.core
@pytest.mark.parametrize("ur_type, dh", [("ur5", UR5_DH), ("ur5e", UR5E_DH)])
def test_generated_urdf_matches_closed_form_fk(ur_type, dh):
    text = build_urdf(ur_type, TCP_OFFSET_M)
    assert (URDF_DIR / f"{ur_type}_sim.urdf").read_text() == text, "regenerate urdf/*_sim.urdf"
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = rng.uniform(-np.pi, np.pi, 6)
        assert np.allclose(urdf_chain_fk(text, q)[:3, 3], fk(q, dh)[:3, 3], atol=1e-3)
        assert np.allclose(urdf_chain_fk(text, q)[:3, :3], fk(q, dh)[:3, :3], atol=1e-6)
        assert np.allclose(urdf_chain_fk(text, q, "tcp"), fk(q, dh) @ make_pose([0, 0, TCP_OFFSET_M]), atol=1e-6)


@pytest.mark.sim
def test_mujoco_loads_the_urdf_and_agrees_with_fk():
    import mujoco
    model = mujoco.MjModel.from_xml_path(str(URDF_DIR / "ur5_sim.urdf"))
    data = mujoco.MjData(model)
    q = np.array([0.3, -1.1, 1.4, -0.8, 1.2, 0.5])
    data.qpos[:6] = q
    mujoco.mj_forward(model, data)
    wrist3 = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "wrist_3_link")
    T = fk_all(q, UR5_DH)[4]  # wrist_3_link's frame is DH frame 5 rotated by q6
    assert np.allclose(data.xpos[wrist3], T[:3, 3], atol=1e-3)


def synthetic_eye_to_hand(n, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    base_from_camera = look_at([1.1, 0.2, 0.7], [0.5, 0.0, 0.05])
    tool0_from_marker = make_pose([0.0, 0.03, 0.12], Rotation.from_euler("xyz", [0.1, -0.2, 0.3]))
    robot, obs = [], []
    for _ in range(n):
        T = make_pose(rng.uniform([0.35, -0.25, 0.2], [0.65, 0.25, 0.5]),
                      Rotation.from_euler("xyz", rng.uniform(-0.6, 0.6, 3)) * Rotation.from_euler("x", np.pi))
        cam_from_marker = invert(base_from_camera) @ T @ tool0_from_marker
        if noise:
            cam_from_marker = cam_from_marker @ make_pose(rng.normal(0, noise, 3),
                                                          Rotation.from_rotvec(rng.normal(0, noise, 3)))
        robot.append(T)
        obs.append(cam_from_marker)
    return base_from_camera, robot, obs


@pytest.mark.core
def test_hand_eye_recovers_the_camera_pose():
    truth, robot, obs = synthetic_eye_to_hand(15)
    res = calibrate_hand_eye(robot, obs)
    assert np.allclose(res.transform[:3, 3], truth[:3, 3], atol=2e-3)
    angle = np.linalg.norm(Rotation.from_matrix(res.transform[:3, :3] @ truth[:3, :3].T).as_rotvec())
    assert np.degrees(angle) < 0.2 and res.residual_m < 2e-3
    truth, robot, obs = synthetic_eye_to_hand(25, noise=0.002, seed=1)
    noisy = calibrate_hand_eye(robot, obs)
    assert np.linalg.norm(noisy.transform[:3, 3] - truth[:3, 3]) < 0.02


@pytest.mark.core
def test_hand_eye_rejects_bad_input_and_writes_yaml(tmp_path):
    truth, robot, obs = synthetic_eye_to_hand(5)
    with pytest.raises(ValueError, match="as many"):
        calibrate_hand_eye(robot, obs[:4])
    with pytest.raises(ValueError, match="at least 3"):
        calibrate_hand_eye(robot[:2], obs[:2])
    write_extrinsics_yaml(tmp_path / "camera_extrinsics.yaml", truth)
    assert np.allclose(read_extrinsics_yaml(tmp_path / "camera_extrinsics.yaml"), truth, atol=1e-6)


@pytest.mark.ros
def test_real_cell_urdf_and_calibration_use_the_base_frame_the_nodes_read(tmp_path):
    """The nodes' camera_extrinsics are in the UR `base` frame (ur_description's base_link turned by
    pi about z): the URDF mount and the calibration file must name the same frame."""
    import re

    import yaml

    from spatialbot_ros.nodes.spatial_policy import PARAMS

    xacro = (Path(__file__).resolve().parents[1] / "urdf" / "ur5_cell.urdf.xacro").read_text()
    joint = re.search(r'<joint name="camera_mount_joint".*?</joint>', xacro, re.S).group(0)
    assert re.search(r'<parent link="\$\(arg tf_prefix\)base"/>', joint)
    write_extrinsics_yaml(tmp_path / "ext.yaml", np.eye(4))
    params = yaml.safe_load((tmp_path / "ext.yaml").read_text())["/**"]["ros__parameters"]
    assert params["camera_extrinsics.parent_frame"] == PARAMS["base_frame"][0] == "base"
