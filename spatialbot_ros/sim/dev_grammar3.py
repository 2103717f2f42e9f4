"""A third dev split ("dev3") for the phrase parser: several kinds of user, written fresh.

Why a third split: dev (sim/dev_grammar.py) and dev2 (sim/dev_grammar2.py) are at 100 % and only say
the parser reads their own templates. This one imagines different people at the table: a terse lab
technician ("red mug -> tray", "cup, red, into the bowl", "blue block onto plate pls"), a verbose novice
("there's a green cup on the left, could you take that one and set it down inside the bowl?"), someone
describing a position in a row ("of the three mugs, the one in the middle", "the leftmost but one"),
relative descriptions ("the mug closest to the plate", "the ball between the two cups"), viewpoint
clauses in many forms ("from where you are", "on my left", "on your right-hand side"), size comparisons
("the taller of the two cups"), synonyms the lexicon may lack, trailing clauses and questions; and
must-refuse cases (absent colour/kind/place, ambiguity, negation including "other than the X", a
dangling pronoun, impossible requests, unknown content words). No template is shared with dev or dev2,
or with sim/heldout_grammar.py (never read here). Expected answers are computed from the scene geometry
here, not by the grounder. Two parts with separate seeds: `tune` (look at its failures and fix) and
`check` (measure only, to see whether a fix generalises).
"""

from __future__ import annotations

import math

import numpy as np

from spatialbot_ros.sim.dev_grammar import (
    COLOURS,
    DevCase,
    ObjectSpec,
    _clear,
    _Gen,
    _lr,
    _place_objects,
    _size,
    draw_cases,
)

SEEDS = {"tune": 31337, "check": 90210}
CATS3 = ("terse", "verbose", "row", "relative", "viewpoint", "size", "synonym", "trailing")
REFUSALS3 = ("absent_colour", "absent_kind", "absent_place", "ambiguous", "negation", "dangling_pronoun",
             "impossible", "unknown_word")
# this split's own nouns per kind (singular, plural); some are likely outside the lexicon on purpose
NOUNS3 = {"cup": (("cup", "cups"), ("mug", "mugs"), ("teacup", "teacups"), ("coffee mug", "coffee mugs"),
                  ("glass", "glasses"), ("paper cup", "paper cups"), ("tumbler", "tumblers")),
          "box": (("box", "boxes"), ("block", "blocks"), ("cube", "cubes"), ("toy brick", "toy bricks"),
                  ("wooden cube", "wooden cubes"), ("building block", "building blocks"), ("brick", "bricks")),
          "sphere": (("ball", "balls"), ("sphere", "spheres"), ("rubber ball", "rubber balls"),
                     ("bouncy ball", "bouncy balls"), ("plastic ball", "plastic balls"), ("orb", "orbs"))}
PLACE_NOUNS3 = {"plate": ("plate", "tray", "platter", "dish", "dinner plate", "serving tray"),
                "bowl": ("bowl", "basin", "salad bowl", "cereal bowl", "soup bowl")}
# --- the terse technician -------------------------------------------------------------------------
TERSE_PLACE = ("{c} {n} -> {pl}", "{n}, {c}, {prep} the {pl}", "{c} {n} {prep} {pl} pls", "{c} {n} to {pl}",
               "{c} {n} {prep} {pl}", "{c} {n} => {pl}, thx", "{n} ({c}) -> {pl}", "move {c} {n} {prep} {pl}",
               "{c} {n}: {prep} {pl}", "{c} {n} -> {pl} asap",
               # round 2
               "{pl} <- {c} {n}", "{c} {n} → {pl}", "{c} {n} to the {pl}", "pick {c} {n}, place {prep} {pl}",
               "{c} {n} {prep} {pl}, cheers", "{c} {n} -> {pl}.", "{n} {c} -> {pl}")
TERSE_PICK = ("grab {c} {n}", "{c} {n} pls", "pick {c} {n}", "{n}, {c}, pick up", "lift {c} {n}, thx",
              "{c} {n}. grab.", "grab: {c} {n}", "{c} {n} - pick up")
