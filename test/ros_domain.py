"""DDS domains for the tests: one set per pytest-xdist worker, so two workers' graphs never meet.

The full run spreads test files over workers (`scripts/test`). ROS graphs in two workers share topic
names, so each worker needs domains of its own: pid-based ids collided now and then. A domain is
`base + slot * workers + worker`: distinct for every (slot, worker) of one run; `base` differs between
runs that go on at the same time on one machine (a run key from the pid that owns the workers).
"""

from __future__ import annotations

import os

FIRST_DOMAIN = 20
N_DOMAINS = 200  # 20..219: the ids the suite has always used (Fast DDS maps each to its own ports)


class Slot:
    """What a domain is for: tests that want one apart from the rest of their worker's tests."""

    DEFAULT = 0  # the `ros` fixture, and every graph a test starts without asking for another
    CELL = 1  # the emulated real cell's launched graph (test_cell_emulated)
    RED_TEAM = 2  # the robustness probes' nodes (test/robustness/test_rb_ros_nodes)
    BENCH = 3  # the e-stop bench run as a subprocess (test_bench_estop)
    CAMERA = 4  # the RealSense node over a software device (test_camera_ros)
    DDS = 5  # the Ctrl-C/transport check (test_dds_env)
    COUNT = 8


def _worker() -> tuple[int, int, int]:
    """(this worker's index, the number of workers, a key of this run)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    if name.startswith("gw"):
        count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        return int(name[2:]), max(count, 1), os.getppid()  # the workers' parent: the run's controller
    return 0, 1, os.getpid()


def ros_domain(slot: int = Slot.DEFAULT) -> int:
    """The DDS domain id for `slot` in this worker of this run."""
    if not 0 <= slot < Slot.COUNT:
        raise ValueError(f"slot {slot} is not in 0..{Slot.COUNT - 1}")
    worker, workers, run_key = _worker()
    per_run = Slot.COUNT * workers
    runs = max(N_DOMAINS // per_run, 1)
    return FIRST_DOMAIN + ((run_key % runs) * per_run + slot * workers + worker) % N_DOMAINS


def use_ros_domain(slot: int = Slot.DEFAULT) -> str:
    """Set ROS_DOMAIN_ID for this process (and the graphs it starts); returns the id."""
    os.environ["ROS_DOMAIN_ID"] = str(ros_domain(slot))
    return os.environ["ROS_DOMAIN_ID"]
