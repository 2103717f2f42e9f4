"""The import contract: spatialbot_ros is a house of floors, and an import only goes down.

Every module of the package is parsed (nothing is imported, so this runs without ROS, MuJoCo or
torch) and every import in it is checked: module level, inside functions and classes, under
`if TYPE_CHECKING:` or `try:`, absolute and relative. A room is a sub-package or a top-level module;
a module may import its own room and any room on a lower floor, never a room on its own floor
(rooms on one floor are independent) or above it. A registry's "package.module:Name" strings are
imports too, made when a backend is chosen; they are checked the same way.

An own checker rather than import-linter: about a hundred lines with no dependency to pin, it sees
function-level imports and registry strings, and its failure message names the file, the line,
both rooms and both floors. The last tests run it on a copy of the package with a back-up import
added, so a checker that stopped seeing imports would fail here.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

PACKAGE = "spatialbot_ros"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

# Lowest floor first (design.md "Layers"; shared layout). "" is the package's own __init__.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("",),
    ("core", "dds_env", "callback_guard"),                     # numpy/OpenCV algorithms; process plumbing
    ("datasets", "policy", "motion", "camera", "teleop"),      # formats, backends, devices over the core
    ("sim", "executive"),                                      # the simulated world; the state machine
    ("apps",),                                                 # episode, evaluate, demo, spatial QA, ...
    ("learn",),                                                # demonstrations, collection, DAgger, training
    ("nodes",),                                                # rclpy glue
    ("graph_up", "commander", "selftest"),                     # the graph launcher, the user's client
    ("cli",),                                                  # the one command line over all of it
)

# Registry strings that point up, each with the reason it is accepted. Static imports have none.
ALLOWED_REGISTRY_ENTRIES: dict[tuple[str, str], str] = {
    ("spatialbot_ros.motion.registry", "spatialbot_ros.sim.mujoco_backend"):
        "make_motion_backend('mujoco', cell=...) names the simulated cell's backend like the real ones; "
        "it is loaded only when chosen and needs a Ur5Cell object, so only sim/apps code can choose it",
}

_REGISTRY_STRING = re.compile(rf"^({PACKAGE}(?:\.\w+)+):\w+$")


@dataclass(frozen=True)
class Edge:
    importer: str  # dotted module that imports
    target: str  # dotted module it imports
    path: Path
    line: int
    dynamic: bool  # a registry string, not an import statement


def module_name(path: Path, package_dir: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package_dir: Path) -> dict[str, Path]:
    return {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}


def _resolve(base: str, names: list[str], known: dict[str, Path]) -> list[str]:
    """`from base import a, b`: a name that is a module of the package is that module, else base."""
    out = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
    return out if len(out) == len(names) else [*out, base]


def edges(package_dir: Path) -> list[Edge]:
    """Every import of the package by the package, static and registry strings."""
    known = _modules(package_dir)
    package = package_dir.name
    found: list[Edge] = []
    for importer, path in known.items():
        own_package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for kind, base, names, level, line in _file_imports(path.read_text(encoding="utf-8")):
            if kind == "from" and level:
                up = own_package.split(".")
                base = ".".join(up[: len(up) - level + 1] + ([base] if base else []))
            targets = _resolve(base, list(names), known) if kind == "from" else [base]
            for target in targets:
                if target == package or target.startswith(package + "."):
                    found.append(Edge(importer, target, path, line, kind == "registry"))
    return found


@functools.cache
def _file_imports(source: str) -> tuple[tuple[str, str, tuple[str, ...], int, int], ...]:
    """(kind, module, names, level, line) of every import statement and registry string in one
    module's source; cached, so a copied tree with one file changed parses only that file again."""
    found: list[tuple[str, str, tuple[str, ...], int, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [("import", a.name, (), 0, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(("from", node.module or "", tuple(a.name for a in node.names), node.level, node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _REGISTRY_STRING.match(node.value)
            if match:
                found.append(("registry", match.group(1), (), 0, node.lineno))
    return tuple(found)


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(package_dir: Path, found: list[Edge] | None = None, layers: tuple[tuple[str, ...], ...] = LAYERS,
               allowed: dict[tuple[str, str], str] | None = None) -> list[str]:
    """One line per import that does not go down (file:line, both rooms and floors), and one per
    room that has no floor. `found`: edges(package_dir) when already computed."""
    allowed = ALLOWED_REGISTRY_ENTRIES if allowed is None else allowed
    floor = {r: i for i, rooms in enumerate(layers) for r in rooms}
    out = [f"room '{r}' ({package_dir.name}/{r}) has no floor in LAYERS"
           for r in sorted({room(m) for m in _modules(package_dir)} - set(floor))]
    for e in edges(package_dir) if found is None else found:
        a, b = room(e.importer), room(e.target)
        if a == b or a not in floor or b not in floor or floor[b] < floor[a]:
            continue
        if e.dynamic and (e.importer, e.target) in allowed:
            continue
        where = "on its own floor" if floor[b] == floor[a] else "up"
        kind = "names (registry string)" if e.dynamic else "imports"
        out.append(f"{e.path.relative_to(package_dir.parent)}:{e.line}: {e.importer} {kind} {e.target} "
                   f"{where}: room '{a}' (floor {floor[a]}) -> room '{b}' (floor {floor[b]})")
    return out


@pytest.fixture(scope="module")
def package_edges() -> list[Edge]:
    return edges(PACKAGE_DIR)


def test_every_import_of_the_package_goes_down_a_floor(package_edges: list[Edge]):
    found = violations(PACKAGE_DIR, package_edges)
    assert not found, "imports that do not flow down:\n" + "\n".join(found)


def test_every_allowed_registry_entry_is_still_there(package_edges: list[Edge]):
    """A stale allowance would silently permit the next upward entry between the same modules."""
    present = {(e.importer, e.target) for e in package_edges if e.dynamic}
    assert set(ALLOWED_REGISTRY_ENTRIES) <= present, set(ALLOWED_REGISTRY_ENTRIES) - present


def test_the_checker_sees_the_package_imports_it_must_see(package_edges: list[Edge]):
    """Known edges of each kind: module level, function level, `from package import module`,
    registry string."""
    found = {(e.importer, e.target, e.dynamic) for e in package_edges}
    assert ("spatialbot_ros.apps.episode", "spatialbot_ros.executive.pick_place", False) in found
    assert ("spatialbot_ros.learn.collect", "spatialbot_ros.teleop.ros_topics", False) in found  # in a function
    assert ("spatialbot_ros.nodes.pick_place", "spatialbot_ros.nodes.pick_place_params", False) in found  # from pkg import mod
    assert ("spatialbot_ros.policy.registry", "spatialbot_ros.policy.onnx_policy", True) in found


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    """The package's Python files copied to a temporary tree, to add imports to (each test below
    asserts the whole list of violations, so the copy itself must be clean)."""
    dst = tmp_path / PACKAGE
    shutil.copytree(PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__", "data", "models", "*.onnx"))
    return dst


def _append(path: Path, code: str) -> int:
    """Appends code to the module; returns the line number of code's first line."""
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n"
    path.write_text(text + code, encoding="utf-8")
    return text.count("\n") + 1


def test_a_function_level_import_back_up_fails_the_contract_and_is_named(package_copy: Path):
    line = _append(package_copy / "core" / "geometry.py",
                   "def _sneaky():\n    from spatialbot_ros.nodes.pick_place import main\n\n    return main\n")
    found = violations(package_copy)
    assert found == [f"spatialbot_ros/core/geometry.py:{line + 1}: spatialbot_ros.core.geometry imports "
                     f"spatialbot_ros.nodes.pick_place up: room 'core' (floor 1) -> room 'nodes' (floor 6)"]


def test_a_relative_import_up_and_a_sibling_import_fail(package_copy: Path):
    line_rel = _append(package_copy / "motion" / "base.py", "from ..apps import episode  # noqa\n")
    line_sib = _append(package_copy / "policy" / "base.py", "from spatialbot_ros.motion import safety_gate  # noqa\n")
    found = violations(package_copy)
    assert len(found) == 2, found
    assert found[0].startswith(f"spatialbot_ros/motion/base.py:{line_rel}: spatialbot_ros.motion.base imports "
                               "spatialbot_ros.apps.episode up")
    assert found[1].startswith(f"spatialbot_ros/policy/base.py:{line_sib}: spatialbot_ros.policy.base imports "
                               "spatialbot_ros.motion.safety_gate on its own floor")


def test_a_registry_string_up_and_a_room_without_a_floor_fail(package_copy: Path):
    line = _append(package_copy / "policy" / "registry.py", 'EXTRA = {"demo": "spatialbot_ros.apps.demo:run_demo"}\n')
    (package_copy / "plugins").mkdir()
    (package_copy / "plugins" / "__init__.py").write_text('"""A new room nobody placed."""\n')
    found = violations(package_copy)
    assert found == ["room 'plugins' (spatialbot_ros/plugins) has no floor in LAYERS",
                     f"spatialbot_ros/policy/registry.py:{line}: spatialbot_ros.policy.registry names (registry "
                     "string) spatialbot_ros.apps.demo up: room 'policy' (floor 2) -> room 'apps' (floor 4)"]


def test_imports_down_and_inside_a_room_pass(package_copy: Path):
    _append(package_copy / "apps" / "demo.py", "def _fine():\n    from spatialbot_ros.core import geometry\n\n"
            "    return geometry\n")
    _append(package_copy / "policy" / "geometric.py", "from . import base as _base  # noqa\n")
    assert violations(package_copy) == []