# --- the verbose novice ---------------------------------------------------------------------------
VERBOSE_PLACE = ("there's a {P} on the table, could you take that one and set it down {L}?",
                 "I was wondering if you could pick up the {P} and put it {L}",
                 "would it be possible for you to move the {P} {L}?",
                 "okay so what I need is for you to take the {P} and place it {L}",
                 "hi there! could you help me out by putting the {P} {L}? thank you so much",
                 "do you think you could grab the {P} and drop it {L} for me?",
                 "I'd really appreciate it if you could put the {P} {L}",
                 "so basically, the {P} should be moved {L}, ok?",
                 "see the {P}? please pick it up and put it {L}",
                 # round 2
                 "if you don't mind, put the {P} {L}",
                 "could you please be so kind as to put the {P} {L}?",
                 "um, can you, like, grab the {P} and put it {L}?",
                 "what I'd like you to do is pick up the {P} and put it {L}",
                 "I need your help: the {P} has to go {L}",
                 "hello! I'd like the {P} to end up {L}, please",
                 "alright, next up: take the {P} and pop it {L}")
VERBOSE_PICK = ("I was wondering if you could pick up the {P} for me",
                "would it be possible for you to lift the {P}?",
                "see the {P}? could you grab it please",
                "if you don't mind, could you pick up the {P}?", "um, can you, like, grab the {P}?")
VERBOSE_SIDE = "there's a {c} {n} on the {s}, could you take that one and set it down {L}?"
# --- position in a row ----------------------------------------------------------------------------
ROW_MIDDLE = ("of the three {ns}, the one in the middle", "the one in the middle of the three {ns}",
              "the middle {n} of the three", "the centre one of the three {ns}", "the {n} in the centre of the row",
              "the middlemost {n}")
ROW_SIDE = ("the {s}most of the {ns}", "the {n} at the far end on the {s}", "the last {n} on the {s}",
            "the {n} that's furthest over to the {s}", "the {n} at the very end, on the {s}",
            # round 2
            "the one on the end on the {s}, of the {ns}", "the {n} at the {s}-hand end of the row",
            "the {n} furthest on the {s} of the row", "of all the {ns}, the one most to the {s}")
ROW_ORD = ("the {o} {n} counting from the {s}", "the {n} {o} from the {s}", "the {o} {n} along from the {s}",
           "of the {ns}, the {o} one from the {s}", "the {n} {o} in from the {s}",
           "the {o} {n} in the row from the {s}", "the {n} in {o} place from the {s}")
ROW_BUT_ONE = ("of the {ns}, the {s}most but one", "the {s}most {n} but one")
# --- relative descriptions ------------------------------------------------------------------------
REL_SIDE = ("the {n} directly to the {s} of the {r}", "the {n} sitting {s} of the {r}",
            "the {n} on the {s} of the {r}", "the {n} that is to the {s} of the {r}",
            "the {n} that's on the {s} side of the {r}", "the {n} just {s} of the {r}")
REL_NEAR = ("the {n} closest to the {r}", "the {n} nearest the {r}", "the {n} right beside the {r}",
            "the {n} by the {r}", "the {n} that sits closest to the {r}", "the {n} which is nearest to the {r}",
            "the {n} that's next to the {r}", "the {n} beside the {r}")
REL_BETWEEN = ("the {n} between the two {rs}", "the {n} in between the two {rs}", "the {n} between the {rs}",
               "the {n} that's in between both {rs}",
               "the {n} sitting between the two {rs}")
# --- viewpoint clauses in many forms (camera = the speaker's, robot = the addressee's) ---------------
VIEW_CLAUSES3 = {"camera": ("from where I'm sitting", "from my angle", "looking from the camera",
                            "from the camera's point of view", "the way I see it", "from my end of the table",
                            "from my perspective", "as seen on the camera", "as I'm looking at it",
                            "if you look at it from where I am", "from the camera's side of the table"),
                 "robot": ("from where you are", "from your end of the table", "from your angle",
                           "looking from the robot", "the way you see it", "from your position",
                           "as you would see it", "from the robot's end", "from where the robot sits",
                           "from the robot's side of things", "from behind the robot")}
