"""`spatialbot-ros` command line: demo, eval, spatial-qa, scenes, demos, collect, train, calibrate, up, selftest,
serve-policy."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import traceback
from dataclasses import asdict
from enum import IntEnum
from pathlib import Path
from typing import NoReturn

log = logging.getLogger("spatialbot_ros")

REPORT_TO = "the spatialbot_ros maintainers (package.xml: maintainers@spatialbot-ros.dev)"


class ExitCode(IntEnum):
    """Process exit status: scripts tell a refused input from a failed task or a bug."""

    OK = 0
    TASK_FAILED = 1        # the run finished, the task did not succeed (demo failed, instruction not grounded)
    USAGE = 2              # bad command-line arguments
    BAD_INPUT = 3          # a scene, config or dataset file (or value) was refused
    FILE_ERROR = 4         # a file could not be read or written (--out not writable, disk full, run mismatch)
    MISSING_PACKAGE = 5    # an optional package this command needs is not installed
    INTERNAL = 70          # a bug: traceback printed, please report it
    INTERRUPTED = 130      # Ctrl-C: finished episodes are kept


EXIT_CODES_EPILOG = "exit codes:\n" + "\n".join(
    f"  {c.value:<4}{text}" for c, text in (
        (ExitCode.OK, "success"),
        (ExitCode.TASK_FAILED, "the task ran but failed (demo not solved, instruction not grounded)"),
        (ExitCode.USAGE, "bad command-line arguments"),
        (ExitCode.BAD_INPUT, "a scene, config or dataset file was refused (the message names file and field)"),
        (ExitCode.FILE_ERROR, "a file could not be read or written (--out not writable, disk full, "
                              "--resume of a different run)"),
        (ExitCode.MISSING_PACKAGE, "an optional package is missing (the message says what to install)"),
        (ExitCode.INTERNAL, "internal error: a bug, reported with a traceback"),
        (ExitCode.INTERRUPTED, "interrupted (Ctrl-C); finished episodes are kept, continue with --resume"),
    )) + "\n--debug prints the traceback of any error."

# optional packages -> how to get them (module names as ModuleNotFoundError.name reports them)
OPTIONAL_PACKAGES = {
    "torch": "pip install torch==2.13.0 (CPU build; a bare `torch` pulls CUDA)",
    "onnxruntime": "pip install onnxruntime (or onnxruntime-gpu, never both)",
    "transformers": "pip install transformers",
    "av": "pip install av (PyAV: LeRobot videos)",
    "pyarrow": "pip install pyarrow (LeRobot datasets)",
    "pyrealsense2": "pip install pyrealsense2 (and Debian's libusb-1.0-0)",
    "mujoco": "pip install mujoco (and MUJOCO_GL=egl with libegl1 libgl1-mesa-dri)",
    "rclpy": "install the ROS 2 wheels: scripts/setup.sh",
    "hypothesis": "pip install hypothesis (robustness selftest)",
    "pytest": "pip install pytest (selftest)",
    "matplotlib": "pip install matplotlib (plots)",
    "mani_skill": "scripts/setup.sh maniskill (a venv of its own: ManiSkill3, SAPIEN, torch CPU, backports Mesa)",
    "sapien": "scripts/setup.sh maniskill (a venv of its own: ManiSkill3, SAPIEN, torch CPU, backports Mesa)",
    "gymnasium": "scripts/setup.sh maniskill (a venv of its own: ManiSkill3, SAPIEN, torch CPU, backports Mesa)",
}


class _Parser(argparse.ArgumentParser):
    """Argument errors are one line on stderr (the value cut to a readable length), exit code 2."""

    def error(self, message: str) -> NoReturn:
        from spatialbot_ros.core.errors import bounded_message

        text = bounded_message(f"{self.prog}: error: {message}", 300)
        self.exit(ExitCode.USAGE, f"{text} (see {self.prog} --help)\n")


def _int_at_least(lo: int):  # noqa: ANN202 - an argparse type factory
    def parse(text: str) -> int:
        digits = text.strip().lstrip("+-")
        if len(digits) > 12 and digits.isdigit():  # before int(): Python refuses > 4300 digits with ValueError
            raise argparse.ArgumentTypeError(f"{text[:20]}... is implausibly large (at most 1000000000)")
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}, got {value}")
        if value > 10**9:
            raise argparse.ArgumentTypeError(f"{text[:20]}... is implausibly large (at most 1000000000)")
        return value

    parse.__name__ = f"integer >= {lo}"
    return parse


def _float_in(lo: float, hi: float):  # noqa: ANN202 - an argparse type factory
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be a finite number in [{lo:g}, {hi:g}], got {text[:40]}")
        return value

    parse.__name__ = f"number in [{lo:g}, {hi:g}]"
    return parse


positive_int = _int_at_least(1)
seed_int = _int_at_least(0)
# = policy.registry.BUILTIN_BACKENDS and graph_up.PROFILES (here so --help imports neither; tests check they agree)
POLICY_NAMES = ("geometric", "magma", "onnx", "openai", "spatialbot", "transformers")
POLICY_HELP = f"{', '.join(POLICY_NAMES)}, or a plug-in registered under the spatialbot_ros.policies entry points"


def policy_name(text: str) -> str:
    """A built-in backend name, or one an installed plug-in registers (checked without loading it)."""
    if text in POLICY_NAMES:
        return text
    from importlib.metadata import entry_points

    from spatialbot_ros.policy.registry import ENTRY_POINT_GROUP

    plugins = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
    if text in plugins:
        return text
    raise argparse.ArgumentTypeError(f"unknown policy '{text[:40]}'; available: {', '.join((*POLICY_NAMES, *plugins))}")


policy_name.__name__ = "policy"
UP_PROFILES = ("sim", "sim_pick_place", "sim_collect", "cell-emulated", "camera")  # = graph_up.PROFILES (a test checks)


def _check_config_file(path: Path | None, what: str) -> None:
    """Refuse a bad options file with one clear line before any model is loaded (bounded parse)."""
    if path is None:
        return
    from spatialbot_ros.core.bounded_yaml import InputLimits, load_structured_file
    from spatialbot_ros.core.errors import InputFileError

    data = load_structured_file(path, InputLimits(max_bytes=2**20), what=what)
    if data is not None and not isinstance(data, dict):
        raise InputFileError(f"{path}: {what}: expected a mapping of backend name -> options, "
                             f"got {type(data).__name__}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.demo import load_demo_scene, run_demo
    from spatialbot_ros.core.durable import check_writable

    scene = load_demo_scene(args.scene)
    check_writable(args.out)
    log.info("scene %s: %r", scene.name, scene.instruction)
    result = run_demo(scene, args.out, policy_name=args.policy, animate=not args.no_animation)
    status = "SUCCESS" if result.success else f"FAILED ({result.reason}: {result.message})"
    print(f"{status}: {scene.instruction!r}")
    print(f"  {result.explanation}")
    print(f"  place error {result.place_error_m if result.place_error_m is not None else float('nan'):.3f} m, "
          f"sim {result.sim_time_s:.1f} s, wall {result.wall_s:.1f} s")
    print(f"  outputs: {args.out}/frames/*.png, {args.out}/demo.gif, {args.out}/final.png")
    return 0 if result.success else 1


def _cmd_eval(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.evaluate import evaluate, scenes_for_eval

    if not args.verbose:  # per-phase logs would drown the progress bar
        for name in ("spatialbot_ros.executive", "spatialbot_ros.policy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    from spatialbot_ros.apps.evaluate import check_writable

    check_writable(args.out)  # before any scene is generated or episode run
    _check_config_file(args.backend_config, "backend config")
    if args.suite is not None:
        if args.scenes is not None or args.phrasing != "train":
            return _fail(ExitCode.USAGE, "eval: --suite runs its own frozen scenes; drop --scenes/--phrasing")
        return _eval_dev(args) if args.suite == "dev" else _eval_suite(args)
    scenes = scenes_for_eval(args.episodes or 100, args.seed, args.scenes, phrasing_set=args.phrasing)
    from spatialbot_ros.policy.registry import policy_options

    try:
        kwargs = policy_options(args.policy, str(args.model_dir or ""), str(args.backend_config or ""))
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"eval: {e}")
    from spatialbot_ros.apps.ray_pool import RayUnavailable

    try:
        summary, _ = evaluate(args.policy, scenes, seed=None if args.scenes else args.seed, out_dir=args.out,
                              policy_kwargs=kwargs, resume=args.resume, workers=args.workers,
                              ray_address=args.ray_address)
    except RayUnavailable as e:
        return _fail(ExitCode.MISSING_PACKAGE, f"eval: {e}")
    lo, hi = summary.success_ci95
    print(f"policy {summary.policy}: success {summary.success_rate:.1%} (95% CI {lo:.1%}-{hi:.1%}) over "
          f"{summary.episodes} episodes; grounding {summary.grounding_accuracy:.1%}; contact "
          f"{summary.contact_accuracy:.1%}; {summary.wall_s_total:.0f} s")
    if summary.failures:
        print("  failures: " + ", ".join(f"{k}={v}" for k, v in summary.failures.items()))
    print(f"  report: {args.out}/eval.json, eval.md, eval.png")
    return 0


def _eval_suite(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.heldout_eval import evaluate_suite
    from spatialbot_ros.policy.registry import policy_options

    try:
        kwargs = policy_options(args.policy, str(args.model_dir or ""), str(args.backend_config or ""))
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"eval: {e}")
    s = evaluate_suite(args.policy, episodes=args.episodes, out_dir=args.out, policy_kwargs=kwargs, resume=args.resume,
                       workers=args.workers, ray_address=args.ray_address)
    print(f"policy {s.policy} on the held-out suite ({s.episodes} episodes): success {s.success_rate:.1%}; "
          f"grounding {s.grounding_accuracy:.1%}; refusal precision {s.refusal_precision:.1%}, recall "
          f"{s.refusal_recall:.1%}; silent misreadings {s.silent_misreadings}")
    print(f"  report: {args.out}/heldout.json, heldout.md (episodes: eval.json, eval.md)")
    return 0


def _eval_dev(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.dev_eval import DEV_SPLITS, evaluate_dev
    from spatialbot_ros.policy.registry import policy_options

    splits = [x for x in args.dev_splits.split(",") if x] if args.dev_splits else list(DEV_SPLITS)
    try:
        kwargs = policy_options(args.policy, str(args.model_dir or ""), str(args.backend_config or ""))
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"eval: {e}")
    try:
        s, bad = evaluate_dev(args.policy, splits=splits, per_split=args.episodes or 40, part=args.dev_part,
                              out_dir=args.out, policy_kwargs=kwargs, resume=args.resume, workers=args.workers,
                              ray_address=args.ray_address)
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"eval: {e}")
    print(f"policy {s.policy} on the dev splits {','.join(splits)} ({args.dev_part}, {s.episodes} episodes): success "
          f"{s.success_rate:.1%}; grounding {s.grounding_accuracy:.1%}; refusal precision {s.refusal_precision:.1%}, "
          f"recall {s.refusal_recall:.1%}; silent misreadings {s.silent_misreadings}; {len(bad)} failures")
    print(f"  report: {args.out}/dev.json, dev.md (episodes: eval.json, eval.md)")
    return 0


def _cmd_scenes(args: argparse.Namespace) -> int:
    from spatialbot_ros.sim.scene import save_scene, scene_to_dict
    from spatialbot_ros.sim.scene_generator import generate_scenes

    scenes = generate_scenes(args.n, args.seed, phrasing_set=args.phrasing)
    if args.out is None:
        print(json.dumps([scene_to_dict(s) for s in scenes], indent=2))
        return 0
    from spatialbot_ros.core.durable import check_writable

    check_writable(args.out)
    for s in scenes:
        save_scene(s, args.out / f"{s.name}.yaml")
    print(f"wrote {len(scenes)} scenes to {args.out}")
    return 0


def _cmd_ground(args: argparse.Namespace) -> int:
    """Ground an instruction on a rendered scene (debugging aid)."""
    from spatialbot_ros.apps.demo import load_demo_scene
    from spatialbot_ros.core.errors import GroundingError
    from spatialbot_ros.core.grounding import ground_instruction
    from spatialbot_ros.core.som_proposer import GeometricProposer, ProposerConfig

    scene = load_demo_scene(args.scene)
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell  # MuJoCo, once the scene file is valid

    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    proposals = GeometricProposer(ProposerConfig()).propose(cell.render_rgbd(), cell.base_from_camera)
    for m in proposals.marks:
        print(f"  mark {m.id}: {m.color_name} {m.shape} at {m.centroid_base}")
    try:
        g = ground_instruction(args.instruction or scene.instruction, proposals.marks)
    except GroundingError as exc:
        return _fail(ExitCode.TASK_FAILED, f"ground: grounding error: {exc}")
    print(json.dumps({k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in asdict(g).items()}, default=str, indent=2))
    return 0


def _cmd_demos(args: argparse.Namespace) -> int:
    from spatialbot_ros.learn.demos import DemoConfig, collect_demos

    for name in ("spatialbot_ros.executive", "spatialbot_ros.policy", "spatialbot_ros.sim", "spatialbot_ros.apps"):
        logging.getLogger(name).setLevel(logging.WARNING)
    summary = collect_demos(args.out, DemoConfig(episodes=args.episodes, seed=args.seed, workers=args.workers,
                                                 camera_jitter_m=args.camera_jitter,
                                                 extra_instructions=args.extra_instructions,
                                                 grounding_scenes=args.grounding_scenes), resume=args.resume)
    resumed = f" ({summary['episodes_resumed']} from the earlier run)" if summary.get("episodes_resumed") else ""
    print(f"kept {summary['episodes_kept']}/{summary['episodes_tried']} expert episodes{resumed}, "
          f"{summary['frames']} frames -> {args.out} (LeRobot v3)")
    return 0


def _cmd_collect(args: argparse.Namespace) -> int:
    from spatialbot_ros.core.durable import check_writable
    from spatialbot_ros.core.task import TaskPhase
    from spatialbot_ros.learn.collect import CollectOptions, TeleopDevice, run_collect
    from spatialbot_ros.policy.registry import policy_options

    if not args.verbose:  # per-phase logs would drown the status line
        for name in ("spatialbot_ros.executive", "spatialbot_ros.policy", "spatialbot_ros.sim", "spatialbot_ros.apps"):
            logging.getLogger(name).setLevel(logging.WARNING)
    check_writable(args.out)
    try:
        kwargs = policy_options(args.policy, str(args.model_dir or ""), "")
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"collect: {e}")
    if args.take_over_at is not None and args.teleop != "scripted":
        return _fail(ExitCode.USAGE, "collect: --take-over-at is for --teleop scripted (a person takes over by hand)")
    summary = run_collect(CollectOptions(
        out=args.out, teleop=TeleopDevice(args.teleop), policy=args.policy, policy_kwargs=kwargs,
        episodes=args.episodes, seed=args.seed, resume=args.resume,
        take_over_at=TaskPhase(args.take_over_at) if args.take_over_at else None, live_view=args.live_view,
        twist_topic=args.twist_topic, joy_topic=args.joy_topic, rosbag=args.rosbag))
    n = max(1, summary["episodes"])
    print(f"collected {summary['episodes']} episodes -> {args.out} (LeRobot v3): success {summary['successes'] / n:.1%}, "
          f"{summary['interventions']} interventions ({summary['interventions'] / n:.2f} per episode), "
          f"{summary['frames_with_operator']} frames under the operator")
    return 0


def _cmd_dagger(args: argparse.Namespace) -> int:
    from spatialbot_ros.learn.dagger import DaggerOptions, run_dagger

    for name in ("spatialbot_ros.executive", "spatialbot_ros.policy", "spatialbot_ros.sim", "spatialbot_ros.apps"):
        logging.getLogger(name).setLevel(logging.WARNING)
    rounds = run_dagger(DaggerOptions(
        out=args.out, base_data=list(args.data), rounds=args.rounds, episodes_per_round=args.episodes_per_round,
        eval_episodes=args.eval_episodes, eval_seed=args.eval_seed, eval_phrasing=args.phrasing,
        start_model=str(args.model_dir or ""), intervention_weight=args.intervention_weight, epochs=args.epochs,
        max_minutes=args.max_minutes, resume=args.resume))
    for r in rounds:
        lo, hi = r.eval_ci95
        rate = "" if r.round == 0 else f", {r.intervention_rate:.2f} interventions/episode while collecting"
        print(f"round {r.round}: eval success {r.eval_success:.1%} (95% CI {lo:.1%}-{hi:.1%}){rate}")
    print(f"  report: {args.out}/dagger.md, dagger.png, dagger.json")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from spatialbot_ros.core.durable import check_writable
    from spatialbot_ros.learn.train import TrainConfig, train

    check_writable(args.out)
    report = train(list(args.data), args.out, TrainConfig(seed=args.seed, max_minutes=args.max_minutes, epochs=args.epochs,
                                                          intervention_weight=args.intervention_weight))
    print(json.dumps(report, indent=2))
    return 0


def _cmd_spatial_qa(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.spatial_answerers import BuiltinAnswerer, answerer_for
    from spatialbot_ros.apps.spatial_qa import evaluate_qa, generate_qa, write_qa_report

    _check_config_file(args.backend_config, "backend config")
    try:
        answerers = [BuiltinAnswerer()]
        if args.policy not in ("builtin", "geometric"):
            answerers.append(answerer_for(args.policy, str(args.model_dir or ""), str(args.backend_config or "")))
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"spatial-qa: {e}")
    from spatialbot_ros.apps.evaluate import check_writable

    check_writable(args.out)
    items = generate_qa(args.n, args.seed, progress=True, workers=args.workers)
    report = evaluate_qa(answerers, items, args.n, args.seed, progress=True, out_dir=args.out, resume=args.resume)
    write_qa_report(report, args.out)
    print(report.table())
    print(f"  report: {args.out}/spatial_qa.json, spatial_qa.txt, spatial_qa.png, spatial_qa_answers.jsonl")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from spatialbot_ros.learn.train import reexport_onnx

    parity = reexport_onnx(args.model_dir)
    print(f"re-exported {args.model_dir}/policy.onnx from model.pt; PyTorch vs ONNX Runtime max abs diff {parity:.2e}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.calibrate import Acceptance, CalibrateOptions, CalibrationMode, run_calibrate

    board = {"squares_x": args.squares_x, "squares_y": args.squares_y, "square_length_m": args.square_length,
             "marker_length_m": args.marker_length, "dictionary": args.dictionary}
    return run_calibrate(CalibrateOptions(
        out=args.out, samples=args.samples, sim=args.sim, views=args.views, seed=args.seed,
        save_samples=args.save_samples, sim_noise=(args.image_noise, args.image_blur, args.joint_noise), mode=CalibrationMode(args.mode), method=args.method, refine=not args.no_refine,
        board_file=args.board, board_overrides=board, camera_file=args.camera,
        acceptance=Acceptance(args.min_views, args.max_residual_mm, args.max_residual_deg, args.max_reprojection_px),
        base_frame=args.base_frame, tool_frame=args.tool_frame, camera_frame=args.camera_frame))


def _cmd_calibrate_confidence(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.calibrate_confidence import calibrate

    try:
        cal = calibrate(args.episodes, args.seed, str(args.model_dir or ""))
    except ValueError as e:
        return _fail(ExitCode.USAGE, f"calibrate-confidence: {e}")
    print(f"temperature {cal.temperature:.3f}: pick-confidence ECE {cal.ece_before:.3f} -> {cal.ece_after:.3f} on "
          f"{cal.fit_on['graded_picks']} dev picks (seed {cal.fit_on['seed']})")
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from spatialbot_ros.graph_up import up

    return up(args.profile, args.duration, extra_params=args.params_file)


def _cmd_selftest(args: argparse.Namespace) -> int:
    from spatialbot_ros.selftest import run_selftest

    code, table = run_selftest(robustness=args.robustness, fast=args.fast)
    print(f"\nrobustness ({'fast slice' if args.fast else 'full suite'}): surface, probes, clean")
    print(table or "(no probes ran)")
    return code


def _cmd_serve_policy(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.serve_policy import serve
    from spatialbot_ros.apps.simpler_env import SimplerEnvPolicy
    from spatialbot_ros.policy.registry import policy_options

    if args.port > 65535:
        return _fail(ExitCode.USAGE, f"serve-policy: --port must be at most 65535, got {args.port}")
    _check_config_file(args.backend_config, "backend_config")
    options = policy_options(args.policy, args.model_dir or "", str(args.backend_config or ""))
    try:
        serve(SimplerEnvPolicy(args.policy, args.policy_setup, options), args.host, args.port)
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped
        log.info("serve-policy: stopped")
    return int(ExitCode.OK)


def _cmd_maniskill_eval(args: argparse.Namespace) -> int:
    from spatialbot_ros.apps.maniskill_eval import evaluate_maniskill
    from spatialbot_ros.core.durable import check_writable
    from spatialbot_ros.sim.maniskill_env import maniskill_available

    check_writable(args.out)
    missing = maniskill_available()
    if missing is not None:
        return _fail(ExitCode.MISSING_PACKAGE, f"maniskill-eval: ManiSkill3 does not import here ({missing}); "
                     f"{OPTIONAL_PACKAGES['mani_skill']}, then run with that venv's python")
    summary, _ = evaluate_maniskill(args.task, args.episodes, seed=args.seed, policy=args.policy,
                                    workers=args.workers, out_dir=args.out, width=args.width, height=args.height)
    lo, hi = summary.success_ci95
    print(f"{summary.task} / {summary.policy}: success {summary.success_rate:.1%} (95% CI {lo:.1%}-{hi:.1%}) over "
          f"{summary.episodes} episodes; median {summary.steps_median:.0f} steps; "
          f"{summary.wall_s_per_episode_median:.2f} s/episode median, {summary.wall_s_total:.0f} s total")
    if summary.failures:
        print("  failures: " + ", ".join(f"{k}={v}" for k, v in summary.failures.items()))
    print(f"  report: {args.out}/maniskill_eval.json, maniskill_eval.md, maniskill_eval.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spatialbot-ros", description=__doc__, epilog=EXIT_CODES_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--debug", action="store_true", help="print the full traceback of any error")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="headless MuJoCo pick-and-place with SoM-annotated frames")
    d.add_argument("--scene", type=Path, default=None, help="scene YAML/JSON (default: scenes/default.yaml)")
    d.add_argument("--out", type=Path, default=Path("out/demo"))
    d.add_argument("--policy", default="geometric", type=policy_name, help=POLICY_HELP)
    d.add_argument("--no-animation", action="store_true", help="skip per-step frames for the GIF")
    d.set_defaults(func=_cmd_demo)

    e = sub.add_parser("eval", help="success rate of a policy over seeded random (or given) scenes")
    e.add_argument("--policy", default="geometric", type=policy_name, help=POLICY_HELP)
    e.add_argument("--episodes", type=positive_int, default=None, help="default 100 (with --suite: all of it)")
    e.add_argument("--seed", type=seed_int, default=0)
    e.add_argument("--scenes", type=Path, default=None, help="run every scene in this file as given")
    e.add_argument("--suite", choices=["heldout", "dev"], default=None, help="heldout: the frozen held-out "
                   "instruction suite (first --episodes cases): success, grounding, refusal precision/recall, silent "
                   "misreadings; dev: the dev splits (the ones to tune on) as episodes, --episodes cases per split "
                   "(default 40), scored the same way, failures listed in dev.md")
    e.add_argument("--dev-splits", default=None, help="--suite dev: comma-separated splits (default: all, dev1..dev11)")
    e.add_argument("--dev-part", choices=["tune", "check", "unseen"], default="tune", help="--suite dev: which part "
                   "of each split (dev1 has one; dev2/dev3 have no 'unseen')")
    e.add_argument("--phrasing", choices=["train", "heldout"], default="train")
    e.add_argument("--model-dir", default=None, help="onnx: a trained model directory (default: the shipped "
                   "model); VLM backends: a model directory or hub id")
    e.add_argument("--backend-config", type=Path, default=None, help="VLM backends: options YAML "
                   "(config/policy_backends.yaml)")
    e.add_argument("--out", type=Path, default=Path("out/eval"))
    e.add_argument("--workers", type=positive_int, default=1, help="episodes in this many processes (the same "
                   "per-episode results whatever the count); with --ray-address, this many Ray actors")
    e.add_argument("--ray-address", default=None, help="run the episodes on Ray: 'local' (a private cluster on "
                   "this machine), 'auto' (the one `ray start --head` runs here) or ray://host:10001; needs the "
                   "ray profile (scripts/setup.sh ray) on every node")
    e.add_argument("--resume", action="store_true", help="continue the interrupted run in --out (same seeds, "
                   "same results as one uninterrupted run)")
    e.set_defaults(func=_cmd_eval)

    from spatialbot_ros.sim.maniskill_env import TASKS as MANISKILL_TASKS

    me = sub.add_parser("maniskill-eval", help="zero-shot success on ManiSkill3 tasks (CPU): our policy perceives "
                        "through the task camera's RGB-D and drives the Panda by pd_ee_delta_pose "
                        "(needs scripts/setup.sh maniskill)")
    me.add_argument("--task", choices=sorted(MANISKILL_TASKS), default="StackCube-v1")
    me.add_argument("--episodes", type=positive_int, default=10)
    me.add_argument("--seed", type=seed_int, default=0, help="episode k runs with seed + k")
    me.add_argument("--policy", default="geometric", choices=POLICY_NAMES,
                    help="a policy that grounds marks (geometric; VLM grounders)")
    me.add_argument("--workers", type=positive_int, default=1, help="episodes in this many processes (the same "
                    "per-episode results whatever the count)")
    me.add_argument("--width", type=_int_at_least(64), default=640, help="task camera width (px)")
    me.add_argument("--height", type=_int_at_least(48), default=480, help="task camera height (px)")
    me.add_argument("--out", type=Path, default=Path("out/maniskill_eval"))
    me.set_defaults(func=_cmd_maniskill_eval)

    s = sub.add_parser("scenes", help="generate seeded random scenes")
    s.add_argument("--n", type=positive_int, default=10)
    s.add_argument("--seed", type=seed_int, default=0)
    s.add_argument("--phrasing", choices=["train", "heldout"], default="train")
    s.add_argument("--out", type=Path, default=None)
    s.set_defaults(func=_cmd_scenes)

    g = sub.add_parser("ground", help="propose marks on a scene and ground an instruction")
    g.add_argument("--scene", type=Path, default=None)
    g.add_argument("--instruction", default=None)
    g.set_defaults(func=_cmd_ground)
    dm = sub.add_parser("demos", help="record expert demonstrations in the MuJoCo cell (LeRobot v3 dataset)")
    dm.add_argument("--out", type=Path, required=True)
    dm.add_argument("--episodes", type=positive_int, default=300)
    dm.add_argument("--seed", type=seed_int, default=1000)
    dm.add_argument("--workers", type=positive_int, default=2)
    dm.add_argument("--camera-jitter", type=_float_in(0.0, 0.2), default=0.02, help="std of camera position jitter (m)")
    dm.add_argument("--extra-instructions", type=_int_at_least(0), default=20,
                    help="extra verified instructions per scene for the grounding heads")
    dm.add_argument("--grounding-scenes", type=_int_at_least(0), default=2000,
                    help="extra perception-only scenes (one rendered frame each) for the grounding heads")
    dm.add_argument("--resume", action="store_true", help="continue the interrupted recording in --out")
    dm.set_defaults(func=_cmd_demos)

    co = sub.add_parser("collect", help="teleop-assisted data collection in the MuJoCo cell: the policy acts, an "
                        "operator takes over and hands back; LeRobot v3 with interventions recorded")
    co.add_argument("--teleop", choices=["scripted", "keyboard", "spacemouse", "ros"], default="scripted",
                    help="scripted: a simulated operator on sim truth; keyboard: this terminal; spacemouse: "
                    "pyspacemouse; ros: geometry_msgs/Twist on /cmd_vel, TwistStamped on /spacenav/twist, Joy on /joy")
    co.add_argument("--policy", default="geometric", type=policy_name, help=POLICY_HELP)
    co.add_argument("--model-dir", default=None, help="onnx: a trained model directory (default: the shipped model)")
    co.add_argument("--episodes", type=positive_int, default=10)
    co.add_argument("--out", type=Path, required=True)
    co.add_argument("--seed", type=seed_int, default=50000, help="collection scenes (never the evaluation's seeds)")
    co.add_argument("--take-over-at", default=None, choices=["approach", "descend", "carry", "place"],
                    help="scripted: also take over once in this phase")
    co.add_argument("--live-view", type=Path, default=None, help="rewrite this PNG each step: the camera image "
                    "and who is in control (for a person watching a headless simulator)")
    co.add_argument("--rosbag", action="store_true", help="also record each episode as a rosbag2 (MCAP) of the "
                    "camera topics, joint states, executed commands and intervention flags (out/rosbag/)")
    co.add_argument("--twist-topic", default="/cmd_vel", help="ros: geometry_msgs/Twist input ('' = none; "
                    "/spacenav/twist for spacenav)")
    co.add_argument("--joy-topic", default="/joy", help="ros: sensor_msgs/Joy input with a deadman ('' = none; "
                    "/spacenav/joy for spacenav)")
    co.add_argument("--resume", action="store_true", help="continue the interrupted collection in --out")
    co.set_defaults(func=_cmd_collect)

    da = sub.add_parser("dagger", help="rounds of assisted collection (scripted operator) + retraining with "
                        "intervention weights + evaluation on scenes collection never sees")
    da.add_argument("--data", type=Path, required=True, action="append", help="base demonstrations (`demos`)")
    da.add_argument("--out", type=Path, required=True)
    da.add_argument("--rounds", type=positive_int, default=2)
    da.add_argument("--episodes-per-round", type=positive_int, default=100)
    da.add_argument("--eval-episodes", type=positive_int, default=200)
    da.add_argument("--eval-seed", type=seed_int, default=0)
    da.add_argument("--phrasing", choices=["train", "heldout"], default="heldout", help="evaluation phrasings")
    da.add_argument("--model-dir", default=None, help="the policy of round 0 (default: the shipped model)")
    da.add_argument("--intervention-weight", type=_float_in(1.0, 100.0), default=5.0)
    da.add_argument("--epochs", type=positive_int, default=60)
    da.add_argument("--max-minutes", type=_float_in(0.01, 10080.0), default=14.0)
    da.add_argument("--resume", action="store_true", help="keep the finished rounds in --out and continue")
    da.set_defaults(func=_cmd_dagger)

    t = sub.add_parser("train", help="train the learned policy on demonstrations; writes checkpoint, ONNX, metadata")
    t.add_argument("--data", type=Path, required=True, action="append", help="LeRobot v3 dataset from `demos` "
                   "or `collect`; repeat to train on several")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--seed", type=seed_int, default=0)
    t.add_argument("--epochs", type=positive_int, default=60)
    t.add_argument("--max-minutes", type=_float_in(0.01, 10080.0), default=14.0,
                   help="stop training after this long (wall clock)")
    t.add_argument("--intervention-weight", type=_float_in(1.0, 100.0), default=1.0,
                   help="loss weight of the frames an operator drove in `collect` datasets (HG-DAgger / IWR)")
    t.set_defaults(func=_cmd_train)

    x = sub.add_parser("export", help="export policy.onnx again from a trained model directory's model.pt")
    x.add_argument("--model-dir", type=Path, required=True)
    x.set_defaults(func=_cmd_export)

    q = sub.add_parser("spatial-qa", help="SpatialBench-style questions on sim scenes: accuracy per category, "
                       "the built-in perception as the baseline")
    q.add_argument("--policy", default="builtin", help="builtin, or a VLM backend: spatialbot, transformers, openai, magma")
    q.add_argument("--n", type=positive_int, default=50, help="questions per category")
    q.add_argument("--seed", type=seed_int, default=0)
    q.add_argument("--model-dir", default=None, help="VLM backends: a model directory or hub id")
    q.add_argument("--backend-config", type=Path, default=None, help="VLM backends: options YAML")
    q.add_argument("--out", type=Path, default=Path("out/spatial_qa"))
    q.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    q.add_argument("--workers", type=positive_int, default=1,
                   help="render the question scenes in this many processes (the questions are the same)")
    q.set_defaults(func=_cmd_spatial_qa)

    c = sub.add_parser("calibrate", help="hand-eye calibration of the camera from ChArUco views (recorded, or "
                       "rendered in the MuJoCo cell); writes the camera_extrinsics parameter file")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--samples", type=Path, help="samples directory (camera.yaml, board.yaml, <view>.png + .yaml)")
    src.add_argument("--sim", action="store_true", help="render the views in the MuJoCo cell (board on the gripper "
                     "for eye_to_hand, wrist camera over a table board for eye_in_hand)")
    c.add_argument("--out", type=Path, required=True, help="calibration file to write (ROS parameter YAML)")
    c.add_argument("--mode", choices=["eye_to_hand", "eye_in_hand"], default="eye_to_hand")
    c.add_argument("--method", choices=["park", "tsai", "horaud", "andreff", "daniilidis"], default="park")
    c.add_argument("--no-refine", action="store_true", help="skip the reprojection refinement of the closed form")
    c.add_argument("--views", type=int, default=12, help="--sim: number of robot poses")
    c.add_argument("--seed", type=int, default=0, help="--sim: pose sampling seed")
    c.add_argument("--save-samples", type=Path, default=None, help="--sim: also write the views as a samples "
                   "directory, and calibrate from it")
    c.add_argument("--image-noise", type=float, default=0.0, help="--sim: pixel noise std (grey levels)")
    c.add_argument("--image-blur", type=float, default=0.0, help="--sim: Gaussian blur sigma (px)")
    c.add_argument("--joint-noise", type=float, default=0.0, help="--sim: error of the reported joints (rad std)")
    c.add_argument("--board", type=Path, default=None, help="board YAML (default: DIR/board.yaml)")
    c.add_argument("--squares-x", type=int, default=None)
    c.add_argument("--squares-y", type=int, default=None)
    c.add_argument("--square-length", type=float, default=None, help="m")
    c.add_argument("--marker-length", type=float, default=None, help="m")
    c.add_argument("--dictionary", default=None, help="ArUco dictionary, e.g. DICT_4X4_50")
    c.add_argument("--camera", type=Path, default=None, help="intrinsics YAML (default: DIR/camera.yaml)")
    c.add_argument("--min-views", type=int, default=5, help="refuse with fewer usable views")
    c.add_argument("--max-residual-mm", type=float, default=5.0, help="refuse above this board position spread (RMS)")
    c.add_argument("--max-residual-deg", type=float, default=1.0, help="refuse above this board rotation spread (RMS)")
    c.add_argument("--max-reprojection-px", type=float, default=2.0, help="refuse above this chain reprojection")
    c.add_argument("--base-frame", default="base", help="parent frame of an eye-to-hand result")
    c.add_argument("--tool-frame", default="tool0", help="parent frame of an eye-in-hand result")
    c.add_argument("--camera-frame", default="camera_color_optical_frame")
    c.set_defaults(func=_cmd_calibrate)

    cc = sub.add_parser("calibrate-confidence", help="fit the onnx policy's pick-confidence temperature on dev "
                        "scenes (seeds disjoint from eval) and write calibration.json next to the model")
    cc.add_argument("--episodes", type=positive_int, default=150)
    cc.add_argument("--seed", type=seed_int, default=9101, help="dev seed; the eval seeds 0, 777, 4242 are refused")
    cc.add_argument("--model-dir", default=None, help="default: the shipped model")
    cc.set_defaults(func=_cmd_calibrate_confidence)

    u = sub.add_parser("up", help="start a node graph as separate processes from config/*.yaml (no ros2 launch needed)")
    u.add_argument("profile", choices=UP_PROFILES, help="the node graph to start")
    u.add_argument("--duration", type=_float_in(0.0, 1e7), default=None, help="stop after this many seconds")
    u.add_argument("--params-file", type=Path, action="append", default=[],
                   help="extra ROS parameter file for our nodes, e.g. a calibration (repeatable)")
    u.set_defaults(func=_cmd_up)

    st = sub.add_parser("selftest", help="run the project's own checks; --robustness: the red-team suite "
                        "(table: surface, probes, clean)")
    st.add_argument("--robustness", action="store_true", help="the robustness probes of test/robustness")
    st.add_argument("--fast", action="store_true", help="only the fast slice (seconds)")
    st.set_defaults(func=_cmd_selftest)

    sp = sub.add_parser("serve-policy", help="serve a policy over HTTP with SimplerEnv's policy interface "
                        "(POST /act, OpenVLA's convention) for clients/simpler_env_client.py")
    sp.add_argument("--policy", type=policy_name, default="geometric", help=POLICY_HELP)
    sp.add_argument("--model-dir", default="", help="onnx model directory or a VLM backend's model")
    sp.add_argument("--backend-config", type=Path, default=None, help="backend options YAML")
    sp.add_argument("--policy-setup", choices=("widowx_bridge", "google_robot"), default="widowx_bridge",
                    help="gripper convention: widowx_bridge absolute, google_robot relative and sticky")
    sp.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: every interface)")
    sp.add_argument("--port", type=_int_at_least(0), default=8000)
    sp.set_defaults(func=_cmd_serve_policy)
    return p


def _fail(code: ExitCode, message: str) -> int:
    from spatialbot_ros.core.errors import bounded_message

    print(bounded_message(f"spatialbot-ros: {message}"), file=sys.stderr)
    return int(code)


def _missing_package(exc: ModuleNotFoundError) -> int | None:
    """A missing optional package -> one line saying what to install; None when the module is ours."""
    name = (exc.name or "").split(".")[0]
    if not name or name == "spatialbot_ros":
        return None
    hint = OPTIONAL_PACKAGES.get(name, f"pip install {name}")
    return _fail(ExitCode.MISSING_PACKAGE, f"this command needs the optional package '{name}': {hint}")


def _kept(args: argparse.Namespace) -> str:
    """What an interrupted run left in --out, exactly (read back from disk)."""
    out = getattr(args, "out", None)
    if out is None or not hasattr(args, "resume"):
        return ""
    try:
        from spatialbot_ros.core.durable import read_jsonl

        if args.command == "eval":
            from spatialbot_ros.apps.evaluate import EPISODES_FILE, RUN_FILE

            run = json.loads((Path(out) / RUN_FILE).read_text()) if (Path(out) / RUN_FILE).exists() else {}
            what = f"{len(read_jsonl(Path(out) / EPISODES_FILE)[0])} of {run.get('episodes', '?')} episodes"
        elif args.command == "collect":
            from spatialbot_ros.datasets.lerobot_v3 import STATE_FILE

            state = json.loads((Path(out) / STATE_FILE).read_text())
            what = f"{len(state['episodes'])} episodes"
        elif args.command == "demos":
            from spatialbot_ros.learn.demos import TRIED_FILE

            rows, _ = read_jsonl(Path(out) / TRIED_FILE)
            what = f"{sum(r.get('episode') is not None for r in rows)} episodes ({len(rows)} scenes tried)"
        else:
            from spatialbot_ros.apps.spatial_qa import ANSWERS_FILE

            what = f"{len(read_jsonl(Path(out) / ANSWERS_FILE)[0])} answered questions"
    except Exception:  # noqa: BLE001 - the report must not hide the interrupt
        what = "the finished episodes"
    return f"; {what} kept in {out}, continue with --resume"


def _run(args: argparse.Namespace) -> int:
    """Every expected failure -> one line on stderr and its exit code; only bugs print a traceback."""
    from spatialbot_ros.core.errors import OutputError, RunStateError, SpatialBotError, TaskFailedError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _fail(ExitCode.INTERRUPTED, f"{args.command}: interrupted{_kept(args)}")
    except TaskFailedError as exc:
        return _fail(ExitCode.TASK_FAILED, f"{args.command}: {exc}")
    except (OutputError, RunStateError) as exc:
        return _fail(ExitCode.FILE_ERROR, f"{args.command}: {exc}")
    except SpatialBotError as exc:
        return _fail(ExitCode.BAD_INPUT, f"{args.command}: {exc}")
    except ModuleNotFoundError as exc:
        code = _missing_package(exc)
        if code is None:
            raise
        return code
    except FileNotFoundError as exc:
        return _fail(ExitCode.BAD_INPUT, f"{args.command}: {exc.filename or ''}: {exc.strerror or exc}; check the path")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(ExitCode.FILE_ERROR, f"{args.command}: {where}{exc.strerror or exc}")
    except MemoryError:
        return _fail(ExitCode.INTERNAL, f"{args.command}: out of memory; use smaller inputs")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed as one line)
        return int(exc.code or 0) if not isinstance(exc.code, str) else int(ExitCode.USAGE)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("matplotlib", "OpenGL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.debug:
        return int(args.func(args))  # every error with its traceback
    try:
        return _run(args)
    except Exception as exc:  # noqa: BLE001 - a genuine bug: traceback and where to report it
        traceback.print_exc()
        return _fail(ExitCode.INTERNAL, f"{args.command}: internal error ({type(exc).__name__}): this is a bug; "
                     f"please report it with the command line and the traceback above to {REPORT_TO}")


if __name__ == "__main__":
    raise SystemExit(main())
