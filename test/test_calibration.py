"""`spatialbot-ros calibrate`: ChArUco detection, the samples directory, eye-to-hand on views
rendered in the MuJoCo cell, eye-in-hand on synthetic views, refusals and the calibration file."""

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from spatialbot_ros.apps.calibrate import (
    CalibrationError,
    CalibrationMode,
    calibrate_samples,
    load_samples,
    pose_error,
)
from spatialbot_ros.cli import main as cli_main
from spatialbot_ros.core.charuco import (
    BoardNotFound,
    BoardSpec,
    CameraModel,
    detect_board,
    render_board_image,
)
from spatialbot_ros.core.hand_eye import (
    calibrate_hand_eye,
    motion_diversity_problem,
    read_calibration_yaml,
    read_extrinsics_yaml,
    refine_hand_eye,
    write_extrinsics_yaml,
)
from spatialbot_ros.core.transforms import invert, look_at, make_pose, pose_to_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR5_DH, UR5E_DH, fk

REPO = Path(__file__).resolve().parents[1]
BOARD = BoardSpec(squares_x=7, squares_y=5, square_length_m=0.04, marker_length_m=0.03, dictionary="DICT_4X4_50")
CAMERA = CameraModel(640, 480, 465.6, 465.6, 319.5, 239.5)
TOL_MM, TOL_DEG = 5.0, 0.5


# -- synthetic views (pure OpenCV): the board image warped by the plane homography -------------

def warp_board(camera: CameraModel, camera_from_board: np.ndarray, board: BoardSpec = BOARD, pps: int = 120) -> np.ndarray:
    """What a pinhole camera sees of the printed board at this pose (white around it). The source is
    blurred first: the warp minifies ~3-4x and would alias the corners by ~0.2 px otherwise."""
    pixel_to_board = np.array([[board.square_length_m / pps, 0, 0.5 * board.square_length_m / pps],
                               [0, board.square_length_m / pps, 0.5 * board.square_length_m / pps], [0, 0, 1]])
    R, t = camera_from_board[:3, :3], camera_from_board[:3, 3]
    H = camera.matrix @ np.column_stack([R[:, 0], R[:, 1], t]) @ pixel_to_board
    source = cv2.GaussianBlur(render_board_image(board, pps), (0, 0), 0.5 * pps / 35)
    grey = cv2.warpPerspective(source, H, (camera.width, camera.height), flags=cv2.INTER_LINEAR, borderValue=235)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def board_facing(distance: float, tilt: np.ndarray, board: BoardSpec = BOARD) -> np.ndarray:
    """camera_from_board: board centre on the optical axis at `distance`, tilted by rotvec `tilt`."""
    w, h = board.size_m
    R = Rotation.from_rotvec(tilt)
    return make_pose([0, 0, distance], R) @ make_pose([-w / 2, -h / 2, 0])


def write_samples(root: Path, base_from_tool0: list[np.ndarray], images: list[np.ndarray],
                  camera: CameraModel = CAMERA, board: BoardSpec = BOARD) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "camera.yaml").write_text(yaml.safe_dump(camera.to_dict()))
    (root / "board.yaml").write_text(yaml.safe_dump(board.to_dict()))
    for i, (T, img) in enumerate(zip(base_from_tool0, images, strict=True)):
        xyz, q = pose_to_xyz_quat(T)
        cv2.imwrite(str(root / f"view_{i:03d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        (root / f"view_{i:03d}.yaml").write_text(yaml.safe_dump(
            {"base_from_tool0": {"xyz": xyz.tolist(), "quat_xyzw": q.tolist()}}))
    return root


