"""How well perception measures objects: the proposer's footprint and height against simulator
truth, and whether "bigger"/"taller" comparisons hold at a given relative difference.

Grounding orders marks by size (the bounding volume), width (the footprint's long side) and height
(`core.marks.extent_of`) for superlatives ("the biggest cup", "the widest one", "the tallest one");
a comparison it makes must agree with the world. This
renders seeded random scenes from the observe pose, matches each mark to the object whose pixels
it covers (simulator segmentation, scoring only) and reports errors in millimetres and the
pairwise ordering accuracy for pairs whose true sizes differ by at least `min_difference`.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from spatialbot_ros.apps.episode import view_from_observe_pose
from spatialbot_ros.core.marks import Mark, extent_of
from spatialbot_ros.core.som_proposer import GeometricProposer, ProposerConfig
from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
from spatialbot_ros.sim.scene import ObjectSpec
from spatialbot_ros.sim.scene_generator import generate_scenes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Measured:
    """One object: truth and perception (metres)."""

    scene: str
    name: str
    kind: str
    true_long_m: float
    true_short_m: float
    true_height_m: float
    long_m: float
    short_m: float
    height_m: float
    shape: str          # the perceived shape (a round one counts its long side both ways)

    def true_extent(self, dim: str) -> float:
        return extent_of((self.true_long_m, self.true_short_m), self.true_height_m, dim)

    def extent(self, dim: str) -> float:
        return extent_of((self.long_m, self.short_m), self.height_m, dim, self.shape)


@dataclass
class PairStats:
    """Pairs in one scene whose true values differ by >= min_difference (relative to the larger)."""

    pairs: int = 0
    ordered: int = 0          # perception orders them like the truth
    decisive: int = 0         # ... and by more than grounding's margin (so a superlative is answered)

    @property
    def accuracy(self) -> float:
        return self.ordered / self.pairs if self.pairs else float("nan")


@dataclass
class StudyReport:
    objects: int
    missed: int                                   # objects no mark covered
    errors_mm: dict[str, dict[str, float]]        # "footprint"/"height"/per kind -> median/p95 of |error|
    bias_mm: dict[str, float]                     # median signed error (perceived - true)
    size_pairs: PairStats = field(default_factory=PairStats)     # bounding volume ("the bigger cup")
    height_pairs: PairStats = field(default_factory=PairStats)
    width_pairs: PairStats = field(default_factory=PairStats)  # footprint long side ("the wider cup")
    min_difference: float = 0.15
    margin: float = 0.1

    def as_dict(self) -> dict:
        d = asdict(self)
        d["size_pairs"]["accuracy"] = self.size_pairs.accuracy
        d["height_pairs"]["accuracy"] = self.height_pairs.accuracy
        d["width_pairs"]["accuracy"] = self.width_pairs.accuracy
        return d


def owner_of(seg: np.ndarray, mark: Mark, names: list[str]) -> str | None:
    ids = seg[mark.mask]
    ids = ids[ids >= 0]
    if ids.size == 0 or np.bincount(ids).max() < 0.6 * ids.size:
        return None  # a mark spanning two objects measures neither
    return names[int(np.bincount(ids).argmax())]


def measure_scene(objects: list[ObjectSpec], cell: Ur5Cell, proposer: GeometricProposer, scene_name: str) -> tuple[list[Measured], int]:
    """Each object's perceived footprint and height, and how many objects no mark measured."""
    _, frame = view_from_observe_pose(cell)
    proposals = proposer.propose(frame, cell.config.base_from_camera)
    seg = cell.segmentation()
    by_name = {o.name: o for o in objects}
    out: dict[str, Measured] = {}
    for mark in proposals.marks:
        name = owner_of(seg, mark, cell.object_names)
        if name is None or name in out or name not in by_name:
            continue
        o = by_name[name]
        out[name] = Measured(scene_name, name, o.kind, *o.footprint_m, o.height_m, *mark.footprint_m, mark.height_m,
                             mark.shape)
    return list(out.values()), len(objects) - len(out)