VIEW_SIDES3 = {"camera": ("the {n} on my {s}", "the {n} to my {s}", "the {n} on my {s}-hand side",
                          "the {n} furthest to my {s}", "the {n} on my {s} side", "the {n} over on my {s}"),
               "robot": ("the {n} on your {s}", "the {n} to your {s}", "the {n} on your {s}-hand side",
                         "the {n} furthest to your {s}", "the {n} on the robot's {s}", "the {n} to the robot's {s}")}
# --- size comparisons -----------------------------------------------------------------------------
SIZE_PAIR = {("height", "max"): ("the taller of the two {ns}", "the taller {n}", "the taller one of the two {ns}"),
             ("height", "min"): ("the shorter of the two {ns}", "the shorter {n}"),
             ("size", "max"): ("the bigger of the two {ns}", "the larger {n}", "the bigger one of the {ns}"),
             ("size", "min"): ("the smaller {n}", "the smaller of the two {ns}")}
SIZE_THREE = {("height", "max"): ("whichever {n} is the tallest", "the {n} that's the tallest",
                                  "the tallest one of the {ns}"),
              ("height", "min"): ("the shortest one of the {ns}", "out of the {ns}, the shortest one",
                                  "the {n} that is shortest", "the least tall of the {ns}"),
              ("size", "max"): ("the {n} that's the largest", "out of the {ns}, the biggest one",
                                "the largest of all the {ns}"),
              ("size", "min"): ("the littlest {n}", "whichever {n} is the smallest", "the smallest one of the {ns}",
                                "the smallest of them all, the {n}", "the teeniest {n}")}
# --- trailing clauses, commas and questions --------------------------------------------------------
TRAILING_PLACE = ("could you put the {P} {L}?", "put the {P} {L}, if you can", "move the {P} {L} when you get a chance",
                  "can the {P} go {L}?", "is it possible to put the {P} {L}?", "put the {P} {L}, that would be great",
                  "place the {P} {L}, ok?", "move the {P} {L}, would you?", "get the {P} {L} as soon as you can",
                  "the {P}, {L}, thanks",
                  # round 2
                  "put the {P} {L} please and thank you", "put the {P} {L}. that's all", "could you kindly put the {P} {L}, please?",
                  "put the {P} {L}, I'd appreciate it", "put the {P} {L} and that's it", "set the {P} {L}, no rush")
TRAILING_PICK = ("could you pick up the {P}?", "grab the {P}, if you can", "lift the {P} when you're ready")


class _Gen3(_Gen):
    def noun3(self, kind: str) -> tuple[str, str]:
        seq = NOUNS3[kind]
        return seq[int(self.rng.integers(len(seq)))]

    def place3(self, objs: list[ObjectSpec], terse: bool = False) -> tuple[str, str, str, str]:
        """(full place phrase, bare place noun, its preposition, target name) for one support."""
        sup = [o for o in objs if o.kind in ("plate", "bowl")]
        o = sup[int(self.rng.integers(len(sup)))]
        noun = self.pick(PLACE_NOUNS3[o.kind])
        prep = self.pick(("in", "into", "inside")) if o.kind == "bowl" else self.pick(("on", "onto", "on top of"))
        return f"{prep} the {noun}", noun, prep, o.name

    def maybe_view(self, text: str, view: str, needs: bool) -> str:
        if not needs and view == "camera":
            return text
        clause = self.pick(VIEW_CLAUSES3[view])
        return f"{clause}, {text}" if self.rng.random() < 0.5 else f"{text}, {clause}"


def _row(g: _Gen3, kind: str, n: int, view: str) -> list[ObjectSpec] | None:
    """n same-kind same-colour objects with clear left/right gaps from `view`, or None."""
    objs = g.scene(n, kind, True)
    same = [o for o in objs if o.kind == kind]
    return objs if _clear([_lr(o, view, g.cam_from_base) for o in same], gap=0.08) else None


