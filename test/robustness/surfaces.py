"""The input surfaces the red-team suite probes. A probe is a test marked
`@pytest.mark.surface("<name>")` with a name from SURFACES; a test that runs several probes
(hypothesis examples, SIGKILL trials) reports how many with the `probes` fixture. To add a surface
(e.g. the pick_place node's goals and services): one line here, one test file beside the others."""

from __future__ import annotations

SURFACES: dict[str, str] = {
    "cli_args": "command-line arguments (usage errors: one line, exit 2)",
    "cli_files": "files and failures through the command line (one line, exit codes, tracebacks only for bugs)",
    "scene_files": "scene and scenes files: size, aliases, depth, counts, every field",
    "config_files": "backend/option YAML files",
    "frames": "RGB-D frames, camera info and Image conversions (core.frame, nodes.conversions)",
    "instructions": "instructions through the policy API (a clean error, never a crash)",
    "node_spatial_policy": "spatial_policy node: Image, CameraInfo and instruction messages",
    "node_mujoco_sim": "mujoco_sim node: JointTrajectory, gripper Float64, SetBool service",
    "node_realsense_camera": "realsense_camera node: failing and malformed camera sources",
    "node_pick_place": "pick_place node: goal/cancel strings, joint states, camera, e-stop, arm/reset, PickPlace action, params",
    "node_ur_driver_emulator": "ur_driver_emulator node: FollowJointTrajectory and gripper goals, parameter sets",
    "durable_runs": "eval / spatial-qa / demos output: writability, resume, partial runs",
    "kill_dataset_writer": "LeRobot v3 writer killed with SIGKILL at random moments",
    "kill_eval": "`eval --out` killed with SIGKILL at random moments, then resumed",
    "kill_demos": "`demos` killed with SIGKILL at random moments, then resumed",
}
