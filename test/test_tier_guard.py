"""The core-tier guard (tier_guard.py) fails a core-only run that loads a heavy module and names
who loaded it; it lets a run that also selects other tiers load what they need."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tier_guard import CoreTierGuard, is_heavy

pytestmark = pytest.mark.core

TEST_DIR = Path(__file__).resolve().parent

HEAVY_TESTS = '''
import pytest
import torch  # a module-level heavy import: loaded at collection

@pytest.mark.core
def test_light():
    assert torch.FAKE

@pytest.mark.core
def test_uses_rclpy():
    import rclpy
    assert rclpy.FAKE

@pytest.mark.sim
def test_sim_only():
    pass
'''


def test_ros_messages_mujoco_torch_count_as_heavy_and_test_modules_do_not():
    assert all(is_heavy(m) for m in ("mujoco", "torch.nn", "rclpy.node", "sensor_msgs.msg", "std_srvs",
                                     "builtin_interfaces.msg", "spatialbot_interfaces.action"))
    assert not any(is_heavy(m) for m in ("numpy", "cv2", "scipy.spatial", "test_interfaces", "rosbags"))


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_core_only_run_that_loads_heavy_modules_fails_and_names_them(tmp_path, workers):
    """A sim file none of whose tests is selected may import MuJoCo at module level (test_sim_only.py).
    Under pytest-xdist (scripts/test runs the fast tier with -n) the workers' findings fail the run too."""
    if workers:
        pytest.importorskip("xdist", reason="pytest-xdist is in requirements/test.txt")
    for fake in ("torch", "rclpy", "mujoco"):  # stand-ins that shadow the real packages in the child only
        (tmp_path / fake).mkdir()
        (tmp_path / fake / "__init__.py").write_text("FAKE = True\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    core: c\n    sim: s\naddopts = --strict-markers\n")
    (tmp_path / "test_heavy.py").write_text(HEAVY_TESTS)
    (tmp_path / "test_sim_only.py").write_text("import mujoco\nimport pytest\n\n\n@pytest.mark.sim\ndef test_s():\n"
                                              "    assert mujoco.FAKE\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TEST_DIR), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tier_guard", "-p", "no:cacheprovider",
                          "-m", "core", *workers, "test_sim_only.py", "test_heavy.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert "2 passed" in out, out  # the tests themselves pass: the guard fails the run
    assert run.returncode == 1, out
    assert "core tier loaded heavy modules" in out
    assert "test_heavy.py: torch" in out and "test_heavy.py::test_uses_rclpy: rclpy" in out
    assert "test_sim_only" not in out and "mujoco" not in out


class _Item:
    def __init__(self, nodeid: str, tier: str) -> None:
        self.nodeid, self.tier = nodeid, tier

    def get_closest_marker(self, name: str):
        return name if name == self.tier else None


class _Session:
    def __init__(self, *items: _Item) -> None:
        self.items, self.exitstatus = list(items), pytest.ExitCode.OK


def test_a_run_that_also_selects_other_tiers_is_not_held_to_the_rule():
    guard = CoreTierGuard()
    guard.culprits = {"test/test_a.py": ["torch"]}
    mixed = _Session(_Item("test/test_a.py::test_core", "core"), _Item("test/test_a.py::test_sim", "sim"))
    guard.pytest_collection_finish(mixed)
    guard.pytest_sessionfinish(mixed, 0)
    assert not guard.core_only and mixed.exitstatus == pytest.ExitCode.OK

    guard = CoreTierGuard()
    guard.culprits = {"test/test_a.py": ["torch"]}
    core = _Session(_Item("test/test_a.py::test_core", "core"))
    guard.pytest_collection_finish(core)
    guard.pytest_sessionfinish(core, 0)
    assert guard.core_only and core.exitstatus == pytest.ExitCode.TESTS_FAILED
