"""Planned motions as ROS messages: every plan the safety gate accepted (sent, or held back in
dry-run) goes out as a trajectory_msgs/JointTrajectory and as an RViz line strip of the TCP path,
so a person sees what the arm would do before arming it. Conversion only."""

from __future__ import annotations

from typing import Any

import numpy as np
from geometry_msgs.msg import Point
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import Marker, MarkerArray

from spatialbot_ros.core.kinematics import ArmKinematics
from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
from spatialbot_ros.motion.base import JointPlan
from spatialbot_ros.motion.frames import tcp_pose_from_joints
from spatialbot_ros.motion.joint_trajectory import build_joint_trajectory


def plan_to_trajectory(plan: JointPlan, frame_id: str, stamp: Any,
                       joint_names: tuple[str, ...] = UR_JOINT_NAMES) -> JointTrajectory:
    positions = np.asarray(plan.positions, float)
    times = np.asarray(plan.times_s, float)
    velocities = np.zeros_like(positions)
    msg = build_joint_trajectory(positions, times, velocities, joint_names)
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    return msg  # type: ignore[return-value]


def plan_to_markers(plan: JointPlan, arm: ArmKinematics, tcp_offset_m: float, frame_id: str, stamp: Any,
                    dry_run: bool) -> MarkerArray:
    """The TCP path of the plan (FK of each waypoint): orange while held back in dry-run, green when sent."""
    line = Marker(type=Marker.LINE_STRIP, action=Marker.ADD, ns="planned_tcp_path", id=0)
    line.header.frame_id, line.header.stamp = frame_id, stamp
    line.pose.orientation.w = 1.0
    line.scale.x = 0.004
    line.color.r, line.color.g, line.color.b, line.color.a = (1.0, 0.55, 0.0, 1.0) if dry_run else (0.1, 0.8, 0.2, 1.0)
    for q in np.vstack([np.asarray(plan.q_start, float)[None], np.asarray(plan.positions, float)]):
        p = tcp_pose_from_joints(q, tcp_offset_m, arm)[:3, 3]
        line.points.append(Point(x=float(p[0]), y=float(p[1]), z=float(p[2])))
    text = Marker(type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, ns="planned_tcp_path", id=1)
    text.header = line.header
    end = line.points[-1]
    text.pose.position.x, text.pose.position.y, text.pose.position.z = end.x, end.y, end.z + 0.05
    text.pose.orientation.w = 1.0
    text.scale.z = 0.03
    text.color = line.color
    text.text = f"{'DRY RUN ' if dry_run else ''}{plan.kind.value} {plan.duration_s:.1f} s"
    return MarkerArray(markers=[line, text])