def _pairs(items: list[Measured], dim: str, min_difference: float, margin: float) -> PairStats:
    stats = PairStats()
    for a, b in itertools.combinations(items, 2):
        ta, tb = a.true_extent(dim), b.true_extent(dim)
        if abs(ta - tb) < min_difference * max(ta, tb):
            continue
        sa, sb = a.extent(dim), b.extent(dim)
        stats.pairs += 1
        if (sa > sb) == (ta > tb):
            stats.ordered += 1
            if abs(sa - sb) >= margin * max(sa, sb):
                stats.decisive += 1
    return stats


def _abs_stats(errors_m: np.ndarray) -> dict[str, float]:
    e = np.abs(errors_m) * 1e3
    return {"median": float(np.median(e)), "p95": float(np.percentile(e, 95)), "n": int(e.size)}


def run_study(min_objects: int = 500, seed: int = 0, min_difference: float = 0.15,
              proposer_config: ProposerConfig | None = None, margin: float = 0.1) -> StudyReport:
    """Seeded random scenes until at least `min_objects` objects were shown."""
    proposer = GeometricProposer(proposer_config)
    measured: list[Measured] = []
    shown = missed = 0
    size_pairs, height_pairs, width_pairs = PairStats(), PairStats(), PairStats()
    batch = 0
    with tqdm(total=min_objects, desc="objects", unit="obj", disable=None) as bar:
        while shown < min_objects:
            for scene in generate_scenes(20, seed + 7919 * batch):
                cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
                try:
                    cell.reset()
                    items, lost = measure_scene(scene.objects, cell, proposer, scene.name)
                finally:
                    cell.close()
                measured += items
                missed += lost
                shown += len(scene.objects)
                bar.update(len(scene.objects))
                for acc, dim in ((size_pairs, "size"), (height_pairs, "height"), (width_pairs, "width")):
                    s = _pairs(items, dim, min_difference, margin)
                    acc.pairs, acc.ordered, acc.decisive = acc.pairs + s.pairs, acc.ordered + s.ordered, acc.decisive + s.decisive
                if shown >= min_objects:
                    break
            batch += 1
    long_err = np.array([m.long_m - m.true_long_m for m in measured])
    height_err = np.array([m.height_m - m.true_height_m for m in measured])
    errors = {"footprint": _abs_stats(long_err), "height": _abs_stats(height_err)}
    for kind in sorted({m.kind for m in measured}):
        idx = np.array([m.kind == kind for m in measured])
        errors[f"{kind} footprint"] = _abs_stats(long_err[idx])
        errors[f"{kind} height"] = _abs_stats(height_err[idx])
    bias = {"footprint": float(np.median(long_err) * 1e3), "height": float(np.median(height_err) * 1e3)}
    return StudyReport(shown, missed, errors, bias, size_pairs, height_pairs, width_pairs, min_difference, margin)


def report_markdown(r: StudyReport) -> str:
    lines = [f"objects shown: {r.objects}, measured: {r.objects - r.missed}, missed: {r.missed}", "",
             "| quantity | median abs error mm | p95 abs error mm | n |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['median']:.1f} | {v['p95']:.1f} | {v['n']} |" for k, v in r.errors_mm.items()]
    lines += ["", f"median signed error: footprint {r.bias_mm['footprint']:+.1f} mm, height {r.bias_mm['height']:+.1f} mm", "",
              f"pairs whose true values differ by >= {r.min_difference:.0%}: ordered right / decisive at the "
              f"grounding margin ({r.margin:.0%})", "",
              "| comparison | pairs | ordered right | decisive |", "|---|---|---|---|"]
    for name, p in (("size (bounding volume)", r.size_pairs), ("height", r.height_pairs),
                    ("width (footprint long side)", r.width_pairs)):
        lines.append(f"| {name} | {p.pairs} | {p.ordered} ({p.accuracy:.1%}) | {p.decisive} |")
    return "\n".join(lines)


