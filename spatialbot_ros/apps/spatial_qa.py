"""SpatialBench-style questions from simulated scenes, with ground truth from the simulator.

Categories: `depth` (how far the centre of an object is, mm), `closer` (which of two objects is
nearer the camera), `left_right` (is A left of B in the image), `size` (which of two is bigger),
`touching` (is the gripper touching an object: the arm is posed around it, closed on it or open
beside it, and MuJoCo's contacts decide), `counting` (how many objects of a kind).

Truth uses only the simulator (object specs, poses, contacts, the exact rendered depth); the
answerers see the RGB-D frame, the Set-of-Mark proposals from the observe pose and, like the robot
does, the gripper's fingertip positions.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from spatialbot_ros.core.durable import (
    JsonlLog,
    atomic_save_figure,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
)
from spatialbot_ros.core.errors import OutputError, RunStateError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.marks import Mark, extent_of
from spatialbot_ros.core.object_kinds import default_registry
from spatialbot_ros.core.transforms import invert, transform_points
from spatialbot_ros.policy.parsers import parse_yes_no
from spatialbot_ros.sim.scene import ObjectSpec, SceneError

log = logging.getLogger(__name__)

CATEGORIES = ("depth", "closer", "left_right", "size", "touching", "counting")
DEPTH_TOLERANCE = 0.10   # relative error allowed on depth answers
SIZE_MARGIN = 0.25       # size questions only when one object is this much bigger
_NUMBER_WORDS = {"zero": 0, "no": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8}


@dataclass(frozen=True)
class SpatialQuestion:
    """form: 'mm', 'choice', 'yes_no' or 'count'; truth: float mm, the chosen phrase, bool, int."""

    category: str
    question: str
    form: str
    truth: Any
    subjects: tuple[str, ...] = ()
    scene_seed: int = 0


@dataclass
class QaScene:
    """What an answerer may look at for one question: the current frame, and the marks proposed on
    the frame seen from the observe pose before the arm moved (`observe_frame`), as the robot has."""

    frame: RGBDFrame
    observe_frame: RGBDFrame
    marks: list[Mark]
    base_from_camera: np.ndarray
    fingertips_base: np.ndarray


class SpatialAnswerer(Protocol):
    name: str

    def answer(self, question: SpatialQuestion, scene: QaScene) -> str: ...


def object_phrase(obj: ObjectSpec) -> str:
    return f"the {obj.color} {default_registry()[obj.kind].nouns.singular}"


def _size(obj: ObjectSpec) -> float:
    """What "bigger" compares (core.marks.extent_of, as grounding does): the bounding volume."""
    return extent_of(obj.footprint_m, obj.height_m, "size")


# ---- scenes ------------------------------------------------------------------------------------

@dataclass
class _Rendered:
    cell: Any
    qa: QaScene
    objects: list[ObjectSpec]
    centres: dict[str, np.ndarray]
    held: str | None


def _render_scene(seed: int, touching: bool | None) -> _Rendered | None:
    """Render a random scene from the observe pose; for touching questions pose the gripper around a
    graspable object (closed on it when `touching`, open beside it otherwise)."""
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.core.actions import GripperCommand
    from spatialbot_ros.core.grasp import top_down_rotation
    from spatialbot_ros.core.som_proposer import GeometricProposer
    from spatialbot_ros.core.transforms import make_pose
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene_generator import generate_scene

    try:
        scene = generate_scene(seed, n_objects=(3, 6))
    except SceneError:
        return None
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    motion, frame = view_from_observe_pose(cell)
    observe_frame = frame
    marks = GeometricProposer().propose(frame, cell.base_from_camera).marks
    centres = {n: cell.object_pose(n)[:3, 3].copy() for n in cell.object_names}
    held: str | None = None
    if touching is not None:
        rng = np.random.default_rng(seed + 7)
        names = [o.name for o in scene.objects if default_registry()[o.kind].graspable]
        if not names:
            cell.close()
            return None
        held = str(rng.choice(names))
        obj = scene.object(held)
        x, y = centres[held][:2]
        z = max(0.015, min(obj.height_m * 0.5, obj.height_m - 0.02))
        yaw = float(obj.yaw) if default_registry()[obj.kind].yawed else 0.0
        motion.gripper(GripperCommand.OPEN)
        if not motion.move_to_pose(make_pose((x, y, z + 0.12), top_down_rotation(yaw))).ok or \
                not motion.move_to_pose(make_pose((x, y, z), top_down_rotation(yaw))).ok:
            cell.close()
            return None
        if touching:
            motion.gripper(GripperCommand.CLOSE)
        frame = cell.render_rgbd()
    qa = QaScene(frame, observe_frame, marks, cell.base_from_camera.copy(), cell.fingertip_positions().copy())
    return _Rendered(cell, qa, list(scene.objects), centres, held)


def _unique(objects: list[ObjectSpec]) -> list[ObjectSpec]:
    phrases = [object_phrase(o) for o in objects]
    return [o for o, p in zip(objects, phrases, strict=True) if phrases.count(p) == 1]


def _questions(seed: int, objects: list[ObjectSpec], qa: QaScene, centres: dict[str, np.ndarray],
               rng: np.random.Generator) -> list[SpatialQuestion]:
    out: list[SpatialQuestion] = []
    cam_from_base = invert(qa.base_from_camera)
    cam = {n: transform_points(cam_from_base, c[None])[0] for n, c in centres.items()}
    k = qa.frame.intrinsics
    h, w = qa.frame.depth_mm.shape
    uniq = _unique(objects)
    # depth: the rendered depth where the object's centre projects (what a Depth API reads there)
    for o in rng.permutation(uniq)[:2]:
        x, y, z = cam[o.name]
        u, v = int(round(k.fx * x / z + k.cx)), int(round(k.fy * y / z + k.cy))
        if 0 <= u < w and 0 <= v < h and qa.frame.depth_mm[v, u] > 0:
            out.append(SpatialQuestion("depth", f"How far from the camera is the centre of {object_phrase(o)}, "
                                       "in millimetres?", "mm", float(qa.frame.depth_mm[v, u]), (object_phrase(o),), seed))
    if len(uniq) >= 2:
        a, b = (uniq[i] for i in rng.choice(len(uniq), 2, replace=False))
        pa, pb = object_phrase(a), object_phrase(b)
        da, db = float(np.linalg.norm(cam[a.name])), float(np.linalg.norm(cam[b.name]))
        if abs(da - db) > 0.05:
            out.append(SpatialQuestion("closer", f"Which is closer to the camera, {pa} or {pb}?", "choice",
                                       pa if da < db else pb, (pa, pb), seed))
        ua, ub = cam[a.name][0] / cam[a.name][2], cam[b.name][0] / cam[b.name][2]
        if abs(ua - ub) > 0.08:
            out.append(SpatialQuestion("left_right", f"In the image, is {pa} to the left of {pb}? Answer yes or no.",
                                       "yes_no", bool(ua < ub), (pa, pb), seed))
        sa, sb = _size(a), _size(b)
        if max(sa, sb) >= (1 + SIZE_MARGIN) * min(sa, sb):
            out.append(SpatialQuestion("size", f"Which is bigger, {pa} or {pb}?", "choice", pa if sa > sb else pb,
                                       (pa, pb), seed))
    kind = str(rng.choice(sorted({o.kind for o in objects})))
    plural = default_registry()[kind].nouns.plural
    out.append(SpatialQuestion("counting", f"How many {plural} are on the table? Answer with a number.",
                               "count", sum(o.kind == kind for o in objects), (plural,), seed))
    return out


def _scene_questions(seed: int, r: _Rendered, touching: bool | None) -> list[SpatialQuestion]:
    """A posed-gripper scene asks only about contact (and counts, which the arm cannot hide from
    the truth); the others ask every category that fits."""
    rng = np.random.default_rng(seed)
    if r.held is None:
        return _questions(seed, r.objects, r.qa, r.centres, rng)
    held = next(o for o in r.objects if o.name == r.held)
    truth = any(r.cell.fingertip_contacts(r.held))
    if truth != touching or held not in _unique(r.objects):
        return []  # keep the touching / not-touching split even, and the object nameable
    phrase = object_phrase(held)
    return [SpatialQuestion("touching", f"Is the robot's gripper touching {phrase}? Answer yes or no.", "yes_no",
                            truth, (phrase,), seed)]


def counts_full(counts: dict[str, int], n: int) -> bool:
    """Every category but touching has its n questions."""
    return all(v >= n for c, v in counts.items() if c != "touching")


def scene_plan(index: int) -> bool | None:
    """How scene `index` poses the gripper, from its index alone (so the scenes, and so the questions,
    are the same whatever the number of workers): every other scene poses it, alternately closed on
    an object (touching) and open beside it; None: the arm stays at the observe pose."""
    return None if index % 2 == 0 else (index // 2) % 2 == 0


def _scene_items(job: tuple[int, int]) -> tuple[QaScene, list[SpatialQuestion]] | None:
    """Render scene `index` (seed) and ask its questions: one worker's unit of work."""
    seed, index = job
    touching = scene_plan(index)
    rendered = _render_scene(seed, touching)
    if rendered is None:
        return None
    try:
        return rendered.qa, _scene_questions(seed, rendered, touching)
    finally:
        rendered.cell.close()


