import numpy as np
import pytest

from spatialbot_ros.apps.episode import sim_motion
from spatialbot_ros.core.actions import GripperCommand
from spatialbot_ros.core.frame import COLOR_OPTICAL_FRAME
from spatialbot_ros.core.safety import SafetyChecker, SafetyLimits
from spatialbot_ros.core.transforms import invert, transform_points
from spatialbot_ros.core.ur_kinematics import fk
from spatialbot_ros.motion.base import MotionStatus
from spatialbot_ros.motion.safety_gate import SafeMotion
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell, top_down_tcp_pose
from spatialbot_ros.sim.mujoco_backend import MujocoMotionBackend
from spatialbot_ros.sim.scene import ObjectSpec

pytestmark = pytest.mark.sim


def test_camera_output_has_the_realsense_driver_form(six_object_cell):
    cell, _, frame = six_object_cell
    assert frame.color_rgb.shape == (480, 640, 3) and frame.color_rgb.dtype == np.uint8
    assert frame.depth_mm.shape == (480, 640) and frame.depth_mm.dtype == np.uint16
    assert frame.frame_id == COLOR_OPTICAL_FRAME
    assert frame.intrinsics.fx == pytest.approx(465.6, abs=1) and frame.intrinsics.width == 640
    assert frame.valid_depth_fraction > 0.95


def test_depth_matches_the_geometry(six_object_cell):
    """Table pixels: ray-plane intersection; object tops: known heights. Within 2 mm."""
    cell, _, frame = six_object_cell
    k, T = frame.intrinsics, cell.base_from_camera
    seg = cell.segmentation()
    errors = []
    for v, u in [(470, 10), (470, 630), (400, 320), (300, 60)]:
        if seg[v, u] != -1:
            continue
        ray = T[:3, :3] @ np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])
        s = -T[2, 3] / ray[2]  # camera z of the table point
        errors.append(abs(frame.depth_mm[v, u] - s * 1000))
    assert errors and max(errors) <= 2.0


def test_segmentation_and_object_positions(six_object_cell):
    cell, objects, frame = six_object_cell
    seg = cell.segmentation()
    cam_from_base = invert(cell.base_from_camera)
    for i, o in enumerate(objects):
        assert np.count_nonzero(seg == i) > 300, o.name
        p = transform_points(cam_from_base, cell.object_pose(o.name)[:3, 3])
        u = int(p[0] / p[2] * frame.intrinsics.fx + frame.intrinsics.cx)
        v = int(p[1] / p[2] * frame.intrinsics.fy + frame.intrinsics.cy)
        assert seg[v, u] == i or o.kind in ("bowl",), o.name  # bowl centres show the floor through the rim


def test_fk_matches_mujoco_sites_to_a_millimetre():
    cell = Ur5Cell([])
    cell.reset()
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = cell.home_joints() + rng.uniform(-0.6, 0.6, 6)
        cell.data.qpos[cell._arm_qpos] = q
        import mujoco

        mujoco.mj_forward(cell.model, cell.data)
        assert np.allclose(cell.site_pose("tool0")[:3, 3], fk(q, cell.dh)[:3, 3], atol=1e-3)
        assert np.allclose(cell.site_pose("tcp"), cell.tcp_pose(), atol=1e-3)


def test_ur5e_cell_builds_and_homes():
    cell = Ur5Cell([], CellConfig(ur_type="ur5e"))
    cell.reset()
    assert np.allclose(cell.tcp_pose()[:3, 3], [0.42, 0.0, 0.35], atol=2e-3)


