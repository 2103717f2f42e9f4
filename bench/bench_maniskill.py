"""ManiSkill3 side by side: our zero-shot policy (camera only) against ManiSkill3's privileged
motion-planning solutions (ground-truth poses, mplib), on the same tasks and seeds.

Each side runs in its own venv (scripts/setup.sh maniskill / maniskill-planner: mplib 0.1.1 needs
numpy < 2). Prints one table: success, median episode length (control steps), wall time per episode.

    python bench/bench_maniskill.py --tasks StackCube-v1 PlaceSphere-v1 --episodes 20 --seed 0

The planner side is this file run with --planner-worker inside the planner venv; it imports
nothing from spatialbot_ros.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("StackCube-v1", "PickCube-v1", "PlaceSphere-v1", "StackPyramid-v1")


def _venv_python(env_var: str, default_dir: str) -> str:
    return str(Path(os.environ.get(env_var, ROOT / default_dir)) / "bin" / "python")


def planner_worker(task: str, seeds: list[int], out: Path) -> None:
    """In the planner venv: ManiSkill's own solution per seed, as its motionplanning run.py makes the env."""
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401
    from mani_skill.examples.motionplanning.panda.run import MP_SOLUTIONS

    env = gym.make(task, obs_mode="none", control_mode="pd_joint_pos", render_mode="rgb_array", sim_backend="cpu")
    solve = MP_SOLUTIONS[task]
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        try:
            res = solve(env, seed=seed, debug=False, vis=False)
        except Exception as exc:  # noqa: BLE001 - the planner's own failures count as failed episodes
            res, error = -1, f"{type(exc).__name__}: {exc}"
        else:
            error = ""
        wall = time.perf_counter() - t0
        if isinstance(res, int) and res == -1:
            rows.append({"seed": seed, "success": False, "steps": None, "wall_s": wall,
                         "reason": error or "no motion plan"})
        else:
            rows.append({"seed": seed, "success": bool(res[-1]["success"].item()),
                         "steps": int(res[-1]["elapsed_steps"].item()), "wall_s": wall, "reason": ""})
    env.close()
    out.write_text(json.dumps({"task": task, "results": rows}, indent=1))


def _run(cmd: list[str], timeout_s: float) -> None:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"bench_maniskill: {' '.join(cmd[:4])} ... failed (rc {proc.returncode}):\n{tail}")


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def side(rows: list[dict]) -> dict:
    won = [r for r in rows if r["success"]]
    return {"episodes": len(rows), "successes": len(won), "success_rate": len(won) / len(rows) if rows else 0.0,
            "steps_median": _median([r["steps"] for r in rows if r["steps"] is not None]),
            "steps_median_success": _median([r["steps"] for r in won]),
            "wall_s_per_episode_median": _median([r["wall_s"] for r in rows])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="ours: episodes in this many processes")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "maniskill")
    p.add_argument("--ours-python", default=_venv_python("MANISKILL_VENV", ".venv-maniskill"))
    p.add_argument("--planner-python", default=_venv_python("MANISKILL_PLANNER_VENV", ".venv-maniskill-planner"))
    p.add_argument("--timeout-s", type=float, default=3600)
    p.add_argument("--planner-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.episodes))
    if args.planner_worker:
        planner_worker(args.tasks[0], seeds, args.out)
        return 0
    for py in (args.ours_python, args.planner_python):
        if not Path(py).exists():
            raise SystemExit(f"bench_maniskill: no {py}; run scripts/setup.sh maniskill and maniskill-planner")
    args.out.mkdir(parents=True, exist_ok=True)
    table = []
    for task in args.tasks:
        ours_dir = args.out / f"ours_{task}"
        planner_json = args.out / f"planner_{task}.json"
        _run([args.ours_python, "-m", "spatialbot_ros.cli", "maniskill-eval", "--task", task, "--episodes",
              str(args.episodes), "--seed", str(args.seed), "--workers", str(args.workers), "--out", str(ours_dir)],
             args.timeout_s)
        _run([args.planner_python, str(Path(__file__).resolve()), "--planner-worker", "--tasks", task, "--episodes",
              str(args.episodes), "--seed", str(args.seed), "--out", str(planner_json)], args.timeout_s)
        ours = json.loads((ours_dir / "maniskill_eval.json").read_text())["results"]
        planner = json.loads(planner_json.read_text())["results"]
        table.append({"task": task, "seeds": [args.seed, args.seed + args.episodes - 1],
                      "ours": side(ours), "planner": side(planner)})
    lines = ["| task | episodes | ours: success | planner: success | ours: median steps | planner: median steps "
             "| ours: s/episode | planner: s/episode |", "|---|---|---|---|---|---|---|---|"]
    for row in table:
        o, pl = row["ours"], row["planner"]
        lines.append(f"| {row['task']} | {o['episodes']} | {o['successes']}/{o['episodes']} ({o['success_rate']:.0%}) "
                     f"| {pl['successes']}/{pl['episodes']} ({pl['success_rate']:.0%}) | {o['steps_median']:.0f} "
                     f"| {pl['steps_median']:.0f} | {o['wall_s_per_episode_median']:.2f} "
                     f"| {pl['wall_s_per_episode_median']:.2f} |")
    text = "\n".join(lines)
    print(text)
    (args.out / "bench_maniskill.md").write_text(
        f"# ManiSkill3: ours (camera only, pd_ee_delta_pose) vs privileged planner (pd_joint_pos), seeds "
        f"{args.seed}..{args.seed + args.episodes - 1}\n\n{text}\n")
    (args.out / "bench_maniskill.json").write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
