"""A ninth dev split ("dev9"): sizes that differ in one dimension only, 15-44 % apart.

Why a ninth split: every earlier split scaled its same-kind objects uniformly, 25 % or more apart, so
"the biggest", "the widest" and "the tallest" always named the same object and the question of what
"bigger" means never came up. A user's cups differ in one way at a time: two mugs of one height, one
20 % wider (bigger, and wider, but not taller), two of one width, one taller, a tall narrow glass beside
a short wide one (the tallest and the widest are different cups; the bigger is the one that holds more,
and when they hold about the same, "the biggest" cannot be answered). Expected answers come from the
scene geometry through core.marks.extent_of, the definitions perception's marks use: "size" the bounding
volume, "width" the footprint's long side, "height" the height. Categories: `wider` (same height,
different widths), `taller` (same width, different heights), `trade` (tall narrow vs short wide),
`longer` (boxes of one height whose long side differs), `rank` ("the second biggest") and `pair` (two
objects, comparatives). Must-refuse: `same_volume` (a trade pair within 3 % in volume asked for the
biggest), `same_width` / `same_height` (asked by the dimension they share), `absent` (a colour not
there) and `negation`. No template is shared with dev1-8 or with sim/heldout_grammar.py (never read
here). Parts: `tune` (look at failures and fix) and `check` (measure only).
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.marks import extent_of
from spatialbot_ros.sim.dev_grammar import COLOURS, DevCase, ObjectSpec, _place_objects, draw_cases
from spatialbot_ros.sim.dev_grammar4 import _Gen4
from spatialbot_ros.sim.dev_grammar6 import _support
from spatialbot_ros.sim.dev_grammar7 import _frame

SEEDS = {"tune": 9090919, "check": 3434343}
CATS9 = ("wider", "taller", "trade", "longer", "rank", "pair")
REFUSALS9 = ("same_volume", "same_width", "same_height", "absent", "negation")
STEPS = (1.0, 1.2, 1.44)          # three objects 20 % apart in one dimension (two: the ends, 44 %)
# superlatives per (dimension, way); {n} the noun, {ns} its plural
WORDS9 = {("size", "max"): ("the biggest {n}", "the largest {n}", "the {n} that is the biggest", "the bulkiest {n}",
                            "the largest of the {ns}"),
          ("size", "min"): ("the smallest {n}", "the littlest {n}", "the smallest of the {ns}", "the tiniest {n}"),
          ("width", "max"): ("the widest {n}", "the fattest {n}", "the broadest {n}", "the widest of the {ns}",
                             "the thickest {n}"),
          ("width", "min"): ("the narrowest {n}", "the thinnest {n}", "the slimmest {n}", "the skinniest {n}",
                             "the narrowest of the {ns}"),
          ("height", "max"): ("the tallest {n}", "the highest {n}", "the tallest of the {ns}", "the {n} that is tallest"),
          ("height", "min"): ("the shortest {n}", "the shortest of the {ns}", "the squattest {n}")}
ROUND_WIDTH = {"max": ("the {n} with the widest diameter", "the {n} with the biggest diameter"),
               "min": ("the {n} with the smallest diameter", "the {n} with the narrowest diameter")}
LONG = ("the longest {n}", "the longest of the {ns}", "the {n} that is longest")
RANK = {"size": ("the second biggest {n}", "the second largest {n}", "the second smallest {n}"),
        "width": ("the second widest {n}", "the second narrowest {n}"),
        "height": ("the second tallest {n}", "the second shortest {n}")}
PAIR = {("size", "max"): ("the bigger {n}", "the larger of the two {ns}"),
        ("size", "min"): ("the smaller {n}", "the smaller of the two {ns}"),
        ("width", "max"): ("the wider {n}", "the wider of the two {ns}", "the fatter {n}"),
        ("width", "min"): ("the narrower {n}", "the thinner of the two {ns}"),
        ("height", "max"): ("the taller {n}", "the taller of the two {ns}"),
        ("height", "min"): ("the shorter {n}", "the shorter of the two {ns}")}


def _size_of(kind: str, width: float, height: float, depth: float | None = None) -> dict:
    """A size dict: width is a cup's diameter or a box's long side, depth a box's short side."""
    if kind == "cup":
        return {"radius": width / 2, "height": height}
    if kind == "sphere":
        return {"radius": width / 2}
    return {"half_extents": [width / 2, (depth if depth is not None else 0.7 * width) / 2], "height": height}


def _scene(g: _Gen4, kind: str, sizes: list[dict]) -> list[ObjectSpec] | None:
    """The sized objects (one colour), one other-kind distractor, a plate and a bowl."""
    colour = str(g.pick(COLOURS))
    other = g.pick([k for k in ("cup", "box", "sphere") if k != kind])
    spec = [(kind, colour)] * len(sizes) + [(other, str(g.pick([c for c in COLOURS if c != colour]))),
                                            ("plate", "white"), ("bowl", str(g.pick(COLOURS)))]
    try:
        return _place_objects(g.rng, spec, {}, dict(enumerate(sizes)))
    except ValueError:
        return None


def _sizes(g: _Gen4, kind: str, vary: str, n: int) -> list[dict]:
    """n sizes of one kind differing only in `vary` ('width' or 'height'), in shuffled order."""
    steps = list(STEPS if n == 3 else (STEPS[0], STEPS[2]))
    g.rng.shuffle(steps)
    if vary == "width":
        w0 = float(g.rng.uniform(0.046, 0.05)) if kind != "box" else float(g.rng.uniform(0.044, 0.05))
        h = float(g.rng.uniform(0.07, 0.11)) if kind != "sphere" else 0.0
        depth = float(g.rng.uniform(0.032, 0.038))
        return [_size_of(kind, w0 * s, h, depth) for s in steps]
    w = float(g.rng.uniform(0.052, 0.064))
    h0 = float(g.rng.uniform(0.06, 0.075))
    return [_size_of(kind, w, h0 * s, 0.75 * w) for s in steps]


