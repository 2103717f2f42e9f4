"""The held-out instruction grammar: fresh scenes and phrasings that share no template with
core/instruction_templates.py (training data and the seeded eval). It was run ONCE with SUITE_SEED to
write spatialbot_ros/data/heldout_suite.json, which is frozen (apps/heldout_suite.py checks its hash).
Never tune a threshold or train on its output; regenerating it makes earlier figures incomparable.

Scenes are laid out on a fixed grid (no overlap by construction) with deliberate distractors: the same
kind in other colours, the same colour in other kinds, so that only the stated phrase decides.
Side words follow the viewpoint: from the camera (at +x looking back at the robot) image-left is -y;
from the robot (at the origin looking +x) its left is +y."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatialbot_ros.sim.scene import CameraSpec, Expected, ObjectSpec, Scene, scene_from_dict, scene_to_dict

SUITE_SEED = 20261201
GRID_X = (0.40, 0.54, 0.68)
GRID_Y = (-0.24, -0.08, 0.08, 0.24)
COLOURS = ("red", "green", "blue", "yellow", "orange", "purple")
SYNONYMS = {"cup": ("cup", "mug", "tumbler"), "box": ("box", "block", "cube"), "sphere": ("ball", "sphere", "orb")}
PLURAL = {"cup": "cups", "mug": "mugs", "tumbler": "tumblers", "box": "boxes", "block": "blocks", "cube": "cubes",
          "ball": "balls", "sphere": "spheres", "orb": "orbs"}
SUPPORT_NOUNS = {"plate": ("plate", "saucer", "platter"), "bowl": ("bowl", "basin")}
ABSENT_NOUNS = ("banana", "spoon", "teapot", "fork", "pen", "stapler")
REFUSE_CLASSES = ("absent_colour", "absent_kind", "absent_place", "ambiguous", "negation", "dangling_pronoun",
                  "impossible")
VIEW_CLAUSES = {
    "camera": ("as the camera sees it", "seen from the camera", "looking from the camera", "in the camera's picture"),
    "robot": ("from where the robot stands", "as the robot sees it", "looking out from the robot",
              "from the robot's side of the table"),
}


@dataclass(frozen=True)
class SuiteItem:
    """One frozen episode: the scene (instruction inside) and what a correct policy does."""
    id: str
    case: str
    scene: Scene
    outcome: str                 # "execute" or "refuse"
    pick: str | None = None
    place: str | None = None
    refuse_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        expect: dict[str, Any] = {"outcome": self.outcome}
        if self.outcome == "execute":
            expect.update(pick=self.pick, place=self.place)
        else:
            expect["reason"] = self.refuse_reason
        return {"id": self.id, "case": self.case, "expect": expect, "scene": scene_to_dict(self.scene)}


class _Builder:
    """Objects for one scene on shuffled grid cells."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        cells = [(x, y) for x in GRID_X for y in GRID_Y]
        self.cells = [cells[i] for i in rng.permutation(len(cells))]
        self.objects: list[ObjectSpec] = []

    def _cell(self, cell: tuple[float, float] | None) -> tuple[float, float]:
        if cell is None:
            cell = self.cells.pop()
        else:
            self.cells.remove(cell)
        j = self.rng.uniform(-0.012, 0.012, 2)
        return (round(cell[0] + float(j[0]), 4), round(cell[1] + float(j[1]), 4))

    def add(self, kind: str, colour: str, cell: tuple[float, float] | None = None, scale: float = 1.0) -> str:
        r = self.rng
        if kind == "cup":
            size: dict[str, Any] = {"radius": min(0.036, r.uniform(0.026, 0.029) * scale),
                                    "height": min(0.15, r.uniform(0.075, 0.09) * scale)}
        elif kind == "box":
            size = {"half_extents": [min(0.036, r.uniform(0.02, 0.023) * scale), min(0.036, r.uniform(0.02, 0.022) * scale)],
                    "height": min(0.11, r.uniform(0.045, 0.055) * scale)}
        elif kind == "sphere":
            size = {"radius": min(0.036, r.uniform(0.026, 0.028) * scale)}
        elif kind == "plate":
            size = {"radius": r.uniform(0.07, 0.08), "height": r.uniform(0.012, 0.018)}
        else:
            size = {"radius": r.uniform(0.065, 0.075), "height": r.uniform(0.04, 0.055)}
        n = sum(o.kind == kind and o.color == colour for o in self.objects) + 1
        name = f"{colour}_{kind}_{n}"
        yaw = float(r.uniform(-math.pi / 2, math.pi / 2)) if kind == "box" else 0.0
        self.objects.append(ObjectSpec(name, kind, colour, size, self._cell(cell), round(yaw, 4)))
        return name

    def obj(self, name: str) -> ObjectSpec:
        return next(o for o in self.objects if o.name == name)


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _side_key(side: str, viewpoint: str) -> Callable[[ObjectSpec], float]:
    """Larger key = further towards `side` for that viewpoint."""
    sign = 1.0 if (side == "right") == (viewpoint == "camera") else -1.0
    return lambda o: sign * o.position[1]