def _rendered_scenes(jobs: list[tuple[int, int]],
                     workers: int) -> Generator[tuple[QaScene, list[SpatialQuestion]] | None, None, None]:
    """The scenes in order, rendered here or in `workers` processes ahead of the consumer (the
    consumer stops when every category is full; scenes rendered ahead are then dropped)."""
    if workers <= 1:
        yield from map(_scene_items, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_scene_items, jobs)


def generate_qa(n_per_category: int, seed: int = 0, progress: bool = False,
                max_scenes: int = 400, workers: int = 1) -> list[tuple[QaScene, SpatialQuestion]]:
    """Questions until every category has n_per_category (touching: half touching, half not).
    workers > 1 renders the scenes in that many processes; the questions are the same."""
    counts = dict.fromkeys(CATEGORIES, 0)
    touching_split = {True: 0, False: 0}
    items: list[tuple[QaScene, SpatialQuestion]] = []
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=max_scenes)
    bar = tqdm(total=n_per_category * len(CATEGORIES), desc="spatial QA scenes", disable=not progress)
    scenes = _rendered_scenes([(int(s), i) for i, s in enumerate(seeds)], workers)
    try:
        for i, result in enumerate(scenes):
            if result is None:
                continue
            qa, qs = result
            seen: dict[str, int] = {}
            for q in qs:
                if counts[q.category] >= n_per_category:
                    continue
                if q.category == "touching":  # an even split however many posed scenes fail
                    if touching_split[bool(q.truth)] >= (n_per_category + 1) // 2:
                        continue
                    touching_split[bool(q.truth)] += 1
                counts[q.category] += 1
                seen[q.category] = seen.get(q.category, 0) + 1
                items.append((qa, q))
                bar.update(1)
            log.debug("scene %d (seed %d): %s", i, seeds[i], seen)
            if all(c >= n_per_category for c in counts.values()):
                break
    finally:
        scenes.close()  # ends the worker pool (scenes rendered ahead are dropped)
        bar.close()
    short = {c: n for c, n in counts.items() if n < n_per_category}
    if short:
        log.warning("spatial QA: only %s questions after %d scenes", short, max_scenes)
    return items


