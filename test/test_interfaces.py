"""spatialbot_interfaces and the upstream control_msgs / tf2_msgs subsets built from .msg/.srv/.action
against the PyPI ROS wheels: the types as declared (upstream's field for field), and the conversions
the nodes use. (The nodes' typed topics, DepthQuery service and the
PickPlace action are exercised over DDS in test_policy_node_ros.py and test_pick_place_e2e.py.)

Needs `scripts/build_interfaces.sh` and `source scripts/interfaces_env.sh` (LD_LIBRARY_PATH must be
set before Python starts, so the test cannot set it up itself).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros

INSTALL = Path(__file__).resolve().parents[1] / "build" / "interfaces" / "install"


def _import_interfaces():
    try:
        import spatialbot_interfaces.msg  # noqa: F401
    except ImportError as exc:
        if INSTALL.is_dir():
            pytest.fail(f"interfaces built in {INSTALL} but not importable ({exc}): source scripts/interfaces_env.sh")
        pytest.skip("spatialbot_interfaces not built: run scripts/build_interfaces.sh")


@pytest.fixture(autouse=True)
def _interfaces():
    _import_interfaces()


def _policy_step():
    from spatialbot_interfaces.msg import PolicyStep

    step = PolicyStep(instruction="put the red cup on the plate", phase="approach", target_mark_id=3)
    step.target_box_xyxy = [10, 20, 110, 220]
    step.target_point_base.x, step.target_point_base.y, step.target_point_base.z = 0.5, 0.1, 0.05
    step.contact.touching = True
    step.contact.per_finger_gap_mm = [1.5, 2.5]
    step.delta_translation_m.z = -0.01
    step.gripper = PolicyStep.GRIPPER_CLOSE
    step.json_extras = '{"score": 0.9}'
    return step


def test_types_have_the_declared_fields_and_serialize():
    from rclpy.serialization import deserialize_message, serialize_message
    from spatialbot_interfaces.action import PickPlace
    from spatialbot_interfaces.msg import ContactJudgment, Mark, MarkArray, PolicyStep
    from spatialbot_interfaces.srv import DepthQuery

    assert (PolicyStep.GRIPPER_OPEN, PolicyStep.GRIPPER_CLOSE, PolicyStep.GRIPPER_HOLD) == (0, 1, 2)
    assert Mark().box_xyxy.shape == (4,) and str(Mark().box_xyxy.dtype) == "int32"  # fixed int32[4]
    mark = Mark(id=7, label="cup", color="red", shape="cylinder", box_xyxy=[1, 2, 3, 4], depth_min_mm=401.0)
    mark.centroid_px = [2.0, 3.0]
    mark.centroid_base.z = 0.05
    arr = MarkArray(marks=[mark, Mark(id=8)])
    arr.header.frame_id = "camera_color_optical_frame"
    back = deserialize_message(serialize_message(arr), MarkArray)
    assert [m.id for m in back.marks] == [7, 8]
    assert list(back.marks[0].box_xyxy) == [1, 2, 3, 4] and back.marks[0].depth_min_mm == 401.0
    assert back.marks[0].centroid_base.z == 0.05 and back.header.frame_id == "camera_color_optical_frame"

    step = deserialize_message(serialize_message(_policy_step()), PolicyStep)
    assert isinstance(step.contact, ContactJudgment) and list(step.contact.per_finger_gap_mm) == [1.5, 2.5]
    assert step.gripper == 1 and list(step.target_box_xyxy) == [10, 20, 110, 220]
    assert step.target_point_base.x == 0.5 and step.delta_translation_m.z == -0.01

    req = DepthQuery.Request(x=0.5, y=0.5, normalized=True, box_xyxy=[-1, -1, -1, -1])
    assert list(req.box_xyxy) == [-1, -1, -1, -1]
    assert set(DepthQuery.Response.get_fields_and_field_types()) == {
        "ok", "message", "depth_mm", "center_mm", "mean_mm", "min_mm", "max_mm"}
    assert PickPlace.Goal(pick_only=True).pick_only
    assert PickPlace.Result.get_fields_and_field_types()["target_mark_id"] == "int32"
    assert PickPlace.Feedback.get_fields_and_field_types()["step"] == "int32"


# Upstream definitions, field for field: control_msgs jazzy branch (5.8.0) and geometry2 jazzy
# (tf2_msgs 0.36.x). A drifting interfaces/upstream/ definition fails here.
_JTRAJ_POINT = "trajectory_msgs/JointTrajectoryPoint"
_MDOF_POINT = "trajectory_msgs/MultiDOFJointTrajectoryPoint"
UPSTREAM_FIELDS = {
    ("control_msgs.action", "FollowJointTrajectory.Goal"): {
        "trajectory": "trajectory_msgs/JointTrajectory",
        "multi_dof_trajectory": "trajectory_msgs/MultiDOFJointTrajectory",
        "path_tolerance": "sequence<control_msgs/JointTolerance>",
        "component_path_tolerance": "sequence<control_msgs/JointComponentTolerance>",
        "goal_tolerance": "sequence<control_msgs/JointTolerance>",
        "component_goal_tolerance": "sequence<control_msgs/JointComponentTolerance>",
        "goal_time_tolerance": "builtin_interfaces/Duration"},
    ("control_msgs.action", "FollowJointTrajectory.Result"): {"error_code": "int32", "error_string": "string"},
    ("control_msgs.action", "FollowJointTrajectory.Feedback"): {
        "header": "std_msgs/Header", "joint_names": "sequence<string>",
        "desired": _JTRAJ_POINT, "actual": _JTRAJ_POINT, "error": _JTRAJ_POINT,
        "multi_dof_joint_names": "sequence<string>",
        "multi_dof_desired": _MDOF_POINT, "multi_dof_actual": _MDOF_POINT, "multi_dof_error": _MDOF_POINT},
    ("control_msgs.action", "GripperCommand.Goal"): {"command": "control_msgs/GripperCommand"},
    ("control_msgs.action", "GripperCommand.Result"): {
        "position": "double", "effort": "double", "stalled": "boolean", "reached_goal": "boolean"},
    ("control_msgs.action", "GripperCommand.Feedback"): {
        "position": "double", "effort": "double", "stalled": "boolean", "reached_goal": "boolean"},
    ("control_msgs.action", "ParallelGripperCommand.Goal"): {"command": "sensor_msgs/JointState"},
    ("control_msgs.action", "ParallelGripperCommand.Result"): {
        "state": "sensor_msgs/JointState", "stalled": "boolean", "reached_goal": "boolean"},
    ("control_msgs.action", "ParallelGripperCommand.Feedback"): {"state": "sensor_msgs/JointState"},
    ("control_msgs.msg", "GripperCommand"): {"position": "double", "max_effort": "double"},
    ("control_msgs.msg", "JointTolerance"): {
        "name": "string", "position": "double", "velocity": "double", "acceleration": "double"},
    ("control_msgs.msg", "JointComponentTolerance"): {
        "joint_name": "string", "component": "uint16", "position": "double", "velocity": "double",
        "acceleration": "double"},
    ("control_msgs.msg", "SpeedScalingFactor"): {"factor": "double"},
    ("tf2_msgs.msg", "TFMessage"): {"transforms": "sequence<geometry_msgs/TransformStamped>"},
}
UPSTREAM_CONSTANTS = {
    ("control_msgs.action", "FollowJointTrajectory.Result"): {
        "SUCCESSFUL": 0, "INVALID_GOAL": -1, "INVALID_JOINTS": -2, "OLD_HEADER_TIMESTAMP": -3,
        "PATH_TOLERANCE_VIOLATED": -4, "GOAL_TOLERANCE_VIOLATED": -5},
    ("control_msgs.msg", "JointComponentTolerance"): {
        "X_AXIS": 1, "Y_AXIS": 2, "Z_AXIS": 3, "TRANSLATION": 4, "ROTATION": 5},
}


def _upstream_type(module: str, dotted: str):
    import importlib

    obj = importlib.import_module(module)
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(("module", "name"), sorted(UPSTREAM_FIELDS))
def test_upstream_types_match_the_upstream_definitions(module, name):
    pytest.importorskip(module.split(".")[0], reason="control_msgs/tf2_msgs not built: scripts/build_interfaces.sh")
    cls = _upstream_type(module, name)
    assert cls.get_fields_and_field_types() == UPSTREAM_FIELDS[(module, name)]
    # rosidl generates a definition's constants as upper-case properties of the type's metaclass
    consts = {k: getattr(cls, k) for k in dir(type(cls)) if k.isupper() and not k.startswith("_")}
    assert consts == UPSTREAM_CONSTANTS.get((module, name), {})


def test_upstream_action_goals_round_trip_through_cdr():
    from builtin_interfaces.msg import Duration
    from control_msgs.action import FollowJointTrajectory, ParallelGripperCommand
    from control_msgs.msg import JointTolerance
    from rclpy.serialization import deserialize_message, serialize_message
    from trajectory_msgs.msg import JointTrajectoryPoint

    goal = FollowJointTrajectory.Goal(goal_time_tolerance=Duration(sec=0, nanosec=500_000_000))
    goal.trajectory.joint_names = ["shoulder_pan_joint", "elbow_joint"]
    goal.trajectory.points = [JointTrajectoryPoint(positions=[0.1, -0.2], time_from_start=Duration(sec=2))]
    goal.path_tolerance = [JointTolerance(name="elbow_joint", position=0.05)]
    back = deserialize_message(serialize_message(goal), FollowJointTrajectory.Goal)
    assert list(back.trajectory.joint_names) == ["shoulder_pan_joint", "elbow_joint"]
    assert list(back.trajectory.points[0].positions) == [0.1, -0.2] and back.trajectory.points[0].time_from_start.sec == 2
    assert back.path_tolerance[0].name == "elbow_joint" and back.path_tolerance[0].position == 0.05
    assert back.goal_time_tolerance.nanosec == 500_000_000
    cmd = ParallelGripperCommand.Goal()
    cmd.command.name, cmd.command.position = ["robotiq_85_left_knuckle_joint"], [0.4]
    assert list(deserialize_message(serialize_message(cmd), ParallelGripperCommand.Goal).command.position) == [0.4]


def test_marks_and_grounding_convert_to_typed_messages(six_object_cell):
    from rclpy.serialization import deserialize_message, serialize_message
    from spatialbot_interfaces.msg import MarkArray, PolicyStep

    from spatialbot_ros.core.grounding import ground_instruction
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.nodes.typed_interfaces import grounding_to_step_msg, marks_to_msg

    cell, _, frame = six_object_cell
    marks = GeometricProposer().propose(frame, cell.base_from_camera).marks
    g = ground_instruction("put the red cup into the bowl", marks, base_from_camera=cell.base_from_camera)
    arr = deserialize_message(serialize_message(marks_to_msg(marks, "base", MarkArray().header.stamp)), MarkArray)
    assert [m.id for m in arr.marks] == [m.id for m in marks]
    red = next(m for m in marks if m.id == g.pick_mark_id)
    red_msg = next(m for m in arr.marks if m.id == red.id)
    assert red_msg.color == "red" and list(red_msg.box_xyxy) == list(red.box_xyxy)
    assert abs(red_msg.centroid_base.x - red.centroid_base[0]) < 1e-9 and red_msg.depth_center_mm == red.depth.center_mm
    step = grounding_to_step_msg("put the red cup into the bowl", marks, g, "", "base", arr.header.stamp)
    assert step.target_mark_id == red.id and step.place_kind == "into" and step.gripper == PolicyStep.GRIPPER_HOLD
    err = grounding_to_step_msg("pick the gold cup", marks, None, "no gold cup", "base", arr.header.stamp)
    assert err.target_mark_id == -1 and err.error == "no gold cup" and list(err.target_box_xyxy) == [-1, -1, -1, -1]
    assert all(m.resting_on == 0 and m.base_height_m == 0.0 for m in arr.marks)  # everything on the table


def test_a_stacked_mark_says_what_it_stands_on_in_the_typed_and_the_json_message():
    import json

    from rclpy.serialization import deserialize_message, serialize_message
    from spatialbot_interfaces.msg import MarkArray

    from spatialbot_ros.core.marks import DepthStats, Mark
    from spatialbot_ros.nodes.markers import grounding_json
    from spatialbot_ros.nodes.typed_interfaces import marks_to_msg

    def mark(i: int, resting_on: int | None, base: float) -> Mark:
        return Mark(i, np.zeros((2, 2), bool), (0, 0, 1, 1), (0.5, 0.5), np.array([0.0, 0.0, 1.0]), (0.06, 0.06), 0.09,
                    "green", DepthStats(1000.0, 1000.0, 1010.0, 990.0, 1.0), "cylinder",
                    centroid_base=np.array([0.5, 0.1, base + 0.045]), resting_on=resting_on, base_height_m=base)

    marks = [mark(1, None, 0.0), mark(2, 1, 0.015)]
    arr = deserialize_message(serialize_message(marks_to_msg(marks, "base", MarkArray().header.stamp)), MarkArray)
    assert [(m.resting_on, m.base_height_m) for m in arr.marks] == [(0, 0.0), (1, 0.015)]
    data = json.loads(grounding_json("pick the cup on the plate", marks, None).data)
    assert [(m["resting_on"], m["base_height_m"], m["height_m"]) for m in data["marks"]] == [(None, 0.0, 0.09),
                                                                                             (1, 0.015, 0.09)]


@pytest.mark.parametrize(("instruction", "place", "pick_only", "text", "error"), [
    ("pick the red cup", "on the plate", False, "pick the red cup and put it on the plate", ""),
    ("put the red cup on the plate", "", False, "put the red cup on the plate", ""),
    ("pick the red cup", "", True, "pick the red cup", ""),
    ("pick the red cup", "on the plate", True, "", "pick_only goal with a place_phrase"),
    ("  ", "", False, "", "empty instruction"),
])
def test_action_goal_fields_become_one_instruction(instruction, place, pick_only, text, error):
    from spatialbot_ros.nodes.pick_place_action import goal_instruction

    assert goal_instruction(instruction, place, pick_only) == (text, error)
