"""MoveIt backends against test doubles of their servers (MoveIt itself cannot be installed here).

moveit_py: a fake `moveit` package put into sys.modules, shaped like the Jazzy bindings
(PlanRequestParameters(moveit_py, namespace) with both arguments required, MoveItPy.execute(
robot_trajectory, controllers) returning an ExecutionStatus, a trajectory execution manager whose
stop_execution ends a running execute) and recording every call.
move_group: a small rclpy node serving /move_action, /execute_trajectory, /compute_cartesian_path
and /apply_planning_scene over Fast DDS with the moveit_msgs types built from interfaces/upstream;
it records the requests and answers with trajectories our IK computes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from spatialbot_ros.core.grasp import top_down_rotation
from spatialbot_ros.core.transforms import make_pose, pose_from_xyz_quat
from spatialbot_ros.core.ur_kinematics import UR5_DH, UR_JOINT_NAMES, fk, ik_nearest
from spatialbot_ros.motion.base import MotionStatus, PlanKind, PlanningFailed
from spatialbot_ros.motion.frames import BASE_LINK_FROM_BASE, tool0_goal
from spatialbot_ros.motion.planning_scene import BoxObstacle, CellObstacles

TCP = 0.128
# elbow-up, TCP pointing down at (0.45, 0, 0.30) m: inside the default safety workspace
HOME_Q = ik_nearest(make_pose([0.45, 0.0, 0.30], top_down_rotation(0.0)) @ np.linalg.inv(make_pose([0, 0, TCP])),
                    np.array([2.9, -1.7, 1.7, -1.57, -1.57, -1.8]), UR5_DH)
UR_MAX_JOINT_SPEED = math.pi        # what the fake planners time trajectories with at scaling 1
HAVE_MOVEIT_MSGS = importlib.util.find_spec("moveit_msgs") is not None
needs_moveit_msgs = pytest.mark.skipif(not HAVE_MOVEIT_MSGS,
                                       reason="moveit_msgs not built: run scripts/build_interfaces.sh")


def wait_for(cond: Any, timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < end:
        time.sleep(0.01)
    return bool(cond())


def tcp_of(q: np.ndarray) -> np.ndarray:
    return fk(q, UR5_DH) @ make_pose([0, 0, TCP])


def base_from_planning_pose(pose: Any) -> np.ndarray:
    """A geometry_msgs Pose in base_link -> base_from_tool0."""
    p, o = pose.position, pose.orientation
    return np.linalg.inv(BASE_LINK_FROM_BASE) @ pose_from_xyz_quat([p.x, p.y, p.z], [o.x, o.y, o.z, o.w])


def joint_path(q0: np.ndarray, q1: np.ndarray, velocity_scaling: float, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Straight joint-space samples (start included, t = 0) timed at UR_MAX_JOINT_SPEED * scaling."""
    f = np.linspace(0.0, 1.0, n + 1)
    duration = max(float(np.max(np.abs(q1 - q0))), 1e-3) / (UR_MAX_JOINT_SPEED * velocity_scaling)
    return q0 + np.outer(f, q1 - q0), f * duration