def _camera_distance(o: ObjectSpec) -> float:
    cam = np.asarray(CameraSpec().position)
    return float(np.linalg.norm(cam - np.array([o.position[0], o.position[1], o.height_m / 2])))


def _robot_distance(o: ObjectSpec) -> float:
    return float(math.hypot(*o.position))


# ---- place phrases and sentence frames ------------------------------------------------------------

def _maybe_support(b: _Builder, used: set[str], p: float = 0.6) -> tuple[str | None, str | None]:
    """(support object name, its phrase) or (None, None) for a pick-only instruction."""
    rng = b.rng
    if rng.random() >= p:
        return None, None
    kind = _pick(rng, ("plate", "bowl"))
    colour = _pick(rng, [c for c in ("white", *COLOURS) if c not in used] or ["white"])
    name = b.add(kind, colour)
    noun = _pick(rng, SUPPORT_NOUNS[kind])
    phrase = f"the {colour} {noun}" if rng.random() < 0.5 else f"the {noun}"
    return name, phrase


def _frame(rng: np.random.Generator, obj: str, support: str | None, support_kind: str | None) -> str:
    """A whole sentence around the object phrase `obj` (with its article); object-first and verbless
    forms included."""
    if support is None:
        return _pick(rng, (
            f"{obj}, please", f"I need {obj} picked up", f"lift up {obj} and keep holding it",
            f"could you grab hold of {obj}", f"{obj} — pick it up", f"just hold {obj} up for me",
            f"go and get {obj}", f"please raise {obj} off the table"))
    into = "into" if support_kind == "bowl" else "onto"
    inn = "in" if support_kind == "bowl" else "on"
    return _pick(rng, (
        f"{obj} goes {into} {support}", f"{obj} {into} {support}, please", f"I'd like {obj} {inn} {support}",
        f"could you set {obj} down {inn} {support}", f"{obj} belongs {inn} {support}",
        f"have {obj} end up {inn} {support}", f"grab {obj} and drop it {into} {support}",
        f"{obj} should sit {inn} {support}"))


def _finish(sentence: str, rng: np.random.Generator) -> str:
    s = sentence[0].upper() + sentence[1:]
    return s + ("." if rng.random() < 0.5 else "")


# ---- executable cases ---------------------------------------------------------------------------

def _distractors(b: _Builder, kind: str, colour: str, n: int) -> None:
    """Same kind in other colours and the same colour in other kinds."""
    rng = b.rng
    for _ in range(n):
        if rng.random() < 0.5:
            b.add(kind, _pick(rng, [c for c in COLOURS if c != colour]))
        else:
            b.add(_pick(rng, [k for k in SYNONYMS if k != kind]), colour)