def _trade(g: _Gen4, volume_gap: str) -> list[dict]:
    """A tall narrow cup and a short wide one; volume_gap 'clear' (>= 25 % apart) or 'same' (within 3 %)."""
    while True:
        tall_w, wide_w = float(g.rng.uniform(0.044, 0.052)), float(g.rng.uniform(0.062, 0.072))
        tall_h = float(g.rng.uniform(0.11, 0.14))
        ratio = float(g.rng.uniform(0.97, 1.03)) if volume_gap == "same" else float(g.pick((0.6, 0.7, 1.35, 1.5)))
        wide_h = ratio * tall_w ** 2 * tall_h / wide_w ** 2     # volume(wide) = ratio x volume(tall)
        if 0.05 <= wide_h <= tall_h / 1.25:
            sizes = [_size_of("cup", tall_w, tall_h), _size_of("cup", wide_w, wide_h)]
            g.rng.shuffle(sizes)
            return sizes


def _target(objs: list[ObjectSpec], kind: str, dim: str, way: str, rank: int = 1) -> ObjectSpec:
    same = sorted((o for o in objs if o.kind == kind), key=lambda o: extent_of(o.footprint_m, o.height_m, dim),
                  reverse=way == "max")
    return same[rank - 1]


def _phrase(g: _Gen4, kind: str, dim: str, way: str) -> str:
    n, ns = g.noun4(kind)
    pool = WORDS9[(dim, way)] + (ROUND_WIDTH[way] if dim == "width" and kind == "cup" else ())
    return g.pick(pool).format(n=n, ns=ns)


def _execute(g: _Gen4, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    with_place = g.rng.random() < 0.7
    for _ in range(300):
        way = g.pick(("max", "min"))
        rank = 1
        if cat in ("wider", "taller", "rank", "pair"):
            kind = g.pick(("cup", "box", "sphere") if cat == "wider" else ("cup", "box"))
            vary = "width" if cat == "wider" else "height" if cat == "taller" else g.pick(("width", "height"))
            sizes = _sizes(g, kind, vary, 2 if cat == "pair" else 3)
            # the dimension asked: the one that varies, or size (which follows it)
            dim = g.pick((vary, "size"))
            if kind == "sphere":
                dim = g.pick(("width", "size"))
        elif cat == "trade":
            kind = "cup"
            sizes = _trade(g, "clear")
            dim = g.pick(("width", "height", "size"))
        else:   # longer: boxes of one height and one short side, the long side 20 % apart
            kind = "box"
            sizes = _sizes(g, "box", "width", 3)
            dim, way = "width", "max"
        objs = _scene(g, kind, sizes)
        if objs is None:
            continue
        n, ns = g.noun4(kind)
        if cat == "rank":
            phrase, rank = g.pick(RANK[dim]).format(n=n), 2   # of three, second from either end is the middle
        elif cat == "pair":
            phrase = g.pick(PAIR[(dim, way)]).format(n=n, ns=ns)
        elif cat == "longer":
            phrase = g.pick(LONG).format(n=n, ns=ns)
        else:
            phrase = _phrase(g, kind, dim, way)
        t = _target(objs, kind, dim, way, rank)
        place, _, place_name = _support(g, objs)
        return _frame(g, phrase, place if with_place else None), objs, t.name, place_name if with_place else None
    raise ValueError(f"dev9 grammar: no layout for {cat}")


def _refuse(g: _Gen4, reason: str) -> tuple[str, list[ObjectSpec]]:
    for _ in range(300):
        kind = "cup" if reason == "same_volume" else g.pick(("cup", "box"))
        if reason == "same_volume":
            sizes = _trade(g, "same")
        elif reason == "same_width":     # one width, heights apart: asked for the widest / narrowest
            sizes = _sizes(g, kind, "height", 2)
        elif reason == "same_height":    # one height, widths apart: asked for the tallest / shortest
            sizes = _sizes(g, kind, "width", 2)
        else:
            sizes = _sizes(g, kind, g.pick(("width", "height")), 3)
        objs = _scene(g, kind, sizes)
        if objs is None:
            continue
        n, ns = g.noun4(kind)
        way = g.pick(("max", "min"))
        place, _, _ = _support(g, objs)
        if reason == "same_volume":
            phrase = g.pick(WORDS9[("size", way)]).format(n=n, ns=ns)
        elif reason == "same_width":
            phrase = g.pick(WORDS9[("width", way)]).format(n=n, ns=ns)
        elif reason == "same_height":
            phrase = g.pick(WORDS9[("height", way)]).format(n=n, ns=ns)
        elif reason == "absent":
            present = {o.color for o in objs}
            a = next(c for c in COLOURS if c not in present)
            phrase = g.pick((f"the biggest {a} {n}", f"the widest {a} {n}", f"the tallest {a} {n}"))
        else:
            return g.pick((f"pick up the {n} that is not the biggest", f"put any {n} except the widest {place}",
                           f"grab a {n} other than the tallest", f"put the {n} that isn't the smallest {place}")), objs
        return _frame(g, phrase, place if g.rng.random() < 0.6 else None), objs
    raise ValueError(f"dev9 grammar: no layout for refusal {reason}")


def dev9_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune' or 'check'): about 75 % to execute over six categories, the rest must
    be refused (five reasons)."""
    g = _Gen4(np.random.default_rng(SEEDS[part]))
    return draw_cases(g, n, f"dev9{part[0]}", CATS9, REFUSALS9, _execute, _refuse)
