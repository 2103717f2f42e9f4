"""A tenth dev split ("dev10"): crowded rows, where perception rather than language decides.

Why a tenth split: the earlier splits place objects at least 5 cm apart and rows at least 0.08 apart in the
image, so an ordinal or a side word never met two objects that touch in the image or hide each other. Here
four or five objects of one kind stand in a row 1.5-3 cm apart, and a second row in front (nearer the camera)
hides the lower part of the first: if perception merges two neighbours into one mark, or loses one behind
another, "the third cup from the left" silently names the wrong one. The wording is plain (what dev1-dev9
already read): ordinals from either end and either viewpoint, the leftmost / rightmost, the middle one, a
colour among same-kind neighbours, the nearest / farthest with two rows, and "between". Must-refuse: an
ordinal past the count, "the middle" of an even row, an absent colour, negation. Expected answers come from
the scene geometry. Parts: `tune` and `check`. No template is shared with sim/heldout_grammar.py (never read).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from spatialbot_ros.core.object_kinds import default_registry
from spatialbot_ros.sim.dev_grammar import COLOURS, VIEWS, DevCase, ObjectSpec, _lr, draw_cases
from spatialbot_ros.sim.dev_grammar4 import _Gen4
from spatialbot_ros.sim.dev_grammar6 import _support
from spatialbot_ros.sim.dev_grammar7 import _frame, _with_view
from spatialbot_ros.sim.scene_generator import generated_size

SEEDS = {"tune": 1010101, "check": 4545454}
CATS10 = ("ordinal", "extreme", "middle", "colour", "depth", "between")
REFUSALS10 = ("beyond", "even_middle", "absent", "negation")
OW = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")


def _row_objects(g: _Gen4, kind: str, n: int, x: float, colours: list[str], tag: str,
                 y_centre: float = 0.0) -> list[ObjectSpec]:
    """n objects of one kind in a row along the base y axis at depth x, footprints 1.5-3 cm apart."""
    sizes = [generated_size(default_registry()[kind], g.rng) for _ in range(n)]
    specs = [ObjectSpec(f"{colours[i]}_{kind}_{tag}{i}", kind, colours[i], sizes[i], (x, 0.0)) for i in range(n)]
    gaps = [float(g.rng.uniform(0.015, 0.03)) for _ in range(n - 1)] + [0.0]
    widths = [2 * s.footprint_radius_m for s in specs]
    y = y_centre - (sum(widths) + sum(gaps)) / 2
    out = []
    for s, width, gap in zip(specs, widths, gaps, strict=True):
        y += width / 2
        out.append(replace(s, position=(x + float(g.rng.uniform(-0.01, 0.01)), y)))
        y += width / 2 + gap
    return out


def _is_front(o: ObjectSpec) -> bool:
    return o.name.rsplit("_", 1)[1].startswith("front")


def _supports(g: _Gen4, taken: list[ObjectSpec]) -> list[ObjectSpec] | None:
    """A plate and a bowl clear of the rows (on the far side, nearer the robot)."""
    out: list[ObjectSpec] = []
    for kind, colour in (("plate", "white"), ("bowl", str(g.pick(COLOURS)))):
        size = generated_size(default_registry()[kind], g.rng)
        for _ in range(200):
            spec = ObjectSpec(f"{colour}_{kind}", kind, colour, size,
                              (float(g.rng.uniform(0.30, 0.40)), float(g.rng.uniform(-0.32, 0.32))))
            if all(math.dist(spec.position, o.position) - spec.footprint_radius_m - o.footprint_radius_m >= 0.04
                   for o in taken + out):
                out.append(spec)
                break
        else:
            return None
    return out


def _scene(g: _Gen4, kind: str, n: int, same_colour: bool, front: int = 0) -> list[ObjectSpec] | None:
    """A row of n at the back (x 0.50-0.56), optionally `front` more of the kind in a row in front (x + 0.09)."""
    palette = list(g.rng.permutation(COLOURS))
    colours = [palette[0]] * n if same_colour else [str(c) for c in palette[:n]] if n <= len(palette) else None
    if colours is None:
        return None
    x = float(g.rng.uniform(0.50, 0.56))
    objs = _row_objects(g, kind, n, x, colours, "back")
    if front:
        fc = [palette[0]] * front if same_colour else [str(palette[(n + i) % len(palette)]) for i in range(front)]
        objs += _row_objects(g, kind, front, x + 0.095, fc, "front", float(g.rng.uniform(-0.06, 0.06)))
        if any(math.dist(a.position, b.position) < a.footprint_radius_m + b.footprint_radius_m + 0.01
               for i, a in enumerate(objs) for b in objs[i + 1:]):
            return None
    if any(abs(o.position[1]) > 0.34 for o in objs):
        return None
    sup = _supports(g, objs)
    return None if sup is None else objs + sup


def _in_order(g: _Gen4, objs: list[ObjectSpec], kind: str, side: str, view: str) -> list[ObjectSpec] | None:
    same = sorted((o for o in objs if o.kind == kind), key=lambda o: _lr(o, view, g.cam_from_base),
                  reverse=side == "right")
    lrs = [_lr(o, view, g.cam_from_base) for o in same]
    return same if all(abs(a - b) > 0.02 for a, b in zip(lrs, lrs[1:], strict=False)) else None


def _view(g: _Gen4) -> tuple[str, str]:
    """('camera' or 'robot', the clause that says so; '' for the camera's default)."""
    if g.rng.random() < 0.3:
        return "robot", str(g.pick([v for v in VIEWS["robot"] if v]))
    return "camera", ""


def _execute(g: _Gen4, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    with_place = g.rng.random() < 0.7
    for _ in range(400):
        kind = g.pick(("cup", "box", "sphere"))
        n = int(g.rng.integers(4, 6))
        n_noun, ns = g.noun4(kind)
        view, clause = _view(g) if cat in ("ordinal", "extreme", "between") else ("camera", "")
        if cat == "depth":
            front = 1 if g.rng.random() < 0.5 else n
            objs = _scene(g, kind, n if front == 1 else 1, True, front if front == 1 else n)
            if objs is None:
                continue
            same = [o for o in objs if o.kind == kind]
            lone_front = front == 1
            # the lone object is the nearest to the camera (front) or the farthest (alone at the back)
            t = next(o for o in same if _is_front(o) == lone_front)
            phrase = g.pick((f"the {n_noun} closest to the camera", f"the nearest {n_noun}", f"the closest {n_noun}")
                            if lone_front else (f"the {n_noun} farthest from the camera", f"the farthest {n_noun}",
                                                f"the {n_noun} furthest away"))
        else:
            objs = _scene(g, kind, n, cat not in ("colour", "between"), front=int(g.rng.random() < 0.4))
            if objs is None:
                continue
            side = g.pick(("left", "right"))
            row = _in_order(g, objs, kind, side, view)
            if row is None:
                continue
            if cat == "ordinal":
                k = int(g.rng.integers(1, len(row) + 1))
                t = row[k - 1]
                phrase = g.pick((f"the {OW[k - 1]} {n_noun} from the {side}", f"the {OW[k - 1]} {n_noun} counting from the {side}"))
            elif cat == "extreme":
                t = row[0]
                phrase = g.pick((f"the {side}most {n_noun}", f"the {n_noun} on the far {side}", f"the {n_noun} furthest to the {side}"))
            elif cat == "middle":
                if len(row) % 2 == 0:
                    continue
                t = row[len(row) // 2]
                phrase = g.pick((f"the middle {n_noun}", f"the {n_noun} in the middle", f"the {n_noun} in the centre of the row"))
            elif cat == "colour":
                same = [o for o in objs if o.kind == kind]
                t = same[int(g.rng.integers(len(same)))]
                phrase = f"the {t.color} {n_noun}"
            else:   # between: the object whose two neighbours in the row are named by colour
                back = [o for o in row if not _is_front(o)]
                if len(back) < 3 or len(back) != len(row):
                    continue
                i = int(g.rng.integers(1, len(back) - 1))
                t = back[i]
                phrase = f"the {n_noun} between the {back[i - 1].color} {n_noun} and the {back[i + 1].color} {n_noun}"
        place, _, place_name = _support(g, objs)
        text = _frame(g, phrase, place if with_place else None)
        text = _with_view(text, f", {clause}") if clause else text
        return text, objs, t.name, place_name if with_place else None
    raise ValueError(f"dev10 grammar: no layout for {cat}")


def _refuse(g: _Gen4, reason: str) -> tuple[str, list[ObjectSpec]]:
    for _ in range(400):
        kind = g.pick(("cup", "box", "sphere"))
        n = int(g.rng.integers(4, 6))
        if reason == "even_middle":
            n = 4
        objs = _scene(g, kind, n, True, front=0)
        if objs is None:
            continue
        n_noun, _ = g.noun4(kind)
        place, _, _ = _support(g, objs)
        side = g.pick(("left", "right"))
        if reason == "beyond":
            phrase = f"the {OW[n]} {n_noun} from the {side}"
        elif reason == "even_middle":
            phrase = g.pick((f"the middle {n_noun}", f"the {n_noun} in the middle"))
        elif reason == "absent":
            present = {o.color for o in objs}
            a = next(c for c in COLOURS if c not in present)
            phrase = g.pick((f"the {a} {n_noun}", f"the second {a} {n_noun} from the {side}"))
        else:
            return g.pick((f"pick up any {n_noun} but the {side}most one",
                           f"put the {n_noun} that is not second from the {side} {place}",
                           f"grab a {n_noun} other than the middle one")), objs
        return _frame(g, phrase, place if g.rng.random() < 0.6 else None), objs
    raise ValueError(f"dev10 grammar: no layout for refusal {reason}")


def dev10_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune' or 'check'): about 75 % to execute over six categories, the rest must be
    refused (four reasons)."""
    g = _Gen4(np.random.default_rng(SEEDS[part]))
    return draw_cases(g, n, f"dev10{part[0]}", CATS10, REFUSALS10, _execute, _refuse)
