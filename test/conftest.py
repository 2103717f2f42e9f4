"""Shared fixtures: one rendered MuJoCo scene per session (rendering costs ~50 ms, EGL start ~1 s)."""

from __future__ import annotations

import gc
import os
import sys

import pytest
from ros_domain import use_ros_domain  # test/ is on sys.path (rootdir conftest)
from tier_guard import register as register_tier_guard

os.environ.setdefault("MUJOCO_GL", "egl")


def pytest_configure(config):
    register_tier_guard(config)
    use_ros_domain()  # this worker's own domain, whatever the shell had (test/ros_domain.py)


@pytest.fixture(scope="session")
def six_object_cell():
    from spatialbot_ros.sim.cell import Ur5Cell
    from spatialbot_ros.sim.scene import ObjectSpec

    objects = [
        ObjectSpec("red_cup", "cup", "red", {"radius": 0.033, "height": 0.10}, (0.50, 0.10)),
        ObjectSpec("green_cup", "cup", "green", {"radius": 0.030, "height": 0.09}, (0.50, 0.0)),
        ObjectSpec("yellow_box", "box", "yellow", {"half_extents": [0.03, 0.02], "height": 0.05}, (0.45, -0.25), 0.5),
        ObjectSpec("purple_ball", "sphere", "purple", {"radius": 0.03}, (0.62, 0.30)),
        ObjectSpec("white_plate", "plate", "white", {"radius": 0.09, "height": 0.015}, (0.62, -0.12)),
        ObjectSpec("blue_bowl", "bowl", "blue", {"radius": 0.08, "height": 0.05}, (0.68, 0.14)),
    ]
    cell = Ur5Cell(objects)
    cell.reset()
    frame = cell.render_rgbd()
    return cell, objects, frame


def use_test_ros_domain() -> None:
    """This worker's own DDS domain (the ros fixture's; set it before starting nodes a test talks to)."""
    use_ros_domain()


@pytest.fixture(scope="module", autouse=True)
def _collect_rclpy_leftovers():
    """After each module that used rclpy: free what its nodes left. rclpy's Task prints an error that
    nobody retrieved when it is freed, and a worker runs many files: freed later, the line lands in
    another file's test (a CLI's one-line-error check failed on one that test_pool_executor's probe
    of rclpy's own executor left; the probe retrieves them now, this keeps the next one in its file)."""
    yield
    if "rclpy" in sys.modules:
        gc.collect()


@pytest.fixture()
def ros():
    """rclpy on a domain of its own (per process), shut down after the test."""
    use_test_ros_domain()
    import rclpy

    rclpy.init()
    yield rclpy
    rclpy.shutdown()


def spin_until(nodes, cond, timeout=10.0):
    """Spin the nodes until cond() holds or the timeout passes; returns cond()."""
    import time

    from rclpy.executors import SingleThreadedExecutor

    ex = SingleThreadedExecutor()
    for n in nodes:
        ex.add_node(n)
    end = time.monotonic() + timeout
    while time.monotonic() < end and not cond():
        ex.spin_once(timeout_sec=0.05)
    for n in nodes:
        ex.remove_node(n)
    return cond()


TIERS = ("core", "sim", "ros", "gpu")


def pytest_ignore_collect(collection_path, config):
    """`-m core` does not import test files that hold no core test: their module-level imports
    (MuJoCo, rclpy, torch) are theirs to make, and the fast tier should not pay for them. A file
    is skipped only when it names another tier and never `mark.core` (so an untiered file is still
    collected, and refused below); tier_guard then checks that what is collected stays light."""
    if config.getoption("markexpr", "").strip() != "core" or collection_path.suffix != ".py" \
            or not collection_path.name.startswith("test_"):
        return None
    text = collection_path.read_text(encoding="utf-8")
    if "mark.core" not in text and any(f"mark.{t}" in text for t in TIERS if t != "core"):
        return True
    return None


def pytest_collection_modifyitems(config, items):
    """Every test belongs to a tier (pytest.ini): `-m core` must mean what it says."""
    untiered = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(f"{len(untiered)} tests carry no tier marker ({', '.join(TIERS)}): "
                                + ", ".join(untiered[:5]))