def case_attribute(b: _Builder) -> tuple[str, dict[str, Any]]:
    rng = b.rng
    kind, colour = _pick(rng, list(SYNONYMS)), _pick(rng, COLOURS)
    target = b.add(kind, colour)
    _distractors(b, kind, colour, int(rng.integers(2, 5)))
    sup, sup_phrase = _maybe_support(b, {colour})
    noun = _pick(rng, SYNONYMS[kind])
    obj = _pick(rng, (f"the {colour} {noun}", f"the {noun} that is {colour}", f"that {colour} {noun}",
                      f"the {noun} in {colour}"))
    kinds = b.obj(sup).kind if sup else None
    return _finish(_frame(rng, obj, sup_phrase, kinds), rng), {"pick": target, "place": sup}


def _row(b: _Builder, kind: str, colour: str, n: int) -> list[str]:
    """n same-looking objects on distinct grid columns (distinct y), so side order is unambiguous."""
    ys = [GRID_Y[i] for i in b.rng.permutation(len(GRID_Y))[:n]]
    names = []
    for y in ys:
        free = [c for c in b.cells if c[1] == y]
        names.append(b.add(kind, colour, cell=free[int(b.rng.integers(len(free)))]))
    return names


def _with_view(rng: np.random.Generator, sentence: str, viewpoint: str) -> str:
    clause = _pick(rng, VIEW_CLAUSES[viewpoint])
    return f"{clause}, {sentence}" if rng.random() < 0.5 else f"{sentence}, {clause}"


def case_side_superlative(b: _Builder) -> tuple[str, dict[str, Any]]:
    rng = b.rng
    kind, colour = _pick(rng, list(SYNONYMS)), _pick(rng, COLOURS)
    row = _row(b, kind, colour, int(rng.integers(2, 4)))
    side, view = _pick(rng, ("left", "right")), _pick(rng, ("camera", "robot"))
    target = max(row, key=lambda n: _side_key(side, view)(b.obj(n)))
    sup, sup_phrase = _maybe_support(b, {colour})
    noun = _pick(rng, SYNONYMS[kind])
    obj = _pick(rng, (f"the {colour} {noun} furthest to the {side}", f"the {colour} {noun} on the far {side}",
                      f"the {side}-most {colour} {noun}", f"the {colour} {noun} that is most to the {side}",
                      f"whichever {colour} {noun} is farthest {side}"))
    sentence = _frame(rng, obj, sup_phrase, b.obj(sup).kind if sup else None)
    return _finish(_with_view(rng, sentence, view), rng), {"pick": target, "place": sup}


def case_ordinal(b: _Builder) -> tuple[str, dict[str, Any]]:
    rng = b.rng
    kind, colour = _pick(rng, list(SYNONYMS)), _pick(rng, COLOURS)
    row = _row(b, kind, colour, int(rng.integers(3, 5)))
    side, view = _pick(rng, ("left", "right")), _pick(rng, ("camera", "robot"))
    order = sorted(row, key=lambda n: -_side_key(side, view)(b.obj(n)))  # from the `side` end inwards
    k = int(rng.integers(1, len(order)))                                 # 2nd .. last
    words = {1: "second", 2: "third", 3: "fourth"}
    sup, sup_phrase = _maybe_support(b, {colour})
    noun = _pick(rng, SYNONYMS[kind])
    if k == len(order) - 1 and rng.random() < 0.5:
        other = "right" if side == "left" else "left"
        obj = f"the {colour} {noun} at the {other} end of the row"
    else:
        obj = _pick(rng, (f"the {words[k]} {colour} {noun} counting from the {side}",
                          f"the {colour} {noun} {words[k]} from the {side}",
                          f"the {words[k]} {colour} {noun} from the {side} end"))
    sentence = _frame(rng, obj, sup_phrase, b.obj(sup).kind if sup else None)
    return _finish(_with_view(rng, sentence, view), rng), {"pick": order[k], "place": sup}


