"""The real-cell graph end to end over Fast DDS, against the UR driver emulator: what a user gets
from `spatialbot-ros up cell-emulated` (= cell_emulated.launch.py: the ur5_cell.launch.py nodes and
parameter files, with the emulator standing in for ur_robot_driver, the Robotiq driver and
realsense2_camera), calibrated by `spatialbot-ros calibrate --sim`, driven through
PickPlaceCommander the way docs/real_cell.md says.

The tests share one graph and run in file order: dry run, refusals, the armed pick-and-place at a
50 % speed slider, e-stop, camera loss, a grasp that finds nothing, robustness of the node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ros_domain import Slot, use_ros_domain

pytestmark = [pytest.mark.ros, pytest.mark.sim]
INSTRUCTION = "pick the middle cup and put it on the plate"


class Cell:
    """The running graph plus an operator's view of it: joint states, ground truth, previews, TF."""

    def __init__(self, tmp: Path) -> None:
        self.calibration = tmp / "calibration.yaml"
        out = subprocess.run([sys.executable, "-m", "spatialbot_ros.cli", "calibrate", "--sim", "--views", "8",
                              "--out", str(self.calibration)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        test_params = tmp / "test_params.yaml"
        test_params.write_text(yaml.safe_dump({"pick_place": {"ros__parameters": {"speed_scale": 1.0}}}))
        self.graph = subprocess.Popen(
            [sys.executable, "-m", "spatialbot_ros.cli", "up", "cell-emulated", "--duration", "600",
             "--params-file", str(self.calibration), "--params-file", str(test_params)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self._connect()
        except BaseException:
            self._stop_graph()
            raise

    def _connect(self) -> None:
        import rclpy
        from rclpy.parameter_client import AsyncParameterClient
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool, String
        from tf2_msgs.msg import TFMessage
        from trajectory_msgs.msg import JointTrajectory

        from spatialbot_ros.commander import PickPlaceCommander
        from spatialbot_ros.nodes.executors import PoolExecutor

        self.node = rclpy.create_node("cell_test_operator")
        self.lock = threading.Lock()
        self.q = self.v = None
        self.truth: dict = {}
        self.previews: list = []
        self.estop_state: list[bool] = []
        self.armed_state: list[bool] = []
        self.static_tf: dict = {}
        self.dynamic_frames: set = set()
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(JointState, "/joint_states", self._on_joints, 50)
        self.node.create_subscription(String, "/sim/ground_truth", lambda m: self.truth.update(json.loads(m.data)), 10)
        self.node.create_subscription(JointTrajectory, "/pick_place/planned_trajectory", self.previews.append, 50)
        self.node.create_subscription(Bool, "/spatialbot/estop_state", lambda m: self.estop_state.append(m.data), latched)
        self.node.create_subscription(Bool, "/pick_place/armed", lambda m: self.armed_state.append(m.data), latched)
        self.node.create_subscription(TFMessage, "/tf_static", self._on_tf_static,
                                      QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                                 durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.node.create_subscription(TFMessage, "/tf", lambda m: self.dynamic_frames.update(
            (t.header.frame_id, t.child_frame_id) for t in m.transforms), 100)
        self.emulator_params = AsyncParameterClient(self.node, "/ur_driver_emulator")
        self.pick_place_params = AsyncParameterClient(self.node, "/pick_place")
        self.executor = PoolExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self._spin = threading.Thread(target=self.executor.spin, daemon=True)
        self._spin.start()
        self.cmd = PickPlaceCommander()
        assert self.cmd.wait_for_server(90.0), "pick_place did not come up"
        assert self.wait(lambda: self.q is not None and self.truth, 30.0)

    def _on_joints(self, msg) -> None:  # noqa: ANN001
        with self.lock:
            self.q, self.v = np.array(msg.position[:6]), np.array(msg.velocity[:6])

    def _on_tf_static(self, msg) -> None:  # noqa: ANN001
        for t in msg.transforms:
            self.static_tf[(t.header.frame_id, t.child_frame_id)] = t.transform

    def joints(self) -> np.ndarray:
        with self.lock:
            return self.q.copy()

    def speed(self) -> float:
        with self.lock:
            return float(np.max(np.abs(self.v)))

    @staticmethod
    def wait(cond, timeout: float) -> bool:  # noqa: ANN001
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(0.02)
        return bool(cond())

    def set_emulator(self, **values: object) -> None:
        self._set(self.emulator_params, values)

    def _set(self, client, values: dict) -> list:  # noqa: ANN001
        from rclpy.parameter import Parameter

        assert client.wait_for_services(timeout_sec=10.0)
        future = client.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        assert self.wait(future.done, 10.0)
        return list(future.result().results)

    def run(self, instruction: str = INSTRUCTION, timeout: float = 120.0, **kw: object):
        self.cmd.pick_and_place(instruction, **kw)
        return self.finish(timeout)

    def finish(self, timeout: float = 120.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.cmd.is_done():
                return self.cmd.result()
        raise AssertionError("no result in time")

    def wait_phase(self, phase: str, timeout: float = 60.0) -> bool:
        """True once the running goal reports `phase`; False if it ends first or the time runs out."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            done = self.cmd.is_done()
            if any(f["phase"] == phase for f in self.cmd.feedback()):
                return True
            if done:
                return False
        return False

    def _stop_graph(self) -> None:
        import signal

        self.graph.terminate()
        try:
            self.graph.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.graph.kill()
        try:  # nothing of the graph may outlive the module (the next tests share the machine)
            os.killpg(self.graph.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        self._stop_graph()
        self.executor.shutdown()
        self.node.destroy_node()
        self.cmd.node.destroy_node()


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    previous = os.environ.get("ROS_DOMAIN_ID")
    use_ros_domain(Slot.CELL)  # a domain of its own (the graph inherits it)
    import rclpy

    rclpy.init()
    c = None
    try:
        c = Cell(tmp_path_factory.mktemp("cell"))
        yield c
    finally:
        if c is not None:
            c.close()
        rclpy.shutdown()
        if previous is None:
            os.environ.pop("ROS_DOMAIN_ID", None)
        else:
            os.environ["ROS_DOMAIN_ID"] = previous


def test_the_launched_graph_uses_the_calibration_and_tf_static_carries_it(cell):
    from scipy.spatial.transform import Rotation

    params = yaml.safe_load(cell.calibration.read_text())["/**"]["ros__parameters"]
    assert cell.wait(lambda: ("base", "camera_color_optical_frame") in cell.static_tf, 20.0)
    t = cell.static_tf[("base", "camera_color_optical_frame")]
    assert np.allclose([t.translation.x, t.translation.y, t.translation.z], params["camera_extrinsics.xyz"], atol=1e-6)
    q = [t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w]
    angle = (Rotation.from_quat(q).inv() * Rotation.from_quat(params["camera_extrinsics.quat_xyzw"])).magnitude()
    assert angle < 1e-6
    # the simulator's calibration is within 5 mm / 0.5 deg of the emulated camera's true pose
    assert np.linalg.norm(np.array(params["camera_extrinsics.xyz"]) - [1.15, 0.0, 0.62]) < 0.005


def test_unarmed_goal_is_a_dry_run_with_a_preview_and_no_joint_motion(cell):
    assert cell.wait(lambda: cell.armed_state and cell.armed_state[-1] is False, 10.0)
    q0, n_previews = cell.joints(), len(cell.previews)
    r = cell.run()
    assert r.failure_reason == "dry_run" and "not sent" in r.message, r
    assert "middle of 3" in r.explanation  # it grounded and planned the whole task
    time.sleep(0.3)
    assert np.max(np.abs(cell.joints() - q0)) < 1e-3
    assert len(cell.previews) - n_previews >= 5  # observe, approach, descend, ... each previewed


def test_robot_program_stopped_is_refused_before_any_motion(cell):
    ok, _ = cell.cmd.arm(True)
    assert ok
    cell.set_emulator(program_running=False)
    try:
        q0 = cell.joints()
        r = cell.run()
        assert r.failure_reason == "robot_not_ready" and "program not running" in r.message, r
        assert np.max(np.abs(cell.joints() - q0)) < 1e-3
    finally:
        cell.set_emulator(program_running=True)


def test_armed_pick_and_place_succeeds_at_a_50_percent_speed_slider(cell):
    ok, _ = cell.cmd.arm(True)
    assert ok
    cell.set_emulator(speed_scaling=0.5)
    try:
        r = cell.run(timeout=180.0)
    finally:
        cell.set_emulator(speed_scaling=1.0)
    assert r.result.value == "succeeded", r
    cup, plate = np.array(cell.truth["green_cup"]), np.array(cell.truth["plate"])
    assert np.linalg.norm(cup[:2] - plate[:2]) < 0.03 and cup[2] < 0.1
    # the grounded target and the phase's goal pose went out on /tf while the goal ran
    assert {("base", "spatialbot_target"), ("base", "spatialbot_grasp")} <= cell.dynamic_frames, cell.dynamic_frames


def test_estop_published_like_ros2_topic_pub_stops_the_motion_latches_and_needs_rearming(cell):
    from std_msgs.msg import Bool

    ok, _ = cell.cmd.arm(True)
    assert ok
    cell.cmd.pick_and_place("pick the red cup and put it on the plate")
    assert cell.wait(lambda: cell.speed() > 0.1 or cell.cmd.is_done(), 30.0) and not cell.cmd.is_done(), \
        f"the arm never moved: {cell.cmd.result()}"
    pub = cell.node.create_publisher(Bool, "/spatialbot/estop", 10)  # a fresh reliable + volatile publisher
    assert cell.wait(lambda: pub.get_subscription_count() >= 1, 5.0)
    t0 = time.monotonic()
    pub.publish(Bool(data=True))
    assert cell.wait(lambda: cell.speed() < 0.01, 2.0), "the arm did not stop"
    stopped_after = time.monotonic() - t0
    r = cell.finish()
    assert r.failure_reason == "estop", r
    assert stopped_after < 1.0
    assert cell.wait(lambda: cell.estop_state and cell.estop_state[-1], 5.0)
    assert cell.wait(lambda: cell.armed_state and cell.armed_state[-1] is False, 5.0)
    ok, message = cell.cmd.arm(True)
    assert not ok and "e-stop" in message  # cannot arm while it is engaged
    q0 = cell.joints()
    assert cell.run("pick the red cup and put it on the plate").failure_reason == "estop"  # latched: refused
    assert np.max(np.abs(cell.joints() - q0)) < 5e-3  # settling after the stop at most, no motion
    assert cell.cmd.reset_estop()
    assert cell.wait(lambda: not cell.estop_state[-1], 5.0)
    # reset does not re-arm: the next goal's motions are previewed, not sent (it perceives from where the
    # arm stopped, so it may also fail to see the cup past the arm; either way nothing moves)
    q0, n_previews = cell.joints(), len(cell.previews)
    r = cell.run("pick the red cup and put it on the plate")
    assert r.failure_reason in ("dry_run", "grounding_failed"), r
    if r.failure_reason == "dry_run":  # a goal that grounds plans its motions and previews them
        assert len(cell.previews) > n_previews
    # (a few mrad of settling after the stop are the arm coming to rest, not a motion)
    assert np.max(np.abs(cell.joints() - q0)) < 5e-3
    cell.node.destroy_publisher(pub)


def test_camera_unplugged_mid_motion_stops_the_arm_with_stale_frame(cell):
    ok, _ = cell.cmd.arm(True)
    assert ok
    # pick-only: after the pick-and-place the cup on the plate may read as one box, so no place phrase
    cell.cmd.pick_and_place("pick the blue cup", pick_only=True)
    assert cell.wait(lambda: cell.speed() > 0.1 or cell.cmd.is_done(), 30.0) and not cell.cmd.is_done(), \
        f"the arm never moved: {cell.cmd.result()}"
    cell.set_emulator(camera_enabled=False)
    try:
        r = cell.finish(timeout=30.0)
        assert r.failure_reason == "stale_frame", r
        assert cell.wait(lambda: cell.speed() < 0.01, 2.0)
    finally:
        cell.set_emulator(camera_enabled=True)
    time.sleep(1.0)


def test_a_grasp_that_closes_on_nothing_is_grasp_missed(cell):
    ok, _ = cell.cmd.arm(True)
    assert ok
    cell.cmd.pick_and_place("pick the blue cup", pick_only=True)
    assert cell.wait_phase("check_contact", 90.0), cell.cmd.result()
    cell.set_emulator(remove_object="blue_cup")  # knocked away between the contact check and the close
    r = cell.finish(timeout=60.0)
    assert r.failure_reason == "grasp_missed", r


def test_hostile_messages_do_not_deafen_pick_place_and_read_only_parameters_are_refused(cell):
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String

    goal_pub = cell.node.create_publisher(String, "/pick_place/goal", 10)
    joints_pub = cell.node.create_publisher(JointState, "/joint_states", 10)
    assert cell.wait(lambda: goal_pub.get_subscription_count() >= 1, 5.0)
    goal_pub.publish(String(data="[" * 100000))  # killed the executor before
    joints_pub.publish(JointState(name=["shoulder_pan_joint", "elbow_joint"]))  # names, no positions
    time.sleep(1.0)
    results = cell._set(cell.pick_place_params, {"safety.max_tcp_speed_m_s": 3.0})
    assert not results[0].successful  # read-only: refused, never accepted and ignored
    results = cell._set(cell.pick_place_params, {"speed_scale": float("nan")})
    assert not results[0].successful and "speed_scale" in results[0].reason
    assert cell._set(cell.pick_place_params, {"speed_scale": 1.0})[0].successful
    r = cell.run("pick the purple cup")  # still serving: a clean refusal
    assert r.failure_reason == "grounding_failed", r
    cell.node.destroy_publisher(goal_pub)
    cell.node.destroy_publisher(joints_pub)


class InProcessPickPlace:
    """A second pick_place on the same emulated cell, in this process (names of its own), so a test
    can give it other parameters or break its backend and still talk to it only over DDS."""

    PREFIX = "/pp_variant"

    def __init__(self, cell: Cell, **overrides: object) -> None:
        from rclpy.parameter import Parameter
        from std_msgs.msg import String

        from spatialbot_ros.nodes.executors import PoolExecutor
        from spatialbot_ros.nodes.pick_place import PickPlaceNode

        p = self.PREFIX
        names = {"goal_topic": f"{p}/goal", "cancel_topic": f"{p}/cancel", "feedback_topic": f"{p}/feedback",
                 "result_topic": f"{p}/result", "action_name": p, "policy_step_topic": f"{p}/policy_step",
                 "arm_service": f"{p}/arm", "armed_state_topic": f"{p}/armed", "preview_topic": f"{p}/planned",
                 "preview_markers_topic": f"{p}/planned_path", "estop_topic": f"{p}/estop",
                 "estop_state_topic": f"{p}/estop_state", "reset_estop_service": f"{p}/reset_estop",
                 "publish_camera_tf": False, "speed_scale": 1.0}
        names.update(overrides)
        self.node = PickPlaceNode(parameter_overrides=[Parameter(k, value=v) for k, v in names.items()],
                                  cli_args=["--ros-args", "-r", "__node:=pick_place_variant"])
        self.results: list[dict] = []
        self.cell = cell
        cell.node.create_subscription(String, f"{p}/result", lambda m: self.results.append(json.loads(m.data)), 10)
        self.goals = cell.node.create_publisher(String, f"{p}/goal", 10)
        self.executor = PoolExecutor(num_threads=4)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()
        assert cell.wait(lambda: self.goals.get_subscription_count() >= 1, 10.0)

    def run(self, instruction: str, timeout: float = 90.0) -> dict:
        from std_msgs.msg import String

        n = len(self.results)
        self.goals.publish(String(data=json.dumps({"instruction": instruction})))
        assert self.cell.wait(lambda: len(self.results) > n, timeout), "no result"
        return self.results[-1]

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def test_a_place_target_outside_the_workspace_is_refused_before_any_motion_toward_it(cell):
    # the plate (x = 0.66) lies outside this cell's box, and a place in front of it (toward the camera, +x)
    # further out; the red cup (x = 0.45) inside
    variant = InProcessPickPlace(cell, **{"safety.workspace_max_m": [0.6, 0.6, 0.8]})
    try:
        variant.node.motion.arm(True)
        first = variant.run("pick the purple cup")  # nothing purple: brings the arm to the observe pose only
        assert first["failure_reason"] == "grounding_failed"
        sent_before, q0 = list(variant.node.motion.sent), cell.joints()
        r = variant.run("pick the red cup and put it in front of the plate")
        assert r["failure_reason"] == "safety_refused" and "workspace" in r["message"], r
        new = variant.node.motion.sent[len(sent_before):]
        assert all(cmd.startswith("gripper") for cmd in new), new  # no arm motion at all
        assert np.max(np.abs(cell.joints() - q0)) < 5e-3
    finally:
        variant.close()


def test_a_backend_that_raises_ends_the_goal_as_internal_error_and_the_node_serves_the_next(cell):
    variant = InProcessPickPlace(cell)
    try:
        variant.node.motion.arm(True)
        arm = variant.node.motion.backend  # what the gate executes through (arm + gripper)
        real_execute = arm.execute

        def broken(plan):  # noqa: ANN001
            raise RuntimeError("driver connection reset")

        arm.execute = broken
        r = variant.run("pick the red cup")
        assert r["failure_reason"] == "internal_error" and "driver connection reset" in r["message"], r
        arm.execute = real_execute
        r = variant.run("pick the purple cup")
        assert r["failure_reason"] == "grounding_failed", r  # the node answers the next goal
    finally:
        variant.close()
