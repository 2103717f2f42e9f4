"""Safe, bounded loading of scene and config files (YAML or JSON).

yaml.safe_load refuses code but not cost: a 1 kB alias bomb expands to ~400M nodes, deep nesting
overflows the stack and an 8 MB file of objects takes minutes downstream. Here a file is refused
before it is built when it is too big (bytes), has too many aliases, too many nodes once aliases are
expanded, or is nested too deeply; the YAML events are counted with the C parser where available,
so the check costs a fraction of the parse. Errors name the file and say what limit was hit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spatialbot_ros.core.errors import InputFileError, SpatialBotError, short_repr

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class InputLimits:
    """Defaults fit the largest real inputs (a 1000-scene eval file is ~1.5 MB, ~60k nodes) with room."""

    max_bytes: int = 4 * 2**20
    max_nodes: int = 250_000     # scalars + collections after alias expansion
    max_aliases: int = 64
    max_depth: int = 32
    string_keys: bool = True     # every mapping key a string (field names)


DEFAULT_LIMITS = InputLimits()


def load_structured_file(path: Path | str, limits: InputLimits = DEFAULT_LIMITS, what: str = "file",
                         error: type[SpatialBotError] = InputFileError) -> Any:
    """Parse a .json file as JSON and anything else as YAML, within `limits`; `error` is raised
    (message: '<path>: <what>: <problem>')."""
    p = Path(path)
    text = read_text_bounded(p, limits.max_bytes, what, error)
    fmt = "json" if p.suffix.lower() == ".json" else "yaml"
    return loads_structured(text, str(p), fmt, limits, what, error)


def read_text_bounded(path: Path, max_bytes: int, what: str = "file",
                      error: type[SpatialBotError] = InputFileError) -> str:
    """UTF-8 text of a regular file of at most max_bytes (never reads more than max_bytes + 1)."""
    try:
        if not path.exists():
            raise error(f"{path}: cannot read the {what}: no such file; check the path")
        if not path.is_file():
            raise error(f"{path}: not a regular file (a directory or device?); give a {what} path")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise error(f"{path}: {what} is larger than the {max_bytes // 2**20} MB limit; split it into smaller files")
    if b"\x00" in data:
        raise error(f"{path}: {what} is binary (NUL bytes), expected YAML or JSON text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text (byte {exc.start}); save it as UTF-8 YAML or JSON") from exc


def loads_structured(text: str, source: str, fmt: str = "yaml", limits: InputLimits = DEFAULT_LIMITS,
                     what: str = "file", error: type[SpatialBotError] = InputFileError) -> Any:
    def fail(msg: str) -> SpatialBotError:
        return error(f"{source}: {what}: {msg}")

    if len(text) > limits.max_bytes:
        raise fail(f"larger than the {limits.max_bytes // 2**20} MB limit")
    if fmt == "json":
        try:
            data = json.loads(text)
        except SpatialBotError:
            raise
        except RecursionError:
            raise fail(f"nested deeper than {limits.max_depth} levels") from None
        except ValueError as exc:  # JSONDecodeError, or an integer over Python's 4300-digit limit
            raise fail(f"not valid JSON: {short_repr(str(exc), 160)}") from None
        _check_tree(data, limits, fail)
        return data
    try:
        _check_yaml_events(text, limits, fail)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
    except SpatialBotError:
        raise
    except yaml.YAMLError as exc:
        raise fail(f"not valid YAML: {short_repr(str(exc), 200)}") from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a 5000-digit integer
        raise fail(f"a value cannot be represented: {short_repr(str(exc), 160)}") from None
    _check_tree(data, limits, fail)
    return data


def _check_yaml_events(text: str, limits: InputLimits, fail: Any) -> None:
    """Count nodes (aliases expanded by size, never by copying), aliases and depth from the event
    stream, before anything is constructed."""
    anchors: dict[str, int] = {}  # anchor -> node count of its value, aliases inside it expanded
    stack: list[list[Any]] = []   # per open collection: [anchor, node count so far (itself included)]
    total = aliases = 0

    def count(n: int) -> None:
        """n more nodes in the document (and in the collection being read)."""
        nonlocal total
        total += n
        if total > limits.max_nodes:
            raise fail(f"more than {limits.max_nodes} values (aliases expanded); the file is too large to be a "
                       "scene or config")
        if stack:
            stack[-1][1] += n

    for ev in _events(text):
        if isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.max_aliases:
                raise fail(f"more than {limits.max_aliases} YAML aliases (*name); write the values out")
            count(anchors.get(ev.anchor, 1))
        elif isinstance(ev, yaml.ScalarEvent):
            if ev.anchor:
                anchors[ev.anchor] = 1
            count(1)
        elif isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(stack) >= limits.max_depth:
                raise fail(f"nested deeper than {limits.max_depth} levels")
            count(1)
            stack.append([ev.anchor, 1])
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, n = stack.pop()
            if anchor:
                anchors[anchor] = n
            if stack:
                stack[-1][1] += n - 1  # its children were counted in the total as they came


def _events(text: str) -> Iterator[yaml.Event]:
    loader = _Loader(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def _check_tree(data: Any, limits: InputLimits, fail: Any) -> None:
    """Depth, node count and key types of the built structure (iterative: no recursion limit)."""
    todo: list[tuple[Any, int, str]] = [(data, 0, "")]
    seen = 0
    while todo:
        value, depth, where = todo.pop()
        seen += 1
        if seen > limits.max_nodes:
            raise fail(f"more than {limits.max_nodes} values; the file is too large to be a scene or config")
        if isinstance(value, (dict, list)) and depth >= limits.max_depth:  # the top collection is level 1
            raise fail(f"nested deeper than {limits.max_depth} levels (at {where or 'top level'})")
        if isinstance(value, dict):
            for k, v in value.items():
                if limits.string_keys and not isinstance(k, str):
                    raise fail(f"key {short_repr(k, 40)} at {where or 'top level'} is a "
                               f"{type(k).__name__}; field names must be strings")
                todo.append((v, depth + 1, f"{where}.{k}" if where else str(k)))
        elif isinstance(value, list):
            todo.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))
