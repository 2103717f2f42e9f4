"""ROS messages of every subscribed type on the nodes: a malformed message is refused (an error
result or a log line), the node never raises out of its callback (the executor would stop), the arm
does not move, and the node keeps serving the next good message."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from ros_domain import Slot, use_ros_domain

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def rclpy_domain():
    use_ros_domain(Slot.RED_TEAM)
    import rclpy

    rclpy.init()
    yield rclpy
    rclpy.shutdown()


def _spin(executor, cond, timeout=8.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not cond():
        executor.spin_once(timeout_sec=0.02)  # a callback that raises ends the probe here: a crash
    return cond()


# ---- spatial_policy ------------------------------------------------------------------------------

class PolicyGraph:
    def __init__(self, rclpy, frame, base_from_camera):
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image
        from std_msgs.msg import String

        from spatialbot_ros.core.transforms import pose_to_xyz_quat
        from spatialbot_ros.nodes.spatial_policy import LATCHED, PARAMS, SpatialPolicyNode

        xyz, q = pose_to_xyz_quat(base_from_camera)
        self.node = SpatialPolicyNode(parameter_overrides=[
            Parameter("camera_extrinsics.xyz", value=[float(v) for v in xyz]),
            Parameter("camera_extrinsics.quat_xyzw", value=[float(v) for v in q])])
        self.op = rclpy.create_node("red_team")
        self.results: list[dict] = []
        self.op.create_subscription(String, PARAMS["result_topic"][0], lambda m: self.results.append(json.loads(m.data)),
                                    50)
        self.pub = {"color": self.op.create_publisher(Image, PARAMS["color_topic"][0], qos_profile_sensor_data),
                    "depth": self.op.create_publisher(Image, PARAMS["depth_topic"][0], qos_profile_sensor_data),
                    "info": self.op.create_publisher(CameraInfo, PARAMS["info_topic"][0], qos_profile_sensor_data)}
        self.say = self.op.create_publisher(String, PARAMS["instruction_topic"][0], LATCHED)
        self.ex = SingleThreadedExecutor()
        self.ex.add_node(self.node)
        self.ex.add_node(self.op)
        self.frame = frame
        self.t = 1000.0

    def instruct(self, text: str) -> None:
        """Publish and wait until the node holds it (ROS strings end at the first NUL)."""
        from std_msgs.msg import String

        self.say.publish(String(data=text))
        received = text.split("\x00")[0]
        _spin(self.ex, lambda: self.node.instruction == (received if len(received) <= 2000 else ""), 3.0)

    def send(self, color=None, depth=None, info=None) -> dict | None:
        """One triple on a fresh stamp (the good frame where a part is not given); its result or None."""
        from spatialbot_ros.nodes.conversions import rgbd_to_msgs, s_to_stamp

        self.t += 1.0
        stamp = s_to_stamp(self.t)
        good = rgbd_to_msgs(self.frame, stamp)
        for name, msg, ok in zip(("color", "depth", "info"), (color, depth, info), good, strict=True):
            m = msg if msg is not None else ok
            m.header.stamp = stamp
            self.pub[name].publish(m)
        want = round(self.t, 3)
        _spin(self.ex, lambda: any(round(r.get("stamp_s", -1), 3) == want for r in self.results))
        return next((r for r in self.results if round(r.get("stamp_s", -1), 3) == want), None)

    def close(self):
        self.ex.shutdown()
        self.node.destroy_node()
        self.op.destroy_node()


@pytest.fixture(scope="module")
def policy_graph(rclpy_domain, six_object_cell):
    cell, _, frame = six_object_cell
    g = PolicyGraph(rclpy_domain, frame, cell.base_from_camera)
    g.instruct("pick the red cup")
    assert g.send() is not None and g.results[-1]["error"] == ""
    yield g
    g.close()


def _img(w=64, h=48, enc="rgb8", step=None, data=None, frame_id="camera_color_optical_frame", big=0):
    from sensor_msgs.msg import Image

    ch = {"rgb8": 3, "bgr8": 3, "16UC1": 2, "mono16": 2, "32FC1": 4}.get(enc, 1)
    m = Image(width=w, height=h, encoding=enc, is_bigendian=big)
    m.step = w * ch if step is None else step
    m.header.frame_id = frame_id
    m.data = bytes(m.step * h) if data is None else data
    return m


def _info(w=640, h=480, k=(465.0, 0, 319.5, 0, 465.0, 239.5, 0, 0, 1)):
    from sensor_msgs.msg import CameraInfo

    m = CameraInfo(width=w, height=h)
    m.header.frame_id = "camera_color_optical_frame"
    m.k = [float(v) for v in k]
    return m


nan = float("nan")
MALFORMED_IMAGES = {
    "wrong_step": dict(w=640, h=480, step=100),
    "zero_size": dict(w=0, h=0, data=b""),
    "huge_size": dict(w=2**31, h=2**31, data=bytes(64)),
    "short_data": dict(w=640, h=480, data=bytes(1000)),
    "unknown_encoding": dict(w=640, h=480, enc="yuv422"),
    "other_size": dict(w=64, h=48),
    "other_frame": dict(w=640, h=480, frame_id="elsewhere"),
    "bigendian_garbage": dict(w=640, h=480, big=1, data=bytes(range(256)) * (640 * 480 * 3 // 256)),
}
MALFORMED_DEPTH = {
    "depth_as_rgb8": dict(w=640, h=480, enc="rgb8"),
    "depth_nan_32fc1": dict(w=640, h=480, enc="32FC1", data=np.full(640 * 480, nan, np.float32).tobytes()),
    "depth_inf_32fc1": dict(w=640, h=480, enc="32FC1", data=np.full(640 * 480, np.inf, np.float32).tobytes()),
    "depth_all_zero": dict(w=640, h=480, enc="16UC1"),
    "depth_all_max": dict(w=640, h=480, enc="16UC1", data=np.full(640 * 480, 65535, np.uint16).tobytes()),
    "depth_wrong_step": dict(w=640, h=480, enc="16UC1", step=7),
    "depth_zero_size": dict(w=0, h=0, enc="16UC1", data=b""),
}
MALFORMED_INFO = {
    "k_nan": dict(k=(nan, 0, 319.5, 0, 465, 239.5, 0, 0, 1)),
    "k_zero": dict(k=(0,) * 9),
    "k_inf": dict(k=(np.inf, 0, 319.5, 0, np.inf, 239.5, 0, 0, 1)),
    "size_zero": dict(w=0, h=0),
    "size_huge": dict(w=2**32 - 1, h=2**32 - 1),
    "size_other": dict(w=1280, h=720),
}
FAST = {"wrong_step", "depth_nan_32fc1", "k_nan"}


def _cases(table, slot):
    return [pytest.param(slot, name, kw, marks=() if name in FAST else pytest.mark.robustness_full, id=f"{slot}-{name}")
            for name, kw in table.items()]


@pytest.mark.surface("node_spatial_policy")
@pytest.mark.parametrize("slot,name,kwargs", _cases(MALFORMED_IMAGES, "color") + _cases(MALFORMED_IMAGES, "depth") +
                         _cases(MALFORMED_DEPTH, "depth") + _cases(MALFORMED_INFO, "info"))
def test_malformed_frame_is_refused_and_the_node_keeps_serving(policy_graph, slot, name, kwargs):
    kw = dict(kwargs)
    if slot == "depth" and "enc" not in kw:
        kw["enc"] = "16UC1"
    msg = _info(**kw) if slot == "info" else _img(**kw)
    r = policy_graph.send(**{slot: msg})
    assert r is not None, "no result for the malformed frame (or the node stopped)"
    if name not in ("depth_all_zero", "depth_all_max", "bigendian_garbage", "depth_nan_32fc1", "depth_inf_32fc1"):
        assert r["error"], r  # refused with a reason
    assert "pick_mark_id" not in r or not r["error"]
    again = policy_graph.send()
    assert again is not None and again["error"] == "", "the node stopped serving good frames"


INSTRUCTION_CASES = ["", "x" * 100_000, "\x00\x01\x02", "pick the 🍵", "pick the {0} %s", "pick mark 99999999999"]


@pytest.mark.robustness_full
@pytest.mark.surface("node_spatial_policy")
@pytest.mark.parametrize("text", INSTRUCTION_CASES, ids=[repr(t[:12]) for t in INSTRUCTION_CASES])
def test_hostile_instruction_message(policy_graph, text):
    policy_graph.instruct(text)
    if text.split("\x00")[0] and len(text) <= 2000:
        r = policy_graph.send()
        assert r is not None and (r["error"] or r.get("pick_mark_id") is not None)
    policy_graph.instruct("pick the red cup")
    again = policy_graph.send()
    assert again is not None and again["error"] == ""


# ---- mujoco_sim ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim_graph(rclpy_domain):
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64
    from trajectory_msgs.msg import JointTrajectory

    from spatialbot_ros.nodes.mujoco_sim import PARAMS, MujocoSimNode

    sim = MujocoSimNode(parameter_overrides=[Parameter("camera_rate_hz", value=0.5)])
    op = rclpy_domain.create_node("red_team_sim")
    states: list = []
    op.create_subscription(JointState, PARAMS["joint_states_topic"][0], states.append, 10)
    g = {"sim": sim, "op": op, "states": states, "ex": SingleThreadedExecutor(),
         "traj": op.create_publisher(JointTrajectory, PARAMS["trajectory_topic"][0], 10),
         "grip": op.create_publisher(Float64, PARAMS["gripper_topic"][0], 10)}
    g["ex"].add_node(sim)
    g["ex"].add_node(op)
    assert _spin(g["ex"], lambda: len(states) > 3)
    yield g
    g["ex"].shutdown()
    sim.destroy_node()
    op.destroy_node()


def _trajectory(names=None, points=((0.1, -1.2, 1.0, -1.4, -1.57, 0.0),), times=(1.0,)):
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

    t = JointTrajectory(joint_names=list(UR_JOINT_NAMES) if names is None else names)
    for p, s in zip(points, times, strict=True):
        sec = int(math.floor(s))
        t.points.append(JointTrajectoryPoint(positions=[float(v) for v in p],
                                             time_from_start=Duration(sec=sec, nanosec=int((s - sec) * 1e9))))
    return t


Q = (0.1, -1.2, 1.0, -1.4, -1.57, 0.0)
BAD_TRAJECTORIES = {
    "no_points": dict(points=(), times=()),
    "missing_joint": dict(names=["shoulder_pan_joint"]),
    "duplicate_names": dict(names=["shoulder_pan_joint"] * 6),
    "no_names": dict(names=[]),
    "short_positions": dict(points=((0.1, 0.2),)),
    "nan_position": dict(points=((nan, *Q[1:]),)),
    "inf_position": dict(points=((float("inf"), *Q[1:]),)),
    "huge_position": dict(points=((1e308, *Q[1:]),)),
    "beyond_limits": dict(points=((100.0, *Q[1:]),)),
    "zero_time": dict(times=(0.0,)),
    "decreasing_times": dict(points=(Q, Q), times=(2.0, 1.0)),
    "too_many_points": dict(points=(Q,) * 10_001, times=tuple(0.01 * (i + 1) for i in range(10_001))),
}


@pytest.mark.surface("node_mujoco_sim")
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in ("nan_position", "no_points") else
                                               pytest.mark.robustness_full) for n in BAD_TRAJECTORIES])
def test_malformed_trajectory_is_refused_and_the_arm_holds(sim_graph, name):
    g = sim_graph
    before = np.array(g["sim"].cell.joint_positions())
    g["traj"].publish(_trajectory(**BAD_TRAJECTORIES[name]))
    n = len(g["states"])
    assert _spin(g["ex"], lambda: len(g["states"]) > n + 30), "joint states stopped"
    assert not g["sim"]._follower.active
    after = np.array(g["states"][-1].position[:6])
    assert np.isfinite(after).all() and np.abs(after - before).max() < 0.02


@pytest.mark.surface("node_mujoco_sim")
@pytest.mark.parametrize("value", [nan, float("inf"), float("-inf"), -1.0, 1e308, 0.04])
def test_gripper_commands_never_poison_the_physics(sim_graph, value):
    from std_msgs.msg import Float64

    g = sim_graph
    g["grip"].publish(Float64(data=value))
    n = len(g["states"])
    assert _spin(g["ex"], lambda: len(g["states"]) > n + 10)
    assert np.isfinite(g["sim"].cell.data.ctrl).all() and np.isfinite(g["states"][-1].position).all()


@pytest.mark.robustness_full
@pytest.mark.surface("node_mujoco_sim")
@pytest.mark.parametrize("sequence", [(False,), (False, False), (True,), (False, True, False, True)])
def test_camera_service_toggles_and_physics_keeps_running(sim_graph, sequence):
    from std_srvs.srv import SetBool

    from spatialbot_ros.nodes.mujoco_sim import PARAMS

    g = sim_graph
    client = g["op"].create_client(SetBool, PARAMS["camera_enabled_service"][0])
    try:
        assert _spin(g["ex"], client.service_is_ready, 5.0)
        for value in sequence:
            fut = client.call_async(SetBool.Request(data=value))
            assert _spin(g["ex"], fut.done, 5.0) and fut.result().success
            assert g["sim"].camera_enabled is value
        n = len(g["states"])
        assert _spin(g["ex"], lambda: len(g["states"]) > n + 10), "joint states stopped"
    finally:
        fut = client.call_async(SetBool.Request(data=True))
        _spin(g["ex"], fut.done, 5.0)
        g["op"].destroy_client(client)


@pytest.mark.robustness_full
@pytest.mark.surface("node_mujoco_sim")
def test_after_the_probes_a_good_trajectory_still_moves_the_arm(sim_graph):
    g = sim_graph
    start = np.array(g["sim"].cell.joint_positions())
    goal = start + np.array([0.15, 0, 0, 0, 0, 0])
    g["traj"].publish(_trajectory(points=(tuple(goal),), times=(0.5,)))
    assert _spin(g["ex"], lambda: abs(g["sim"].cell.joint_positions()[0] - goal[0]) < 0.02, 8.0)


# ---- realsense_camera (no subscriptions: its input is the camera source) ---------------------------

class _Source:
    def __init__(self, outcome):
        self.outcome = outcome

    def read(self, timeout_ms):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


@pytest.mark.surface("node_realsense_camera")
@pytest.mark.parametrize("outcome", [RuntimeError("Frame didn't arrive within 1000"), TimeoutError("usb"),
                                     OSError(19, "No such device"), None, {"color": 1}, "frame", 42],
                         ids=["timeout", "usb_timeout", "unplugged", "none", "dict", "str", "int"])
def test_camera_source_failures_are_logged_not_fatal(rclpy_domain, six_object_cell, outcome):
    from spatialbot_ros.core.errors import FrameError
    from spatialbot_ros.nodes.realsense_camera import RealSenseCameraNode

    src = _Source(outcome)
    node = RealSenseCameraNode(source=src)
    try:
        assert node.publish_next(10) is False
        src.outcome = FrameError("no synced pair")
        assert node.publish_next(10) is False
        src.outcome = six_object_cell[2]
        assert node.publish_next(10) is True and node.published == 1
    finally:
        node.destroy_node()


DEPTH_QUERIES = {
    "nan_point": dict(x=nan, y=0.5, normalized=True),
    "inf_point": dict(x=float("inf"), y=float("-inf"), normalized=True),
    "huge_point": dict(x=1e308, y=1e308, normalized=False),
    "negative_point": dict(x=-5.0, y=-5.0, normalized=False),
    "normalized_out": dict(x=1.5, y=0.5, normalized=True),
    "box_inverted": dict(box_xyxy=[300, 300, 100, 100]),
    "box_zero_area": dict(box_xyxy=[100, 100, 100, 100]),
    "box_outside": dict(box_xyxy=[5000, 5000, 6000, 6000]),
    "box_huge": dict(box_xyxy=[-2**31, -2**31, 2**31 - 1, 2**31 - 1]),
    "box_partly_minus_one": dict(box_xyxy=[-1, -1, -1, 5]),
}


@pytest.mark.surface("node_spatial_policy")
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n == "nan_point" else pytest.mark.robustness_full)
                                  for n in DEPTH_QUERIES])
def test_depth_query_service_refuses_bad_requests_and_keeps_answering(policy_graph, name):
    from spatialbot_ros.nodes.typed_interfaces import interfaces_available

    if not interfaces_available():
        pytest.skip("typed interfaces not built: scripts/build_interfaces.sh")
    from spatialbot_interfaces.srv import DepthQuery

    from spatialbot_ros.nodes.spatial_policy import PARAMS

    g = policy_graph
    client = g.op.create_client(DepthQuery, PARAMS["depth_service"][0])
    try:
        assert _spin(g.ex, client.service_is_ready, 5.0)

        def call(**fields):
            req = DepthQuery.Request(box_xyxy=[-1, -1, -1, -1])
            for k, v in fields.items():
                setattr(req, k, v)
            fut = client.call_async(req)
            assert _spin(g.ex, fut.done, 5.0), "no answer (the service stopped)"
            return fut.result()

        r = call(**DEPTH_QUERIES[name])
        assert (not r.ok and r.message) or (r.ok and math.isfinite(r.depth_mm))
        good = call(x=0.5, y=0.5, normalized=True)
        assert good.ok and good.depth_mm > 0
    finally:
        g.op.destroy_client(client)