# ======================================================================================
# moveit_py: a fake `moveit` package
# ======================================================================================
@dataclass
class FakeMoveIt:
    """Shared state of the fake bindings: the arm, the recorded calls, what plan/execute answer."""

    q: np.ndarray = field(default_factory=lambda: HOME_Q.copy())
    calls: list[tuple[str, Any]] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    plan_error: int = 1                  # MoveItErrorCodes value plan() answers
    execution_status: str = "SUCCEEDED"  # what execute() ends with when not stopped
    execution_s: float = 0.05
    stop_requested: threading.Event = field(default_factory=threading.Event)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def install_fake_moveit(monkeypatch: pytest.MonkeyPatch, fake: FakeMoveIt) -> None:
    class RobotState:
        def __init__(self, robot_model: Any) -> None:
            self.robot_model = robot_model
            self._positions = {name: 0.0 for name in (*UR_JOINT_NAMES, "robotiq_85_left_knuckle_joint")}

        @property
        def joint_positions(self) -> dict[str, float]:
            return dict(self._positions)

        @joint_positions.setter
        def joint_positions(self, values: dict[str, float]) -> None:
            self._positions.update(values)

        def set_to_default_values(self) -> None:
            fake.calls.append(("RobotState.set_to_default_values", None))

        def update(self) -> None:
            fake.calls.append(("RobotState.update", None))

    class PlanRequestParameters:
        def __init__(self, moveit_cpp: Any, ns: str) -> None:   # both required, as the Jazzy binding
            if not isinstance(moveit_cpp, MoveItPy):
                raise TypeError("PlanRequestParameters needs the MoveItPy instance")
            self.namespace = ns
            self.planner_id, self.planning_pipeline = "", ""
            self.planning_attempts, self.planning_time = 5, 1.0
            self.max_velocity_scaling_factor = 1.0       # MoveIt's default when the YAML has none
            self.max_acceleration_scaling_factor = 1.0
            fake.params.append(self)

    class ExecutionStatus:
        def __init__(self, status: str) -> None:
            self.status = status

        def __bool__(self) -> bool:
            return self.status == "SUCCEEDED"

    class RobotTrajectory:
        def __init__(self, positions: np.ndarray, times: np.ndarray) -> None:
            self.positions, self.times = positions, times

        def get_robot_trajectory_msg(self, joint_filter: list[str] | None = None) -> Any:
            # MoveIt orders joints by its model, not by our UR order: reversed here, plus a finger joint
            names = [*reversed(UR_JOINT_NAMES), "robotiq_85_left_knuckle_joint"]
            points = [types.SimpleNamespace(positions=[*reversed([float(v) for v in q]), 0.0],
                                            time_from_start=types.SimpleNamespace(sec=int(t), nanosec=int(round((t % 1) * 1e9))))
                      for q, t in zip(self.positions, self.times, strict=True)]
            return types.SimpleNamespace(joint_trajectory=types.SimpleNamespace(joint_names=names, points=points))

    class MotionPlanResponse:
        def __init__(self, code: int, trajectory: RobotTrajectory | None) -> None:
            self.error_code = types.SimpleNamespace(val=code)
            self.trajectory = trajectory

        def __bool__(self) -> bool:
            return self.error_code.val == 1

    class PlanningComponent:
        def __init__(self, name: str) -> None:
            self.name = name
            self.goal: tuple[str, Any] | None = None
            self.start: np.ndarray | None = None

        def set_start_state_to_current_state(self) -> None:
            fake.calls.append(("set_start_state_to_current_state", None))
            self.start = None

        def set_start_state(self, configuration_name: str | None = None, robot_state: Any = None) -> None:
            fake.calls.append(("set_start_state", robot_state))
            self.start = np.array([robot_state.joint_positions[j] for j in UR_JOINT_NAMES])

        def set_goal_state(self, configuration_name: str | None = None, robot_state: Any = None,
                           pose_stamped_msg: Any = None, pose_link: str | None = None,
                           motion_plan_constraints: Any = None) -> None:
            if robot_state is not None and pose_stamped_msg is not None:
                raise ValueError("Cannot specify both robot state and pose msg")
            if pose_stamped_msg is not None and pose_link is None:
                raise ValueError("pose_link is required with pose_stamped_msg")
            self.goal = ("pose", (pose_stamped_msg, pose_link)) if pose_stamped_msg is not None else ("state", robot_state)
            fake.calls.append(("set_goal_state", self.goal))

        def plan(self, single_plan_parameters: Any = None, multi_plan_parameters: Any = None,
                 planning_scene: Any = None, solution_selection_function: Any = None,
                 stopping_criterion_callback: Any = None) -> MotionPlanResponse:
            fake.calls.append(("plan", single_plan_parameters))
            if fake.plan_error != 1:
                return MotionPlanResponse(fake.plan_error, None)
            kind, goal = self.goal
            q0 = fake.q if self.start is None else self.start
            if kind == "state":
                q1 = np.array([goal.joint_positions[j] for j in UR_JOINT_NAMES])
            else:
                msg, _link = goal
                q1 = ik_nearest(base_from_planning_pose(msg.pose), q0, UR5_DH)
            scaling = single_plan_parameters.max_velocity_scaling_factor if single_plan_parameters else 1.0
            return MotionPlanResponse(1, RobotTrajectory(*joint_path(q0, q1, scaling)))

    class PlanningSceneMonitor:
        @contextlib.contextmanager
        def read_only(self):
            state = RobotState(None)
            state.joint_positions = {j: float(v) for j, v in zip(UR_JOINT_NAMES, fake.q, strict=True)}
            yield types.SimpleNamespace(current_state=state)

        def process_collision_object(self, collision_object_msg: Any, color_msg: Any = None) -> None:
            fake.calls.append(("process_collision_object", collision_object_msg))

    class TrajectoryExecutionManager:
        def stop_execution(self, auto_clear: bool = True) -> None:
            fake.calls.append(("stop_execution", auto_clear))
            fake.stop_requested.set()

    class MoveItPy:
        def __init__(self, node_name: str = "moveit_py", name_space: str = "", launch_params_filepaths: Any = None,
                     config_dict: Any = None, provide_planning_service: bool = True, remappings: Any = None) -> None:
            fake.calls.append(("MoveItPy", node_name))
            self._psm, self._tem = PlanningSceneMonitor(), TrajectoryExecutionManager()

        def get_planning_component(self, planning_component_name: str) -> PlanningComponent:
            fake.calls.append(("get_planning_component", planning_component_name))
            return PlanningComponent(planning_component_name)

        def get_planning_scene_monitor(self) -> PlanningSceneMonitor:
            return self._psm

        def get_trajectory_execution_manager(self) -> TrajectoryExecutionManager:
            return self._tem

        def get_robot_model(self) -> str:
            return "ur5_model"

        def execute(self, robot_trajectory: RobotTrajectory, controllers: list[str]) -> ExecutionStatus:
            fake.calls.append(("execute", (robot_trajectory, list(controllers))))
            fake.stop_requested.clear()
            if fake.stop_requested.wait(fake.execution_s):
                return ExecutionStatus("PREEMPTED")
            if fake.execution_status == "SUCCEEDED":
                fake.q = np.asarray(robot_trajectory.positions[-1], float).copy()
            return ExecutionStatus(fake.execution_status)

    moveit = types.ModuleType("moveit")
    planning = types.ModuleType("moveit.planning")
    planning.MoveItPy, planning.PlanRequestParameters = MoveItPy, PlanRequestParameters
    core = types.ModuleType("moveit.core")
    robot_state = types.ModuleType("moveit.core.robot_state")
    robot_state.RobotState = RobotState
    moveit.planning, moveit.core, core.robot_state = planning, core, robot_state
    for name, module in (("moveit", moveit), ("moveit.planning", planning), ("moveit.core", core),
                         ("moveit.core.robot_state", robot_state)):
        monkeypatch.setitem(sys.modules, name, module)


