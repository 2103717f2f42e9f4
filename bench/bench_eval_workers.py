"""Evaluation in worker processes vs one process, in the same run: wall time for the same seeded
episodes with 1 and with K workers, the speedup, and whether the per-episode results are identical.
With --ray-address (e.g. local) the same episodes also run on K Ray actors (cluster start included).
Run: `python bench/bench_eval_workers.py [--episodes 20] [--workers 2] [--policy geometric] [--ray-address local]`."""

from __future__ import annotations

import argparse
import logging
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--policy", default="geometric")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ray-address", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from spatialbot_ros.apps.evaluate import evaluate, scenes_for_eval

    scenes = scenes_for_eval(args.episodes, args.seed)
    t0 = time.perf_counter()
    _, one = evaluate(args.policy, scenes, seed=args.seed, progress=False)
    t1 = time.perf_counter()
    _, many = evaluate(args.policy, scenes, seed=args.seed, progress=False, workers=args.workers)
    t2 = time.perf_counter()

    def key(r):  # noqa: ANN001, ANN202
        return (r.scene, r.success, r.reason, r.message, r.place_error_m, r.sim_time_s)

    same = [key(r) for r in one] == [key(r) for r in many]
    print(f"{args.episodes} episodes, policy {args.policy}, seed {args.seed}")
    print(f"1 worker:  {t1 - t0:7.1f} s ({(t1 - t0) / args.episodes:.2f} s/episode)")
    print(f"{args.workers} workers: {t2 - t1:7.1f} s ({(t2 - t1) / args.episodes:.2f} s/episode, incl. worker start)")
    print(f"speedup {((t1 - t0) / (t2 - t1)):.2f}x; per-episode results identical: {same}")
    if args.ray_address:
        t3 = time.perf_counter()
        _, on_ray = evaluate(args.policy, scenes, seed=args.seed, progress=False, workers=args.workers,
                             ray_address=args.ray_address)
        t4 = time.perf_counter()
        same_ray = [key(r) for r in one] == [key(r) for r in on_ray]
        print(f"{args.workers} Ray actors ({args.ray_address}): {t4 - t3:7.1f} s (incl. cluster start); "
              f"speedup {((t1 - t0) / (t4 - t3)):.2f}x; per-episode results identical: {same_ray}")


if __name__ == "__main__":
    main()