# ---- scoring -----------------------------------------------------------------------------------

def _parse_mm(text: str) -> float | None:
    m = re.search(r"([-+]?\d+(?:\.\d+)?)\s*(mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|m\b|met(?:er|re)s?)?",
                  text, re.IGNORECASE)
    if not m:
        return None
    value, unit = float(m.group(1)), (m.group(2) or "mm").lower()
    scale = 10.0 if unit.startswith("c") else 1000.0 if unit in ("m",) or unit.startswith("met") else 1.0
    return value * scale


def _parse_choice(text: str, choices: tuple[str, ...]) -> str | None:
    """The choice named first in the answer: by colour + noun; failing that by colour alone when
    the colours differ, or by noun alone when the nouns differ."""
    t = text.lower()
    words = [c.lower().replace("the ", "").split() for c in choices]

    def first(pattern: str) -> int:
        m = re.search(rf"\b{pattern}\b", t)
        return m.start() if m else -1

    for key in (lambda w: " ".join(w), lambda w: w[0], lambda w: w[-1]):
        keys = [key(w) for w in words]
        if len(set(keys)) < len(keys):
            continue
        hits = [(first(re.escape(k)), c) for k, c in zip(keys, choices, strict=True)]
        hits = [h for h in hits if h[0] >= 0]
        if hits:
            return min(hits)[1]
    return None