@pytest.fixture()
def fake_moveit(monkeypatch):
    fake = FakeMoveIt()
    install_fake_moveit(monkeypatch, fake)
    return fake


def moveit_py_backend(**cfg):
    from spatialbot_ros.motion.moveit_py_backend import MoveItPyBackend, MoveItPyConfig

    cfg.setdefault("apply_scene", False)
    return MoveItPyBackend(tcp_offset_m=TCP, config=MoveItPyConfig(**cfg))


@pytest.mark.ros
def test_moveit_py_is_built_as_the_jazzy_bindings_require(fake_moveit):
    b = moveit_py_backend(plan_namespace="ur_ompl")
    assert ("get_planning_component", "ur_manipulator") in fake_moveit.calls
    b.plan_pose(tcp_of(HOME_Q) @ make_pose([0.02, 0.0, 0.0]), 1.0)
    params = fake_moveit.params[-1]
    assert params.namespace == "ur_ompl"          # PlanRequestParameters(moveit_py, namespace)
    _, (kind, (msg, link)) = fake_moveit.calls[fake_moveit.names().index("set_goal_state")]
    assert kind == "pose"
    assert link == "tool0" and msg.header.frame_id == "base_link"
    goal = tool0_goal(tcp_of(HOME_Q) @ make_pose([0.02, 0.0, 0.0]), TCP, "base_link")
    assert [msg.pose.position.x, msg.pose.position.y, msg.pose.position.z] == pytest.approx(list(goal[:3, 3]))
    assert fake_moveit.names().index("set_start_state_to_current_state") < fake_moveit.names().index("plan")


@pytest.mark.core
def test_moveit_py_scaling_defaults_to_a_tenth_times_speed_scale_and_is_never_zero(fake_moveit):
    b = moveit_py_backend()
    slow = b.plan_joints(HOME_Q + 0.2, 0.5)
    assert fake_moveit.params[-1].max_velocity_scaling_factor == pytest.approx(0.05)
    assert fake_moveit.params[-1].max_acceleration_scaling_factor == pytest.approx(0.05)
    fast = b.plan_joints(HOME_Q + 0.2, 1.0)
    assert fast.duration_s == pytest.approx(slow.duration_s / 2)       # the planner used what it was given
    b.plan_joints(HOME_Q + 0.2, 50.0)
    assert fake_moveit.params[-1].max_velocity_scaling_factor == pytest.approx(1.0)   # capped, not > 1
    for bad in (0.0, -0.5, float("nan")):
        with pytest.raises(PlanningFailed) as info:
            b.plan_joints(HOME_Q + 0.2, bad)
        assert info.value.result.status == MotionStatus.REFUSED
    from spatialbot_ros.motion.moveit_py_backend import MoveItPyConfig

    with pytest.raises(ValueError, match="full speed"):
        MoveItPyConfig(velocity_scaling=0.0)


@pytest.mark.ros
def test_moveit_py_linear_moves_use_pilz_lin(fake_moveit):
    b = moveit_py_backend(lin_namespace="pilz")
    plan = b.plan_linear(tcp_of(HOME_Q) @ make_pose([0.0, 0.0, 0.04]), 1.0)
    params = fake_moveit.params[-1]
    assert (params.planning_pipeline, params.planner_id, params.namespace) == \
        ("pilz_industrial_motion_planner", "LIN", "pilz")
    assert plan.kind == PlanKind.LINEAR
    b.plan_pose(tcp_of(HOME_Q) @ make_pose([0.0, 0.0, 0.04]), 1.0)
    assert fake_moveit.params[-1].planner_id == ""                     # pose goals keep the default pipeline