def eye_in_hand_views(n: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Wrist camera (tool0_from_camera) over a board lying on the table; robot poses that keep it in view."""
    rng = np.random.default_rng(seed)
    tool0_from_camera = make_pose([0.0, -0.075, 0.035], Rotation.from_euler("xyz", [-0.15, 0.05, np.pi / 2]))
    base_from_board = make_pose([0.45, -0.1, 0.0], Rotation.from_euler("z", 0.3))
    robot, camera_from_board = [], []
    for _ in range(n):
        cfb = board_facing(rng.uniform(0.35, 0.55), rng.uniform(-0.45, 0.45, 3) * [1, 1, 1.5])
        base_from_camera = base_from_board @ invert(cfb)
        robot.append(base_from_camera @ invert(tool0_from_camera))
        camera_from_board.append(cfb)
    return tool0_from_camera, robot, camera_from_board


# -- board detection -----------------------------------------------------------------------------

@pytest.mark.core
def test_detect_board_recovers_a_synthetic_pose_and_refuses_a_blank_image():
    truth = board_facing(0.6, np.array([0.3, -0.2, 0.4]))
    det = detect_board(warp_board(CAMERA, truth), BOARD, CAMERA)
    dmm, ddeg = pose_error(det.camera_from_board, truth)
    assert dmm < 2.0 and ddeg < 0.3 and det.reprojection_px < 0.5
    assert len(det.corner_ids) == (BOARD.squares_x - 1) * (BOARD.squares_y - 1)
    with pytest.raises(BoardNotFound, match="board not found"):
        detect_board(np.full((480, 640, 3), 200, np.uint8), BOARD, CAMERA)
    with pytest.raises(BoardNotFound, match="640x480"):
        detect_board(np.zeros((240, 320, 3), np.uint8), BOARD, CAMERA)
    other = BoardSpec(7, 5, 0.04, 0.03, "DICT_5X5_100")  # wrong dictionary: markers are not ours
    with pytest.raises(BoardNotFound):
        detect_board(warp_board(CAMERA, truth), other, CAMERA)


@pytest.mark.core
def test_detection_uses_the_lens_distortion():
    """A distorted image: the board pose is right with the coefficients, off without them."""
    lens = CameraModel(640, 480, 465.6, 465.6, 319.5, 239.5, (-0.25, 0.08, 0.001, -0.001, 0.0))
    truth = make_pose([0.12, 0.08, 0.0], Rotation.from_rotvec([0.1, 0.3, 0.2])) @ board_facing(0.55, np.zeros(3))
    ideal = warp_board(CAMERA, truth)
    u, v = np.meshgrid(np.arange(640, dtype=np.float32), np.arange(480, dtype=np.float32))
    src = cv2.undistortPoints(np.stack([u.ravel(), v.ravel()], 1).reshape(-1, 1, 2), lens.matrix, lens.dist,
                              P=lens.matrix).reshape(480, 640, 2)
    distorted = cv2.remap(ideal, src[..., 0], src[..., 1], cv2.INTER_LINEAR, borderValue=(235, 235, 235))
    with_lens = pose_error(detect_board(distorted, BOARD, lens).camera_from_board, truth)
    without = pose_error(detect_board(distorted, BOARD, CAMERA).camera_from_board, truth)
    assert with_lens[0] < 1.0 and with_lens[1] < 0.3, with_lens
    assert without[0] > 5.0 and without[1] > 2.0, without


@pytest.mark.core
def test_board_and_camera_files_are_validated():
    assert BoardSpec.from_dict(BOARD.to_dict()) == BOARD
    with pytest.raises(ValueError, match="missing square_length_m"):
        BoardSpec.from_dict({k: v for k, v in BOARD.to_dict().items() if k != "square_length_m"})
    with pytest.raises(ValueError, match="unknown ArUco dictionary"):
        BoardSpec(5, 4, 0.04, 0.03, "DICT_NOPE")
    with pytest.raises(ValueError, match="smaller than"):
        BoardSpec(5, 4, 0.04, 0.05, "DICT_4X4_50")
    info = {"width": 640, "height": 480, "k": [600.0, 0, 320, 0, 601.0, 240, 0, 0, 1], "d": [0.1, -0.2, 0, 0, 0.05]}
    cam = CameraModel.from_dict(info)
    assert (cam.fx, cam.fy, cam.cx, cam.cy, cam.distortion[0]) == (600.0, 601.0, 320, 240, 0.1)
    calib = {"image_width": 640, "image_height": 480, "camera_matrix": {"data": info["k"]},
             "distortion_coefficients": {"data": info["d"]}}
    assert CameraModel.from_dict(calib) == cam
    with pytest.raises(ValueError, match="intrinsics need"):
        CameraModel.from_dict({"width": 640})


# -- hand-eye core --------------------------------------------------------------------------------

@pytest.mark.core
def test_eye_in_hand_recovers_tool0_from_camera_from_synthetic_poses():
    X, robot, seen = eye_in_hand_views(12)
    res = calibrate_hand_eye(robot, seen, eye_in_hand=True, method="tsai")
    dmm, ddeg = pose_error(res.transform, X)
    assert dmm < 0.1 and ddeg < 0.01 and res.residual_m < 1e-4 and res.parent_frame == "tool0"
    # pixel noise on the corners: the closed form from noisy PnP poses, then the reprojection refinement
    rng = np.random.default_rng(3)
    obj = np.array(BOARD.cv_board().getChessboardCorners(), float)
    images = []
    for T in seen:
        rvec = cv2.Rodrigues(T[:3, :3])[0]
        px = cv2.projectPoints(obj, rvec, T[:3, 3], CAMERA.matrix, CAMERA.dist)[0].reshape(-1, 2)
        images.append(px + rng.normal(0, 0.3, px.shape))
    noisy = []
    for px in images:
        _, rv, tv = cv2.solvePnP(obj, px, CAMERA.matrix, CAMERA.dist)
        noisy.append(make_pose(tv.ravel(), cv2.Rodrigues(rv)[0]))
    closed = calibrate_hand_eye(robot, noisy, eye_in_hand=True)
    refined = refine_hand_eye(closed, robot, noisy, [obj] * len(seen), images, CAMERA.matrix)
    assert pose_error(refined.transform, X)[0] < pose_error(closed.transform, X)[0] + 0.05
    assert pose_error(refined.transform, X)[0] < 1.5 and pose_error(refined.transform, X)[1] < 0.2
    assert 0.2 < refined.reprojection_px < 0.6  # ~ the injected pixel noise: nothing left unexplained


@pytest.mark.core
def test_hand_eye_refuses_rotations_about_one_axis_only():
    X, robot, seen = eye_in_hand_views(6)
    spin = [make_pose([0.4 + 0.02 * i, 0, 0.3], Rotation.from_euler("z", 0.3 * i)) for i in range(6)]
    assert motion_diversity_problem(robot) is None
    assert "one axis" in motion_diversity_problem(spin)
    with pytest.raises(ValueError, match="one axis"):
        calibrate_hand_eye(spin, seen, eye_in_hand=True)
    same = [robot[0]] * 4
    with pytest.raises(ValueError, match="less than"):
        calibrate_hand_eye(same, seen[:4], eye_in_hand=True)


@pytest.mark.core
def test_eye_in_hand_through_a_samples_directory(tmp_path):
    """The whole samples path (files, detection, solve, refinement) on warped board images."""
    X, robot, seen = eye_in_hand_views(10, seed=1)
    root = write_samples(tmp_path / "samples", robot, [warp_board(CAMERA, T) for T in seen])
    out = tmp_path / "wrist.yaml"
    rc = cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--method", "daniilidis",
                   "--out", str(out)])
    assert rc == 0
    cal = read_calibration_yaml(out)
    dmm, ddeg = pose_error(cal.transform, X)
    assert dmm < TOL_MM and ddeg < TOL_DEG, (dmm, ddeg)
    assert (cal.parent_frame, cal.child_frame) == ("tool0", "camera_color_optical_frame")
    assert cal.metadata["mode"] == "eye_in_hand" and cal.metadata["method"] == "daniilidis"
    assert cal.metadata["views"] == 10 and cal.metadata["residual_mm"] < 2.0


@pytest.mark.core
def test_view_files_with_joints_use_forward_kinematics_and_must_agree_with_a_pose(tmp_path):
    X, robot, seen = eye_in_hand_views(6, seed=2)
    root = write_samples(tmp_path / "s", robot, [warp_board(CAMERA, T) for T in seen])
    q = np.array([0.2, -1.2, 1.3, -1.6, -1.5, 0.4])
    (root / "view_000.yaml").write_text(yaml.safe_dump({"joints": q.tolist(), "ur_type": "ur5e"}))
    loaded = load_samples(root)
    assert np.allclose(loaded.samples[0].base_from_tool0, fk(q, UR5E_DH))
    xyz, quat = pose_to_xyz_quat(fk(q, UR5E_DH))
    (root / "view_000.yaml").write_text(yaml.safe_dump(
        {"base_from_tool0": {"xyz": xyz.tolist(), "quat_xyzw": quat.tolist()}, "joints": q.tolist(), "ur_type": "ur5"}))
    with pytest.raises(CalibrationError, match="wrong ur_type"):
        load_samples(root)
    assert not np.allclose(fk(q, UR5_DH), fk(q, UR5E_DH), atol=1e-3)
    (root / "view_000.yaml").write_text(yaml.safe_dump({"joints": q.tolist()}))
    with pytest.raises(CalibrationError, match="ur_type"):
        load_samples(root)
    # pasted ROS echoes: a JointState in the driver's order (with a tf_prefix and the gripper) and a Pose
    order = [2, 1, 0, 3, 4, 5]
    names = ["elbow_joint", "shoulder_lift_joint", "shoulder_pan_joint", "wrist_1_joint", "wrist_2_joint",
             "wrist_3_joint"]
    state = {"name": [f"ur_{names[i]}" for i in range(6)] + ["robotiq_85_left_knuckle_joint"],
             "position": [float(q[order[i]]) for i in range(6)] + [0.3]}
    pose = {"position": dict(zip("xyz", xyz.tolist(), strict=True)),
            "orientation": dict(zip("xyzw", quat.tolist(), strict=True))}
    (root / "view_000.yaml").write_text(yaml.safe_dump({"joint_state": state, "ur_type": "ur5e",
                                                        "base_from_tool0": pose}))
    assert np.allclose(load_samples(root).samples[0].joints, q)
    state["name"][0] = "ur_elbow"
    (root / "view_000.yaml").write_text(yaml.safe_dump({"joint_state": state, "ur_type": "ur5e"}))
    with pytest.raises(CalibrationError, match="lack .* elbow_joint"):
        load_samples(root)
    (root / "view_000.yaml").write_text(yaml.safe_dump({"base_from_tool0": {"xyz": [0, 0, 0], "quat_xyzw": [0, 0, 0, 2]}}))
    with pytest.raises(CalibrationError, match="unit quaternion"):
        load_samples(root)


@pytest.mark.core
def test_board_not_found_and_too_few_views_give_one_line_errors_and_no_file(tmp_path, capsys):
    X, robot, seen = eye_in_hand_views(6, seed=4)
    images = [warp_board(CAMERA, T) for T in seen]
    images[2] = np.full_like(images[2], 200)                     # board out of view in one image
    root = write_samples(tmp_path / "s", robot, images)
    (root / "view_009.png").write_bytes((root / "view_000.png").read_bytes())  # an image without its pose
    out = tmp_path / "cal.yaml"
    rc = cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--min-views", "5", "--out", str(out)])
    text = capsys.readouterr()
    assert rc == 0 and out.exists()
    assert "5 of 7 views used" in text.out
    assert "skipped view_002: board not found" in text.out and "skipped view_009: no pose file" in text.out
    out.unlink()
    rc = cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--min-views", "6", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and not out.exists()
    assert len(err.splitlines()) == 1 and "only 5 of 7 views usable (need 6)" in err
    for i in range(6):
        cv2.imwrite(str(root / f"view_{i:03d}.png"), np.full((480, 640, 3), 90, np.uint8))
    rc = cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and not out.exists() and "only 0 of 7 views usable" in err and "board not found" in err
    rc = cli_main(["calibrate", "--samples", str(tmp_path / "nowhere"), "--out", str(out)])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.core
def test_board_flags_override_the_board_file(tmp_path, capsys):
    X, robot, seen = eye_in_hand_views(6, seed=5)
    root = write_samples(tmp_path / "s", robot, [warp_board(CAMERA, T) for T in seen])
    (root / "board.yaml").unlink()
    out = tmp_path / "cal.yaml"
    assert cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--out", str(out)]) == 2
    assert "no board.yaml" in capsys.readouterr().err
    flags = ["--squares-x", "7", "--squares-y", "5", "--square-length", "0.04", "--marker-length", "0.03",
             "--dictionary", "DICT_4X4_50"]
    assert cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--out", str(out), *flags]) == 0
    assert pose_error(read_extrinsics_yaml(out), X)[0] < TOL_MM
    # a wrong square length scales the board: the chain no longer closes and the result is refused
    wrong = [*flags[:5], "0.05", *flags[6:]]
    out.unlink()
    wrong[wrong.index("--marker-length") + 1] = "0.0375"
    assert cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--out", str(out), *wrong]) == 1
    assert "refused, nothing written" in capsys.readouterr().err and not out.exists()


@pytest.mark.core
def test_a_stale_robot_pose_is_refused_and_named(tmp_path, capsys):
    """One view recorded with the robot pose of a moment earlier (2 cm, 2 deg off): refused, and the
    report points at that view."""
    X, robot, seen = eye_in_hand_views(10, seed=6)
    images = [warp_board(CAMERA, T) for T in seen]
    robot = list(robot)
    robot[3] = robot[3] @ make_pose([0.02, 0.0, 0.0], Rotation.from_euler("x", np.radians(2)))
    root = write_samples(tmp_path / "s", robot, images)
    out = tmp_path / "cal.yaml"
    assert cli_main(["calibrate", "--samples", str(root), "--mode", "eye_in_hand", "--out", str(out)]) == 1
    text = capsys.readouterr()
    assert "worst view_003" in text.out and "refused, nothing written" in text.err and not out.exists()


# -- the calibration file -------------------------------------------------------------------------

@pytest.mark.core
def test_calibration_file_round_trip_and_validation(tmp_path):
    T = look_at([1.1, 0.2, 0.7], [0.5, 0.0, 0.05])
    path = tmp_path / "cal.yaml"
    write_extrinsics_yaml(path, T, metadata={"mode": "eye_to_hand", "method": "park", "views": np.int64(12),
                                             "residual_mm": np.float64(0.4), "residual_deg": 0.05,
                                             "date": "2026-01-01T00:00:00+00:00"})
    cal = read_calibration_yaml(path)
    assert np.allclose(cal.transform, T, atol=1e-6) and np.allclose(read_extrinsics_yaml(path), T, atol=1e-6)
    assert (cal.parent_frame, cal.child_frame) == ("base", "camera_color_optical_frame")
    assert cal.metadata == {"mode": "eye_to_hand", "method": "park", "views": 12, "residual_mm": 0.4,
                            "residual_deg": 0.05, "date": "2026-01-01T00:00:00+00:00"}
    params = yaml.safe_load(path.read_text())["/**"]["ros__parameters"]
    assert type(params["calibration.views"]) is int and type(params["calibration.residual_mm"]) is float

    def broken(change: dict, drop: str | None = None) -> Path:
        p = dict(params, **change)
        if drop:
            del p[drop]
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump({"/**": {"ros__parameters": p}}))
        return bad

    with pytest.raises(ValueError, match="unit quaternion"):
        read_extrinsics_yaml(broken({"camera_extrinsics.quat_xyzw": [0, 0, 0, 2]}))
    with pytest.raises(ValueError, match="missing camera_extrinsics.xyz"):
        read_extrinsics_yaml(broken({}, drop="camera_extrinsics.xyz"))
    with pytest.raises(ValueError, match="not finite"):
        read_extrinsics_yaml(broken({"camera_extrinsics.xyz": [float("nan"), 0, 0]}))
    with pytest.raises(ValueError, match="frame names"):
        read_extrinsics_yaml(broken({"camera_extrinsics.parent_frame": ""}))
    with pytest.raises(ValueError, match="cannot read"):
        read_extrinsics_yaml(tmp_path / "missing.yaml")


# -- eye-to-hand in the MuJoCo cell ---------------------------------------------------------------

@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    """One `calibrate --sim` through the command-line entry, saving its views as a samples directory."""
    root = tmp_path_factory.mktemp("calib")
    out, samples = root / "camera_extrinsics.yaml", root / "samples"
    proc = subprocess.run([sys.executable, "-m", "spatialbot_ros.cli", "calibrate", "--sim", "--views", "8",
                           "--seed", "3", "--save-samples", str(samples), "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    return proc, out, samples


def sim_truth():
    from spatialbot_ros.sim.cell import CellConfig

    return np.asarray(CellConfig().base_from_camera, float)


@pytest.mark.sim
def test_sim_calibration_through_the_cli_is_within_5mm_and_half_a_degree(sim_run):
    proc, out, samples = sim_run
    assert proc.returncode == 0, proc.stderr
    cal = read_calibration_yaml(out)
    dmm, ddeg = pose_error(cal.transform, sim_truth())
    assert dmm < TOL_MM and ddeg < TOL_DEG, (dmm, ddeg)
    assert (cal.parent_frame, cal.child_frame) == ("base", "camera_color_optical_frame")
    assert cal.metadata["mode"] == "eye_to_hand" and cal.metadata["views"] == 8
    assert {"method", "residual_mm", "residual_deg", "date"} <= set(cal.metadata)
    assert "8 of 8 views used" in proc.stdout and "error vs simulator truth" in proc.stdout
    assert sorted(p.name for p in samples.glob("*.png")) == [f"view_{i:03d}.png" for i in range(8)]


@pytest.mark.sim
def test_saved_sim_samples_calibrate_like_a_recorded_cell(sim_run, tmp_path, capsys):
    _, _, saved = sim_run
    root = tmp_path / "recorded"
    shutil.copytree(saved, root)
    (root / "sim_truth.yaml").unlink()                   # a real cell has no truth file
    out = tmp_path / "cal.yaml"
    assert cli_main(["calibrate", "--samples", str(root), "--method", "tsai", "--out", str(out)]) == 0
    assert "error vs simulator truth" not in capsys.readouterr().out
    dmm, ddeg = pose_error(read_extrinsics_yaml(out), sim_truth())
    assert dmm < TOL_MM and ddeg < TOL_DEG, (dmm, ddeg)
    # every closed-form solver alone is within tolerance too (the refinement only tightens it)
    loaded = load_samples(root)
    for method in ("park", "tsai", "horaud", "andreff", "daniilidis"):
        rep = calibrate_samples(loaded, CalibrationMode.EYE_TO_HAND, method, refine=False)
        dmm, ddeg = pose_error(rep.result.transform, sim_truth())
        assert dmm < TOL_MM and ddeg < TOL_DEG, (method, dmm, ddeg)
    # the views the sim wrote hold joints + ur_type beside the pose, and they agree
    view = yaml.safe_load((root / "view_000.yaml").read_text())
    assert view["ur_type"] == "ur5" and len(view["joints"]) == 6
    # too tight a residual limit refuses and writes nothing
    out.unlink()
    assert cli_main(["calibrate", "--samples", str(root), "--max-residual-mm", "0.01", "--out", str(out)]) == 1
    assert "board position spread" in capsys.readouterr().err and not out.exists()


@pytest.mark.sim
def test_sim_eye_in_hand_recovers_the_wrist_camera(tmp_path, capsys):
    from spatialbot_ros.sim.calibration_views import default_tool0_from_camera

    out = tmp_path / "wrist.yaml"
    assert cli_main(["calibrate", "--sim", "--mode", "eye_in_hand", "--views", "6", "--seed", "1",
                     "--out", str(out)]) == 0
    assert "error vs simulator truth" in capsys.readouterr().out
    cal = read_calibration_yaml(out)
    dmm, ddeg = pose_error(cal.transform, default_tool0_from_camera())
    assert dmm < TOL_MM and ddeg < TOL_DEG, (dmm, ddeg)
    assert cal.parent_frame == "tool0" and cal.metadata["mode"] == "eye_in_hand"


@pytest.mark.core
def test_calibrate_needs_exactly_one_source(tmp_path, capsys):
    assert cli_main(["calibrate", "--out", str(tmp_path / "x.yaml")]) == 2  # usage error: one line, exit 2
    assert "--samples" in capsys.readouterr().err
    assert cli_main(["calibrate", "--sim", "--samples", str(tmp_path), "--out", str(tmp_path / "x.yaml")]) == 2
    assert "not allowed" in capsys.readouterr().err and not (tmp_path / "x.yaml").exists()


@pytest.mark.sim
def test_sim_with_sensor_noise_blur_and_joint_error_stays_within_tolerance(tmp_path, capsys):
    """A less ideal cell: noisy, blurred images (small far markers) and reported joints off by 0.2 mrad."""
    out = tmp_path / "cal.yaml"
    assert cli_main(["calibrate", "--sim", "--views", "8", "--seed", "5", "--image-noise", "4", "--image-blur", "1",
                     "--joint-noise", "0.0002", "--out", str(out)]) == 0
    assert "8 of 8 views used" in capsys.readouterr().out
    dmm, ddeg = pose_error(read_extrinsics_yaml(out), sim_truth())
    assert dmm < TOL_MM and ddeg < TOL_DEG, (dmm, ddeg)
