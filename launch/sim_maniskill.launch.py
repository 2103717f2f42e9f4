"""ManiSkill3 task as the cell: maniskill_sim (task camera on the realsense-ros topics, Panda joint
states, TCP-delta and gripper commands) and our unchanged spatial_policy grounding the instruction
on its frames. Run with the maniskill venv's python on PATH (scripts/setup.sh maniskill).

pick_place is not part of it: it drives a UR5 (UR kinematics, joint trajectories); the Panda takes
TCP deltas on /maniskill/tcp_delta (what `maniskill-eval`'s executor sends in-process)."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _nodes(context):
    from spatialbot_ros.core.transforms import pose_to_xyz_quat
    from spatialbot_ros.sim.maniskill_env import nominal_base_from_camera, task_spec

    config = os.path.join(get_package_share_directory("spatialbot_ros"), "config")
    task = LaunchConfiguration("task").perform(context)
    xyz, quat = pose_to_xyz_quat(nominal_base_from_camera(task_spec(task)))  # the task camera in the Panda base
    return [
        Node(package="spatialbot_ros", executable="maniskill_sim", name="maniskill_sim", output="screen",
             parameters=[{"task": task, "seed": int(LaunchConfiguration("seed").perform(context))}],
             on_exit=Shutdown()),
        Node(package="spatialbot_ros", executable="spatial_policy", name="spatial_policy", output="screen",
             parameters=[os.path.join(config, "spatial_policy.yaml"),
                         {"camera_extrinsics.xyz": [float(v) for v in xyz],
                          "camera_extrinsics.quat_xyzw": [float(v) for v in quat]}],
             on_exit=Shutdown()),
    ]


def generate_launch_description() -> LaunchDescription:
    config = os.path.join(get_package_share_directory("spatialbot_ros"), "config")
    return LaunchDescription([
        DeclareLaunchArgument("task", default_value="StackCube-v1", description="ManiSkill3 task id"),
        DeclareLaunchArgument("seed", default_value="0", description="episode seed"),
        *[SetEnvironmentVariable(var, os.path.join(config, "fastdds.xml"))
          for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")],  # = spatialbot_ros.dds_env
        OpaqueFunction(function=_nodes),
    ])
