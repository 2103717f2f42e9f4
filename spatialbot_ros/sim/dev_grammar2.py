"""A second dev split ("dev2") for the phrase parser, written fresh from how people talk to a robot.

Why a second split: the first (sim/dev_grammar.py) is at 100 % and no longer says what to fix. This one
wraps the object phrase in many conversational frames (requests, politeness, "I'd like you to", "go
ahead and", "we need", "make sure the X ends up in Y", adverbs, trailing "please/thanks/now/for me"),
uses size words beyond "biggest" ("widest", "chunkiest", "skinniest"), ordinals from either end
("second to last") and must-refuse cases. Two parts with separate seeds: `tune` (look at its failures
and fix) and `check` (measure only, to see whether a fix generalises). It shares the scene layout and
geometry helpers of dev_grammar, and no phrasing with sim/heldout_grammar.py (never read here).
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.sim.dev_grammar import (
    COLOURS,
    DevCase,
    ObjectSpec,
    _clear,
    _dist,
    _Gen,
    _lr,
    _size,
    draw_cases,
)

SEEDS = {"tune": 20261, "check": 77013}
PICK_PLACE2 = ("could you grab the {P} and put it {L}", "please put the {P} {L}", "go ahead and move the {P} {L}",
               "I'd like you to place the {P} {L}", "we need the {P} {L}", "make sure the {P} ends up {L}",
               "carefully put the {P} {L}, thanks", "can you quickly move the {P} {L} for me",
               "put the {P} {L} now please", "hey robot, set the {P} {L}", "kindly place the {P} {L}",
               "the {P} {L}, please", "take the {P} and gently put it {L}", "now move the {P} {L}",
               "I want the {P} {L}", "could you please drop the {P} {L}")
PICK_ONLY2 = ("could you grab the {P}", "please pick up the {P}", "go ahead and take the {P}",
              "I'd like you to pick up the {P}", "grab the {P} for me, thanks", "just lift the {P} please",
              "can you get the {P} now", "the {P}, please", "pick up the {P} carefully")
VIEWS2 = {"camera": ("", "from where I stand", "as I look at it", "in the image"),
          "robot": ("from your point of view", "from the robot's perspective", "as you see it")}
SIZE2 = {("size", "max"): ("widest {n}", "fattest {n}", "broadest {n}", "chunkiest {n}", "thickest {n}",
                           "largest {n}", "biggest {n}"),
         ("size", "min"): ("narrowest {n}", "thinnest {n}", "slimmest {n}", "skinniest {n}", "tiniest {n}",
                           "smallest {n}"),
         ("height", "max"): ("tallest {n}",), ("height", "min"): ("shortest {n}",)}
SIDE2 = ("{s}most {n}", "{n} on the far {s}", "{n} all the way on the {s}", "{n} at the {s} end")
ORD2 = ("{o} {n} from the {s}", "{o} {n} from the {s} end")
REFUSALS2 = ("absent_colour", "absent_kind", "absent_place", "ambiguous", "negation", "dangling_pronoun",
             "impossible", "unknown_word")
CATS2 = ("attribute", "size", "side", "ordinal", "last", "depth", "relation")


class _Gen2(_Gen):
    def sentence(self, phrase: str, place: str | None) -> str:
        if place is None:
            return self.pick(PICK_ONLY2).format(P=phrase)
        return self.pick(PICK_PLACE2).format(P=phrase, L=place)

    def with_view(self, text: str, view: str, needs_view: bool) -> str:
        clause = self.pick(VIEWS2[view]) if needs_view or view == "robot" else ""
        if not clause:
            return text
        return f"{clause}, {text}" if self.rng.random() < 0.4 else f"{text}, {clause}"


def _execute(g: _Gen2, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.7
    for _ in range(200):
        view, needs = "camera", False
        if cat == "attribute":
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            phrase = g.pick((f"{t.color} {g.noun(kind)}", f"{g.noun(kind)} that's {t.color}",
                             f"{t.color} colored {g.noun(kind)}"))
        elif cat == "size":
            sel = tuple(g.pick([f"{a}|{b}" for a, b in SIZE2]).split("|"))
            objs = g.scene(3, kind, True, {0: 0.65, 1: 1.0, 2: 1.45})
            same = [o for o in objs if o.kind == kind]
            if not _clear([_size(o, sel[0]) for o in same], rel=0.25):
                continue
            t = (max if sel[1] == "max" else min)(same, key=lambda o: _size(o, sel[0]))
            phrase = g.pick(SIZE2[sel]).format(n=g.noun(kind))  # type: ignore[index]
        elif cat in ("side", "ordinal", "last"):
            view, side, needs = g.pick(("camera", "robot")), g.pick(("left", "right")), True
            objs = g.scene(4 if cat != "side" else 3, kind, True)
            same = sorted([o for o in objs if o.kind == kind], key=lambda o: _lr(o, view, g.cam_from_base),
                          reverse=side == "right")
            if not _clear([_lr(o, view, g.cam_from_base) for o in same], gap=0.08):
                continue
            if cat == "side":
                t, phrase = same[0], g.pick(SIDE2).format(s=side, n=g.noun(kind))
            elif cat == "ordinal":
                k = int(g.rng.integers(2, 4))
                t = same[k - 1]
                phrase = g.pick(ORD2).format(o=("second", "third")[k - 2], n=g.noun(kind), s=side)
            else:   # from the other end: the right end when counting "to last" from the left
                t = same[-2]
                phrase = g.pick((f"second to last {g.noun(kind)} from the {side}",
                                 f"last but one {g.noun(kind)} from the {side}"))
        elif cat == "depth":
            frame, way = g.pick(("camera|near", "camera|far", "robot|near", "robot|far")).split("|")
            objs = g.scene(3, kind, True)
            same = [o for o in objs if o.kind == kind]
            if not _clear([_dist(o, frame, g.cam_pos) for o in same], gap=0.07):
                continue
            t = (min if way == "near" else max)(same, key=lambda o: _dist(o, frame, g.cam_pos))
            who = "me" if frame == "camera" else g.pick(("you", "the robot"))
            phrase = (f"{g.noun(kind)} {'closest to' if way == 'near' else 'farthest from'} {who}")
        else:   # relation
            view, needs = g.pick(("camera", "robot")), True
            objs = g.scene(2, kind, True, n_other=2)
            same = [o for o in objs if o.kind == kind]
            r = [o for o in objs if o.kind not in (kind, "plate", "bowl")][0]
            lr_r = _lr(r, view, g.cam_from_base)
            left = [o for o in same if _lr(o, view, g.cam_from_base) < lr_r - 0.08]
            right = [o for o in same if _lr(o, view, g.cam_from_base) > lr_r + 0.08]
            if len(left) != 1 or len(right) != 1:
                continue
            side = g.pick(("left", "right"))
            t = left[0] if side == "left" else right[0]
            phrase = f"{g.noun(kind)} {g.pick(('to the ' + side + ' of', side + ' of'))} the {r.color} {g.noun(r.kind)}"
        place, place_name = g.support(objs, t) if with_place else (None, None)
        return g.with_view(g.sentence(phrase, place), view, needs), objs, t.name, place_name
    raise ValueError(f"dev2 grammar: no clear {cat} layout")


def _refuse(g: _Gen2, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    present = {o.color for o in objs}
    t = objs[0]
    place, _ = g.support(objs, t)
    n = g.noun(kind)
    if reason == "absent_colour":
        c = g.pick([c for c in COLOURS + ("pink", "brown") if c not in present])
        return g.sentence(f"{c} {n}", place), objs
    if reason == "absent_kind":
        return g.sentence(f"{t.color} {g.pick(('spoon', 'stapler', 'sponge', 'marker'))}", place), objs
    if reason == "absent_place":
        objs = [o for o in objs if o.kind not in ("plate", "bowl")]
        return g.sentence(f"{t.color} {n}", g.pick(("on the plate", "into the bowl"))), objs
    if reason == "ambiguous":
        return g.sentence(n, place), objs
    if reason == "negation":
        return g.pick((f"could you grab the {n} that's not {t.color}", f"please take any {n} but the {t.color} one",
                       f"I'd like you to move every {n} except the {t.color} one {place}")), objs
    if reason == "dangling_pronoun":
        return g.pick((f"could you put it {place}", f"please move that one {place}, thanks")), objs
    if reason == "impossible":
        return g.pick(("please lift the table", f"go ahead and put the bowl inside the {t.color} {n}")), objs
    return g.pick((f"could you crush the {t.color} {n}", f"please wiggle the {t.color} {n} {place}",
                   f"grab the sticky {t.color} {n}", f"put the {t.color} {n} {place} upside down")), objs


def dev2_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune' or 'check'): about 75 % to execute over seven categories, the rest
    must be refused (eight reasons)."""
    g = _Gen2(np.random.default_rng(SEEDS[part]))
    return draw_cases(g, n, f"dev2{part[0]}", CATS2, REFUSALS2, _execute, _refuse)