def case_depth(b: _Builder) -> tuple[str, dict[str, Any]]:
    rng = b.rng
    kind, colour = _pick(rng, list(SYNONYMS)), _pick(rng, COLOURS)
    names = [b.add(kind, colour, cell=c) for c in _depth_cells(b)]
    ref, most = _pick(rng, ("camera", "robot")), _pick(rng, ("near", "far"))
    dist = _camera_distance if ref == "camera" else _robot_distance
    ranked = sorted(names, key=lambda n: dist(b.obj(n)))
    target = ranked[0] if most == "near" else ranked[-1]
    _distractors(b, kind, colour, int(rng.integers(0, 2)))
    sup, sup_phrase = _maybe_support(b, {colour})
    noun = _pick(rng, SYNONYMS[kind])
    who = "the camera" if ref == "camera" else _pick(rng, ("the robot", "the robot arm"))
    if most == "near":
        obj = _pick(rng, (f"the {colour} {noun} nearest {who}", f"the {colour} {noun} closest to {who}",
                          f"whichever {colour} {noun} is nearest to {who}"))
    else:
        obj = _pick(rng, (f"the {colour} {noun} farthest from {who}", f"the {colour} {noun} furthest away from {who}",
                          f"the {colour} {noun} most distant from {who}"))
    return _finish(_frame(rng, obj, sup_phrase, b.obj(sup).kind if sup else None), rng), {"pick": target, "place": sup}


def _depth_cells(b: _Builder) -> list[tuple[float, float]]:
    """Two or three cells on one y column at different x: the distance order is clear from both ends."""
    y = _pick(b.rng, [str(v) for v in GRID_Y])
    col = [c for c in b.cells if c[1] == float(y)]
    n = int(b.rng.integers(2, len(col) + 1))
    return [col[i] for i in sorted(b.rng.permutation(len(col))[:n])]


def case_size(b: _Builder) -> tuple[str, dict[str, Any]]:
    rng = b.rng
    kind, colour = _pick(rng, ("cup", "box")), _pick(rng, COLOURS)
    extreme = _pick(rng, ("max", "min"))
    target = b.add(kind, colour, scale=1.4 if extreme == "max" else 0.8)
    for _ in range(int(rng.integers(1, 3))):
        b.add(kind, colour, scale=1.0 if extreme == "max" else 1.35)
    sup, sup_phrase = _maybe_support(b, {colour})
    noun = _pick(rng, SYNONYMS[kind])
    word = _pick(rng, ("biggest", "largest", "tallest") if extreme == "max" else ("smallest", "shortest", "littlest"))
    obj = _pick(rng, (f"the {word} {colour} {noun}", f"the {colour} {noun} that is the {word}",
                      f"the {word} of the {colour} {PLURAL[noun]}"))
    return _finish(_frame(rng, obj, sup_phrase, b.obj(sup).kind if sup else None), rng), {"pick": target, "place": sup}


EXECUTE_CASES: dict[str, Callable[[_Builder], tuple[str, dict[str, Any]]]] = {
    "attribute": case_attribute, "side_superlative": case_side_superlative, "ordinal": case_ordinal,
    "depth": case_depth, "size": case_size,
}


# ---- must-refuse cases --------------------------------------------------------------------------

