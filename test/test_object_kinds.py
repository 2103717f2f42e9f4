"""The object-kind registry: built-ins in their fixed order (seeded scenes draw from it), declared
kinds validated when they are made, plugin registrations checked, and unknown kinds refused by name."""

import dataclasses
import math

import pytest

from spatialbot_ros.core import object_kinds
from spatialbot_ros.core.object_kinds import (
    KindRegistry,
    PrimitiveType,
    SupportRole,
    builtin_kinds,
    default_registry,
)

pytestmark = pytest.mark.core


def test_builtins_in_the_order_seeded_scenes_depend_on() -> None:
    reg = default_registry()
    assert reg.names[:5] == ("cup", "box", "sphere", "plate", "bowl")
    assert reg.graspable[:3] == ("cup", "box", "sphere")
    assert reg.supports(SupportRole.ON)[:1] == ("plate",) and reg.supports(SupportRole.INTO)[:1] == ("bowl",)
    assert {k.name: k.perceived_shape for k in builtin_kinds()} == {
        "cup": "cylinder", "box": "box", "sphere": "sphere", "plate": "plate", "bowl": "bowl"}


def test_sizes_footprints_and_geometry_of_builtins() -> None:
    reg = default_registry()
    box = reg["box"]
    size = {"half_extents": [0.03, 0.02], "height": 0.06}
    assert box.footprint(size) == pytest.approx((0.06, 0.04)) and box.reach_radius(size) == pytest.approx(math.hypot(0.03, 0.02))
    assert reg["sphere"].height({"radius": 0.03}) == pytest.approx(0.06)
    bowl = reg["bowl"].geometry({"radius": 0.08, "height": 0.05})
    assert bowl[0].type is PrimitiveType.CYLINDER and len(bowl) == 17  # a floor and 16 wall slabs: it is open
    for k in reg:
        for key, (lo, hi) in k.size_ranges.items():
            vals = k.default_size[key] if isinstance(k.default_size[key], list) else [k.default_size[key]]
            assert all(lo <= v <= hi for v in vals), (k.name, key)


def test_invalid_declarations_are_refused() -> None:
    cup = default_registry()["cup"]
    with pytest.raises(ValueError, match="perceived shape"):
        dataclasses.replace(cup, name="cone", perceived_shape="cone")
    with pytest.raises(ValueError, match="same keys"):
        dataclasses.replace(cup, name="odd", size_ranges={"radius": (0.02, 0.03)})
    with pytest.raises(ValueError, match="half_extents"):
        dataclasses.replace(cup, name="yawed_cup", yawed=True)
    with pytest.raises(ValueError, match="twice"):
        KindRegistry((cup, cup))
    with pytest.raises(KeyError, match="unknown object kind 'anvil'"):
        default_registry()["anvil"]


def test_a_plugin_entry_point_must_name_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    cup = default_registry()["cup"]

    class EP:
        name = "tin"

        @staticmethod
        def load() -> object:
            return dataclasses.replace(cup, name="can")

    monkeypatch.setattr(object_kinds, "entry_points", lambda group: [EP()])
    with pytest.raises(ValueError, match="'tin' names an ObjectKind called 'can'"):
        object_kinds._plugin_kinds()


def test_readme_scene_table_names_the_built_in_kinds_and_their_size_ranges():
    """The README's scene-file table is what users write scenes from: it must say what the kinds declare."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    kinds_row = next(line for line in readme.splitlines() if line.startswith("| `objects[]` |"))
    assert re.findall(r"`(\w+)`", kinds_row.split("`kind` (")[1].split(")")[0]) == list(builtin_kinds_names())
    size_row = next(line for line in readme.splitlines() if line.startswith("| `size` |"))
    for kind in builtin_kinds():
        stated = re.search(rf"{kind.name} `\{{([^}}]*)\}}`", size_row)
        assert stated, f"README size row lacks {kind.name}"
        for key, (lo, hi) in kind.size_ranges.items():
            assert re.search(rf"{key}(?: \[[^\]]*\])? {lo:g}-{hi:g}", stated.group(1)), f"README: {kind.name}.{key} is {lo:g}-{hi:g}"


def builtin_kinds_names() -> tuple[str, ...]:
    return tuple(k.name for k in builtin_kinds())
