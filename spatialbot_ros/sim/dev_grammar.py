"""The dev split for the phrase parser: scenes and instructions to tune on, never the frozen suite.

Its phrasings are written for this file alone (they share no template with sim/heldout_grammar.py or
core/instruction_templates.py): object-first and verbless sentences, viewpoint clauses, synonyms and
compound nouns, superlative and ordinal variants, relations, and must-refuse cases. The expected answer
is computed from the scene's geometry here, not by the grounder, so a grounder bug cannot hide in
its own expectations. `dev_cases(n, seed)` gives the cases; `score_grounder` runs any
instruction -> (pick, place) function over them on ideal marks (perception out of the loop).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.instruction_templates import SceneObjectFacts, marks_from_facts
from spatialbot_ros.core.marks import Mark, extent_of
from spatialbot_ros.core.object_kinds import default_registry
from spatialbot_ros.core.transforms import invert, transform_points
from spatialbot_ros.sim.scene import CameraSpec, Expected, ObjectSpec, Scene
from spatialbot_ros.sim.scene_generator import generated_size, to_facts

DEV_SEED = 4711
COLOURS = ("red", "green", "blue", "yellow", "orange", "purple")
WORDS = {"cup": ("cup", "mug", "beaker", "coffee cup", "tea cup", "drinking glass", "tumbler"),
         "box": ("box", "cube", "block", "wooden block", "brick"),
         "sphere": ("ball", "sphere", "orb", "toy ball"),
         "plate": ("plate", "dish", "serving platter", "dinner plate", "saucer"),
         "bowl": ("bowl", "basin", "soup bowl", "mixing bowl")}
PLURALS = {"cup": "cups", "mug": "mugs", "beaker": "beakers", "box": "boxes", "cube": "cubes", "block": "blocks",
           "ball": "balls", "sphere": "spheres", "orb": "orbs"}
# viewpoint clauses of this split, by frame ("" = the default, the camera's)
VIEWS = {"camera": ("", "as I see it", "from my side of the table", "in the picture", "as the camera sees it",
                    "as viewed from the camera", "from where I am standing"),
         "robot": ("as the robot sees it", "from your side", "from your point of view", "from the robot's position",
                   "from the perspective of the robot", "as you see it")}
SIDE_SUPERLATIVE = ("{s}most {n}", "{n} furthest to the {s}", "{n} on the very {s}", "{s}-hand {n}",
                    "{n} that is farthest {s}", "{n} at the {s} edge", "{n} that sits furthest {s}")
ORDINAL = ("{o} {n} from the {s}", "{o} {n} counting from the {s}", "{n} that is {o} from the {s} side")
# explicit distance frames; "frontmost" / "at the back" follow the viewpoint (see VIEW_DEPTH)
DEPTH = {("camera", "near"): ("{n} nearest the camera", "{n} closest to me"),
         ("camera", "far"): ("{n} farthest from me", "{n} furthest from the camera", "farthest {n} from me"),
         ("robot", "near"): ("{n} closest to the robot", "{n} nearest to you", "closest {n} to the robot"),
         ("robot", "far"): ("{n} farthest from the robot", "{n} furthest away from you")}
VIEW_DEPTH = {"near": ("frontmost {n}", "{n} in front", "{n} at the front"), "far": ("{n} at the back", "rearmost {n}")}
SIZE = {("size", "max"): ("largest {n}", "biggest {n}", "widest {n}"), ("size", "min"): ("smallest {n}", "tiny {n}"),
        ("height", "max"): ("tallest {n}", "highest {n}"), ("height", "min"): ("shortest {n}", "lowest {n}")}
PICK_PLACE = ("pick up the {P} and drop it {L}", "would you take the {P} and then place it {L}",
              "the {P} should end up {L}", "the {P} goes {L}", "the {P}, put it {L}", "the {P} -> {L}",
              "I'd like the {P} {L}", "move the {P} over {L}", "carry the {P} {L}", "the {P} belongs {L}",
              "would you mind picking up the {P} and placing it {L}", "{L}, the {P}", "first, grab the {P}, then put it {L}",
              "the {P} must be moved {L}")
PICK_ONLY = ("pick out the {P}", "hold the {P}", "get me the {P}", "retrieve the {P}", "the {P}, pick it up")
REFUSALS = ("absent_colour", "absent_kind", "absent_place", "ambiguous", "negation", "dangling_pronoun",
            "impossible", "unknown_verb")


@dataclass(frozen=True)
class DevCase:
    id: str
    case: str
    instruction: str
    objects: tuple[ObjectSpec, ...]
    outcome: str              # "execute" | "refuse"
    pick: str | None
    place: str | None

    def scene(self) -> Scene:
        """The case as a simulator scene (for a full episode through `evaluate`)."""
        exp = Expected(self.pick or self.objects[0].name, self.place)
        return Scene(self.id, list(self.objects), self.instruction, exp)

    def facts(self) -> list[SceneObjectFacts]:
        return to_facts(list(self.objects))


def _place_objects(rng: np.random.Generator, kinds: list[tuple[str, str]], scale: dict[int, float],
                   sizes: dict[int, dict] | None = None) -> list[ObjectSpec]:
    """Non-overlapping random positions; object i gets sizes[i] if given, else a generated size times scale[i]."""
    objs: list[ObjectSpec] = []
    for i, (kind, colour) in enumerate(kinds):
        size = dict(sizes[i]) if sizes and i in sizes else generated_size(default_registry()[kind], rng)
        if i in scale:
            size = {k: (v * scale[i] if k == "radius" else [h * scale[i] for h in v] if k == "half_extents" else
                        v * scale[i] if k == "height" else v) for k, v in size.items()}
        for _ in range(400):
            x, y = float(rng.uniform(0.34, 0.72)), float(rng.uniform(-0.34, 0.34))
            spec = ObjectSpec(f"{colour}_{kind}_{i}", kind, colour, size, (x, y))
            if all(math.dist(spec.position, o.position) - spec.footprint_radius_m - o.footprint_radius_m >= 0.05
                   for o in objs):
                objs.append(spec)
                break
        else:
            raise ValueError("dev grammar: no free spot")
    return objs


def _lr(o: ObjectSpec, view: str, cam_from_base: np.ndarray) -> float:
    """Larger = further to that viewer's right."""
    if view == "robot":
        return -o.position[1]
    c = transform_points(cam_from_base, np.array([o.position[0], o.position[1], o.height_m / 2]))
    return float(c[0] / c[2])