def _sorted_lr(g: _Gen3, objs: list[ObjectSpec], kind: str, view: str, side: str) -> list[ObjectSpec]:
    return sorted([o for o in objs if o.kind == kind], key=lambda o: _lr(o, view, g.cam_from_base),
                  reverse=side == "right")


def _xy_dist(a: ObjectSpec, b: ObjectSpec) -> float:
    return math.dist(a.position, b.position)


def _frame(g: _Gen3, phrase: str, place: str | None) -> str:
    """A plain sentence around a phrase that carries its own determiner ('the ...') or is fronted
    ('of the three mugs, the one in the middle')."""
    if phrase.startswith(("of ", "out of ")):
        frames = ("{P} goes {L}", "{P} should go {L}") if place else ("{P}, grab it", "{P}: pick it up")
    elif place:
        frames = ("put {P} {L}", "{P} goes {L}", "take {P} and set it {L}")
    else:
        frames = ("pick up {P}", "grab {P}", "lift {P}")
    return g.pick(frames).format(P=phrase, L=place)


def _execute(g: _Gen3, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.7
    for _ in range(300):
        n, ns = g.noun3(kind)
        view, needs = "camera", False
        if cat in ("terse", "synonym"):
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, prep, place_name = g.place3(objs)
            if cat == "terse":
                if with_place:
                    text = g.pick(TERSE_PLACE).format(c=t.color, n=n, pl=pl, prep=prep)
                else:
                    text, place_name = g.pick(TERSE_PICK).format(c=t.color, n=n), ""
                return text, objs, t.name, place_name or None
            phrase = g.pick((f"the {t.color} {n}", f"the {t.color}-coloured {n}", f"the {n} that's {t.color}"))
        elif cat == "verbose":
            side_case = with_place and g.rng.random() < 0.3
            if side_case:
                side = g.pick(("left", "right"))
                got = _row(g, kind, 3, "camera")
                if got is None:
                    continue
                objs = got
                t = _sorted_lr(g, objs, kind, "camera", side)[0]
                place, pl, prep, place_name = g.place3(objs)
                return VERBOSE_SIDE.format(c=t.color, n=n, s=side, L=place), objs, t.name, place_name
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, prep, place_name = g.place3(objs)
            phrase = f"{t.color} {n}"
            if with_place:
                return g.pick(VERBOSE_PLACE).format(P=phrase, L=place), objs, t.name, place_name
            return g.pick(VERBOSE_PICK).format(P=phrase), objs, t.name, None
        elif cat == "row":
            form = g.pick(("middle", "side", "ordinal", "but_one"))
            count = 3 if form in ("middle", "side") else 4
            got = _row(g, kind, count, "camera")
            if got is None:
                continue
            objs = got
            side = g.pick(("left", "right"))
            order = _sorted_lr(g, objs, kind, "camera", side)
            if form == "middle":
                t, phrase = order[1], g.pick(ROW_MIDDLE).format(n=n, ns=ns)
            elif form == "side":
                t, phrase = order[0], g.pick(ROW_SIDE).format(n=n, ns=ns, s=side)
            elif form == "ordinal":
                k = int(g.rng.integers(2, 4))
                t = order[k - 1]
                phrase = g.pick(ROW_ORD).format(o=("second", "third")[k - 2], n=n, ns=ns, s=side)
            else:
                t, phrase = order[1], g.pick(ROW_BUT_ONE).format(n=n, ns=ns, s=side)
            place, pl, prep, place_name = g.place3(objs)
        elif cat == "relative":
            form = g.pick(("side", "near", "between"))
            rkind = g.pick([k for k in ("cup", "box", "sphere") if k != kind])
            colours = list(g.rng.permutation(COLOURS))
            if form == "between":
                spec = [(rkind, colours[0]), (rkind, colours[1]), (kind, colours[2]), (kind, colours[2]),
                        ("plate", "white"), ("bowl", colours[3])]
            else:
                spec = [(kind, colours[0]), (kind, colours[0]), (rkind, colours[1]), ("plate", "white"),
                        ("bowl", colours[3])]
            try:
                objs = _place_objects(g.rng, spec, {})
            except ValueError:
                continue
            same = [o for o in objs if o.kind == kind]
            refs = [o for o in objs if o.kind == rkind]
            rn, rns = g.noun3(rkind)
            if form == "between":
                lo, hi = sorted(_lr(r, "camera", g.cam_from_base) for r in refs)
                inside = [o for o in same if lo + 0.05 < _lr(o, "camera", g.cam_from_base) < hi - 0.05]
                outside = [o for o in same if not lo - 0.05 < _lr(o, "camera", g.cam_from_base) < hi + 0.05]
                if len(inside) != 1 or len(outside) != 1:
                    continue
                t, phrase = inside[0], g.pick(REL_BETWEEN).format(n=n, rs=rns)
            elif form == "near":
                r = refs[0]
                d = sorted(same, key=lambda o: _xy_dist(o, r))
                if _xy_dist(d[1], r) - _xy_dist(d[0], r) < 0.06:
                    continue
                t, phrase = d[0], g.pick(REL_NEAR).format(n=n, r=f"{r.color} {rn}")
            else:
                r = refs[0]
                lr_r = _lr(r, "camera", g.cam_from_base)
                left = [o for o in same if _lr(o, "camera", g.cam_from_base) < lr_r - 0.08]
                right = [o for o in same if _lr(o, "camera", g.cam_from_base) > lr_r + 0.08]
                if len(left) != 1 or len(right) != 1:
                    continue
                side = g.pick(("left", "right"))
                t = left[0] if side == "left" else right[0]
                phrase = g.pick(REL_SIDE).format(n=n, s=side, r=f"{r.color} {rn}")
            place, pl, prep, place_name = g.place3(objs)
        elif cat == "viewpoint":
            view = g.pick(("camera", "robot"))
            got = _row(g, kind, 3, view)
            if got is None:
                continue
            objs = got
            side = g.pick(("left", "right"))
            order = _sorted_lr(g, objs, kind, view, side)
            form = g.rng.random()
            if form < 0.45:      # the side and the viewer in one phrase: "on my left", "to your right"
                t, phrase = order[0], g.pick(VIEW_SIDES3[view]).format(n=n, s=side)
            elif form < 0.75:
                t, phrase, needs = order[0], g.pick((f"the {side}most {n}", f"the {n} on the {side}")), True
            else:
                t, phrase, needs = order[1], f"the second {n} from the {side}", True
            place, pl, prep, place_name = g.place3(objs)
        elif cat == "size":
            sel = g.pick([f"{a}|{b}" for a, b in SIZE_PAIR]).split("|")
            key = (sel[0], sel[1])
            if kind == "sphere" and sel[0] == "height":
                continue
            pair = g.rng.random() < 0.5
            objs = g.scene(2 if pair else 3, kind, True, {0: 0.65, 1: 1.45} if pair else {0: 0.65, 1: 1.0, 2: 1.45})
            same = [o for o in objs if o.kind == kind]
            if not _clear([_size(o, sel[0]) for o in same], rel=0.25):
                continue
            t = (max if sel[1] == "max" else min)(same, key=lambda o: _size(o, sel[0]))
            phrase = g.pick(SIZE_PAIR[key] if pair else SIZE_THREE[key]).format(n=n, ns=ns)
            place, pl, prep, place_name = g.place3(objs)
        else:   # trailing
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, prep, place_name = g.place3(objs)
            phrase = f"{t.color} {n}"
            if with_place:
                return g.pick(TRAILING_PLACE).format(P=phrase, L=place), objs, t.name, place_name
            return g.pick(TRAILING_PICK).format(P=phrase), objs, t.name, None
        return g.maybe_view(_frame(g, phrase, place if with_place else None), view, needs), objs, t.name, \
            place_name if with_place else None
    raise ValueError(f"dev3 grammar: no clear {cat} layout")


def _refuse(g: _Gen3, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    present = {o.color for o in objs}
    t = objs[0]
    n, ns = g.noun3(kind)
    place, pl, prep, _ = g.place3(objs)
    if reason == "absent_colour":
        c = g.pick([c for c in COLOURS + ("pink", "brown", "grey") if c not in present])
        return g.pick((f"{c} {n} -> {pl}", f"could you put the {c} {n} {place}?", f"grab {c} {n} pls",
                       f"there's a {c} {n} on the table, could you pick it up?", f"if you don't mind, grab the {c} {n}",
                       f"{pl} <- {c} {n}")), objs
    if reason == "absent_kind":
        thing = g.pick(("stapler", "banana", "phone", "scissors", "sponge", "pen", "wallet", "spatula", "remote control",
                        "teapot", "candle"))
        return g.pick((f"{t.color} {thing} -> {pl}", f"could you put the {t.color} {thing} {place}?",
                       f"I was wondering if you could pick up the {t.color} {thing}")), objs
    if reason == "absent_place":
        objs = [o for o in objs if o.kind not in ("plate", "bowl")]
        return g.pick((f"{t.color} {n} -> tray", f"could you put the {t.color} {n} into the bowl?",
                       f"{t.color} {n} onto plate pls", f"the {t.color} {n}, on the platter, thanks",
                       f"what I'd like you to do is pick up the {t.color} {n} and put it on the tray")), objs
    if reason == "ambiguous":
        return g.pick((f"{n} -> {pl}", f"could you pick up the {n}?", f"grab the {n}, if you can",
                       f"there's a {n} on the table, could you take that one and set it down {place}?",
                       f"{n}. grab.", f"um, can you, like, grab the {n}?")), objs
    if reason == "negation":
        return g.pick((f"not the {t.color} {n}, the other one, {place}", f"any {n} other than the {t.color} one {place}",
                       f"grab a {n}, just not the {t.color} one", f"everything apart from the {t.color} {n} goes {place}",
                       f"pick up whichever {n} isn't {t.color}", f"the {n} that is not {t.color} -> {pl}",
                       f"take any {n} except the {t.color} one", f"don't touch the {t.color} {n}, move another {n} {place}",
                       f"not the {t.color} {n}", f"all the {ns} but the {t.color} one go {place}",
                       f"leave the {t.color} {n} alone and take another {n}", f"instead of the {t.color} {n}, take a different one",
                       f"take a {n} that isn't the {t.color} one, no rush", f"{n} (not {t.color}) -> {pl}")), objs
    if reason == "dangling_pronoun":
        return g.pick((f"could you move that {place}?", f"put it {place}, thanks", f"take this one and drop it {place}",
                       f"that one goes {place}", f"grab that and put it {place}", f"put those {place}",
                       f"move this onto the {pl}, please and thank you", f"see it? put it {place}")), objs
    if reason == "impossible":
        return g.pick((f"throw the {t.color} {n}", f"smash the {t.color} {n}", f"move the {t.color} {n} to x=5",
                       f"put the {t.color} {n} at (0.3, 0.2)", "lift the table", f"put the plate inside the {t.color} {n}",
                       f"break the {t.color} {n} {place}", f"kick the {t.color} {n}",
                       f"move the {t.color} {n} 10 cm to the left", f"put the {t.color} {n} on the ceiling",
                       f"pour water into the {t.color} {n}")), objs
    return g.pick((f"put the {t.color} {n} on the coaster", f"grab the wet {t.color} {n}",
                   f"put the {t.color} {n} beside the laptop", f"pick up the empty {t.color} {n}",
                   f"grab the {t.color} {n} by its handle", f"put the {t.color} {n} under the {pl}",
                   f"pour the {t.color} {n} {place}", f"flip the {t.color} {n} over {place}",
                   f"grab the {t.color} {n} with the handle", f"pick up the chipped {t.color} {n}",
                   f"put the {t.color} {n} {place}, upside down", f"the {t.color} {n}, the dusty one, -> {pl}")), objs


def dev3_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune' or 'check'): about 75 % to execute over eight user styles, the rest
    must be refused (eight reasons)."""
    g = _Gen3(np.random.default_rng(SEEDS[part]))
    return draw_cases(g, n, f"dev3{part[0]}", CATS3, REFUSALS3, _execute, _refuse)
