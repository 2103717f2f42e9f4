"""Frame published -> policy result received, over DDS between processes, vs the same pipeline in
one process. 640x480 RGB-D at 30 Hz from a rendered MuJoCo scene; spatial_policy runs as its own
process (Fast DDS with config/fastdds.xml: shared memory with a 16 MB segment, UDPv4). Run: `python bench/bench_graph.py [--frames 300]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0)
    args = parser.parse_args()
    from spatialbot_ros.dds_env import apply_dds_env

    apply_dds_env()
    os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))

    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    from spatialbot_ros.core.transforms import pose_to_xyz_quat
    from spatialbot_ros.nodes.conversions import msgs_to_rgbd, rgbd_to_msgs, s_to_stamp
    from spatialbot_ros.nodes.markers import grounding_json
    from spatialbot_ros.nodes.spatial_policy import LATCHED
    from spatialbot_ros.policy.geometric import GeometricPolicy
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    scene = load_scene(default_scene_path())
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    frame = cell.render_rgbd()
    xyz, q = pose_to_xyz_quat(cell.base_from_camera)

    # baseline: the same conversion + grounding + result, in this process
    policy = GeometricPolicy()
    inproc = []
    for i in range(min(args.frames, 100)):
        color, depth, info = rgbd_to_msgs(frame, s_to_stamp(i / args.rate))
        t0 = time.perf_counter()
        f = msgs_to_rgbd(color, depth, info)
        props, g = policy.ground(f, scene.instruction, cell.base_from_camera)
        grounding_json(scene.instruction, props.marks, g, i / args.rate)
        inproc.append(time.perf_counter() - t0)

    cmd = [sys.executable, "-m", "spatialbot_ros.nodes.spatial_policy", "--ros-args",
           "-p", f"camera_extrinsics.xyz:={list(map(float, xyz))}", "-p", f"camera_extrinsics.quat_xyzw:={list(map(float, q))}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init()
    node = rclpy.create_node("bench_camera")
    pubs = [node.create_publisher(Image, "/camera/camera/color/image_raw", qos_profile_sensor_data),
            node.create_publisher(Image, "/camera/camera/aligned_depth_to_color/image_raw", qos_profile_sensor_data),
            node.create_publisher(CameraInfo, "/camera/camera/color/camera_info", qos_profile_sensor_data)]
    say = node.create_publisher(String, "/spatialbot/instruction", LATCHED)
    say.publish(String(data=scene.instruction))
    sent: dict[float, float] = {}
    latency: list[float] = []
    received: list[float] = []

    def on_result(msg: String) -> None:
        stamp = json.loads(msg.data)["stamp_s"]
        received.append(stamp)
        latency.append(time.perf_counter() - sent.get(stamp, np.nan))

    node.create_subscription(String, "/spatialbot/policy_result", on_result, 10)
    try:
        end = time.monotonic() + 30  # wait for discovery: the first result arrives
        while not latency and time.monotonic() < end:
            stamp = time.time()
            sent[round(stamp, 9)] = time.perf_counter()
            for p, m in zip(pubs, rgbd_to_msgs(frame, s_to_stamp(stamp)), strict=True):
                p.publish(m)
            rclpy.spin_once(node, timeout_sec=0.2)
        latency.clear()
        sent.clear()
        period, t_next, stamps = 1.0 / args.rate, time.perf_counter(), []
        for i in range(args.frames):
            stamp = 1000.0 + i * period
            msgs = rgbd_to_msgs(frame, s_to_stamp(stamp))
            from spatialbot_ros.nodes.conversions import stamp_to_s

            key = stamp_to_s(msgs[0].header.stamp)
            stamps.append(key)
            sent[key] = time.perf_counter()
            for p, m in zip(pubs, msgs, strict=True):
                p.publish(m)
            t_next += period
            while time.perf_counter() < t_next:
                rclpy.spin_once(node, timeout_sec=max(0.0, t_next - time.perf_counter()))
        end = time.monotonic() + 2
        while len(latency) < args.frames and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        node.destroy_node()
        rclpy.shutdown()
    lat = [x for x in latency if np.isfinite(x)]
    if not lat:
        raise SystemExit(f"no policy results matched the frames sent ({len(latency)} results arrived, "
                         f"stamps {received[:3]} vs sent {list(sent)[:3]})")
    med_dds, med_in = statistics.median(lat) * 1e3, statistics.median(inproc) * 1e3
    print(f"frames sent {args.frames} at {args.rate:.0f} Hz (640x480 rgb8 + 16UC1 + camera info)")
    print(f"results received {len(lat)}, dropped {args.frames - len(lat)}")
    print(f"DDS, separate processes: median {med_dds:.1f} ms, p90 {np.percentile(lat, 90) * 1e3:.1f} ms")
    print(f"same pipeline in one process: median {med_in:.1f} ms")
    print(f"ratio DDS / in-process = {med_dds / med_in:.2f}x (middleware cost {med_dds - med_in:.1f} ms)")


if __name__ == "__main__":
    main()