def _dist(o: ObjectSpec, frame: str, cam_pos: np.ndarray) -> float:
    if frame == "robot":
        return math.hypot(*o.position)
    return float(np.linalg.norm(np.array([o.position[0], o.position[1], o.height_m / 2]) - cam_pos))


def _size(o: ObjectSpec, kind: str) -> float:
    return extent_of(o.footprint_m, o.height_m, kind)   # what perception's marks order by


def _clear(values: list[float], rel: float = 0.0, gap: float = 0.0) -> bool:
    v = sorted(values)
    return all(b - a > max(gap, rel * b) for a, b in zip(v, v[1:], strict=False))


class _Gen:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        cam = CameraSpec()
        self.cam_pos = np.asarray(cam.position, float)
        self.cam_from_base = invert(cam.base_from_camera())

    def pick(self, seq: tuple[str, ...] | list[str]) -> str:
        return str(seq[int(self.rng.integers(len(seq)))])

    def noun(self, kind: str) -> str:
        return self.pick(WORDS[kind])

    def support(self, objs: list[ObjectSpec], pick: ObjectSpec) -> tuple[str, str]:
        sup = [o for o in objs if o.kind in ("plate", "bowl")]
        o = sup[int(self.rng.integers(len(sup)))]
        n = self.noun(o.kind)
        same = [s for s in sup if s.kind == o.kind]
        desc = n if len(same) == 1 else f"{o.color} {n}"
        prep = self.pick(("into", "in", "inside")) if o.kind == "bowl" else self.pick(("on", "onto", "on top of"))
        return f"{prep} the {desc}", o.name

    def sentence(self, phrase: str, place: str | None) -> str:
        if place is None:
            return self.pick(PICK_ONLY).format(P=phrase)
        return self.pick(PICK_PLACE).format(P=phrase, L=place)

    def with_view(self, text: str, view: str, needs_view: bool) -> str:
        clause = self.pick(VIEWS[view]) if needs_view or view == "robot" else ""
        if not clause:
            return text
        return f"{clause}, {text}" if self.rng.random() < 0.4 else f"{text}, {clause}"

    def scene(self, n_same: int, kind: str, same_colour: bool, scale: dict[int, float] | None = None,
              n_other: int = 1) -> list[ObjectSpec]:
        colours = list(self.rng.permutation(COLOURS))
        kinds = [(kind, colours[0] if same_colour else colours[i % len(colours)]) for i in range(n_same)]
        others = [k for k in ("cup", "box", "sphere") if k != kind]
        kinds += [(self.pick(others), colours[(n_same + i) % len(colours)]) for i in range(n_other)]
        kinds += [("plate", "white"), ("bowl", self.pick(COLOURS))]
        for _ in range(50):
            try:
                return _place_objects(self.rng, kinds, scale or {})
            except ValueError:
                continue
        raise ValueError("dev grammar: no layout without overlap")


