"""One message must never crash or deafen a node: every subscription and service callback is
wrapped so that an exception is logged (throttled) and dropped, and the executor keeps serving."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def loggable(text: str) -> str:
    """text as rcutils can log it: a lone surrogate (which a JSON goal can carry) makes rclpy's log
    call raise, so it is escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def guarded(node: Any, callback: Callable[..., Any], fallback: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """callback, but exceptions are logged on node's logger; fallback(*args) is returned instead
    (for services it must return the response object, e.g. lambda req, res: res)."""

    @functools.wraps(callback)
    def wrapper(*args: Any) -> Any:
        try:
            return callback(*args)
        except Exception as exc:  # noqa: BLE001 - the point: nothing a message carries may stop the executor
            text = loggable(f"{type(exc).__name__}: {exc}")
            node.get_logger().error(f"{getattr(callback, '__name__', 'callback')} dropped a message: {text[:300]}",
                                    throttle_duration_sec=1.0)
            return fallback(*args) if fallback is not None else None

    return wrapper
