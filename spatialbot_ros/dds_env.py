"""The Fast DDS settings every process of the graph runs with: one XML profile (config/fastdds.xml)
that gives shared memory room for whole RGB-D frames and leaves out the TCP transport, whose teardown
deadlocks in Fast DDS 2.14 (a node whose peer had left never stopped on Ctrl-C). scripts/env.sh, the
launch files, `spatialbot-ros up` and the benchmarks all point Fast DDS at the same file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DDS_PROFILE_FILE = Path(__file__).resolve().parents[1] / "config" / "fastdds.xml"
# Fast DDS 2.x (Jazzy) reads the first name, Fast DDS 3.x the second
PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
RMW = "rmw_fastrtps_cpp"


def dds_env(base: Mapping[str, str] | None = None, profile: Path = DDS_PROFILE_FILE) -> dict[str, str]:
    """`base` (default: this process's environment) with the profile and the RMW set where the user
    has not chosen their own."""
    env = dict(os.environ if base is None else base)
    for var in PROFILE_VARS:
        env.setdefault(var, str(profile))
    env.setdefault("RMW_IMPLEMENTATION", RMW)
    return env


def apply_dds_env() -> None:
    """Set the same defaults in this process (before rclpy.init), for tools that talk to the graph."""
    for key, value in dds_env().items():
        os.environ.setdefault(key, value)