@dataclass
class StackedReport:
    """Seeded scenes with one graspable object stood on the plate: what perception makes of the pair."""

    scenes: int = 0
    separated: int = 0       # the object on the plate has a mark of its own, right colour and shape
    rests_on_plate: int = 0  # ... that records the plate's mark as what it stands on
    plate_named: int = 0     # the plate has a mark of its own called a plate
    others: int = 0          # the scenes' other objects
    others_measured: int = 0  # ... each covered by exactly one mark
    height_errors_mm: list[float] = field(default_factory=list)    # the stacked object's own height
    centroid_errors_mm: list[float] = field(default_factory=list)  # its 3-D centre

    def as_dict(self) -> dict:
        d = asdict(self)
        for key in ("height_errors_mm", "centroid_errors_mm"):
            values = np.abs(np.asarray(d.pop(key)))
            d[key.replace("_mm", "")] = ({"median_mm": float(np.median(values)), "p95_mm": float(np.percentile(values, 95)),
                                          "n": int(values.size)} if values.size else {})
        return d


def run_stacked_study(n_scenes: int = 100, seed: int = 0) -> StackedReport:
    """Generated scenes holding a plate and a graspable object; that object is stood on the plate
    (Ur5Cell.stack_object) and the scene seen from the observe pose."""
    from spatialbot_ros.core.object_kinds import default_registry

    kinds = default_registry()
    proposer = GeometricProposer()
    report = StackedReport()
    rng = np.random.default_rng(seed)
    with tqdm(total=n_scenes, desc="stacked scenes", unit="scene", disable=None) as bar:
        while report.scenes < n_scenes:
            scene = generate_scenes(1, int(rng.integers(0, 2**31 - 1)))[0]
            plate = next((o for o in scene.objects if o.kind == "plate"), None)
            top = next((o for o in scene.objects if kinds[o.kind].graspable), None)
            if plate is None or top is None:
                continue
            cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
            try:
                cell.reset()
                try:
                    cell.stack_object(top.name, plate.name)
                except RuntimeError as exc:  # it did not settle on the plate: not a stacked scene
                    log.info("skipped %s: %s", scene.name, exc)
                    continue
                _, frame = view_from_observe_pose(cell)
                marks = proposer.propose(frame, cell.config.base_from_camera).marks
                seg = cell.segmentation()
                owners = [(owner_of(seg, m, cell.object_names), m) for m in marks]
                truth = cell.object_pose(top.name)[:3, 3]
            finally:
                cell.close()
            report.scenes += 1
            bar.update(1)
            tops = [m for n, m in owners if n == top.name]
            plates = [m for n, m in owners if n == plate.name]
            if len(plates) == 1 and plates[0].shape == "plate":
                report.plate_named += 1
            if len(tops) == 1 and tops[0].color_name == top.color and tops[0].shape == kinds[top.kind].perceived_shape:
                report.separated += 1
                report.rests_on_plate += int(len(plates) == 1 and tops[0].resting_on == plates[0].id)
            if len(tops) == 1:
                report.height_errors_mm.append((tops[0].height_m - top.height_m) * 1e3)
                if tops[0].centroid_base is not None:
                    report.centroid_errors_mm.append(float(np.linalg.norm(tops[0].centroid_base - truth)) * 1e3)
            others = [o for o in scene.objects if o.name not in (top.name, plate.name)]
            report.others += len(others)
            report.others_measured += sum(1 for o in others if sum(n == o.name for n, _ in owners) == 1)
    return report


def stacked_markdown(r: StackedReport) -> str:
    d = r.as_dict()
    h, c = d["height_errors"], d["centroid_errors"]
    rows = [("object on the plate: own mark, right colour and shape", r.separated, r.scenes),
            ("... standing on the plate's mark", r.rests_on_plate, r.scenes),
            ("plate: own mark, called a plate", r.plate_named, r.scenes),
            ("other objects: one mark each", r.others_measured, r.others)]
    lines = ["| stacked scenes | count | of | rate |", "|---|---|---|---|"]
    lines += [f"| {name} | {k} | {n} | {k / n:.1%} |" if n else f"| {name} | 0 | 0 | - |" for name, k, n in rows]
    if h:
        lines += ["", f"object on the plate, own height: median abs error {h['median_mm']:.1f} mm, p95 {h['p95_mm']:.1f} mm; "
                  f"3-D centre: median {c['median_mm']:.1f} mm, p95 {c['p95_mm']:.1f} mm ({h['n']} objects)"]
    return "\n".join(lines)
