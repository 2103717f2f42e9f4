"""The one `main()` every node shares: init, build, spin, stop, destroy, shutdown in try/finally.

Ctrl-C, SIGTERM (what `up` and launch send) or a dead executor all end the same way, in this order:
the node's `safe_stop()` (if it has one: stop the arm) while the ROS context still works, so the
stop can still reach the driver; then destroy and shutdown. rclpy's own signal handlers would shut
the context down first (a stop sent afterwards is lost), so the runner installs its own and spins
in short slices so that they run promptly. A node whose executor died from an exception exits
non-zero, so `up` and the launch files' on_exit handlers bring the whole cell down."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from spatialbot_ros.nodes.executors import PoolExecutor

log = logging.getLogger(__name__)
SPIN_SLICE_S = 0.1  # how long a signal can wait for the spin to return to Python


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_node(factory: Callable[[], Node], args: list[str] | None = None,
             spin: Callable[[Node], None] | None = None) -> None:
    """spin: how to drive the node (default: a single-threaded executor), e.g. a polling loop for a
    camera driver. It must return to Python at least every SPIN_SLICE_S."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    node = None
    failed = False
    try:
        node = factory()
        (spin or spin_single)(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        failed = True
        log.exception("node %s: executor stopped by an exception; stopping", getattr(node, "get_name", lambda: "?")())
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
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


def _spin_in_slices(executor: Executor, node: Node) -> None:
    executor.add_node(node)
    try:
        while rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_SLICE_S)
    finally:
        executor.shutdown()


def spin_single(node: Node) -> None:
    _spin_in_slices(SingleThreadedExecutor(), node)


def spin_multithreaded(node: Node, threads: int = 4) -> None:
    """A thread pool (for nodes whose callbacks may wait, e.g. action servers): rclpy's
    MultiThreadedExecutor without its hot spin loop (nodes/executors.py)."""
    _spin_in_slices(PoolExecutor(num_threads=threads), node)