@pytest.mark.ros
def test_moveit_py_plan_is_a_joint_plan_in_ur_order(fake_moveit):
    b = moveit_py_backend()
    q_goal = HOME_Q + np.array([0.3, -0.2, 0.1, 0.05, -0.1, 0.4])
    plan = b.plan_joints(q_goal, 1.0)
    assert plan.kind == PlanKind.JOINTS
    assert np.allclose(plan.q_start, HOME_Q)                   # MoveIt's t = 0 point is the start
    assert np.allclose(plan.positions[-1], q_goal)             # mapped back from MoveIt's joint order
    assert len(plan.positions) == 10 and np.all(np.diff(plan.times_s) > 0) and plan.times_s[0] > 0
    assert plan.duration_s == pytest.approx(0.4 / (math.pi * 0.1), rel=1e-6)
    fake_moveit.plan_error = -31
    with pytest.raises(PlanningFailed) as info:
        b.plan_pose(tcp_of(HOME_Q), 1.0)
    assert info.value.result.status == MotionStatus.UNREACHABLE
    assert info.value.result.cause == "no_ik_solution" and "NO_IK_SOLUTION" in info.value.result.message


@pytest.mark.core
def test_moveit_py_execution_status_is_checked(fake_moveit):
    b = moveit_py_backend(controllers=("scaled_joint_trajectory_controller",))
    plan = b.plan_joints(HOME_Q + 0.1, 1.0)
    result = b.execute(plan)
    assert result.status == MotionStatus.SUCCEEDED
    _, (trajectory, controllers) = [c for c in fake_moveit.calls if c[0] == "execute"][-1]
    assert trajectory is plan.native and controllers == ["scaled_joint_trajectory_controller"]
    plan = b.plan_joints(HOME_Q + 0.2, 1.0)
    fake_moveit.execution_status = "ABORTED"
    result = b.execute(plan)
    assert result.status == MotionStatus.ABORTED and result.cause == "aborted"   # a failed execution is not success
    fake_moveit.q = HOME_Q + 0.5                                   # the arm moved since planning
    assert b.execute(plan).cause == "stale_plan"


@pytest.mark.core
def test_moveit_py_stop_stops_the_execution_manager(fake_moveit):
    fake_moveit.execution_s = 10.0
    b = moveit_py_backend()
    plan = b.plan_joints(HOME_Q + 0.3, 1.0)
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", b.execute(plan)))
    t0 = time.monotonic()
    worker.start()
    assert wait_for(lambda: "execute" in fake_moveit.names())   # the motion is running
    time.sleep(0.05)
    b.stop()
    worker.join(timeout=5.0)
    assert not worker.is_alive() and time.monotonic() - t0 < 3.0
    assert ("stop_execution", True) in fake_moveit.calls
    assert out["r"].status == MotionStatus.ABORTED


@pytest.mark.ros  # the built moveit_msgs / shape_msgs message classes
@needs_moveit_msgs
def test_moveit_py_adds_the_table_and_camera_mount_once(fake_moveit):
    b = moveit_py_backend(apply_scene=True)
    b.plan_joints(HOME_Q + 0.1, 1.0)
    b.plan_joints(HOME_Q + 0.2, 1.0)
    added = [msg for name, msg in fake_moveit.calls if name == "process_collision_object"]
    assert [o.id for o in added] == ["table", "camera_mount"]


# ======================================================================================
# planning scene data
# ======================================================================================
@pytest.mark.core
def test_cell_obstacles_from_parameters_and_their_checks():
    cell = CellObstacles.from_params({"table.size_m": [1.0, 1.2, 0.05], "table.center_m": [0.4, 0.0, -0.025],
                                      "pillar.size_m": [0.1, 0.1, 1.0], "pillar.center_m": [0.9, 0.3, 0.5]})
    assert [o.name for o in cell.obstacles] == ["table", "pillar"]
    assert cell.obstacles[0].size_m == (1.0, 1.2, 0.05)
    assert [o.name for o in CellObstacles.from_params({}).obstacles] == ["table", "camera_mount"]
    with pytest.raises(ValueError, match="lacks center_m"):
        CellObstacles.from_params({"table.size_m": [1, 1, 1]})
    with pytest.raises(ValueError, match="unknown parameter"):
        CellObstacles.from_params({"table.colour": [1, 1, 1]})
    with pytest.raises(ValueError, match="positive"):
        BoxObstacle("table", (1.0, 0.0, 0.1), (0, 0, 0))
    with pytest.raises(ValueError, match="unique"):
        CellObstacles((BoxObstacle("a", (1, 1, 1), (0, 0, 0)), BoxObstacle("a", (1, 1, 1), (1, 0, 0))))


