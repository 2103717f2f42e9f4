"""`spatialbot-ros up PROFILE`: the launch files' graphs as separate processes, from the same YAML
parameter files, for machines without `launch`/`launch_ros` (they have no pip wheels)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from spatialbot_ros.dds_env import dds_env

log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@dataclass(frozen=True)
class Proc:
    module: str
    params_file: str
    ours: bool = True  # extra parameter files (a calibration) apply to our nodes, not to a driver stand-in
    more_files: tuple[str, ...] = ()  # loaded after params_file (later files win)


PROFILES: dict[str, list[Proc]] = {
    "sim": [Proc("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml"),
            Proc("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml")],
    "sim_pick_place": [Proc("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml"),
                       Proc("spatialbot_ros.nodes.pick_place", "pick_place_sim.yaml")],
    # teleop-assisted collection in the MuJoCo cell (launch/collect.launch.py cell:=sim, without the
    # spatial_policy node that the launch adds for RViz's annotated frames)
    "sim_collect": [Proc("spatialbot_ros.nodes.mujoco_sim", "mujoco_sim.yaml"),
                    Proc("spatialbot_ros.nodes.teleop_collect", "pick_place_sim.yaml", more_files=("teleop_collect.yaml",))],
    # the real-cell graph (launch/ur5_cell.launch.py's nodes, same parameter files) against the UR driver
    # emulator instead of ur_robot_driver + realsense2_camera (= launch/cell_emulated.launch.py)
    "cell-emulated": [Proc("spatialbot_ros.nodes.ur_driver_emulator", "ur_driver_emulator.yaml", ours=False),
                      Proc("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml"),
                      Proc("spatialbot_ros.nodes.pick_place", "pick_place.yaml")],
    "camera": [Proc("spatialbot_ros.nodes.realsense_camera", "realsense_camera.yaml"),
               Proc("spatialbot_ros.nodes.spatial_policy", "spatial_policy.yaml")],
}


def commands(profile: str, config_dir: Path = CONFIG_DIR, extra_params: list[Path] | None = None) -> list[list[str]]:
    """One command per process; extra_params (e.g. a calibration file) are appended to our nodes'."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile '{profile}'; available: {', '.join(PROFILES)}")
    extra = [Path(f) for f in extra_params or []]
    for f in extra:
        if not f.is_file():
            raise FileNotFoundError(f"parameter file {f} does not exist")
    out = []
    for p in PROFILES[profile]:
        cmd = [sys.executable, "-m", p.module, "--ros-args"]
        for name in (p.params_file, *p.more_files):
            params = config_dir / name
            if not params.exists():
                raise FileNotFoundError(f"{params} is missing")
            cmd += ["--params-file", str(params)]
        for f in extra if p.ours else []:
            cmd += ["--params-file", str(f)]
        out.append(cmd)
    return out


def graph_env() -> dict[str, str]:
    """The environment of every process: Fast DDS's profile for whole frames (spatialbot_ros.dds_env)."""
    return dds_env()


def up(profile: str, duration_s: float | None = None, extra_params: list[Path] | None = None) -> int:
    """Start every process of the profile; stop all when one dies (a node whose executor died exits
    too, see nodes/runner.py), on Ctrl-C, or after duration_s. Stopping sends SIGINT first, so
    pick_place stops the arm on its way out."""
    def stop_on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the graph like Ctrl-C: children get SIGINT, then wait

    previous = signal.signal(signal.SIGTERM, stop_on_term)
    procs = [subprocess.Popen(cmd, env=graph_env()) for cmd in commands(profile, extra_params=extra_params)]
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
