"""The `core` tier must mean what it says: a run that selects only core tests loads no MuJoCo, no
torch or transformers, no rclpy and no ROS message package, at collection or while testing.

A pytest plugin (registered by conftest.py; `-p tier_guard` elsewhere). It notes which test module
or test first loaded each such module and, when every selected test is marked core, fails the run
naming them (files with no selected test are not held to it). A heavy import belongs inside the test or fixture that needs it, and that test is
marked sim, ros or gpu.
"""

from __future__ import annotations

import sys

import pytest

HEAVY_ROOTS = frozenset({"mujoco", "torch", "transformers", "rclpy", "rosidl_runtime_py", "rosidl_parser",
                         "rpyutils", "launch", "launch_ros", "tf2_ros", "rosbag2_py"})
ROS_MESSAGE_SUFFIXES = ("_msgs", "_srvs", "_interfaces")  # sensor_msgs, std_srvs, builtin_interfaces, ...


def is_heavy(module: str) -> bool:
    root = module.partition(".")[0]
    if root.startswith("test_"):  # a test module (test_interfaces) is not a message package
        return False
    return root in HEAVY_ROOTS or root.endswith(ROS_MESSAGE_SUFFIXES)


def heavy_loaded() -> set[str]:
    return {name.partition(".")[0] for name in list(sys.modules) if is_heavy(name)}


class CoreTierGuard:
    """Attributes every heavy top-level module to the collector or test during which it appeared."""

    def __init__(self) -> None:
        self.before_collection = heavy_loaded()
        self.seen = set(self.before_collection)
        self.culprits: dict[str, list[str]] = {}  # nodeid -> heavy modules it loaded first
        self.core_only = False
        self._worker_lines: list[str] = []  # what pytest-xdist workers reported (on the controller)

    def _note(self, nodeid: str) -> None:
        new = heavy_loaded() - self.seen
        if new:
            self.seen |= new
            self.culprits.setdefault(nodeid, []).extend(sorted(new))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        yield
        self._note(collector.nodeid)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.core_only = bool(session.items) and all(i.get_closest_marker("core") for i in session.items)
        # a file none of whose tests were selected may import what its own tests need (`-k`, `-m "core
        # and ..."` still import every file); `-m core` alone does not import such files (conftest.py)
        selected_files = {i.nodeid.split("::")[0] for i in session.items}
        self.culprits = {n: m for n, m in self.culprits.items() if n.split("::")[0] in selected_files}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        yield
        self._note(item.nodeid)

    def report(self) -> list[str]:
        lines = [f"{nodeid}: {', '.join(mods)}" for nodeid, mods in self.culprits.items()]
        if self.before_collection:
            lines.insert(0, f"(before collection: a plugin or .pth): {', '.join(sorted(self.before_collection))}")
        return lines + [line for line in self._worker_lines if line not in lines]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        workeroutput = getattr(getattr(session, "config", None), "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: the controller decides (pytest_testnodedown)
            workeroutput["core_tier_guard"] = {"core_only": self.core_only, "report": self.report()}
            return
        if self.core_only and self.report() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """pytest-xdist (`-n K`, the fast tier): each worker collects and guards; the controller, which
        collects nothing itself, fails the run on what any worker reports."""
        out = getattr(node, "workeroutput", {}).get("core_tier_guard")
        if out and out["core_only"]:
            self.core_only = True
            for line in out["report"]:
                if line not in self._worker_lines:
                    self._worker_lines.append(line)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.core_only and self.report():
            terminalreporter.section("core tier loaded heavy modules", sep="=", red=True, bold=True)
            for line in self.report():
                terminalreporter.line(line)


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("core_tier_guard"):
        config.pluginmanager.register(CoreTierGuard(), "core_tier_guard")


def pytest_configure(config: pytest.Config) -> None:
    register(config)