def _parse_count(text: str) -> int | None:
    m = re.search(r"\b(\d+)\b", text)
    if m:
        return int(m.group(1))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word]
    return None


def score_answer(question: SpatialQuestion, answer: str) -> bool:
    """Right or wrong; an unparseable answer is wrong."""
    if not isinstance(answer, str):
        return False
    if question.form == "mm":
        v = _parse_mm(answer)
        return v is not None and math.isfinite(v) and abs(v - question.truth) <= DEPTH_TOLERANCE * question.truth
    if question.form == "choice":
        return _parse_choice(answer, question.subjects) == question.truth
    if question.form == "yes_no":
        r = parse_yes_no(answer)
        return r.ok and r.value == question.truth
    if question.form == "count":
        return _parse_count(answer) == question.truth
    raise ValueError(f"unknown answer form {question.form!r}")


# ---- evaluation --------------------------------------------------------------------------------

@dataclass
class QaReport:
    n_per_category: int
    seed: int
    accuracy: dict[str, dict[str, float]]       # answerer -> category -> accuracy (and "overall")
    counts: dict[str, int]
    answers: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> str:
        names = list(self.accuracy)
        widths = [max(10, len(n) + 2) for n in names]
        head = f"{'category':<12}{'n':>5}" + "".join(f"{n:>{w}}" for n, w in zip(names, widths, strict=True))
        rows = [head, "-" * len(head)]
        for c in (*CATEGORIES, "overall"):
            n = self.counts.get(c, 0)
            rows.append(f"{c:<12}{n:>5}" + "".join(f"{self.accuracy[a].get(c, float('nan')):>{w}.1%}"
                                                  for a, w in zip(names, widths, strict=True)))
        return "\n".join(rows)


ANSWERS_FILE = "spatial_qa_answers.jsonl"  # one answered question per line, fsynced: survives a kill
QA_RUN_FILE = "spatial_qa_run.json"


def _open_qa_run(out_dir: Path, answerers: list[SpatialAnswerer], items: list[tuple[QaScene, SpatialQuestion]],
                 n_per_category: int, seed: int, resume: bool) -> tuple[list[dict[str, Any]], JsonlLog]:
    """The rows an earlier run of the same questions kept (resume), and the log to append to."""
    out_dir.mkdir(parents=True, exist_ok=True)
    want = {"n_per_category": n_per_category, "seed": seed, "answerers": [a.name for a in answerers],
            "questions": len(items)}
    run_path = out_dir / QA_RUN_FILE
    before = json.loads(run_path.read_text()) if run_path.exists() else None
    rows, _ = read_jsonl(out_dir / ANSWERS_FILE, repair=resume)
    if before is not None and not resume and len(rows) < int(before.get("questions", 0)):
        raise OutputError(f"{out_dir} holds an unfinished run ({len(rows)} of {before.get('questions')} questions "
                          "answered); pass --resume to continue it, or choose another --out")
    if not resume or before is None:
        atomic_write_json(run_path, want)
        return [], JsonlLog(out_dir / ANSWERS_FILE, truncate=True)
    differ = [k for k in want if before.get(k) != want[k]]
    if differ:
        raise RunStateError(f"{out_dir}: --resume of a different run ({', '.join(differ)} differ); use the same "
                            "arguments or another --out")
    for i, row in enumerate(rows):
        if i >= len(items) or row.get("question") != items[i][1].question:
            raise RunStateError(f"{out_dir / ANSWERS_FILE}: line {i + 1} is not question {i + 1} of this run; "
                                "remove the directory to start over")
    log.info("%s: resuming after %d of %d answered questions", out_dir, len(rows), len(items))
    return rows, JsonlLog(out_dir / ANSWERS_FILE)


