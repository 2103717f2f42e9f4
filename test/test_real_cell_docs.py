"""Every command in docs/real_cell.md (and the real-cell lines of README) names things that exist:
topics, services and actions with the types the nodes create, launch files with their declared
arguments, and `spatialbot-ros` command lines that the CLI accepts. The commands' behaviour is run
against the emulator in test_cell_emulated.py; this keeps the page from drifting away from it."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.core
ROOT = Path(__file__).resolve().parents[1]
PICK_PLACE = yaml.safe_load((ROOT / "config/pick_place.yaml").read_text())["pick_place"]["ros__parameters"]
# what the nodes create, by the parameter that names it
INTERFACES = {
    PICK_PLACE["arm_service"]: ("service", "std_srvs/srv/SetBool"),
    PICK_PLACE["reset_estop_service"]: ("service", "std_srvs/srv/Trigger"),
    PICK_PLACE["estop_topic"]: ("topic", "std_msgs/Bool"),
    PICK_PLACE["goal_topic"]: ("topic", "std_msgs/String"),
    PICK_PLACE["action_name"]: ("action", "spatialbot_interfaces/action/PickPlace"),
}


def commands(text: str) -> list[str]:
    """Indented command lines (continuations joined), as a reader would copy them."""
    out, current = [], ""
    for line in text.splitlines():
        if line.startswith("    ") and not line.strip().startswith("#"):
            text = line.strip().split("  # ")[0].strip()
            current = f"{current} {text}".strip() if current else text
            if current.endswith("\\"):
                current = current[:-1].strip()
                continue
            out.append(current)
        current = ""
    return out


def doc_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Real robot"):readme.index("## ROS 2 graph")]
    return commands((ROOT / "docs/real_cell.md").read_text()) + commands(section)


def test_the_page_has_the_commands_a_user_needs():
    text = " ".join(doc_commands())
    for needed in ("ros2 launch spatialbot_ros ur5_cell.launch.py", "ros2 service call /pick_place/arm",
                   "ros2 topic pub --once /spatialbot/estop", "ros2 service call /spatialbot/reset_estop",
                   "spatialbot-ros calibrate", "spatialbot-ros up cell-emulated"):
        assert needed in text, needed


@pytest.mark.parametrize("cmd", [c for c in doc_commands() if c.startswith("ros2 ") and " launch " not in c])
def test_ros2_commands_name_interfaces_the_nodes_create_with_their_types(cmd):
    all_words = shlex.split(cmd)
    words = [w for w in all_words if not w.startswith("--")]
    verb = words[1]
    name, kind = words[3], words[4]
    assert name in INTERFACES, f"{cmd}: {name} is not created by pick_place"
    assert INTERFACES[name] == (verb, kind), f"{cmd}: pick_place makes {name} a {INTERFACES[name]}"
    if verb == "topic":
        assert words[2] == "pub" and "--once" in all_words
    if len(words) > 5:
        assert isinstance(yaml.safe_load(words[5]), dict)


def _declared_launch_arguments(launch_file: Path) -> set[str]:
    tree = ast.parse(launch_file.read_text())
    table = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ARGUMENTS")
    return {elt.elts[0].value for elt in table.value.elts}


@pytest.mark.parametrize("cmd", [c for c in doc_commands() if c.startswith("ros2 launch")])
def test_launch_commands_use_real_files_and_declared_arguments(cmd):
    words = shlex.split(cmd)
    assert words[2] == "spatialbot_ros"
    launch_file = ROOT / "launch" / words[3]
    assert launch_file.exists(), words[3]
    declared = _declared_launch_arguments(launch_file)
    for arg in words[4:]:
        name = arg.split(":=")[0]
        assert name in declared, f"{cmd}: {name} is not an argument of {words[3]}"


@pytest.mark.parametrize("cmd", [c for c in doc_commands() if c.startswith("spatialbot-ros ")])
def test_spatialbot_ros_command_lines_parse(cmd):
    from spatialbot_ros.cli import build_parser

    args = build_parser().parse_args(shlex.split(cmd)[1:])
    assert callable(args.func)


def test_failure_reasons_named_on_the_page_exist():
    from spatialbot_ros.core.task import FailureReason

    text = (ROOT / "docs/real_cell.md").read_text()
    section = text[text.index("## 4. Goals"):text.index("## 5. E-stop")]
    named = set(re.findall(r"`([a-z_]+)`", section)) - {"failure_reason"}
    assert named and named <= {r.value for r in FailureReason}, named - {r.value for r in FailureReason}