@pytest.mark.ros  # the built moveit_msgs / shape_msgs message classes
@needs_moveit_msgs
def test_collision_objects_are_boxes_in_the_planning_frame():
    from moveit_msgs.msg import CollisionObject
    from shape_msgs.msg import SolidPrimitive

    from spatialbot_ros.motion.planning_scene import collision_objects, planning_scene_diff

    cell = CellObstacles((BoxObstacle("table", (1.4, 1.8, 0.04), (0.35, 0.1, -0.02)),))
    (table,) = collision_objects(cell, "base_link")
    assert table.id == "table" and table.operation == CollisionObject.ADD and table.header.frame_id == "base_link"
    assert table.primitives[0].type == SolidPrimitive.BOX and list(table.primitives[0].dimensions) == [1.4, 1.8, 0.04]
    # base_link is base turned by pi about z: x and y flip, z stays
    assert [table.pose.position.x, table.pose.position.y, table.pose.position.z] == pytest.approx([-0.35, -0.1, -0.02])
    (in_base,) = collision_objects(cell, "base")
    assert [in_base.pose.position.x, in_base.pose.position.y] == pytest.approx([0.35, 0.1])
    scene = planning_scene_diff(cell)
    assert scene.is_diff and scene.robot_state.is_diff and [o.id for o in scene.world.collision_objects] == ["table"]


# ======================================================================================
# move_group: a test-double server over DDS
# ======================================================================================
def duration_msg(t: float) -> Any:
    from builtin_interfaces.msg import Duration

    from spatialbot_ros.core.timestamps import split_seconds

    sec, nanosec = split_seconds(float(t))
    return Duration(sec=sec, nanosec=nanosec)


