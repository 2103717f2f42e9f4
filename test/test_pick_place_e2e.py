"""End to end over Fast DDS in separate processes: `spatialbot-ros up sim_pick_place` (mujoco_sim +
pick_place) driven through PickPlaceCommander, the way a user scripts it: over the PickPlace action
when spatialbot_interfaces is built (setup builds it), and over the JSON topics."""

import importlib.util
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import spin_until

pytestmark = pytest.mark.ros


def wait_result(cmd, timeout=90.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cmd.is_done():
            return cmd.result()
    raise AssertionError("no result in time")


def test_pick_place_goal_feedback_cancel_stale_camera_and_bad_instruction(ros):
    from std_msgs.msg import String
    from std_srvs.srv import SetBool

    from spatialbot_ros.commander import PickPlaceCommander, TaskResult

    graph = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.cli", "up", "sim_pick_place", "--duration", "240"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cmd = PickPlaceCommander()
        if importlib.util.find_spec("spatialbot_interfaces"):
            assert cmd.transport == "action"
        truth = []
        cmd.node.create_subscription(String, "/sim/ground_truth", lambda m: truth.append(json.loads(m.data)), 10)
        assert cmd.wait_for_server(40.0)
        assert spin_until([cmd.node], lambda: len(truth) > 3, timeout=20.0)

        # a malformed instruction gets a clear error and the robot does not move
        cmd.pick_and_place("pick the purple cup and put it on the plate")
        r = wait_result(cmd)
        if r.failure_reason == "stale_frame":  # the simulator's first frames can lag on a loaded machine: once more
            n = len(truth)
            assert spin_until([cmd.node], lambda: len(truth) > n + 3, timeout=30.0)
            cmd.pick_and_place("pick the purple cup and put it on the plate")
            r = wait_result(cmd)
        assert r.result == TaskResult.FAILED and r.failure_reason == "grounding_failed" and "no purple cup" in r.message
        assert {f["phase"] for f in cmd.feedback()} <= {"approach"} and len(cmd.feedback()) <= 1
        # the same over the JSON topic interface
        topic_cmd = PickPlaceCommander(transport="topic")
        assert topic_cmd.wait_for_server(20.0)
        topic_cmd.pick_and_place("pick the purple cup and put it on the plate")
        r = wait_result(topic_cmd)
        assert r.result == TaskResult.FAILED and r.failure_reason == "grounding_failed" and "no purple cup" in r.message

        # a stale camera: the executive aborts before any motion
        set_camera = cmd.node.create_client(SetBool, "/sim/set_camera_enabled")
        assert set_camera.wait_for_service(timeout_sec=10.0)
        fut = set_camera.call_async(SetBool.Request(data=False))
        assert spin_until([cmd.node], fut.done)
        time.sleep(1.5)
        cmd.pick_and_place("pick the middle cup and put it on the plate")
        r = wait_result(cmd)
        # the camera watchdog refuses the first command (or the executive the old frame): nothing moves
        assert r.failure_reason == "stale_frame" and ("camera" in r.message or "old" in r.message), r.message
        fut = set_camera.call_async(SetBool.Request(data=True))
        assert spin_until([cmd.node], fut.done)
        time.sleep(1.0)

        # cancel during the descent: the goal ends cancelled and the cup stays on the table
        cmd.pick_and_place("pick the middle cup and put it on the plate")
        end = time.monotonic() + 60
        while time.monotonic() < end and not any(f["phase"] == "descend" for f in cmd.feedback()):
            cmd.is_done()
        cmd.cancel()
        r = wait_result(cmd)
        assert r.result == TaskResult.CANCELED and r.failure_reason == "cancelled"
        assert any(f["phase"] == "approach" for f in cmd.feedback())
        assert truth[-1]["green_cup"][2] < 0.06

        # the whole pick-and-place: feedback per phase, the cup ends on the plate
        steps = []
        if importlib.util.find_spec("spatialbot_interfaces"):
            from spatialbot_interfaces.msg import PolicyStep

            cmd.node.create_subscription(PolicyStep, "/pick_place/policy_step", steps.append, 50)
        cmd.pick_and_place("pick the middle cup and put it on the plate")
        r = wait_result(cmd, timeout=120)
        assert r.result == TaskResult.SUCCEEDED, r.message
        phases = [f["phase"] for f in cmd.feedback()]
        for phase in ("approach", "descend", "check_contact", "close", "lift", "verify", "carry", "place", "retreat"):
            assert phase in phases
        spin_until([cmd.node], lambda: False, timeout=1.5)
        if importlib.util.find_spec("spatialbot_interfaces"):
            # every executed step as a typed PolicyStep: target, contact judgment, delta, gripper
            assert {s.phase for s in steps} >= {"approach", "descend", "close", "carry"}
            assert any(s.contact.evidence and s.contact.valid for s in steps if s.phase == "check_contact")
            assert all(s.gripper == PolicyStep.GRIPPER_CLOSE for s in steps if s.phase == "lift")
            moving = [s for s in steps if s.phase == "approach"]
            assert moving and all(s.target_mark_id >= 1 for s in moving)
            assert max(abs(s.delta_translation_m.x) + abs(s.delta_translation_m.y) + abs(s.delta_translation_m.z)
                       for s in moving) > 0.001
        cup, plate = np.array(truth[-1]["green_cup"]), np.array(truth[-1]["plate"])
        assert np.linalg.norm(cup[:2] - plate[:2]) < 0.03 and cup[2] < 0.1
    finally:
        graph.terminate()
        graph.wait(timeout=20)
