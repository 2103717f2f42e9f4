"""Typed backend configs from plain options (a backend_config YAML section, CLI keyword arguments).

Every backend has a config dataclass; this builds one from a mapping, nested dataclasses included,
and refuses a key the dataclass does not have, naming the ones it does: a typo in an options file
must be an error, never a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def config_from_options(cls: type[T], options: dict[str, Any] | None, where: str = "") -> T:
    """`cls(**options)` with nested dataclass fields built from nested mappings, lists turned into
    tuples where the field is a tuple, and enum fields from their values."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(options or {}, dict):
        raise ValueError(f"{where or cls.__name__}: options must be a mapping, got {type(options).__name__}")
    opts = dict(options or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(opts) - names)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {where or cls.__name__}; known: {sorted(names)}")
    kwargs = {key: _coerce(hints.get(key, Any), value, f"{where}.{key}" if where else key)
              for key, value in opts.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or len(args) != 1:
            return value
        hint, origin = args[0], typing.get_origin(args[0])
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a mapping of {hint.__name__} options, got {type(value).__name__}")
        return config_from_options(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum) and not isinstance(value, hint):
        try:
            return hint(value)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not one of {[m.value for m in hint]}") from None
    if (origin is tuple or hint is tuple) and isinstance(value, list):
        return tuple(value)
    return value
