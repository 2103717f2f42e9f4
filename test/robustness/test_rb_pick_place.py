"""The pick_place node as a red-team surface: every subscribed message type (goal and cancel strings,
joint states, camera Image / CameraInfo, the e-stop Bool on both QoS), the PickPlace action, the arm
and e-stop reset services and run-time parameter sets. Each probe asserts no crash (the executor
keeps spinning), no hang (a result within a bound), a clean refusal with a reason, no motion command
where none is due, and that a normal goal is answered afterwards.

The node runs in-process with motion_backend ros_topics against nothing but this test's operator
node, which plays the robot (joint states) and the camera (the six-object cell's frame); real_hardware
is false, so a goal that reached motion WOULD publish a trajectory: "no motion" is checked by counting
the trajectory and gripper commands the node sends."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

nan, inf = float("nan"), float("inf")
RESULT_BOUND_S = 20.0  # a goal ends with a result within this (the e-stop / watchdog bounds are far below it)


class PickPlaceGraph:
    """PickPlaceNode + an operator node on a private context, spun by one MultiThreadedExecutor."""

    def __init__(self, cell, frame) -> None:
        import rclpy
        from rclpy.parameter import Parameter
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image, JointState
        from std_msgs.msg import Bool, Float64, String
        from trajectory_msgs.msg import JointTrajectory

        from spatialbot_ros.core.robotiq import KNUCKLE_JOINT
        from spatialbot_ros.core.transforms import pose_to_xyz_quat
        from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
        from spatialbot_ros.nodes.estop_bridge import COMMAND_QOS, LATCHED_QOS
        from spatialbot_ros.nodes.executors import PoolExecutor
        from spatialbot_ros.nodes.pick_place import PARAMS, PickPlaceNode

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, domain_id=201 + os.getpid() % 31)
        # other test processes share the machine (and maybe the domain): every name under a private prefix
        self.ns = f"/rb{os.getpid()}"
        self.names_of = {k: self.ns + p.default for k, p in PARAMS.items()
                         if isinstance(p.default, str) and p.default.startswith("/")}
        xyz, q = pose_to_xyz_quat(cell.base_from_camera)
        self.node = PickPlaceNode(context=self.ctx, namespace=self.ns, parameter_overrides=[
            *(Parameter(k, value=v) for k, v in self.names_of.items()),
            Parameter("motion_backend", value="ros_topics"), Parameter("gripper_backend", value="topic"),
            Parameter("real_hardware", value=False), Parameter("tcp_offset_m", value=float(cell.tool0_from_tcp[2, 3])),
            Parameter("camera_extrinsics.xyz", value=[float(v) for v in xyz]),
            Parameter("camera_extrinsics.quat_xyzw", value=[float(v) for v in q])])
        self.op = rclpy.create_node("red_team_pick_place", context=self.ctx)
        self.names = [*UR_JOINT_NAMES, KNUCKLE_JOINT]
        self.q = [*(float(v) for v in cell.joint_positions()), 0.0]
        self.frame = frame
        self.joint_state: JointState | None = None  # None: the good state; else this message is published
        self.hostile_every = 1  # publish the hostile state every n-th tick (a huge one: not a CPU flood)
        self.camera_on = True
        self.results: list[dict] = []
        self.armed: list[bool] = []
        self.estop_state: list[bool] = []
        self.motion_commands = 0
        self._lock = threading.Lock()
        op = self.op
        op.create_subscription(String, self.names_of["result_topic"], self._on_result, 50)
        op.create_subscription(Bool, self.names_of["armed_state_topic"], lambda m: self.armed.append(m.data), LATCHED_QOS)
        op.create_subscription(Bool, self.names_of["estop_state_topic"], lambda m: self.estop_state.append(m.data),
                               LATCHED_QOS)
        op.create_subscription(JointTrajectory, self.names_of["trajectory_topic"], self._on_trajectory, 10)
        op.create_subscription(Float64, self.names_of["gripper_topic"], self._on_gripper, 10)
        self.goal_pub = op.create_publisher(String, self.names_of["goal_topic"], COMMAND_QOS)
        self.cancel_pub = op.create_publisher(String, self.names_of["cancel_topic"], COMMAND_QOS)
        self.estop_pub = {"volatile": op.create_publisher(Bool, self.names_of["estop_topic"], COMMAND_QOS),
                          "latched": op.create_publisher(Bool, self.names_of["estop_topic"], LATCHED_QOS)}
        self.js_pub = op.create_publisher(JointState, self.names_of["joint_states_topic"], 10)
        self.cam_pub = {"color": op.create_publisher(Image, self.names_of["color_topic"], qos_profile_sensor_data),
                        "depth": op.create_publisher(Image, self.names_of["depth_topic"], qos_profile_sensor_data),
                        "info": op.create_publisher(CameraInfo, self.names_of["info_topic"], qos_profile_sensor_data)}
        self._tick = 0
        op.create_timer(0.04, self._publish_sensors)
        self.ex = PoolExecutor(num_threads=4, context=self.ctx)
        self.ex.add_node(self.node)
        self.ex.add_node(op)
        self.thread = threading.Thread(target=self.ex.spin, daemon=True)
        self.thread.start()

    # -- the operator's robot and camera ------------------------------------------------------
    def _publish_sensors(self) -> None:
        from sensor_msgs.msg import JointState


        self._tick += 1
        js = self.joint_state if self.joint_state is not None else JointState(name=self.names, position=self.q)
        if self.joint_state is None or self._tick % self.hostile_every == 0:
            js.header.stamp = self.op.get_clock().now().to_msg()
            self.js_pub.publish(js)
        if self.camera_on and self._tick % 5 == 0:
            self.publish_triple()

    def publish_triple(self, color=None, depth=None, info=None, stamps=None) -> None:
        """One camera triple stamped now (stamps: per-stream offsets in s), the good frame where a part is not given."""
        from spatialbot_ros.nodes.conversions import rgbd_to_msgs, s_to_stamp

        now = self.node.now_s()
        good = rgbd_to_msgs(self.frame, s_to_stamp(now))
        for i, (name, msg) in enumerate(zip(("color", "depth", "info"), (color, depth, info), strict=True)):
            m = msg if msg is not None else good[i]
            m.header.stamp = s_to_stamp(now + (stamps[i] if stamps else 0.0))
            self.cam_pub[name].publish(m)

    def _on_result(self, msg) -> None:
        with self._lock:
            self.results.append(json.loads(msg.data))

    def _on_trajectory(self, msg) -> None:
        """A trajectory that leaves the joints the robot reports is motion; a hold there (stop) is not."""
        held = np.array(self.q[:6])
        if any(np.abs(np.array(p.positions[:6]) - held).max() > 1e-4 for p in msg.points):
            with self._lock:
                self.motion_commands += 1

    def _on_gripper(self, _msg) -> None:
        with self._lock:
            self.motion_commands += 1

    def settle(self, quiet_s: float = 0.2) -> int:
        """Wait until no motion command has arrived for quiet_s (commands of the last goal may trail its result)."""
        last, since = self.motion_commands, time.monotonic()
        while time.monotonic() - since < quiet_s:
            time.sleep(0.02)
            if self.motion_commands != last:
                last, since = self.motion_commands, time.monotonic()
        return last

    # -- probes ------------------------------------------------------------------------------
    def goal(self, data: str, timeout: float = RESULT_BOUND_S) -> dict:
        """Publish a raw goal string; the result it produced (asserted to arrive within timeout)."""
        from std_msgs.msg import String

        n = len(self.results)
        self.goal_pub.publish(String(data=data))
        assert eventually(lambda: len(self.results) > n, timeout), f"no result within {timeout} s (hang)"
        return self.results[n]

    def normal_goal_answered(self) -> dict:
        """The node keeps serving: a well-formed goal gets its own result (no purple cup: grounding_failed)."""
        gid = f"ok-{time.monotonic_ns()}"
        r = self.goal(json.dumps({"id": gid, "instruction": "pick the purple cup and put it on the plate"}))
        assert r["id"] == gid and not r["succeeded"] and r["failure_reason"] == "grounding_failed", r
        return r

    def call(self, srv_type, name: str, request, timeout: float = 5.0):
        client = self.op.create_client(srv_type, name)
        try:
            assert client.wait_for_service(timeout_sec=5.0), f"service {name} not offered"
            fut = client.call_async(request)
            assert eventually(fut.done, timeout), f"{name}: no answer (hang)"
            return fut.result()
        finally:
            self.op.destroy_client(client)

    def close(self) -> None:
        self.ex.shutdown()
        self.thread.join(timeout=5.0)
        self.node.destroy_node()
        self.op.destroy_node()
        self.ctx.try_shutdown()


def eventually(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


@pytest.fixture(scope="module")
def pp(six_object_cell):
    cell, _, frame = six_object_cell
    g = PickPlaceGraph(cell, frame)
    assert eventually(lambda: g.node._latest is not None and g.node.motion.backend._q is not None, 15.0)
    g.normal_goal_answered()
    yield g
    g.close()


@pytest.fixture()
def moved(pp):
    """moved(): motion commands the node sent since the probe began. After the probe the good sensors
    come back and a normal goal must still be answered (the node keeps serving)."""
    before = pp.settle()
    yield lambda: pp.settle() - before
    pp.joint_state, pp.camera_on, pp.hostile_every = None, True, 1
    time.sleep(0.25)  # the timer puts the good sensors back (joint states at 25 Hz, frames at 5 Hz)
    pp.normal_goal_answered()


def fast(*names):
    return lambda n: () if n in names else pytest.mark.robustness_full


# ---- /pick_place/goal ---------------------------------------------------------------------------

GOALS = {
    "bracket_bomb": "[" * 100_000,  # the red-team finding that killed the executor (RecursionError)
    "brace_bomb": '{"a":' * 50_000,
    "huge_string": "x" * 2_000_000,
    "huge_json": json.dumps({"instruction": "pick the red cup " * 100_000}),
    "nul_and_control": "\x00pick\x01\x02\x7f",
    "lone_surrogates_escaped": '{"instruction": "\\ud800\\udfff\\ud800"}',
    "replacement_chars": "\ufffd" * 1000,
    "json_null": "null",
    "json_number": "1e999",
    "json_list": '["pick the red cup"]',
    "json_bool": "true",
    "instruction_number": '{"instruction": 42}',
    "instruction_list": '{"instruction": ["pick", "the", "red", "cup"]}',
    "instruction_object": '{"instruction": {"text": "pick the red cup"}}',
    "instruction_null": '{"instruction": null}',
    "nested_goal": json.dumps({"goal": {"goal": {"instruction": "pick the red cup"}}}),
    "pick_only_string": '{"instruction": "pick the purple cup", "pick_only": "yes"}',
    "pick_only_number": '{"instruction": "pick the purple cup", "pick_only": 1}',
    "pick_only_list": '{"instruction": "pick the purple cup", "pick_only": [true]}',
    "id_object": '{"id": {"x": 1}, "instruction": "pick the purple cup"}',
    "id_huge": json.dumps({"id": "i" * 100_000, "instruction": "pick the purple cup"}),
    "long_instruction": json.dumps({"instruction": "pick the red cup " + "very " * 2000}),
    "empty": "",
    "whitespace": " \n\t ",
}
# inputs the node must refuse before any motion (bad_input), vs. well-formed goals it may run
MUST_REFUSE = {"bracket_bomb", "brace_bomb", "huge_string", "huge_json", "json_null", "json_number", "json_bool",
               "instruction_number", "instruction_list", "instruction_object", "instruction_null", "nested_goal",
               "long_instruction", "empty", "whitespace", "pick_only_string", "pick_only_number", "pick_only_list"}


@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("name", [pytest.param(n, marks=fast("bracket_bomb", "long_instruction", "pick_only_string")(n))
                                  for n in GOALS])
def test_hostile_goal_string_ends_with_a_result_and_no_motion(pp, moved, name):
    t0 = time.monotonic()
    r = pp.goal(GOALS[name])
    assert not r["succeeded"] and r["failure_reason"] and r["message"], r
    if name in MUST_REFUSE:
        # refused before any motion: bad_input, or (a JSON scalar read as plain text) an instruction naming nothing
        assert r["failure_reason"] in ("bad_input", "grounding_failed"), r
        assert moved() == 0, "a refused goal moved the arm or the gripper"
    assert len(r["message"]) <= 4096 and len(r["id"]) <= 64, "a result echoes the hostile input back"
    assert time.monotonic() - t0 < RESULT_BOUND_S


@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("data", [pytest.param(d, marks=() if i in (3, 4) else pytest.mark.robustness_full)
                                  for i, d in enumerate(["", "nope", "\x00", "x" * 1_000_000, "[" * 100_000, '{"id": 1}'])],
                         ids=["empty", "other_id", "nul", "huge", "bracket_bomb", "json"])
def test_cancel_topic_takes_anything(pp, moved, probes, data):
    from std_msgs.msg import String

    for _ in range(3):
        pp.cancel_pub.publish(String(data=data))
    time.sleep(0.2)
    assert moved() == 0
    probes(3)


# ---- /joint_states ------------------------------------------------------------------------------

def _js(names, positions, velocities=()):
    from sensor_msgs.msg import JointState

    return JointState(name=list(names), position=[float(v) for v in positions], velocity=[float(v) for v in velocities])


def _joint_cases(pp):
    n, q = pp.names, pp.q
    return {
        "names_no_positions": _js(n, []),
        "positions_no_names": _js([], q),
        "nan_positions": _js(n, [nan] * len(n)),
        "inf_positions": _js(n, [inf, -inf, *q[2:]]),
        "mismatched_lengths": _js(n, q[:3]),
        "more_positions": _js(n[:3], q),
        "huge_arrays": _js([f"j{i}" for i in range(100_000)], np.zeros(100_000)),
        "duplicate_names": _js([n[0]] * 7, q),
        "missing_joint": _js(n[1:], q[1:]),
        "velocity_nan": _js(n, q, [nan] * len(n)),
    }


JOINT_CASES = ["names_no_positions", "positions_no_names", "nan_positions", "inf_positions", "mismatched_lengths",
               "more_positions", "huge_arrays", "duplicate_names", "missing_joint", "velocity_nan"]


@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("name", [pytest.param(n, marks=fast("names_no_positions", "nan_positions")(n))
                                  for n in JOINT_CASES])
def test_malformed_joint_states_never_read_as_a_pose_and_a_goal_still_ends(pp, moved, name):
    """Known findings: names without positions raised in the callback; NaN states hung a goal. Now
    they read as "no state": the joint-state watchdog runs out and a goal ends with a failure in bound."""
    pp.joint_state = _joint_cases(pp)[name]
    pp.hostile_every = 10 if name == "huge_arrays" else 1
    if name == "velocity_nan":
        pp.joint_state = None  # positions are good: the state is usable (velocities are not read)
    time.sleep(0.8)  # longer than joint_states_timeout_s
    t0 = time.monotonic()
    r = pp.goal(json.dumps({"instruction": "pick the red cup and put it on the plate"}))
    assert not r["succeeded"], r
    if name != "velocity_nan":
        # the executive files a watchdog refusal under stale_frame; the message names the joint-state watchdog
        assert r["failure_reason"] in ("robot_not_ready", "stale_frame") and "joint" in r["message"], r
        assert moved() == 0, "the arm was commanded without a valid joint state"
    assert time.monotonic() - t0 < RESULT_BOUND_S


# ---- camera -------------------------------------------------------------------------------------

def _img(w=640, h=480, enc="rgb8", step=None, data=None):
    from sensor_msgs.msg import Image

    ch = {"rgb8": 3, "bgr8": 3, "16UC1": 2, "32FC1": 4}.get(enc, 1)
    m = Image(width=w, height=h, encoding=enc)
    m.step = w * ch if step is None else step
    m.header.frame_id = "camera_color_optical_frame"
    m.data = bytes(m.step * h) if data is None else data
    return m


def _info(w=640, h=480, k=(465.0, 0, 319.5, 0, 465.0, 239.5, 0, 0, 1)):
    from sensor_msgs.msg import CameraInfo

    m = CameraInfo(width=w, height=h)
    m.header.frame_id = "camera_color_optical_frame"
    m.k = [float(v) for v in k]
    return m


CAMERA_CASES = {
    "color_wrong_step": dict(color=lambda: _img(step=100)),
    "color_encoding": dict(color=lambda: _img(enc="yuv422")),
    "color_short_data": dict(color=lambda: _img(data=bytes(1000))),
    "color_huge_size": dict(color=lambda: _img(w=2**31, h=2**31, data=bytes(64))),
    "color_other_size": dict(color=lambda: _img(w=64, h=48)),
    "depth_as_rgb8": dict(depth=lambda: _img(enc="rgb8")),
    "depth_wrong_step": dict(depth=lambda: _img(enc="16UC1", step=7)),
    "depth_zero_size": dict(depth=lambda: _img(w=0, h=0, enc="16UC1", data=b"")),
    "info_nan_k": dict(info=lambda: _info(k=(nan, 0, 319.5, 0, 465, 239.5, 0, 0, 1))),
    "info_zero_k": dict(info=lambda: _info(k=(0,) * 9)),
    "info_other_size": dict(info=lambda: _info(w=1280, h=720)),
    "mismatched_stamps": dict(stamps=(0.0, 0.5, 1.0)),
}


@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("name", [pytest.param(n, marks=fast("color_wrong_step", "info_nan_k")(n))
                                  for n in CAMERA_CASES])
def test_malformed_camera_frame_fails_the_goal_cleanly(pp, moved, name):
    pp.camera_on = False
    time.sleep(0.3)
    case = {k: (v() if callable(v) else v) for k, v in CAMERA_CASES[name].items()}
    if name == "mismatched_stamps":
        time.sleep(1.1)  # the last good triple grows stale; the mismatched one never syncs
    pp.publish_triple(**case)
    time.sleep(0.2)
    r = pp.goal(json.dumps({"instruction": "pick the red cup and put it on the plate"}))
    assert not r["succeeded"] and r["failure_reason"] in ("stale_frame", "bad_input", "grounding_failed"), r
    assert r["message"]


# ---- e-stop, arm and reset services -------------------------------------------------------------

@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("qos", ["volatile", "latched"])
def test_estop_on_either_qos_latches_refuses_goals_and_resets(pp, probes, qos):
    from std_msgs.msg import Bool
    from std_srvs.srv import SetBool, Trigger


    before = pp.settle()
    pub = pp.estop_pub[qos]
    assert eventually(lambda: pub.get_subscription_count() >= 1)
    try:
        pub.publish(Bool(data=True))
        assert eventually(lambda: pp.node.estop.engaged), "the e-stop did not engage"
        assert eventually(lambda: pp.estop_state and pp.estop_state[-1])
        r = pp.goal(json.dumps({"instruction": "pick the red cup and put it on the plate"}))
        assert not r["succeeded"] and r["failure_reason"] == "estop", r
        assert pp.settle() == before, "the arm or gripper was commanded under the e-stop"
        armed = pp.call(SetBool, pp.names_of["arm_service"], SetBool.Request(data=True))
        assert not armed.success and "e-stop" in armed.message
        pub.publish(Bool(data=False))  # releasing the button does not clear the latch
        time.sleep(0.2)
        assert pp.node.estop.engaged
    finally:
        reset = pp.call(Trigger, pp.names_of["reset_estop_service"], Trigger.Request())
    assert reset.success and not pp.node.estop.engaged
    again = pp.call(Trigger, pp.names_of["reset_estop_service"], Trigger.Request())
    assert again.success and "not engaged" in again.message
    pp.normal_goal_answered()
    probes(6)


@pytest.mark.robustness_full
@pytest.mark.surface("node_pick_place")
def test_arm_and_reset_services_repeated_and_racing(pp, probes):
    from std_srvs.srv import SetBool, Trigger


    arm = pp.op.create_client(SetBool, pp.names_of["arm_service"])
    reset = pp.op.create_client(Trigger, pp.names_of["reset_estop_service"])
    try:
        assert arm.wait_for_service(timeout_sec=5.0) and reset.wait_for_service(timeout_sec=5.0)
        # rounds of racing calls, each within the default service queue depth (10): DDS drops beyond it
        for _ in range(5):
            futs = [arm.call_async(SetBool.Request(data=bool(i % 2))) for i in range(8)]
            futs += [reset.call_async(Trigger.Request()) for _ in range(4)]
            assert eventually(lambda futs=futs: all(f.done() for f in futs), 10.0), "a service call was never answered"
            assert all(f.result().success and f.result().message for f in futs)
        final = pp.call(SetBool, pp.names_of["arm_service"], SetBool.Request(data=False))
        assert final.success and not pp.node.motion.armed
        assert eventually(lambda: pp.armed and pp.armed[-1] is False)
    finally:
        pp.op.destroy_client(arm)
        pp.op.destroy_client(reset)
    pp.normal_goal_answered()
    probes(61)


# ---- the PickPlace action -----------------------------------------------------------------------

def _action_result(pp, **fields):
    from rclpy.action import ActionClient
    from spatialbot_interfaces.action import PickPlace


    client = ActionClient(pp.op, PickPlace, pp.names_of["action_name"])
    try:
        assert client.wait_for_server(timeout_sec=5.0)
        goal = PickPlace.Goal()
        for k, v in fields.items():
            setattr(goal, k, v)
        fut = client.send_goal_async(goal)
        assert eventually(fut.done, 5.0), "goal not answered"
        handle = fut.result()
        if not handle.accepted:
            return None
        res = handle.get_result_async()
        assert eventually(res.done, RESULT_BOUND_S), "no action result (hang)"
        return res.result().result
    finally:
        client.destroy()


ACTION_CASES = {
    "empty": dict(),
    "whitespace": dict(instruction=" \t\n"),
    "huge": dict(instruction="pick the red cup " * 50_000),
    "pick_only_with_place": dict(instruction="pick the purple cup", place_phrase="on the plate", pick_only=True),
    "place_only": dict(place_phrase="on the plate"),
    "huge_place_phrase": dict(instruction="pick the purple cup", place_phrase="on the plate " * 50_000),
    "bracket_bomb": dict(instruction="[" * 100_000),
    "control_chars": dict(instruction="\x01\x02\x7f"),
}
ACTION_REFUSE = {"empty", "whitespace", "huge", "pick_only_with_place", "place_only", "huge_place_phrase", "bracket_bomb"}


@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("name", [pytest.param(n, marks=fast("empty", "pick_only_with_place")(n)) for n in ACTION_CASES])
def test_hostile_action_goal_is_refused_with_a_reason(pp, moved, name):
    from spatialbot_ros.nodes.typed_interfaces import interfaces_available

    if not interfaces_available():
        pytest.skip("typed interfaces not built: scripts/build_interfaces.sh")
    r = _action_result(pp, **ACTION_CASES[name])
    assert r is not None, "goal rejected while the node was idle"
    assert not r.succeeded and r.failure_reason and r.message and len(r.message) <= 600
    if name in ACTION_REFUSE:
        assert r.failure_reason == "bad_input", (r.failure_reason, r.message)
        assert moved() == 0


# ---- parameters ---------------------------------------------------------------------------------

PARAM_SETS = {
    "speed_scale_nan": ("speed_scale", nan, False),
    "speed_scale_5": ("speed_scale", 5.0, False),
    "speed_scale_zero": ("speed_scale", 0.0, False),
    "speed_scale_string": ("speed_scale", "fast", False),
    "speed_scale_0.7": ("speed_scale", 0.7, True),
    "frame_timeout_inf": ("frame_timeout_s", inf, False),
    "frame_timeout_negative": ("frame_timeout_s", -1.0, False),
    "read_only_motion_backend": ("motion_backend", "ur_rtde", False),
    "read_only_real_hardware": ("real_hardware", False, False),
    "read_only_estop_topic": ("estop_topic", "/elsewhere", False),
    "read_only_workspace": ("safety.workspace_max_m", [9.0, 9.0, 9.0], False),
    "undeclared": ("no_such_parameter", 1.0, False),
}


@pytest.mark.surface("node_pick_place")
@pytest.mark.parametrize("name", [pytest.param(n, marks=fast("speed_scale_nan", "speed_scale_5", "speed_scale_0.7",
                                                             "read_only_motion_backend")(n)) for n in PARAM_SETS])
def test_parameter_sets_refused_with_a_reason_or_applied(pp, name):
    """What `ros2 param set` does: SetParameters on the node's parameter service."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    pname, value, ok = PARAM_SETS[name]
    before = pp.node.get_parameter(pname).value if pp.node.has_parameter(pname) else None
    req = SetParameters.Request(parameters=[Parameter(pname, value=value).to_parameter_msg()])
    res = pp.call(SetParameters, f"{pp.ns}/pick_place/set_parameters", req).results[0]
    assert res.successful is ok, res
    if ok:
        assert pp.node.get_parameter(pname).value == value
        pp.node.set_parameters([Parameter(pname, value=before)])
    else:
        assert res.reason, "refused without a reason"
        if before is not None:
            now = pp.node.get_parameter(pname).value
            assert now == before or (isinstance(now, float) and np.isnan(now) and np.isnan(before))
    pp.normal_goal_answered()