def evaluate_qa(answerers: list[SpatialAnswerer], items: list[tuple[QaScene, SpatialQuestion]], n_per_category: int,
                seed: int, progress: bool = False, out_dir: Path | None = None, resume: bool = False) -> QaReport:
    """Ask every question; with out_dir each answered question is appended to the answers log
    (fsynced) as it finishes, and resume=True continues a killed run of the same questions."""
    correct: dict[str, dict[str, int]] = {a.name: dict.fromkeys(CATEGORIES, 0) for a in answerers}
    counts = dict.fromkeys(CATEGORIES, 0)
    answers: list[dict[str, Any]] = []
    answer_log: JsonlLog | None = None
    if out_dir is not None:
        answers, answer_log = _open_qa_run(Path(out_dir), answerers, items, n_per_category, seed, resume)
    for row in answers:
        counts[row["category"]] += 1
        for a in answerers:
            correct[a.name][row["category"]] += int(bool(row[a.name]["correct"]))
    try:
        for qa, q in tqdm(items[len(answers):], desc="spatial QA", disable=not progress, initial=len(answers),
                          total=len(items)):
            counts[q.category] += 1
            row: dict[str, Any] = {"category": q.category, "question": q.question, "truth": q.truth,
                                   "seed": q.scene_seed}
            for a in answerers:
                try:
                    text = a.answer(q, qa)
                except Exception as e:  # one failing question must not end the evaluation
                    log.warning("%s failed on %r: %s", a.name, q.question, e)
                    text = f"<error: {e}>"
                ok = score_answer(q, text)
                correct[a.name][q.category] += int(ok)
                row[a.name] = {"answer": text, "correct": ok}
            answers.append(row)
            if answer_log is not None:
                answer_log.append(row)
    finally:
        if answer_log is not None:
            answer_log.close()
    total = sum(counts.values())
    accuracy = {}
    for a, per in correct.items():
        acc = {c: per[c] / counts[c] for c in CATEGORIES if counts[c]}
        acc["overall"] = sum(per.values()) / total if total else float("nan")
        accuracy[a] = acc
    return QaReport(n_per_category, seed, accuracy, {**counts, "overall": total}, answers)


def write_qa_report(report: QaReport, out_dir: Path) -> None:
    """spatial_qa.json (accuracies), spatial_qa_answers.jsonl (every answer), spatial_qa.txt, spatial_qa.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in asdict(report).items() if k != "answers"}
    atomic_write_json(out_dir / "spatial_qa.json", summary)
    atomic_write_bytes(out_dir / ANSWERS_FILE, "".join(json.dumps(row, default=str) + "\n"
                                                       for row in report.answers).encode())
    atomic_write_text(out_dir / "spatial_qa.txt", report.table() + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = [c for c in CATEGORIES if report.counts.get(c)]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(1, len(report.accuracy))
    for i, (name, acc) in enumerate(report.accuracy.items()):
        ax.bar(np.arange(len(cats)) + i * width, [acc.get(c, 0.0) * 100 for c in cats], width, label=name)
    ax.set_xticks(np.arange(len(cats)) + width * (len(report.accuracy) - 1) / 2, cats)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 115)
    ax.set_yticks(range(0, 101, 20))
    ax.legend(loc="upper center", ncol=max(1, len(report.accuracy)), fontsize=8)
    ax.set_title(f"Spatial QA, {report.n_per_category} questions per category")
    fig.tight_layout()
    atomic_save_figure(fig, out_dir / "spatial_qa.png", dpi=120)
    plt.close(fig)
