"""Evaluation in worker processes vs one process, in the same run: wall time for the same seeded
episodes with 1 and with K workers, the speedup, and whether the per-episode results are identical.
With --ray-address (e.g. local) the same episodes also run on K Ray actors (cluster start included).
With --qa-n N, also spatial QA's question scenes (N per category) rendered in 1 and in K processes.
Run: `python bench/bench_eval_workers.py [--episodes 20] [--workers 2] [--policy geometric] [--ray-address local]
[--qa-n 50]` (--episodes 0 skips the eval part)."""

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
    parser.add_argument("--qa-n", type=int, default=0, help="spatial QA questions per category (0: skip)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.episodes > 0:
        bench_eval(args)
    if args.qa_n > 0:
        bench_spatial_qa(args)


def bench_spatial_qa(args: argparse.Namespace) -> None:
    from spatialbot_ros.apps.spatial_qa import generate_qa

    t0 = time.perf_counter()
    one = generate_qa(args.qa_n, args.seed)
    t1 = time.perf_counter()
    many = generate_qa(args.qa_n, args.seed, workers=args.workers)
    t2 = time.perf_counter()
    same = [(q.question, q.truth) for _, q in one] == [(q.question, q.truth) for _, q in many]
    print(f"spatial QA, {len(one)} questions ({args.qa_n} per category), seed {args.seed}")
    print(f"1 process:  {t1 - t0:7.1f} s")
    print(f"{args.workers} workers: {t2 - t1:7.1f} s (incl. worker start); speedup {(t1 - t0) / (t2 - t1):.2f}x; "
          f"questions identical: {same}")


def bench_eval(args: argparse.Namespace) -> None:
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