def test_scripted_ground_truth_pick_lifts_and_contacts_register():
    cup = ObjectSpec("cup", "cup", "red", {"radius": 0.03, "height": 0.1}, (0.5, 0.05))
    cell = Ur5Cell([cup])
    cell.reset()
    motion = sim_motion(cell)
    grasp = top_down_tcp_pose([0.5, 0.05, 0.065])
    assert motion.move_to_pose(top_down_tcp_pose([0.5, 0.05, 0.2])).ok
    assert motion.move_linear(grasp).ok
    assert cell.fingertip_contacts("cup") == (False, False)
    motion.gripper(GripperCommand.CLOSE)
    assert cell.fingertip_contacts("cup") == (True, True)
    assert motion.gripper_state().width_m == pytest.approx(0.06, abs=0.004)
    # squeezed but still standing on the table: not yet held (a cylinder's rest height is its half height,
    # MuJoCo's size[1]; reading size[2], which is 0 for a cylinder, counted a squeezed cup as lifted)
    assert not cell.object_in_gripper("cup")
    assert motion.move_linear(top_down_tcp_pose([0.5, 0.05, 0.2])).ok
    assert cell.object_pose("cup")[2, 3] > 0.15 and cell.object_in_gripper("cup") and cell.object_upright("cup")


def test_safety_gate_refuses_unsafe_targets_without_moving():
    cell = Ur5Cell([])
    cell.reset()
    motion = SafeMotion(MujocoMotionBackend(cell), SafetyChecker(), real_hardware=False)
    q0 = cell.joint_positions()
    for target in (top_down_tcp_pose([0.5, 0.0, -0.1]), top_down_tcp_pose([1.5, 0.0, 0.2])):
        assert motion.move_linear(target).status == MotionStatus.REFUSED
        assert motion.move_to_pose(target).status == MotionStatus.REFUSED
    bad_q = q0.copy()
    bad_q[2] = 4.0
    assert motion.move_joints(bad_q).status == MotionStatus.REFUSED
    assert np.allclose(cell.joint_positions(), q0, atol=1e-4) and motion.sent == []
    # outside the gate's box but beyond the arm's reach too: the backend's planner answers unreachable
    wide = SafeMotion(MujocoMotionBackend(cell), SafetyChecker(SafetyLimits(workspace_max_m=(2.0, 0.6, 0.8))),
                      real_hardware=False)
    assert wide.move_to_pose(top_down_tcp_pose([1.5, 0.0, 0.2])).status == MotionStatus.UNREACHABLE
    assert np.allclose(cell.joint_positions(), q0, atol=1e-4)


@pytest.mark.parametrize("opening", [float("nan"), float("inf"), None, "0.04"])
def test_cell_refuses_non_finite_gripper_openings(opening):
    cell = Ur5Cell([])
    cell.reset()
    ctrl = cell.data.ctrl.copy()
    with pytest.raises(ValueError, match="gripper opening"):
        cell.set_gripper(opening)  # type: ignore[arg-type]
    assert np.array_equal(cell.data.ctrl, ctrl) and np.all(np.isfinite(cell.data.qpos))


def test_cell_refuses_non_finite_joint_commands():
    cell = Ur5Cell([])
    cell.reset()
    q = cell.joint_positions()
    q[1] = np.nan
    for command in (cell.command_joints, cell.move_joints):
        with pytest.raises(ValueError, match="6 finite"):
            command(q)
    assert np.all(np.isfinite(cell.data.ctrl)) and np.all(np.isfinite(cell.data.qpos))


def test_a_ball_that_rolled_over_on_its_target_is_placed_but_a_cup_on_its_side_is_not():
    # found by `eval --suite dev`: balls put on the plate 4-7 mm from its centre failed as 'upright=False'
    from spatialbot_ros.apps.episode import SUCCESS_RADIUS_M, placed
    from spatialbot_ros.core.object_kinds import default_registry

    ball, cup = default_registry()["sphere"], default_registry()["cup"]
    assert placed(ball, upright=False, place_error_m=0.005, held=False)
    assert not placed(cup, upright=False, place_error_m=0.005, held=False)
    assert placed(cup, upright=True, place_error_m=0.005, held=False)
    assert not placed(ball, upright=False, place_error_m=SUCCESS_RADIUS_M + 0.01, held=False)   # off target
    assert not placed(ball, upright=True, place_error_m=0.005, held=True)                        # never released
