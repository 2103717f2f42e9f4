"""nodes/executors.PoolExecutor: a callback waiting in the pool is handed over once, and the spin thread
waits meanwhile. rclpy's own MultiThreadedExecutor (Jazzy) queues it again on every loop
(ros2/rclpy#1452); under GIL contention that loop ran hot and starved the pick_place graph's 25 Hz
timer in CI (stale camera frames, half-speed trajectories)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.ros


def _submits_while_the_only_worker_is_busy(executor_type) -> Counter:
    """One worker thread, held 0.4 s by a slow timer callback; a second timer comes due meanwhile
    and waits in the pool's queue. Returns how often each task was handed to the pool meanwhile."""
    import rclpy
    from rclpy.callback_groups import ReentrantCallbackGroup

    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=230)
    node = rclpy.create_node("pool_probe", context=ctx)
    group = ReentrantCallbackGroup()
    slow_started = threading.Event()

    def slow() -> None:
        if not slow_started.is_set():
            slow_started.set()
            time.sleep(0.4)

    node.create_timer(0.05, slow, callback_group=group)
    node.create_timer(0.02, lambda: None, callback_group=group)
    ex = executor_type(num_threads=1, context=ctx)
    ex.add_node(node)
    submits: Counter = Counter()
    real_submit = ex._executor.submit

    def counting_submit(fn, *args):
        if slow_started.is_set():
            submits[id(args[0]) if args else id(fn)] += 1
        return real_submit(fn, *args)

    ex._executor.submit = counting_submit

    def spin() -> None:
        while not slow_started.is_set() or time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.1)

    deadline = time.monotonic() + 5.0
    thread = threading.Thread(target=spin)
    thread.start()
    assert slow_started.wait(5.0)
    deadline = time.monotonic() + 0.35  # inside the slow callback's 0.4 s
    thread.join(10.0)
    ex.shutdown()
    node.destroy_node()
    ctx.try_shutdown()
    # the queued timer callbacks still run on the pool and raise InvalidHandle (their node is gone): wait
    # for them and retrieve those errors, or the garbage collector prints them into a later test
    end = time.monotonic() + 5.0
    while not all(task.done() for task in ex._futures) and time.monotonic() < end:
        time.sleep(0.01)
    for task in ex._futures:
        task.exception()
    return submits


def test_a_queued_callback_is_handed_to_the_pool_once():
    from spatialbot_ros.nodes.executors import PoolExecutor

    submits = _submits_while_the_only_worker_is_busy(PoolExecutor)
    assert submits and max(submits.values()) == 1, submits


def test_rclpys_own_executor_hands_it_over_again_and_again():
    """The bug the PoolExecutor exists for, still present in the installed rclpy: when this starts
    failing, rclpy has the upstream fix and PoolExecutor can go."""
    from rclpy.executors import MultiThreadedExecutor

    submits = _submits_while_the_only_worker_is_busy(MultiThreadedExecutor)
    assert max(submits.values()) > 1, submits


def test_callbacks_still_run_on_the_pool_and_their_exceptions_end_the_spin():
    import rclpy

    from spatialbot_ros.nodes.executors import PoolExecutor

    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=231)
    node = rclpy.create_node("pool_probe_errors", context=ctx)
    ran: list[str] = []

    def boom() -> None:
        ran.append(threading.current_thread().name)
        raise RuntimeError("callback failed")

    node.create_timer(0.01, boom)
    ex = PoolExecutor(num_threads=2, context=ctx)
    ex.add_node(node)
    try:
        with pytest.raises(RuntimeError, match="callback failed"):
            end = time.monotonic() + 5.0
            while time.monotonic() < end:
                ex.spin_once(timeout_sec=0.05)
        assert ran and all(name != threading.current_thread().name for name in ran)
    finally:
        ex.shutdown()
        node.destroy_node()
        ctx.try_shutdown()


def _error_after_the_last_spin_is_printed_at_gc(executor_type, capfd) -> str:
    """A callback handed to the pool raises after the spin thread's last turn (a node destroyed while
    its callback runs, at teardown); the executor is shut down and freed. Returns what went to stderr."""
    import gc

    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=232)
    node = rclpy.create_node("pool_probe_teardown", context=ctx)
    release = threading.Event()
    fired = threading.Event()

    def late_failure() -> None:
        if fired.is_set():
            return
        fired.set()
        release.wait(5.0)
        raise RuntimeError("node destroyed under its callback")

    node.create_timer(0.01, late_failure)
    ex = executor_type(num_threads=1, context=ctx)
    ex.add_node(node)
    end = time.monotonic() + 5.0
    while not fired.is_set() and time.monotonic() < end:
        ex.spin_once(timeout_sec=0.05)  # hands the callback over; no turn after it fails
    assert fired.is_set()
    gc.collect()  # what earlier tests in this process left prints now, not below
    capfd.readouterr()
    release.set()
    end = time.monotonic() + 10.0
    while not all(task.done() for task in ex._futures) and time.monotonic() < end:
        time.sleep(0.01)  # the callback has raised: only who retrieves its error differs
    ex.shutdown()
    node.destroy_node()
    ctx.try_shutdown()
    del ex
    gc.collect()
    return capfd.readouterr().err


def test_a_callback_failing_after_the_last_spin_is_not_printed_into_the_next_test(capfd):
    """rclpy's Task prints an exception that nobody retrieved when the garbage collector frees it:
    with rclpy's executor that line lands in whatever test runs next (it broke a CLI test's
    one-line-error check once); the PoolExecutor collects it at shutdown and logs it."""
    from rclpy.executors import MultiThreadedExecutor

    from spatialbot_ros.nodes.executors import PoolExecutor

    line = "never retrieved: node destroyed under its callback"
    assert line not in _error_after_the_last_spin_is_printed_at_gc(PoolExecutor, capfd)
    assert line in _error_after_the_last_spin_is_printed_at_gc(MultiThreadedExecutor, capfd)