def _execute_case(g: _Gen, category: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.75
    for _ in range(200):
        if category == "attribute":
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            phrase = g.pick((f"{t.color} {g.noun(kind)}", f"{g.noun(kind)} that is {t.color}",
                             f"{t.color} coloured {g.noun(kind)}", f"{t.color} one", f"{g.noun(kind)} coloured {t.color}"))
            if phrase.endswith(" one") and sum(o.color == t.color for o in objs if o.kind != "plate") != 1:
                continue
            view, needs = "camera", False
        elif category == "size":
            sel = tuple(g.pick([f"{a}|{b}" for a, b in SIZE]).split("|"))
            objs = g.scene(3, kind, True, {0: 0.65, 1: 1.0, 2: 1.45})
            same = [o for o in objs if o.kind == kind]
            vals = [_size(o, sel[0]) for o in same]
            if not _clear(vals, rel=0.25):
                continue
            t = (max if sel[1] == "max" else min)(same, key=lambda o: _size(o, sel[0]))
            phrase = g.pick(SIZE[sel]).format(n=g.noun(kind))  # type: ignore[index]
            view, needs = "camera", False
        elif category == "depth":
            frame, way = g.pick(("camera|near", "camera|far", "robot|near", "robot|far")).split("|")
            objs = g.scene(3, kind, True)
            same = [o for o in objs if o.kind == kind]
            if not _clear([_dist(o, frame, g.cam_pos) for o in same], gap=0.07):
                continue
            key = partial(_dist, frame=frame, cam_pos=g.cam_pos)
            t = (min if way == "near" else max)(same, key=key)
            view, needs = g.pick(("camera", "robot")), False
            if g.rng.random() < 0.3:    # viewpoint-relative: "front" is nearest whoever looks
                frame, needs = view, True
                key = partial(_dist, frame=frame, cam_pos=g.cam_pos)
                t = (min if way == "near" else max)(same, key=key)
                if not _clear([key(o) for o in same], gap=0.07):
                    continue
                phrase = g.pick(VIEW_DEPTH[way]).format(n=g.noun(kind))
            else:
                phrase = g.pick(DEPTH[(frame, way)]).format(n=g.noun(kind))
        elif category == "side":
            view = g.pick(("camera", "robot"))
            side = g.pick(("left", "right"))
            objs = g.scene(3, kind, True)
            same = [o for o in objs if o.kind == kind]
            if not _clear([_lr(o, view, g.cam_from_base) for o in same], gap=0.08):
                continue
            t = (max if side == "right" else min)(same, key=lambda o: _lr(o, view, g.cam_from_base))
            phrase = g.pick(SIDE_SUPERLATIVE).format(s=side, n=g.noun(kind))
            needs = True
        elif category == "ordinal":
            view = g.pick(("camera", "robot"))
            side = g.pick(("left", "right"))
            objs = g.scene(4, kind, True)
            same = sorted([o for o in objs if o.kind == kind], key=lambda o: _lr(o, view, g.cam_from_base),
                          reverse=side == "right")
            if not _clear([_lr(o, view, g.cam_from_base) for o in same], gap=0.08):
                continue
            k = int(g.rng.integers(2, 4))
            t = same[k - 1]
            phrase = g.pick(ORDINAL).format(o=("second", "third")[k - 2], n=g.noun(kind), s=side)
            needs = True
        else:   # relation
            view = g.pick(("camera", "robot"))
            objs = g.scene(2, kind, True, n_other=2)
            same = [o for o in objs if o.kind == kind]
            refs = [o for o in objs if o.kind not in (kind, "plate", "bowl")]
            r = refs[0]
            left = [o for o in same if _lr(o, view, g.cam_from_base) < _lr(r, view, g.cam_from_base) - 0.08]
            right = [o for o in same if _lr(o, view, g.cam_from_base) > _lr(r, view, g.cam_from_base) + 0.08]
            if len(left) != 1 or len(right) != 1:
                continue
            side = g.pick(("left", "right"))
            t = left[0] if side == "left" else right[0]
            rel = g.pick((f"just to the {side} of", f"on the {side} side of", f"{side} of"))
            phrase = f"{g.noun(kind)} {rel} the {r.color} {g.noun(r.kind)}"
            needs = True
        place, place_name = g.support(objs, t) if with_place else (None, None)
        text = g.with_view(g.sentence(phrase, place), view, needs)
        return text, objs, t.name, place_name
    raise ValueError(f"dev grammar: no clear {category} layout")


def _refuse_case(g: _Gen, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    present = {o.color for o in objs}
    t = objs[0]
    place, _ = g.support(objs, t)
    n = g.noun(kind)
    if reason == "absent_colour":
        c = g.pick([c for c in COLOURS + ("pink", "grey", "brown") if c not in present])
        return g.sentence(f"{c} {n}", place), objs
    if reason == "absent_kind":
        return g.sentence(f"{t.color} {g.pick(('kettle', 'ladle', 'pencil', 'remote', 'knife'))}", place), objs
    if reason == "absent_place":
        objs = [o for o in objs if o.kind not in ("plate", "bowl")]
        return g.sentence(f"{t.color} {n}", g.pick(("onto the dish", "into the basin", "on the tray"))), objs
    if reason == "ambiguous":
        return g.sentence(g.pick((n, f"{n} on the table")), place), objs
    if reason == "negation":
        return g.pick((f"grab any {n} except the {t.color} one", f"pick the {n} that isn't {t.color}",
                       f"never touch the {t.color} {n}", f"the {n} which is not {t.color} goes {place}")), objs
    if reason == "dangling_pronoun":
        return g.pick((f"drop it {place}", f"set that one {place}", f"put them {place}")), objs
    if reason == "impossible":
        return g.pick((f"pick up the plate and put it {place}", f"put the {t.color} {n} inside the {objs[1].color} "
                       f"{g.noun(objs[1].kind)}", "lift the bowl", f"move the {t.color} {n} to x 0.3 y 0.1")), objs
    return g.pick((f"throw the {t.color} {n}", f"squeeze the {t.color} {n}", f"pick the {t.color} {n} and shake it")), objs


def draw_cases(g: _Gen, n: int, prefix: str, cats: tuple[str, ...], refusals: tuple[str, ...],
               execute: Callable[..., tuple[str, list[ObjectSpec], str, str | None]],
               refuse: Callable[..., tuple[str, list[ObjectSpec]]], execute_share: float = 0.75,
               category: Callable[[str, int], str] | None = None) -> list[DevCase]:
    """n cases of one dev split, the same way in every split: case i executes with probability
    execute_share (one draw from g.rng), in category cats[i % len] (or `category(that, i)`), else it must
    be refused for refusals[i % len]; ids are prefix + i."""
    out: list[DevCase] = []
    for i in range(n):
        if g.rng.random() < execute_share:
            cat = cats[i % len(cats)]
            if category is not None:
                cat = category(cat, i)
            text, objs, pick, place = execute(g, cat)
            out.append(DevCase(f"{prefix}{i:04d}", cat, text, tuple(objs), "execute", pick, place))
        else:
            reason = refusals[i % len(refusals)]
            text, objs = refuse(g, reason)
            out.append(DevCase(f"{prefix}{i:04d}", f"refuse_{reason}", text, tuple(objs), "refuse", None, None))
    return out


def dev_cases(n: int = 300, seed: int = DEV_SEED) -> list[DevCase]:
    """n cases: about 78 % to execute over six categories, the rest must be refused (eight reasons)."""
    cats = ("attribute", "size", "depth", "side", "ordinal", "relation")
    g = _Gen(np.random.default_rng(seed))
    return draw_cases(g, n, "dev", cats, REFUSALS, _execute_case, _refuse_case, execute_share=0.78)


@dataclass
class DevScore:
    cases: int
    success: float
    refusal_precision: float
    refusal_recall: float
    misreadings: int
    median_ms: float
    failures: list[tuple[str, str, str]]   # (case, instruction, what happened)


Grounder = Callable[[str, list[Mark], np.ndarray], tuple[int, int | None]]


def score_grounder(ground: Grounder, cases: list[DevCase]) -> DevScore:
    """Run ground(instruction, marks, base_from_camera) -> (pick mark id, place mark id or None) over the
    cases on ideal marks; a SpatialBotError is a refusal."""
    base_from_camera = CameraSpec().base_from_camera()
    ok = tp = refused = misread = 0
    times: list[float] = []
    failures: list[tuple[str, str, str]] = []
    for c in cases:
        marks = marks_from_facts(c.facts(), base_from_camera)
        names = {m.id: m.label for m in marks}
        t0 = time.perf_counter()
        try:
            pick, place = ground(c.instruction, marks, base_from_camera)
            got: tuple[str | None, str | None] | None = (names.get(pick), names.get(place) if place else None)
            why = ""
        except SpatialBotError as exc:
            got, why = None, str(exc)
        times.append((time.perf_counter() - t0) * 1e3)
        if got is None:
            refused += 1
            tp += c.outcome == "refuse"
            ok += c.outcome == "refuse"
            if c.outcome == "execute":
                failures.append((c.case, c.instruction, f"refused: {why[:160]}"))
        elif c.outcome == "execute" and got == (c.pick, c.place):
            ok += 1
        else:
            misread += 1
            failures.append((c.case, c.instruction, f"acted on {got}, expected {(c.pick, c.place)}"))
    n_ref = sum(c.outcome == "refuse" for c in cases)
    return DevScore(len(cases), ok / len(cases), tp / refused if refused else 1.0, tp / n_ref if n_ref else 1.0,
                    misread, float(np.median(times)), failures)
