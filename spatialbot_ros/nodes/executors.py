"""A MultiThreadedExecutor that does not spin hot while a callback waits for a pool thread.

rclpy 7.x (Jazzy) yields every task that is neither executing nor done before it waits on DDS, and
the MultiThreadedExecutor only hands each one to its thread pool. A task queued in the pool but not
started yet is therefore yielded and queued again at once, without a wait, for as long as no worker
has picked it up; that loop holds the GIL, so the workers are slow to pick it up, and the loop feeds
itself. Measured on 2 cores with the pick_place node and one operator node: in about one start in
five the spin thread took a whole core and a 25 Hz timer fired 6-13 times a second (camera frames
went stale, trajectories ran at half speed). Upstream: ros2/rclpy#1452, fixed in rclpy 10.0.4
(#1547), not in the Jazzy wheels this project installs.

This executor hands a task to the pool once; when the task comes back before a worker has started
it, the spin thread waits (GIL released) until a worker does, instead of queueing it again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from rclpy.executors import (
    ConditionReachedException,
    ExternalShutdownException,
    MultiThreadedExecutor,
    ShutdownException,
    TimeoutException,
)
from rclpy.task import Task

REQUEUE_WAIT_S = 0.05  # at most this long per loop while every pool thread is busy
SHUTDOWN_WAIT_S = 1.0  # shutdown waits at most this long for callbacks still running on the pool

logger = logging.getLogger(__name__)


class PoolExecutor(MultiThreadedExecutor):
    """MultiThreadedExecutor whose spin loop waits for a queued callback to start (see module doc)."""

    def __init__(self, num_threads: int | None = None, *, context: object | None = None) -> None:
        super().__init__(num_threads, context=context)
        self._queued: dict[Task, threading.Event] = {}
        self._queued_lock = threading.Lock()

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        """Stop, then collect the errors of callbacks that ended after the last spin: a callback that
        raised while its node was being destroyed is logged here, not printed by the garbage collector
        into whatever runs next (rclpy's Task prints an exception nobody retrieved when it is freed)."""
        finished = super().shutdown(timeout_sec)
        wait_s = SHUTDOWN_WAIT_S if timeout_sec is None or timeout_sec < 0 else min(timeout_sec, SHUTDOWN_WAIT_S)
        end = time.monotonic() + wait_s  # bounded: a callback blocked for good must not hang the teardown
        while any(not t.done() for t in self._futures) and time.monotonic() < end:
            time.sleep(0.01)
        for task in [t for t in self._futures if t.done()]:
            self._futures.remove(task)
            error = task.exception()
            if error is not None:
                logger.debug("a callback raised after the executor's last spin: %r", error)
        return finished

    def _run(self, task: Task, started: threading.Event) -> None:
        started.set()
        try:
            task()
        finally:
            with self._queued_lock:
                self._queued.pop(task, None)

    def _spin_once_impl(self, timeout_sec: float | None = None,
                        wait_condition: Callable[[], bool] = lambda: False) -> None:
        try:
            task, _entity, _node = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
        except (ExternalShutdownException, ShutdownException, TimeoutException, ConditionReachedException):
            return
        with self._queued_lock:
            queued = self._queued.get(task)
            if queued is None:
                started = self._queued[task] = threading.Event()
        if queued is not None:
            queued.wait(REQUEUE_WAIT_S)  # a worker has it, or will: let it run
            return
        self._executor.submit(self._run, task, started)
        self._futures.append(task)
        for future in self._futures[:]:
            if future.done():
                self._futures.remove(future)
                future.result()  # a callback's exception ends the spin, as in rclpy