class FakeMoveGroup:
    """/move_action, /execute_trajectory, /compute_cartesian_path, /apply_planning_scene and
    /joint_states as move_group and the driver would offer them; records every request."""

    def __init__(self, node: Any, q0: np.ndarray) -> None:
        from moveit_msgs.action import ExecuteTrajectory, MoveGroup
        from moveit_msgs.srv import ApplyPlanningScene, GetCartesianPath
        from rclpy.action import ActionServer, CancelResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from sensor_msgs.msg import JointState

        group = ReentrantCallbackGroup()
        self.node, self.q, self.lock = node, np.asarray(q0, float).copy(), threading.Lock()
        self.move_goals: list[Any] = []
        self.exec_goals: list[Any] = []
        self.cart_requests: list[Any] = []
        self.scenes: list[Any] = []
        self.plan_error, self.exec_error = 1, 1
        self.cart_fraction, self.cart_jump = 1.0, False
        self.cancelled = threading.Event()
        ActionServer(node, MoveGroup, "/move_action", self._plan, callback_group=group)
        ActionServer(node, ExecuteTrajectory, "/execute_trajectory", self._execute, callback_group=group,
                     cancel_callback=lambda _goal: CancelResponse.ACCEPT)
        node.create_service(GetCartesianPath, "/compute_cartesian_path", self._cartesian, callback_group=group)
        node.create_service(ApplyPlanningScene, "/apply_planning_scene", self._apply, callback_group=group)
        self._js = node.create_publisher(JointState, "/joint_states", 10)
        self._js_type = JointState
        node.create_timer(0.02, self._publish, callback_group=group)

    def _publish(self) -> None:
        with self.lock:
            q = self.q.copy()
        self._js.publish(self._js_type(name=[*UR_JOINT_NAMES, "robotiq_85_left_knuckle_joint"], position=[*q, 0.0]))

    def _start_q(self, start_state: Any) -> np.ndarray:
        """A request's start: the joints it names (applied as a diff), else the current ones."""
        with self.lock:
            q = self.q.copy()
        names = list(start_state.joint_state.name)
        for i, j in enumerate(UR_JOINT_NAMES):
            if j in names:
                q[i] = start_state.joint_state.position[names.index(j)]
        return q

    def _state(self) -> Any:
        from moveit_msgs.msg import RobotState

        with self.lock:
            q = self.q.copy()
        state = RobotState()
        state.joint_state.name, state.joint_state.position = list(UR_JOINT_NAMES), [float(v) for v in q]
        return state

    @staticmethod
    def _trajectory(positions: np.ndarray, times: np.ndarray) -> Any:
        """moveit_msgs/RobotTrajectory, joints in reverse order as a model may list them."""
        from moveit_msgs.msg import RobotTrajectory
        from trajectory_msgs.msg import JointTrajectoryPoint

        traj = RobotTrajectory()
        traj.joint_trajectory.joint_names = list(reversed(UR_JOINT_NAMES))
        traj.joint_trajectory.points = [
            JointTrajectoryPoint(positions=[float(v) for v in reversed(q)], time_from_start=duration_msg(t))
            for q, t in zip(positions, times, strict=True)]
        return traj

    def _plan(self, goal_handle: Any) -> Any:
        from moveit_msgs.action import MoveGroup

        req = goal_handle.request.request
        self.move_goals.append(goal_handle.request)
        result = MoveGroup.Result()
        result.error_code.val = self.plan_error
        if self.plan_error != 1:
            goal_handle.abort()
            return result
        c = req.goal_constraints[0]
        q0 = self._start_q(req.start_state)
        if c.joint_constraints:
            by_name = {jc.joint_name: jc.position for jc in c.joint_constraints}
            q1 = np.array([by_name[j] for j in UR_JOINT_NAMES])
        else:
            pose = c.position_constraints[0].constraint_region.primitive_poses[0]
            pose.orientation = c.orientation_constraints[0].orientation
            q1 = ik_nearest(base_from_planning_pose(pose), q0, UR5_DH)
        result.trajectory_start = self._state()
        result.planned_trajectory = self._trajectory(*joint_path(q0, q1, req.max_velocity_scaling_factor))
        goal_handle.succeed()
        return result

    def _execute(self, goal_handle: Any) -> Any:
        from moveit_msgs.action import ExecuteTrajectory

        self.exec_goals.append(goal_handle.request)
        jt = goal_handle.request.trajectory.joint_trajectory
        idx = [list(jt.joint_names).index(j) for j in UR_JOINT_NAMES]
        pts = np.array([[p.positions[i] for i in idx] for p in jt.points])
        times = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in jt.points])
        result = ExecuteTrajectory.Result()
        t0 = time.monotonic()
        while (t := time.monotonic() - t0) < times[-1]:
            if goal_handle.is_cancel_requested:
                self.cancelled.set()
                goal_handle.canceled()
                result.error_code.val = -7   # PREEMPTED
                return result
            with self.lock:
                self.q = np.array([np.interp(t, times, pts[:, j]) for j in range(6)])
            time.sleep(0.01)
        result.error_code.val = self.exec_error
        if self.exec_error != 1:
            goal_handle.abort()
            return result
        with self.lock:
            self.q = pts[-1].copy()
        goal_handle.succeed()
        return result

    def _cartesian(self, req: Any, res: Any) -> Any:
        from scipy.spatial.transform import Rotation, Slerp

        self.cart_requests.append(req)
        q0 = self._start_q(req.start_state)
        start, goal = fk(q0, UR5_DH), base_from_planning_pose(req.waypoints[0])
        n = max(1, int(math.ceil(np.linalg.norm(goal[:3, 3] - start[:3, 3]) / req.max_step)))
        slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([start[:3, :3], goal[:3, :3]])))
        q, path = q0, [q0]
        for i in range(1, n + 1):
            f = i / n
            q = ik_nearest(make_pose(start[:3, 3] + f * (goal[:3, 3] - start[:3, 3]), slerp(f).as_matrix()), q, UR5_DH)
            path.append(q.copy())
        path = np.array(path)
        if self.cart_jump:                       # a configuration flip half way
            path[n // 2 + 1:, 5] += 1.0
        keep = int(round(self.cart_fraction * n)) + 1
        path = path[:keep]
        duration = max(float(np.max(np.abs(path[-1] - path[0]))), 1e-3) / (UR_MAX_JOINT_SPEED * req.max_velocity_scaling_factor)
        res.start_state = self._state()
        res.solution = self._trajectory(path, np.linspace(0.0, duration, len(path)))
        res.fraction = (keep - 1) / n
        res.error_code.val = 1
        return res

    def _apply(self, req: Any, res: Any) -> Any:
        self.scenes.append(req.scene)
        res.success = True
        return res


@contextlib.contextmanager
def move_group_cell(ros: Any, **cfg: Any):
    """The fake move_group and a MoveGroupBackend on their own nodes, spun by one
    MultiThreadedExecutor in a background thread (as the pick_place node spins its node)."""
    from spatialbot_ros.motion.move_group_backend import MoveGroupBackend, MoveGroupConfig
    from spatialbot_ros.nodes.executors import PoolExecutor

    server_node, client_node = ros.create_node("fake_move_group"), ros.create_node("move_group_client")
    server = FakeMoveGroup(server_node, HOME_Q)
    cfg.setdefault("server_timeout_s", 15.0)   # discovery on a loaded CI machine
    backend = MoveGroupBackend(client_node, tcp_offset_m=TCP, config=MoveGroupConfig(**cfg))
    executor = PoolExecutor(num_threads=4)
    executor.add_node(server_node)
    executor.add_node(client_node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            try:
                backend.current_joints()
                break
            except RuntimeError:
                time.sleep(0.05)
        yield server, backend
    finally:
        executor.shutdown(timeout_sec=2.0)
        server_node.destroy_node()
        client_node.destroy_node()


@pytest.mark.ros
@needs_moveit_msgs
def test_move_group_plans_only_with_scaled_requests_after_adding_the_cell(ros):
    target = tcp_of(HOME_Q) @ make_pose([0.03, -0.02, 0.02])
    with move_group_cell(ros) as (server, backend):
        plan = backend.plan_pose(target, 0.5)
        assert [o.id for o in server.scenes[0].world.collision_objects] == ["table", "camera_mount"]
        assert server.scenes[0].is_diff
        goal = server.move_goals[-1]
        assert goal.planning_options.plan_only                      # nothing moves before the gate
        req = goal.request
        assert req.group_name == "ur_manipulator"
        assert (req.max_velocity_scaling_factor, req.max_acceleration_scaling_factor) == pytest.approx((0.05, 0.05))
        pc = req.goal_constraints[0].position_constraints[0]
        assert pc.link_name == "tool0" and pc.header.frame_id == "base_link"
        assert plan.kind == PlanKind.POSE and np.allclose(plan.q_start, HOME_Q)
        assert np.allclose(tcp_of(plan.positions[-1]), target, atol=1e-5)   # UR order restored from MoveIt's
        jplan = backend.plan_joints(HOME_Q + 0.1, 2.0)
        assert server.move_goals[-1].request.max_velocity_scaling_factor == pytest.approx(0.2)
        assert np.allclose(jplan.positions[-1], HOME_Q + 0.1)
        assert len(server.scenes) == 1                               # the scene is applied once
        n_goals = len(server.move_goals)
        with pytest.raises(PlanningFailed) as info:
            backend.plan_joints(HOME_Q + 0.1, 0.0)                   # 0 would be full speed to MoveIt
        assert info.value.result.status == MotionStatus.REFUSED and len(server.move_goals) == n_goals
        server.plan_error = -31
        with pytest.raises(PlanningFailed) as info:
            backend.plan_pose(target, 1.0)
        assert info.value.result.status == MotionStatus.UNREACHABLE and info.value.result.cause == "no_ik_solution"
        assert "NO_IK_SOLUTION" in info.value.result.message


@pytest.mark.ros
@needs_moveit_msgs
def test_move_group_cartesian_path_sets_the_jump_threshold_and_checks_the_answer(ros):
    goal = tcp_of(HOME_Q) @ make_pose([0.0, 0.0, 0.05])
    with move_group_cell(ros) as (server, backend):
        plan = backend.plan_linear(goal, 0.5)
        req = server.cart_requests[-1]
        assert req.jump_threshold > 0 and req.revolute_jump_threshold == pytest.approx(0.5)  # 0 disables the check
        assert req.max_step == pytest.approx(0.005) and req.avoid_collisions
        assert (req.group_name, req.link_name, req.header.frame_id) == ("ur_manipulator", "tool0", "base_link")
        assert (req.max_velocity_scaling_factor, req.max_acceleration_scaling_factor) == pytest.approx((0.05, 0.05))
        assert plan.kind == PlanKind.LINEAR and len(plan.positions) == 10
        assert np.allclose(tcp_of(plan.positions[-1]), goal, atol=1e-5)
        server.cart_jump = True                  # move_group (Jazzy) does not filter jumps: we do
        with pytest.raises(PlanningFailed) as info:
            backend.plan_linear(goal, 0.5)
        assert info.value.result.status == MotionStatus.UNREACHABLE and info.value.result.cause == "joint_jump"
        server.cart_jump, server.cart_fraction = False, 0.5
        with pytest.raises(PlanningFailed) as info:
            backend.plan_linear(goal, 0.5)
        assert info.value.result.cause == "partial_path" and "50.0%" in info.value.result.message


@pytest.mark.ros
@needs_moveit_msgs
def test_move_group_executes_the_checked_trajectory_and_reports_failures(ros):
    with move_group_cell(ros, controller_names=("scaled_joint_trajectory_controller",)) as (server, backend):
        plan = backend.plan_joints(HOME_Q + 0.05, 2.0)
        result = backend.execute(plan)
        assert result.status == MotionStatus.SUCCEEDED, result
        sent = server.exec_goals[-1]
        assert list(sent.controller_names) == ["scaled_joint_trajectory_controller"]
        assert sent.trajectory.joint_trajectory == plan.native.joint_trajectory   # exactly what the gate saw
        time.sleep(0.1)
        assert np.allclose(backend.current_joints(), HOME_Q + 0.05, atol=1e-6)
        server.exec_error = -4
        result = backend.execute(backend.plan_joints(HOME_Q, 2.0))
        assert result.status == MotionStatus.ABORTED and result.cause == "control_failed"
        assert "CONTROL_FAILED" in result.message


@pytest.mark.ros
@needs_moveit_msgs
def test_move_group_stop_cancels_the_goal_in_flight(ros):
    with move_group_cell(ros) as (server, backend):
        plan = backend.plan_joints(HOME_Q + 1.0, 0.5)           # about 6 s of motion
        assert plan.duration_s > 5.0
        out = {}
        worker = threading.Thread(target=lambda: out.setdefault("r", backend.execute(plan)))
        t0 = time.monotonic()
        worker.start()
        assert wait_for(lambda: bool(server.exec_goals))            # the motion is running
        time.sleep(0.2)
        backend.stop()
        worker.join(timeout=5.0)
        assert not worker.is_alive() and time.monotonic() - t0 < plan.duration_s
        assert out["r"].status == MotionStatus.ABORTED
        assert server.cancelled.wait(10.0)                       # the server saw the cancel
        assert not np.allclose(backend.current_joints(), HOME_Q + 1.0, atol=1e-3)


@pytest.mark.ros
@needs_moveit_msgs
def test_move_group_without_a_server_is_not_ready(ros):
    from spatialbot_ros.motion.move_group_backend import MoveGroupBackend, MoveGroupConfig

    node = ros.create_node("lonely_client")
    try:
        # names no earlier test served (a destroyed server's endpoints can linger in discovery)
        cfg = MoveGroupConfig(apply_scene=False, server_timeout_s=0.3, move_action="/nobody/move_action")
        backend = MoveGroupBackend(node, tcp_offset_m=TCP, config=cfg)
        backend._on_joints(types.SimpleNamespace(name=list(UR_JOINT_NAMES), position=list(HOME_Q)))
        with pytest.raises(PlanningFailed) as info:
            backend.plan_joints(HOME_Q + 0.1, 1.0)
        assert info.value.result.status == MotionStatus.NOT_READY and info.value.result.cause == "no_server"
    finally:
        node.destroy_node()


# ======================================================================================
# the built moveit_msgs against upstream (Jazzy 2.6.0)
# ======================================================================================
@pytest.mark.ros  # the built moveit_msgs / shape_msgs message classes
@needs_moveit_msgs
def test_built_moveit_msgs_have_the_upstream_fields_we_rely_on():
    from moveit_msgs.msg import CollisionObject, MoveItErrorCodes
    from moveit_msgs.srv import GetCartesianPath
    from shape_msgs.msg import SolidPrimitive

    from spatialbot_ros.motion.move_group_backend import MOVEIT_ERROR_CODES

    assert GetCartesianPath.Request.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "start_state": "moveit_msgs/RobotState", "group_name": "string",
        "link_name": "string", "waypoints": "sequence<geometry_msgs/Pose>", "max_step": "double",
        "jump_threshold": "double", "prismatic_jump_threshold": "double", "revolute_jump_threshold": "double",
        "avoid_collisions": "boolean", "path_constraints": "moveit_msgs/Constraints",
        "max_velocity_scaling_factor": "double", "max_acceleration_scaling_factor": "double",
        "cartesian_speed_limited_link": "string", "max_cartesian_speed": "double"}
    assert GetCartesianPath.Response.get_fields_and_field_types() == {
        "start_state": "moveit_msgs/RobotState", "solution": "moveit_msgs/RobotTrajectory", "fraction": "double",
        "error_code": "moveit_msgs/MoveItErrorCodes"}
    assert MoveItErrorCodes.get_fields_and_field_types() == {"val": "int32", "message": "string", "source": "string"}
    # the backend's code table is the message's constants, name for name
    consts = {getattr(MoveItErrorCodes, k): k for k in dir(type(MoveItErrorCodes)) if k.isupper() and not k.startswith("_")}
    assert consts == MOVEIT_ERROR_CODES
    assert (CollisionObject.ADD, CollisionObject.REMOVE, CollisionObject.APPEND, CollisionObject.MOVE) == \
        (b"\x00", b"\x01", b"\x02", b"\x03")   # `byte` fields are bytes in Python
    assert (SolidPrimitive.BOX, SolidPrimitive.SPHERE, SolidPrimitive.CYLINDER) == (1, 2, 3)


@pytest.mark.ros
def test_moveit_py_plans_from_a_given_start_for_dry_runs(fake_moveit):
    b = moveit_py_backend()
    shadow = HOME_Q + np.array([0.2, 0.0, -0.1, 0.0, 0.1, 0.0])
    plan = b.plan_pose(tcp_of(shadow) @ make_pose([0.0, 0.0, 0.03]), 1.0, q_start=shadow)
    assert np.allclose(plan.q_start, shadow)
    (state,) = [arg for name, arg in fake_moveit.calls if name == "set_start_state"]
    assert [state.joint_positions[j] for j in UR_JOINT_NAMES] == pytest.approx(list(shadow))
    assert b.execute(plan).cause == "stale_plan"          # the real arm is elsewhere: never executed
    before = len(fake_moveit.calls)
    b.plan_joints(HOME_Q + 0.1, 1.0)                       # without q_start: from the current state
    later = fake_moveit.names()[before:]
    assert "set_start_state_to_current_state" in later and "set_start_state" not in later


@pytest.mark.ros
@needs_moveit_msgs
def test_move_group_plans_from_a_given_start_for_dry_runs(ros):
    shadow = HOME_Q + np.array([0.2, 0.0, -0.1, 0.0, 0.1, 0.0])
    with move_group_cell(ros) as (server, backend):
        plan = backend.plan_linear(tcp_of(shadow) @ make_pose([0.0, 0.0, 0.03]), 1.0, q_start=shadow)
        start = server.cart_requests[-1].start_state
        assert start.is_diff and list(start.joint_state.name) == list(UR_JOINT_NAMES)
        assert list(start.joint_state.position) == pytest.approx(list(shadow))
        assert np.allclose(plan.q_start, shadow)
        jplan = backend.plan_joints(HOME_Q, 1.0, q_start=shadow)
        assert list(server.move_goals[-1].request.start_state.joint_state.position) == pytest.approx(list(shadow))
        result = backend.execute(jplan)
        assert result.status == MotionStatus.REFUSED and result.cause == "stale_plan" and not server.exec_goals
