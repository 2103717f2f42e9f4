"""Red-team suite plumbing: every probe names its surface; the run ends with a table
(surface, probes, clean). The full suite (SIGKILL trials, subprocess CLI runs, DDS graphs) runs with
SPATIALBOT_ROBUSTNESS=full (`spatialbot-ros selftest --robustness`); a plain pytest run takes the
fast slice."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surfaces import SURFACES  # noqa: E402

FULL = os.environ.get("SPATIALBOT_ROBUSTNESS", "") == "full"
_results: dict[str, dict[str, int]] = defaultdict(lambda: {"probes": 0, "clean": 0, "items": 0})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_full = pytest.mark.skip(reason="full robustness suite only: spatialbot-ros selftest --robustness")
    for item in items:
        if "robustness" not in str(item.fspath):
            continue
        marker = item.get_closest_marker("surface")
        if marker is None or not marker.args or marker.args[0] not in SURFACES:
            raise pytest.UsageError(f"{item.nodeid}: robustness probes need @pytest.mark.surface(<one of "
                                    f"{sorted(SURFACES)}>)")
        if item.get_closest_marker("robustness_full") is not None and not FULL:
            item.add_marker(skip_full)


@pytest.fixture()
def probes(request: pytest.FixtureRequest):
    """probes(n): this test ran n probes (default: one per test)."""
    def add(n: int = 1) -> None:
        request.node.user_properties.append(("probes", n))

    return add


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("surface")
    if marker is None or "robustness" not in str(item.fspath):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if report.skipped:
            return
        n = sum(v for k, v in item.user_properties if k == "probes") or 1
        row = _results[marker.args[0]]
        row["probes"] += n
        row["items"] += 1
        row["clean"] += n if report.passed else 0


def robustness_table() -> str:
    rows = [(s, r["probes"], r["clean"]) for s, r in _results.items()]
    rows.sort(key=lambda r: list(SURFACES).index(r[0]))
    total_p, total_c = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = ["| surface | probes | clean |", "|---|---:|---:|"]
    lines += [f"| {s} | {p} | {c} ({c / p:.0%}) |" for s, p, c in rows]
    lines.append(f"| **all** | **{total_p}** | **{total_c} ({(total_c / total_p if total_p else 0):.0%})** |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _results:
        return
    terminalreporter.write_sep("=", f"robustness ({'full' if FULL else 'fast slice'})")
    terminalreporter.write_line(robustness_table())
    out = os.environ.get("SPATIALBOT_ROBUSTNESS_TABLE")
    if out:
        Path(out).write_text(robustness_table() + "\n")
