"""`spatialbot-ros up PROFILE`: the launch files' graphs as separate processes, from the same YAML
parameter files, for machines without `launch`/`launch_ros` (they have no pip wheels)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@dataclass(frozen=True)
class Proc:
    module: str
    params_file: str


PROFILES: dict[str, list[Proc]] = {
    "sim": [Proc("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml"),
            Proc("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml")],
    "sim_pick_place": [Proc("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml"),
                       Proc("spatialbot_ros.nodes.pick_place", "pick_place.yaml")],
    "camera": [Proc("spatialbot_ros.nodes.realsense_camera", "realsense_camera.yaml"),
               Proc("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml")],
}


def commands(profile: str, config_dir: Path = CONFIG_DIR) -> list[list[str]]:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile '{profile}'; available: {', '.join(PROFILES)}")
    out = []
    for p in PROFILES[profile]:
        params = config_dir / p.params_file
        if not params.exists():
            raise FileNotFoundError(f"{params} is missing")
        out.append([sys.executable, "-m", p.module, "--ros-args", "--params-file", str(params)])
    return out


# Fast DDS builtin transports for 640x480 RGB-D at 30 Hz (launch files and scripts/env.sh set the same):
# LARGE_DATA alone (or DEFAULT, or SHM) lost a third of the image messages at 30 Hz on two cores,
# even to a subscriber that did nothing; a 2 MB message limit and 16 MB socket buffers lose none.
DDS_TRANSPORTS = "LARGE_DATA?max_msg_size=2MB&sockets_size=16MB"


def graph_env() -> dict[str, str]:
    """Large images need Fast DDS's LARGE_DATA builtin transport with room for whole frames."""
    env = dict(os.environ)
    env.setdefault("FASTDDS_BUILTIN_TRANSPORTS", DDS_TRANSPORTS)
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    return env


def up(profile: str, duration_s: float | None = None) -> int:
    """Start every process of the profile; stop all when one dies, on Ctrl-C, or after duration_s."""
    def stop_on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the graph like Ctrl-C: children get SIGINT, then wait

    previous = signal.signal(signal.SIGTERM, stop_on_term)
    procs = [subprocess.Popen(cmd, env=graph_env()) for cmd in commands(profile)]
    log.info("started %s", ", ".join(p.args[2] for p in procs))  # type: ignore[index]
    end = None if duration_s is None else time.monotonic() + duration_s
    code = 0
    try:
        while end is None or time.monotonic() < end:
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                code = dead[0].returncode or 1
                log.error("%s exited with %s; stopping the graph", dead[0].args[2], dead[0].returncode)  # type: ignore[index]
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        signal.signal(signal.SIGTERM, previous)
    return code