@pytest.mark.surface("node_pick_place")
def test_a_goal_while_another_runs_is_rejected_with_a_result(pp, moved, probes):
    """Finding: FailureReason had no REJECTED, so a second goal raised in the callback and got no answer."""
    from std_msgs.msg import String

    first, second = "busy-1", "busy-2"
    n = len(pp.results)
    pp.goal_pub.publish(String(data=json.dumps({"id": first, "instruction": "pick the red cup and put it on the plate"})))
    assert eventually(lambda: pp.node.busy or len(pp.results) > n, 5.0)
    pp.goal_pub.publish(String(data=json.dumps({"id": second, "instruction": "pick the purple cup"})))
    assert eventually(lambda: any(r["id"] == second for r in pp.results), 5.0), "the second goal got no answer"
    r2 = next(r for r in pp.results if r["id"] == second)
    assert r2["failure_reason"] == "rejected" and first in r2["message"]
    pp.cancel_pub.publish(String(data=first))
    assert eventually(lambda: any(r["id"] == first for r in pp.results), RESULT_BOUND_S), "the first goal hung"
    probes(2)


@pytest.mark.surface("node_pick_place")
def test_arm_then_disarm_both_answered(pp, probes):
    """Finding: arm and disarm logged from one call site at two severities, which rclpy refuses, so the
    second request raised after changing the arm state and answered success=False with no message."""
    from std_srvs.srv import SetBool

    for want in (True, False, True, False):
        r = pp.call(SetBool, pp.names_of["arm_service"], SetBool.Request(data=want))
        assert r.success and r.message and pp.node.motion.armed is want, (want, r)
    assert eventually(lambda: pp.armed and pp.armed[-1] is False)
    probes(4)
