"""The one `main()` every node shares: init, build, spin, destroy, shutdown in try/finally."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(factory: Callable[[], Node], args: list[str] | None = None,
             spin: Callable[[Node], None] | None = None) -> None:
    """spin: how to drive the node (default rclpy.spin), e.g. a polling loop for a camera driver."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        (spin or rclpy.spin)(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


def spin_multithreaded(node: Node, threads: int = 4) -> None:
    """rclpy.spin on a MultiThreadedExecutor (for nodes whose callbacks may wait, e.g. action servers)."""
    from rclpy.executors import MultiThreadedExecutor

    executor = MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        executor.spin()
    finally:
        executor.shutdown()
