"""The one `main()` every node shares: init, build, spin, destroy, shutdown in try/finally.

A node whose executor dies must not linger deaf (alive to `up` and the launch file, ignoring
e-stops and goals): any exception out of the spin is logged, the node's `safe_stop()` (if it has
one: stop the arm) runs, and the process exits non-zero so `up` and the launch files' on_exit
handlers bring the whole cell down."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

log = logging.getLogger(__name__)


def run_node(factory: Callable[[], Node], args: list[str] | None = None,
             spin: Callable[[Node], None] | None = None) -> None:
    """spin: how to drive the node (default rclpy.spin), e.g. a polling loop for a camera driver."""
    rclpy.init(args=args)
    node = None
    failed = False
    try:
        node = factory()
        (spin or rclpy.spin)(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        failed = True
        log.exception("node %s: executor stopped by an exception; stopping", getattr(node, "get_name", lambda: "?")())
    finally:
        if node is not None:
            safe_stop = getattr(node, "safe_stop", None)
            if callable(safe_stop):
                try:
                    safe_stop()
                except Exception:  # noqa: BLE001 - best effort on the way out
                    log.exception("safe_stop failed")
            node.destroy_node()
        rclpy.try_shutdown()
    if failed:
        sys.exit(1)


def spin_multithreaded(node: Node, threads: int = 4) -> None:
    """rclpy.spin on a MultiThreadedExecutor (for nodes whose callbacks may wait, e.g. action servers)."""
    from rclpy.executors import MultiThreadedExecutor

    executor = MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        executor.spin()
    finally:
        executor.shutdown()
