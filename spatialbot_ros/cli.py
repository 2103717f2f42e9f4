"""`spatialbot-ros` command line: demo, eval, spatial-qa, scenes, demos, train, calibrate, up."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

log = logging.getLogger("spatialbot_ros")


def _cmd_demo(args: argparse.Namespace) -> int:
    from spatialbot_ros.sim.demo import load_demo_scene, run_demo

    scene = load_demo_scene(args.scene)
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
    from spatialbot_ros.sim.evaluate import evaluate, scenes_for_eval

    if not args.verbose:  # per-phase logs would drown the progress bar
        for name in ("spatialbot_ros.executive", "spatialbot_ros.policy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    scenes = scenes_for_eval(args.episodes, args.seed, args.scenes, phrasing_set=args.phrasing)
    from spatialbot_ros.policy.registry import policy_options

    try:
        kwargs = policy_options(args.policy, str(args.model_dir or ""), str(args.backend_config or ""))
    except ValueError as e:
        print(f"eval: {e}", file=sys.stderr)
        return 2
    summary, _ = evaluate(args.policy, scenes, seed=None if args.scenes else args.seed, out_dir=args.out,
                          policy_kwargs=kwargs)
    lo, hi = summary.success_ci95
    print(f"policy {summary.policy}: success {summary.success_rate:.1%} (95% CI {lo:.1%}-{hi:.1%}) over "
          f"{summary.episodes} episodes; grounding {summary.grounding_accuracy:.1%}; contact "
          f"{summary.contact_accuracy:.1%}; {summary.wall_s_total:.0f} s")
    if summary.failures:
        print("  failures: " + ", ".join(f"{k}={v}" for k, v in summary.failures.items()))
    print(f"  report: {args.out}/eval.json, eval.md, eval.png")
    return 0


def _cmd_scenes(args: argparse.Namespace) -> int:
    from spatialbot_ros.sim.scene import save_scene, scene_to_dict
    from spatialbot_ros.sim.scene_generator import generate_scenes

    scenes = generate_scenes(args.n, args.seed, phrasing_set=args.phrasing)
    if args.out is None:
        print(json.dumps([scene_to_dict(s) for s in scenes], indent=2))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for s in scenes:
        save_scene(s, args.out / f"{s.name}.yaml")
    print(f"wrote {len(scenes)} scenes to {args.out}")
    return 0


def _cmd_ground(args: argparse.Namespace) -> int:
    """Ground an instruction on a rendered scene (debugging aid)."""
    from spatialbot_ros.core.errors import GroundingError
    from spatialbot_ros.core.grounding import ground_instruction
    from spatialbot_ros.core.som_proposer import GeometricProposer, ProposerConfig
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.demo import load_demo_scene

    scene = load_demo_scene(args.scene)
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    proposals = GeometricProposer(ProposerConfig()).propose(cell.render_rgbd(), cell.base_from_camera)
    for m in proposals.marks:
        print(f"  mark {m.id}: {m.color_name} {m.shape} at {m.centroid_base}")
    try:
        g = ground_instruction(args.instruction or scene.instruction, proposals.marks)
    except GroundingError as exc:
        print(f"grounding error: {exc}")
        return 1
    print(json.dumps({k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in asdict(g).items()}, default=str, indent=2))
    return 0


def _cmd_demos(args: argparse.Namespace) -> int:
    from spatialbot_ros.learn.demos import DemoConfig, collect_demos

    for name in ("spatialbot_ros.executive", "spatialbot_ros.policy", "spatialbot_ros.sim"):
        logging.getLogger(name).setLevel(logging.WARNING)
    summary = collect_demos(args.out, DemoConfig(episodes=args.episodes, seed=args.seed, workers=args.workers,
                                                 camera_jitter_m=args.camera_jitter,
                                                 extra_instructions=args.extra_instructions,
                                                 grounding_scenes=args.grounding_scenes))
    print(f"kept {summary['episodes_kept']}/{summary['episodes_tried']} expert episodes, {summary['frames']} frames "
          f"-> {args.out} (LeRobot v3)")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from spatialbot_ros.learn.train import TrainConfig, train

    report = train(args.data, args.out, TrainConfig(seed=args.seed, max_minutes=args.max_minutes, epochs=args.epochs))
    print(json.dumps(report, indent=2))
    return 0


def _cmd_spatial_qa(args: argparse.Namespace) -> int:
    from spatialbot_ros.policy.spatial_answerers import BuiltinAnswerer, answerer_for
    from spatialbot_ros.sim.spatial_qa import evaluate_qa, generate_qa, write_qa_report

    try:
        answerers = [BuiltinAnswerer()]
        if args.policy not in ("builtin", "geometric"):
            answerers.append(answerer_for(args.policy, str(args.model_dir or ""), str(args.backend_config or "")))
    except ValueError as e:
        print(f"spatial-qa: {e}", file=sys.stderr)
        return 2
    items = generate_qa(args.n, args.seed, progress=True)
    report = evaluate_qa(answerers, items, args.n, args.seed, progress=True)
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


def _cmd_up(args: argparse.Namespace) -> int:
    from spatialbot_ros.graph_up import up

    return up(args.profile, args.duration, extra_params=args.params_file)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spatialbot-ros", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="headless MuJoCo pick-and-place with SoM-annotated frames")
    d.add_argument("--scene", type=Path, default=None, help="scene YAML/JSON (default: scenes/default.yaml)")
    d.add_argument("--out", type=Path, default=Path("out/demo"))
    d.add_argument("--policy", default="geometric")
    d.add_argument("--no-animation", action="store_true", help="skip per-step frames for the GIF")
    d.set_defaults(func=_cmd_demo)

    e = sub.add_parser("eval", help="success rate of a policy over seeded random (or given) scenes")
    e.add_argument("--policy", default="geometric")
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--scenes", type=Path, default=None, help="run every scene in this file as given")
    e.add_argument("--phrasing", choices=["train", "heldout"], default="train")
    e.add_argument("--model-dir", default=None, help="onnx: a trained model directory (default: the shipped "
                   "model); VLM backends: a model directory or hub id")
    e.add_argument("--backend-config", type=Path, default=None, help="VLM backends: options YAML "
                   "(config/policy_backends.yaml)")
    e.add_argument("--out", type=Path, default=Path("out/eval"))
    e.set_defaults(func=_cmd_eval)

    s = sub.add_parser("scenes", help="generate seeded random scenes")
    s.add_argument("--n", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--phrasing", choices=["train", "heldout"], default="train")
    s.add_argument("--out", type=Path, default=None)
    s.set_defaults(func=_cmd_scenes)

    g = sub.add_parser("ground", help="propose marks on a scene and ground an instruction")
    g.add_argument("--scene", type=Path, default=None)
    g.add_argument("--instruction", default=None)
    g.set_defaults(func=_cmd_ground)
    dm = sub.add_parser("demos", help="record expert demonstrations in the MuJoCo cell (LeRobot v3 dataset)")
    dm.add_argument("--out", type=Path, required=True)
    dm.add_argument("--episodes", type=int, default=300)
    dm.add_argument("--seed", type=int, default=1000)
    dm.add_argument("--workers", type=int, default=2)
    dm.add_argument("--camera-jitter", type=float, default=0.02, help="std of camera position jitter (m)")
    dm.add_argument("--extra-instructions", type=int, default=20,
                    help="extra verified instructions per scene for the grounding heads")
    dm.add_argument("--grounding-scenes", type=int, default=2000,
                    help="extra perception-only scenes (one rendered frame each) for the grounding heads")
    dm.set_defaults(func=_cmd_demos)

    t = sub.add_parser("train", help="train the learned policy on demonstrations; writes checkpoint, ONNX, metadata")
    t.add_argument("--data", type=Path, required=True, help="LeRobot v3 dataset from `demos`")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--max-minutes", type=float, default=14.0, help="stop training after this long (wall clock)")
    t.set_defaults(func=_cmd_train)

    x = sub.add_parser("export", help="export policy.onnx again from a trained model directory's model.pt")
    x.add_argument("--model-dir", type=Path, required=True)
    x.set_defaults(func=_cmd_export)

    q = sub.add_parser("spatial-qa", help="SpatialBench-style questions on sim scenes: accuracy per category, "
                       "the built-in perception as the baseline")
    q.add_argument("--policy", default="builtin", help="builtin, or a VLM backend: spatialbot, transformers, openai, magma")
    q.add_argument("--n", type=int, default=50, help="questions per category")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--model-dir", default=None, help="VLM backends: a model directory or hub id")
    q.add_argument("--backend-config", type=Path, default=None, help="VLM backends: options YAML")
    q.add_argument("--out", type=Path, default=Path("out/spatial_qa"))
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

    u = sub.add_parser("up", help="start a node graph as separate processes from config/*.yaml (no ros2 launch needed)")
    u.add_argument("profile", help="sim, sim_pick_place, camera or cell-emulated")
    u.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    u.add_argument("--params-file", type=Path, action="append", default=[],
                   help="extra ROS parameter file for our nodes, e.g. a calibration (repeatable)")
    u.set_defaults(func=_cmd_up)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
