"""An eighth dev split ("dev8") for the phrase parser: everyday wording of counting, sizes and sequence.

Why an eighth split: dev7 (everyday words around the object) moved the frozen suite more than any earlier
round; what it left weakest is counting and size wording. Here, in plain fluent English: counting said as a
clause ("count from the left and take the second cup", "starting on the left, ...", "going from left to
right, ...", "left to right, ..."), positions as nouns ("in the second spot from the left", "in slot two
from the left"), sizes by a named dimension ("the widest diameter", "the largest radius", "the greatest
width") and by more adjectives ("the most slender", "extra large", "oversized", "chubbiest"), the group
as a collective noun ("the smallest of the bunch", "of the lot", "in the group"), a sequence said as a
subordinate clause ("after picking up the cup, put it ...", "once you have the cup, put it ..."), the
tool named ("use the gripper to pick up ...", "with your gripper, ..."), and a few wrappers and places
("if that's ok", "help me ...", "time to ...", "step 1: ...", "directly on the plate", "in the centre of the
bowl", "on the plate's surface"). Must-refuse cases: a middle size ("the medium cup": with three cups it
could be read, with two it cannot, and a user who says it may mean either), a tool the robot does not have
("use the suction cup to ..."), two actions in sequence on different objects or twice ("after putting the cup
in the bowl, pick it up again"), negation in the new frames, and absent objects. No template is shared with
dev1-7 or with sim/heldout_grammar.py (never read here). Expected answers come from the scene geometry.
Parts with separate seeds: `tune` (look at failures and fix), `check` (measure only) and `unseen` (round-2
templates, written before any fix, their failures not looked at until round 1 was done).
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.sim.dev_grammar import (
    COLOURS,
    DevCase,
    ObjectSpec,
    _clear,
    _place_objects,
    _size,
    draw_cases,
)
from spatialbot_ros.sim.dev_grammar4 import _Gen4, _order, _row
from spatialbot_ros.sim.dev_grammar7 import _frame, _support

SEEDS = {"tune": 8080818, "check": 2323232, "unseen": 5656565}
CATS8 = ("count", "slot", "dimension", "group", "sequence", "tool", "wrap")
REFUSALS8 = ("middle_size", "missing_tool", "two_actions", "negation", "absent")
OW = ("first", "second", "third")
# --- counting said as a clause ---------------------------------------------------------------------------
COUNT = ("count from the {s} and take the {ow} {n}", "starting on the {s}, take the {ow} {n}",
         "take the {ow} {n} starting on the {s}", "going from {s} to {o}, take the {ow} {n}",
         "{s} to {o}, take the {ow} {n}", "pick up the {ow} {n} counting {s} to {o}",
         "counting from the {s}, grab the {ow} {n}")
COUNT_PLACE = ("count from the {s} and put the {ow} {n} {L}", "starting on the {s}, put the {ow} {n} {L}",
               "going from {s} to {o}, move the {ow} {n} {L}")
# --- positions as nouns -----------------------------------------------------------------------------------------
SLOT = ("the {n} in the {ow} spot from the {s}", "the {n} in slot {k} from the {s}", "the {n} in the {ow} slot from the {s}",
        "the {n} sitting in the {ow} spot from the {s}", "the {n} in spot number {k} from the {s}")
# --- sizes by a named dimension and more adjectives ---------------------------------------------------------
DIMENSION = {"max": ("the {n} with the widest diameter", "the {n} with the largest radius", "the {n} of the greatest width",
                     "the extra large {n}", "the oversized {n}", "the chubbiest {n}", "the {n} with the biggest diameter"),
             "min": ("the {n} with the smallest diameter", "the {n} with the smallest radius", "the {n} of the least width",
                     "the most slender {n}", "the most petite {n}", "the {n} with the narrowest diameter")}
# --- the group as a collective noun ----------------------------------------------------------------------------
GROUP = {"max": ("the biggest {n} of the bunch", "the largest {n} of the bunch", "the biggest {n} in the group",
                 "the largest {n} of the lot", "the biggest {n} of the lot"),
         "min": ("the smallest {n} of the bunch", "the smallest of the bunch", "the littlest {n} in the group",
                 "the smallest {n} of the lot", "the tiniest of the lot")}
# --- a sequence as a subordinate clause (place cases only) ------------------------------------------------------
SEQUENCE = ("after picking up the {c} {n}, put it {L}", "once you have the {c} {n}, put it {L}",
            "after you pick up the {c} {n}, place it {L}", "once you've grabbed the {c} {n}, set it down {L}",
            "when you have the {c} {n}, put it {L}")
# --- the tool named ---------------------------------------------------------------------------------------------
TOOL = (("use the gripper to put the {c} {n} {L}", "with your gripper, move the {c} {n} {L}",
         "using the gripper, put the {c} {n} {L}", "use your gripper to place the {c} {n} {L}"),
        ("use the gripper to pick up the {c} {n}", "with the gripper, pick up the {c} {n}",
         "using your gripper, grab the {c} {n}"))
# --- wrappers and place phrases -------------------------------------------------------------------------------
WRAP = (("put the {c} {n} {L} if that's ok", "help me put the {c} {n} {L}", "time to put the {c} {n} {L}",
         "step 1: put the {c} {n} {L}", "put the {c} {n} directly {L}", "put the {c} {n} in the centre of the {pl}",
         "put the {c} {n} on the {pl}'s surface", "put the {c} {n} in the middle of the {pl}"),
        ("grab the {c} {n} if that's ok", "help me pick up the {c} {n}", "time to grab the {c} {n}",
         "step 1: pick up the {c} {n}"))
# --- round 2: the unseen part only ------------------------------------------------------------------------
R2_COUNT = ("counting {s} to {o}, take the {ow} {n}",
            "begin at the {s} and take the {ow} {n}", "start counting at the {s} and grab the {ow} {n}",
            "moving from {s} to {o}, pick up the {ow} {n}", "reading {s} to {o}, take the {ow} {n}")
R2_SLOT = ("the {n} in the {ow} position counting from the {s}", "the {n} occupying the {ow} spot from the {s}",
           "the {n} at spot {k} from the {s}")
R2_DIMENSION = {"max": ("the {n} with the biggest width", "the {n} of the largest diameter", "the jumbo {n}",
                        "the {n} that is widest across"),
                "min": ("the {n} of the smallest diameter", "the {n} with the least width", "the slimmest-looking {n}",
                        "the {n} that is narrowest across")}
R2_GROUP = {"max": ("the biggest {n} of the set", "the largest {n} out of the bunch", "the biggest {n} there is in the group"),
            "min": ("the smallest {n} of the set", "the smallest {n} out of the lot", "the smallest one in the group")}
R2_SEQUENCE = ("after grabbing the {c} {n}, put it {L}", "as soon as you have the {c} {n}, put it {L}",
               "once the {c} {n} is in your gripper, put it {L}")
R2_TOOL = (("using your gripper, place the {c} {n} {L}", "with the robot's gripper, put the {c} {n} {L}"),
           ("use your gripper to lift the {c} {n}", "with your gripper, grab the {c} {n}"))
R2_WRAP = (("put the {c} {n} {L} if that's alright", "help me out and put the {c} {n} {L}",
            "step one: put the {c} {n} {L}", "put the {c} {n} straight {L}", "put the {c} {n} in the center of the {pl}"),
           ("grab the {c} {n} if that's alright", "time to pick up the {c} {n}"))


def _sized(g: _Gen4, kind: str) -> tuple[list[ObjectSpec], str] | None:
    """Three objects of one kind and colour with clearly different sizes, and which way to pick."""
    c0 = str(g.pick(COLOURS))
    spec = [(kind, c0), (kind, c0), (kind, c0), ("plate", "white"), ("bowl", "blue")]
    try:
        objs = _place_objects(g.rng, spec, {0: 0.6, 1: 1.5, 2: 1.0})
    except ValueError:
        return None
    same = [o for o in objs if o.kind == kind]
    if not _clear([_size(o, "size") for o in same], rel=0.25):
        return None
    return objs, g.pick(("max", "min"))


def _execute(g: _Gen4, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.7
    for _ in range(300):
        n, ns = g.noun4(kind)
        if cat in ("sequence", "tool", "wrap"):
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, place_name = _support(g, objs)
            if cat == "sequence":
                with_place = True
                tpls: tuple[tuple[str, ...], tuple[str, ...]] = ((R2_SEQUENCE if g.round2 else SEQUENCE), ())
            else:
                tpls = {"tool": (R2_TOOL if g.round2 else TOOL), "wrap": (R2_WRAP if g.round2 else WRAP)}[cat]
            # {pl} is the bare noun of the same support {L} names
            text = g.pick(tpls[0] if with_place else tpls[1]).format(c=t.color, n=n, L=place, pl=pl)
            return text, objs, t.name, place_name if with_place else None
        if cat in ("count", "slot"):
            got = _row(g, kind, 4)
            if got is None:
                continue
            objs = got
            side = g.pick(("left", "right"))
            other = "right" if side == "left" else "left"
            k = int(g.rng.integers(1, 4))
            t = _order(g, objs, kind, side)[k - 1]
            place, _, place_name = _support(g, objs)
            if cat == "count":
                if with_place and not g.round2:
                    text = g.pick(COUNT_PLACE).format(s=side, o=other, ow=OW[k - 1], n=n, L=place)
                else:
                    text = g.pick(R2_COUNT if g.round2 else COUNT).format(s=side, o=other, ow=OW[k - 1], n=n)
                    if with_place:
                        text = f"{text} and put it {place}"
                return text, objs, t.name, place_name if with_place else None
            phrase = g.pick(R2_SLOT if g.round2 else SLOT).format(n=n, ow=OW[k - 1], s=side, k=k)
            return _frame(g, phrase, place if with_place else None), objs, t.name, place_name if with_place else None
        got2 = _sized(g, kind)
        if got2 is None:
            continue
        objs, way = got2
        same = [o for o in objs if o.kind == kind]
        t = (max if way == "max" else min)(same, key=lambda o: _size(o, "size"))
        if cat == "dimension":
            phrase = g.pick((R2_DIMENSION if g.round2 else DIMENSION)[way]).format(n=n)
        else:   # group
            # (a 'min' phrase without a noun, "the smallest of the bunch", is the same object: the plate and the
            # bowl are larger than any of the three)
            phrase = g.pick((R2_GROUP if g.round2 else GROUP)[way]).format(n=n)
        place, _, place_name = _support(g, objs)
        return _frame(g, phrase, place if with_place else None), objs, t.name, place_name if with_place else None
    raise ValueError(f"dev8 grammar: no clear {cat} layout")


def _refuse(g: _Gen4, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    n, ns = g.noun4(kind)
    place, pl, _ = _support(g, objs)
    c, d = objs[0].color, objs[1].color
    if reason == "middle_size":
        return g.pick((f"pick up the medium {n}", f"put the medium-sized {n} {place}", f"grab the mid-sized {n}",
                       f"pick up the {n} of medium size", f"the average-sized {n} goes {place}")), objs
    if reason == "missing_tool":
        return g.pick((f"use the suction cup to pick up the {c} {n}", f"with the vacuum gripper, grab the {c} {n}",
                       f"use the magnet to put the {c} {n} {place}", f"using a spatula, move the {c} {n} {place}",
                       f"use your other hand to grab the {c} {n}")), objs
    if reason == "two_actions":
        return g.pick((f"after putting the {c} {n} {place}, pick it up again",
                       f"once you have the {c} {n}, put the {d} {n} {place}",
                       f"after picking up the {c} {n}, pick up the {d} {n}",
                       f"step 1: pick up the {c} {n}, step 2: pick up the {d} {n}",
                       f"help me put the {c} {n} {place} and the {d} {n} too")), objs
    if reason == "negation":
        return g.pick((f"count from the left and take any {n} but the {c} one",
                       f"after picking up the {n} that isn't {c}, put it {place}",
                       f"use the gripper to pick up anything except the {c} {n}",
                       f"help me put the {n} that is not {c} {place}")), objs
    present = {o.color for o in objs}
    a = next(x for x in COLOURS if x not in present)
    return g.pick((f"count from the left and take the {a} {n}", f"use the gripper to pick up the {a} {n}",
                   f"after picking up the {a} {n}, put it {place}", f"help me grab the {a} {n}",
                   f"put the {c} {n} on the shelf's surface")), objs


def dev8_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune', 'check' or 'unseen'): about 75 % to execute over seven styles, the rest
    must be refused (five reasons). 'unseen' uses the round-2 templates."""
    g = _Gen4(np.random.default_rng(SEEDS[part]))
    g.round2 = part == "unseen"
    return draw_cases(g, n, f"dev8{part[0]}", CATS8, REFUSALS8, _execute, _refuse)
