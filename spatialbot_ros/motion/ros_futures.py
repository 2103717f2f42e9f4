"""Waiting on rclpy futures from a worker thread while the node is spun elsewhere.

rclpy.spin_until_future_complete(node, ...) moves the node into the global executor and drops it
from its own afterwards, so the camera and joint-state callbacks of a node spun by a
MultiThreadedExecutor stop. Motion code runs in the executive's thread and only waits: the
future completes through the node's own executor."""

from __future__ import annotations

import threading
from typing import Any


class FutureTimeout(TimeoutError):
    pass


def wait_future(future: Any, timeout_s: float, cancelled: threading.Event | None = None) -> Any:
    """The future's result once done; FutureTimeout after timeout_s; returns None early when the
    `cancelled` event is set (the caller decides what a preempted wait means)."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    step = 0.01
    waited = 0.0
    while not done.is_set():
        if cancelled is not None and cancelled.is_set():
            return None
        if waited >= timeout_s:
            raise FutureTimeout(f"no answer within {timeout_s:.1f} s")
        done.wait(step)
        waited += step
    return future.result()
