"""Hostile inputs shared by the probes and the before/after measurements (no test logic here)."""

from __future__ import annotations

import json
from pathlib import Path

VALID_SCENE = {
    "name": "probe", "instruction": "pick the red cup",
    "objects": [{"name": "red_cup", "kind": "cup", "color": "red", "position": [0.5, 0.1]},
                {"name": "white_plate", "kind": "plate", "color": "white", "position": [0.6, -0.12]}],
    "expected": {"pick": "red_cup", "place": "white_plate"},
}


def billion_laughs_yaml(levels: int = 9, fan: int = 9) -> str:
    """The classic alias bomb (about 1 kB): fan**levels strings once expanded. The anchors sit in an
    allowed field read last (category) and the bomb is an object's position, so a loader that expands
    aliases, or an error message that prints the bad value, blows up."""
    anchors = ['&a0 ["lol"' + ', "lol"' * (fan - 1) + "]"]
    anchors += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return ("category: [" + ", ".join(anchors) + "]\n"
            "name: bomb\ninstruction: pick the red cup\nexpected: {pick: red_cup}\n"
            f"objects: [{{name: red_cup, kind: cup, color: red, position: *a{levels - 1}}}]\n")


def many_objects_scene_json(n: int = 140_000) -> str:
    """A scene with n objects (about 8.5 MB at 140k), the last one malformed, so a loader without a
    count limit validates every object before it refuses the file."""
    objs = [{"name": f"cup_{i}", "kind": "cup", "color": "red", "position": [0.5, 0.1]} for i in range(n)]
    objs[-1]["kind"] = "unicorn"
    return json.dumps({**VALID_SCENE, "objects": objs})


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path
