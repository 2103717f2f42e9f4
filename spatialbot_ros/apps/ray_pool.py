"""Independent episodes on a Ray cluster, results in submission order.

Evaluation episodes carry their own seeds, so where they run does not change what they give:
`ordered_map` starts `workers` actors, each building its worker state once (a policy: model
loading is paid once per actor), and yields each item's result in the order the items came.
`address` is Ray's: "local" starts a private cluster on this machine, "auto" joins the one
`ray start --head` runs here, "ray://host:10001" a remote one. Every node of a remote cluster needs
this package installed at the same version (`scripts/setup.sh ray` there): the actors import it.
Ray is imported only here, and only when a Ray address is given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class RayUnavailable(RuntimeError):
    """Ray is not installed (scripts/setup.sh ray) or the cluster cannot be reached."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("--ray-address needs Ray: scripts/setup.sh ray (or pip install -r requirements/ray.txt)") from exc
    return ray


class _Worker:
    """One actor: its state is built once, then applied to item after item."""

    def __init__(self, make_state: Callable[[], Any], work: Callable[[Any, Any], Any]) -> None:
        self._state = make_state()
        self._work = work

    def run(self, item: Any) -> Any:
        return self._work(self._state, item)

    def node_id(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())


def ordered_map(make_state: Callable[[], Any], work: Callable[[Any, T], R], items: Iterable[T], *,
                workers: int, address: str) -> Iterator[R]:
    """work(state, item) for every item on `workers` Ray actors, yielded in item order."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "runtime_env": {"env_vars": {k: v for k, v in os.environ.items()
                                                               if k.startswith(("MUJOCO_", "PYOPENGL_", "SPATIALBOT_"))}}}
        if address == "local":
            kwargs["num_cpus"] = max(1, workers)
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc
        log.info("ray: %s, %d actors", ray.cluster_resources(), workers)
    try:
        actor_cls = ray.remote(num_cpus=1)(_Worker)
        actors = [actor_cls.remote(make_state, work) for _ in range(max(1, workers))]
        nodes = ray.get([a.node_id.remote() for a in actors])
        log.info("ray: %d actors on %d node(s): %s", len(actors), len(set(nodes)),
                 ", ".join(f"{n[:8]} x{nodes.count(n)}" for n in dict.fromkeys(nodes)))
        pool = ray.util.ActorPool(actors)
        yield from pool.map(lambda actor, item: actor.run.remote(item), list(items))
    finally:
        if started_here:
            ray.shutdown()
