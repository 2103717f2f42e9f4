"""sim_maniskill.launch.py's graph on several seeds: our unchanged pick_place driving ManiSkill's
Panda over ROS (maniskill_sim's joint trajectory interface, the ros_topics backend, the safety gate), success by
the task's own info["success"] after the goals; against the in-process `maniskill-eval` executor
(pd_ee_delta_pose) on the same seeds in the same run. Needs the maniskill venv (scripts/setup.sh
maniskill); run from the main venv with scripts/env.sh sourced:
`python bench/bench_maniskill_ros.py --task StackCube-v1 --seed 0 --episodes 10`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MANISKILL_PY = ROOT / ".venv-maniskill" / "bin" / "python"


def _start(module: str, args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([str(MANISKILL_PY), "-m", module, "--ros-args", *args], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def ros_episode(node, task: str, seed: int, workdir: Path, timeout_s: float) -> dict:
    """One seed through the ROS graph: goals in the task's order, then the task's success flag."""
    import rclpy
    from std_msgs.msg import Bool, String

    from spatialbot_ros.core.transforms import pose_to_xyz_quat
    from spatialbot_ros.nodes.estop_bridge import COMMAND_QOS
    from spatialbot_ros.sim.maniskill_env import nominal_base_from_camera, task_spec

    spec = task_spec(task)
    xyz, quat = pose_to_xyz_quat(nominal_base_from_camera(spec))
    extr = workdir / "extrinsics.yaml"
    extr.write_text(json.dumps({"/**": {"ros__parameters": {"camera_extrinsics.xyz": [float(v) for v in xyz],
                                                            "camera_extrinsics.quat_xyzw": [float(v) for v in quat]}}}))
    sim = _start("spatialbot_ros.nodes.maniskill_sim", ["-p", f"task:={task}", "-p", f"seed:={seed}"],
                 workdir / f"sim_{seed}.log")
    pick = _start("spatialbot_ros.nodes.pick_place",
                  ["--params-file", str(ROOT / "config/pick_place_sim.yaml"), "--params-file",
                   str(ROOT / "config/pick_place_maniskill.yaml"), "--params-file", str(extr)],
                  workdir / f"pick_place_{seed}.log")
    got: dict = {}
    subs = [node.create_subscription(String, "/pick_place/result", lambda m: got.__setitem__("result", json.loads(m.data)), 10),
            node.create_subscription(Bool, "/maniskill/success", lambda m: got.__setitem__("success", m.data), 10)]
    pub = node.create_publisher(String, "/pick_place/goal", COMMAND_QOS)

    def spin(cond, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end and not cond():
            rclpy.spin_once(node, timeout_sec=0.05)
        return cond()

    out = {"seed": seed, "success": False, "reason": "not_started", "goal_s": 0.0}
    try:
        if not spin(lambda: pub.get_subscription_count() > 0 and "success" in got, 180):
            return out
        t0 = time.monotonic()
        for i, text in enumerate(spec.steps):
            got.pop("result", None)
            pub.publish(String(data=json.dumps({"id": f"s{seed}_{i}", "instruction": text})))
            if not spin(lambda: "result" in got, timeout_s):
                out["reason"] = "timeout"
                break
            out["reason"] = got["result"]["failure_reason"]
            if not got["result"]["succeeded"]:
                break
        out["goal_s"] = time.monotonic() - t0
        spin(lambda: got.get("success") is True, 3.0)
        out["success"] = bool(got.get("success"))
        return out
    finally:
        for s in subs:
            node.destroy_subscription(s)
        node.destroy_publisher(pub)
        _stop(pick, sim)


def in_process(task: str, seed: int, episodes: int) -> dict:
    """The same seeds through `maniskill-eval` (the in-process Panda executor), in the maniskill venv."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([str(MANISKILL_PY), "-m", "spatialbot_ros.cli", "maniskill-eval", "--task", task,
                        "--episodes", str(episodes), "--seed", str(seed), "--out", d], cwd=ROOT, check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        return json.loads((Path(d) / "maniskill_eval.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="StackCube-v1")
    ap.add_argument("--seed", type=int, default=0, help="first seed (episode i runs seed + i, as in maniskill-eval)")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--goal-timeout-s", type=float, default=240.0)
    args = ap.parse_args()
    if not MANISKILL_PY.exists():
        sys.exit("the maniskill venv is missing: scripts/setup.sh maniskill")
    import rclpy

    seeds = list(range(args.seed, args.seed + args.episodes))
    rclpy.init()
    node = rclpy.create_node("bench_maniskill_ros")
    ros = []
    with tempfile.TemporaryDirectory() as d:
        for seed in seeds:
            r = ros_episode(node, args.task, seed, Path(d), args.goal_timeout_s)
            print(f"ros  seed {seed}: success {r['success']}  {r['reason']}  goals {r['goal_s']:.1f} s", flush=True)
            ros.append(r)
    node.destroy_node()
    rclpy.shutdown()
    base = in_process(args.task, args.seed, args.episodes)
    n = len(seeds)
    ros_ok, base_ok = sum(r["success"] for r in ros), round(base["success_rate"] * n)
    ros_s = float(np.median([r["goal_s"] for r in ros]))
    base_s = float(base["wall_s_per_episode_median"])
    print(f"\n{args.task}, seeds {seeds[0]}-{seeds[-1]}")
    print("| path | success | median wall s / episode |")
    print("|---|---:|---:|")
    print(f"| pick_place over ROS (sim_maniskill.launch.py graph, joint trajectories) | {ros_ok}/{n} | {ros_s:.1f} |")
    print(f"| maniskill-eval in-process executor (pd_ee_delta_pose) | {base_ok}/{n} | {base_s:.1f} |")
    print(f"ratio (ROS / in-process): success {ros_ok / max(base_ok, 1):.2f}x, wall {ros_s / max(base_s, 1e-9):.1f}x")
    fails = [f"{r['seed']}: {r['reason']}" for r in ros if not r["success"]]
    if fails:
        print("ROS failures:", ", ".join(fails))


if __name__ == "__main__":
    main()
