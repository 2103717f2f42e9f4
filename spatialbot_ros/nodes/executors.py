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

import threading
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


class PoolExecutor(MultiThreadedExecutor):
    """MultiThreadedExecutor whose spin loop waits for a queued callback to start (see module doc)."""

    def __init__(self, num_threads: int | None = None, *, context: object | None = None) -> None:
        super().__init__(num_threads, context=context)
        self._queued: dict[Task, threading.Event] = {}
        self._queued_lock = threading.Lock()

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
