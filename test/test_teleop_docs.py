"""docs/teleop.md: every `spatialbot-ros` line is a command the CLI accepts, and the scripted
collection it opens with runs as written (one episode) and writes what the table says."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from test_real_cell_docs import commands

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs/teleop.md"


def doc_cli_lines() -> list[list[str]]:
    return [shlex.split(c)[1:] for c in commands(DOC.read_text()) if c.startswith("spatialbot-ros ")]


@pytest.mark.core
def test_every_command_on_the_page_parses():
    from spatialbot_ros.cli import build_parser

    lines = doc_cli_lines()
    collect = [a for a in lines if a[0] == "collect"]
    assert {a[a.index("--teleop") + 1] for a in collect} == {"scripted", "keyboard", "ros"}
    assert {a[0] for a in lines} == {"collect", "train", "dagger", "up"}
    assert ["up", "sim_collect"] == next(a[:2] for a in lines if a[0] == "up")
    for argv in lines:
        build_parser().parse_args(argv)


@pytest.mark.sim
def test_the_scripted_collection_runs_as_written(tmp_path):
    from spatialbot_ros.cli import main

    argv = next(a for a in doc_cli_lines() if "scripted" in a)
    argv[argv.index("--episodes") + 1] = "1"
    argv[argv.index("--out") + 1] = str(tmp_path / "c")
    assert main(argv) == 0
    info = json.loads((tmp_path / "c" / "meta" / "info.json").read_text())
    table_keys = [line.split("`")[1] for line in DOC.read_text().splitlines() if line.startswith("| `")]
    for key in table_keys:
        key = key.split("`")[0]
        if key.startswith("observation.images"):
            key = "observation.images.color"
        assert key in info["features"], key


@pytest.mark.core
def test_ros2_launch_lines_name_declared_arguments():
    import ast

    lines = [shlex.split(c) for c in commands(DOC.read_text()) if c.startswith("ros2 launch spatialbot_ros ")]
    assert {a[3] for a in lines} == {"collect.launch.py"} and len(lines) == 2
    tree = ast.parse((ROOT / "launch" / "collect.launch.py").read_text())
    declared = {a[0] for a in ast.literal_eval(next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                                                    and getattr(n.targets[0], "id", "") == "ARGUMENTS"))}
    for argv in lines:
        given = {a.split(":=")[0] for a in argv[4:]}
        assert given <= declared, given - declared