def refuse_case(b: _Builder, reason: str) -> str:
    rng = b.rng
    kind, colour = _pick(rng, list(SYNONYMS)), _pick(rng, COLOURS)
    b.add(kind, colour)
    noun = _pick(rng, SYNONYMS[kind])
    if reason == "absent_colour":
        present = {colour}
        for c in rng.permutation([c for c in COLOURS if c != colour])[:2]:
            b.add(kind, str(c))
            present.add(str(c))
        missing = _pick(rng, [c for c in COLOURS if c not in present])
        return _finish(_frame(rng, f"the {missing} {noun}", None, None), rng)
    if reason == "absent_kind":
        _distractors(b, kind, colour, 2)
        return _finish(_frame(rng, f"the {colour} {_pick(rng, ABSENT_NOUNS)}", None, None), rng)
    if reason == "absent_place":
        _distractors(b, kind, colour, 1)
        if rng.random() < 0.5:  # the named support kind is not in the scene
            have = _pick(rng, ("plate", "bowl"))
            b.add(have, "white")
            want = "bowl" if have == "plate" else "plate"
            return _finish(_frame(rng, f"the {colour} {noun}", f"the {want}", want), rng)
        have_colour = _pick(rng, [c for c in COLOURS if c != colour])   # the support exists, in another colour
        kind_s = _pick(rng, ("plate", "bowl"))
        b.add(kind_s, have_colour)
        missing = _pick(rng, [c for c in COLOURS if c not in (colour, have_colour)])
        return _finish(_frame(rng, f"the {colour} {noun}", f"the {missing} {kind_s}", kind_s), rng)
    if reason == "ambiguous":
        for _ in range(int(rng.integers(1, 3))):
            b.add(kind, colour)
        b.add(_pick(rng, [k for k in SYNONYMS if k != kind]), _pick(rng, COLOURS))
        obj = _pick(rng, (f"the {colour} {noun}", f"the {noun}", f"that {colour} one"))
        return _finish(_frame(rng, obj, None, None), rng)
    if reason == "negation":
        _distractors(b, kind, colour, 2)
        return _finish(_pick(rng, (f"do not pick up the {colour} {noun}", f"don't touch the {colour} {noun}",
                                   f"leave the {colour} {noun} where it is", f"never move the {colour} {noun}",
                                   f"the {colour} {noun} must stay put")), rng)
    if reason == "dangling_pronoun":
        _distractors(b, kind, colour, 2)
        sup, sup_phrase = _maybe_support(b, {colour}, p=1.0)
        return _finish(_pick(rng, (f"put it {'in' if 'bowl' in sup else 'on'} {sup_phrase}", "pick that one up",
                                   f"now move them onto {sup_phrase}", "grab it again", "and the other one too")), rng)
    if reason == "impossible":
        _distractors(b, kind, colour, 2)
        return _finish(_pick(rng, (f"put the {colour} {noun} inside itself",
                                   f"move the {colour} {noun} to x=5 y=5 z=5",
                                   f"throw the {colour} {noun} at the camera",
                                   "pick up the table", f"lift the {colour} {noun} through the ceiling",
                                   f"set the {colour} {noun} on top of the moon")), rng)
    raise ValueError(f"unknown refuse class {reason!r}")


# ---- the suite ----------------------------------------------------------------------------------

def _scene(name: str, b: _Builder, instruction: str, pick: str | None, place: str | None) -> Scene:
    if pick is None:  # refuse cases: the runner needs some pickable object to score; the expected outcome decides
        pick = next(o.name for o in b.objects if o.kind in SYNONYMS)
    scene = Scene(name=name, objects=list(b.objects), instruction=instruction, expected=Expected(pick, place))
    return scene_from_dict(scene_to_dict(scene), name)   # validates layout, reach and kinds


def build_suite(n_execute: int = 250, n_refuse_per_class: int = 10, seed: int = SUITE_SEED) -> list[SuiteItem]:
    """The suite as written to spatialbot_ros/data/heldout_suite.json (only ever run once)."""
    rng = np.random.default_rng(seed)
    items: list[SuiteItem] = []
    case_names = list(EXECUTE_CASES)
    for i in range(n_execute):
        case = case_names[i % len(case_names)]
        b = _Builder(rng)
        text, exp = EXECUTE_CASES[case](b)
        sid = f"heldout_{len(items):03d}"
        items.append(SuiteItem(sid, case, _scene(sid, b, text, exp["pick"], exp["place"]), "execute",
                               exp["pick"], exp["place"]))
    for reason in REFUSE_CLASSES:
        for _ in range(n_refuse_per_class):
            b = _Builder(rng)
            text = refuse_case(b, reason)
            sid = f"heldout_{len(items):03d}"
            items.append(SuiteItem(sid, f"refuse_{reason}", _scene(sid, b, text, None, None), "refuse",
                                   refuse_reason=reason))
    order = rng.permutation(len(items))   # interleave, so any --episodes prefix has both kinds
    return [items[i] for i in order]
