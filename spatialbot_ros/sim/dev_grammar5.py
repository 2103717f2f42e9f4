"""A fifth dev split ("dev5") for the phrase parser: users dev1-4 do not imitate.

Why a fifth split: dev1-4 are at ~100 % and are all written by a fluent writer. Here: non-native
English (dropped articles "pick red cup, put in bowl", other prepositions "put the cup at the plate",
word order "the cup red", "put on plate the cup"), speech-to-text output (no punctuation, "um", "like",
"yeah", repeated words "the the red cup"), roboticists' terse jargon ("target: red cup; goal: bowl",
"pick(red_cup) place(bowl)", "obj=red cup dest=plate"), distance in new forms ("the cup closest to the
robot arm", "the ball toward the front"), comparatives and size variants ("the bigger of the two", "huge",
"mini"), ordinals in words and mixed ("the third one along", "number two from the right"). Must-refuse
cases include self-corrections ("the red no wait the blue cup": one reading is wrong, so refused),
colours the lexicon cannot know ("crimson"), negation, "throw" and unknown words. No template is shared
with dev1-4 or with sim/heldout_grammar.py (never read here). Expected answers come from the geometry.
Parts with separate seeds: `tune` (look at failures and fix), `check` (measure only) and `unseen`
(round-2 templates written after the tune fixes, measured only).
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.sim.dev_grammar import (
    COLOURS,
    DevCase,
    ObjectSpec,
    _clear,
    _dist,
    _place_objects,
    _size,
    draw_cases,
)
from spatialbot_ros.sim.dev_grammar4 import _Gen4, _order, _row

SEEDS = {"tune": 5050505, "check": 9191919, "unseen": 6262626}
CATS5 = ("nonnative", "speech", "jargon", "depth", "size", "ordinal", "wordorder")
REFUSALS5 = ("self_correction", "unknown_colour", "negation", "impossible", "unknown_word", "ambiguous")
# --- non-native English: article drops and preposition variants ----------------------------------
NONNATIVE_PLACE = ("pick {c} {n}, put in {pl}", "take {c} {n} and put {at} {pl}", "put the {c} {n} at the {pl}",
                   "move {c} {n} to {pl}", "please take {c} {n} put to {pl}", "{c} {n} put {at} {pl} please",
                   "you take the {c} {n} and you put it at the {pl}", "bring {c} {n} to the {pl}",
                   "put {c} {n} inside of {pl}", "take the {c} {n} from table and put {at} {pl}")
NONNATIVE_PICK = ("take {c} {n}", "pick {c} {n} please", "you take the {c} {n}", "take {c} {n} from table")
# --- speech-to-text: no punctuation, hesitations, repeats -----------------------------------------
SPEECH_PLACE = ("okay so um grab the uh {c} {n} and then like put it {L} yeah",
                "so like pick up the the {c} {n} and put it {L}", "um put the {c} {n} uh {L} thanks",
                "grab the {c} {n} and um yeah put it {L} okay", "yeah so the {c} {n} goes {L} i guess",
                "can you like move the {c} {n} {L}", "the {c} {c} {n} put it {L}",
                "put the {c} {n} {L} {L}", "uh pick up the {c} {n} put it {L} thank you")
SPEECH_PICK = ("um grab the uh {c} {n} yeah", "so like pick up the the {c} {n}", "okay um the {c} {n} pick it up")
# --- terse jargon ---------------------------------------------------------------------------------
JARGON_PLACE = ("target: {c} {n}; goal: {pl}", "pick({c}_{n}) place({pl})", "obj={c} {n} dest={pl}",
                "object: {c} {n}, destination: {pl}", "pick {c} {n} -> place {pl}", "src: {c} {n} / dst: {pl}",
                "{c}_{n} -> {pl}", "pick: {c} {n}; place: {pl}", "move({c} {n}, {pl})", "task: {c} {n} to {pl}")
JARGON_PICK = ("target: {c} {n}", "pick({c}_{n})", "obj={c} {n}", "grasp: {c} {n}")
# --- distance, in new forms -----------------------------------------------------------------------
DEPTH5 = {("robot", "near"): ("the {n} closest to the robot arm", "the {n} nearest the robot's base",
                              "the {n} closest to your base", "the {n} nearest to the arm"),
          ("robot", "far"): ("the {n} furthest from you", "the {n} farthest from the robot arm",
                             "the {n} most distant from the robot"),
          ("camera", "near"): ("the {n} toward the front", "the {n} closest to the camera", "the {n} nearest me"),
          ("camera", "far"): ("the {n} at the back", "the {n} toward the back", "the {n} furthest back")}
# --- size and comparatives ------------------------------------------------------------------------
SIZE5 = {"max": ("the bigger of the two {ns}", "the large {n}", "the huge {n}", "the larger {n}",
                 "the {n} that is bigger", "the big {c} {n}", "the largest of the {ns}"),
         "min": ("the smaller of the two {ns}", "the little {n}", "the mini {n}", "the small {c} {n}",
                 "the {n} that is smaller", "the smallest of the {ns}", "the tiny {n}")}
# --- ordinals in words and mixed ------------------------------------------------------------------
# (always with the kind noun: "the third one from the right" counts every object in the row, not one kind)
ORDINAL5 = ("the {ow} {n} along from the {s}", "{n} number {k} from the {s}", "the {n} number {k} from the {s}",
            "the {ow} {n} from the {s} end", "{n} {k} from the {s}", "the {ow} {n} on the {s} side",
            "the {ow} {n} counting from {s}", "the {ow} of the {ns} from the {s}")
# --- word order: adjective after the noun, place before the object ---------------------------------
WORDORDER_PLACE = ("put on the {pl} the {c} {n}", "put {at} the {pl} the {c} {n}", "the {n} {c} put {L}",
                   "into the {pl} put the {c} {n}" , "{L} put the {c} {n}", "the {n}, the {c} one, {L}")
WORDORDER_PICK = ("the {n} {c} pick up", "pick up the {n} {c}", "the {c} {n} is what to pick")

R2 = {
    "nonnative": (("put {c} {n} on {pl}", "take {c} {n}, put it into {pl}", "please to put {c} {n} at {pl}",
                   "{c} {n} to the {pl}, please", "you put {c} {n} in the {pl}", "put {c} {n} on top {pl}"),
                  ("pick the {c} {n}", "give me {c} {n}", "take me {c} {n}")),
    "speech": (("uh so yeah put the {c} {n} {L} okay thanks", "put the {c} {n} um {L} uh yeah",
                "the uh the {c} {n} goes {L}", "like grab the {c} {n} and put it like {L}",
                "okay pick up the {c} {n} okay and put it {L}"),
               ("uh grab the {c} {n} thanks", "okay so the {c} {n} grab it")),
    "jargon": (("target={c} {n}; goal={pl}", "pick_place({c} {n}, {pl})", "object -> {c} {n}, target -> {pl}",
                "cmd: move {c} {n} to {pl}", "{c} {n} => {pl}", "from: {c} {n} to: {pl}"),
               ("target = {c} {n}", "grab({c} {n})")),
    "wordorder": (("onto the {pl} put the {c} {n}", "the {n} {c} goes {L}", "put the {n} {c} {L}",
                   "{L}, put the {c} {n}"),
                  ("grab the {n} {c}", "the {n} that's {c} pick it up")),
}
R2_DEPTH = {("robot", "near"): ("the {n} closest to the arm", "the {n} nearest the robot base"),
            ("robot", "far"): ("the {n} furthest away from the arm", "the {n} farthest from your base"),
            ("camera", "near"): ("the {n} in the very front", "the {n} toward me"),
            ("camera", "far"): ("the {n} all the way at the back", "the {n} toward the rear")}
R2_SIZE = {"max": ("the bigger {n}", "the biggest one of the {ns}", "the {n} that's larger"),
           "min": ("the littler {n}", "the smallest one of the {ns}", "the {n} that's smaller")}
R2_ORDINAL = ("the {ow} {n} in from the {s}", "{n} number {k} from {s}", "the {ow} {n} starting from the {s}",
              "the {ow} {n} along, from the {s}")


def _support(g: _Gen4, objs: list[ObjectSpec]) -> tuple[str, str, str, str]:
    """(place phrase, bare noun, a bare preposition, target name)."""
    place, pl, _, name = g.place4(objs)
    at = "in" if pl in ("bowl", "basin") else "on"
    return place, pl, at, name


def _execute(g: _Gen4, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.7
    for _ in range(300):
        n, ns = g.noun4(kind)
        if cat in ("nonnative", "speech", "jargon", "wordorder"):
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, at, place_name = _support(g, objs)
            table = {"nonnative": (NONNATIVE_PLACE, NONNATIVE_PICK), "speech": (SPEECH_PLACE, SPEECH_PICK),
                     "jargon": (JARGON_PLACE, JARGON_PICK), "wordorder": (WORDORDER_PLACE, WORDORDER_PICK)}[cat]
            if g.round2:
                table = R2[cat]
            tpl = g.pick(table[0] if with_place else table[1])
            text = tpl.format(c=t.color, n=n, ns=ns, L=place, pl=pl, at=at)
            return text, objs, t.name, place_name if with_place else None
        if cat == "depth":
            frame, way = g.pick(("camera|near", "camera|far", "robot|near", "robot|far")).split("|")
            objs = g.scene(3, kind, True)
            same = [o for o in objs if o.kind == kind]
            if not _clear([_dist(o, frame, g.cam_pos) for o in same], gap=0.07):
                continue
            t = (min if way == "near" else max)(same, key=lambda o: _dist(o, frame, g.cam_pos))
            phrase = g.pick((R2_DEPTH if g.round2 else DEPTH5)[(frame, way)]).format(n=n)
        elif cat == "size":
            c0 = str(g.pick(COLOURS))
            way = g.pick(("max", "min"))
            two = g.rng.random() < 0.5
            spec = [(kind, c0), (kind, c0)] + ([] if two else [(kind, c0)]) + [("plate", "white"), ("bowl", "blue")]
            try:
                objs = _place_objects(g.rng, spec, {0: 0.6, 1: 1.5} if two else {0: 0.6, 1: 1.5, 2: 1.0})
            except ValueError:
                continue
            same = [o for o in objs if o.kind == kind]
            if not _clear([_size(o, "size") for o in same], rel=0.25):
                continue
            t = (max if way == "max" else min)(same, key=lambda o: _size(o, "size"))
            tpls = (R2_SIZE if g.round2 else SIZE5)[way]
            if not two:   # "the bigger of the two" needs two
                tpls = tuple(x for x in tpls if "two" not in x and "bigger" not in x and "smaller" not in x
                             and "larger" not in x)
            phrase = g.pick(tpls).format(n=n, ns=ns, c=c0)
        else:   # ordinal
            got = _row(g, kind, 4)
            if got is None:
                continue
            objs = got
            k = int(g.rng.integers(1, 4))
            ow = ("first", "second", "third")[k - 1]
            side = g.pick(("left", "right"))
            t = _order(g, objs, kind, side)[k - 1]
            tpls = R2_ORDINAL if g.round2 else ORDINAL5
            phrase = g.pick(tpls).format(ow=ow, n=n, ns=ns, s=side, k=k)
        place, _, _, place_name = _support(g, objs)
        if with_place:
            text = g.pick(("put {P} {L}", "move {P} {L}", "pick up {P} and place it {L}")).format(P=phrase, L=place)
        else:
            text = g.pick(("pick up {P}", "grab {P}")).format(P=phrase)
        return text, objs, t.name, place_name if with_place else None
    raise ValueError(f"dev5 grammar: no clear {cat} layout")


def _refuse(g: _Gen4, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    n, ns = g.noun4(kind)
    place, pl, at, _ = _support(g, objs)
    c, d = objs[0].color, objs[1].color
    if reason == "self_correction":
        return g.pick((f"grab the {c} no wait the {d} {n}", f"put the {c} {n} sorry i mean the {d} {n} {place}",
                       f"the {c} {n} actually no the {d} one", f"pick {c} {n} no {d} {n}",
                       f"target: {c} {n}, correction: {d} {n}", f"take the {c} um i mean {d} {n} {place}",
                       f"the {c} or rather the {d} {n} {place}")), objs
    if reason == "unknown_colour":
        a = g.pick(("crimson", "scarlet", "lime", "mauve", "khaki", "ochre", "lilac", "azure"))
        return g.pick((f"pick {a} {n}, put in {pl}", f"target: {a} {n}; goal: {pl}", f"grab the uh {a} {n}",
                       f"the {n} {a} put {place}", f"obj={a} {n} dest={pl}")), objs
    if reason == "negation":
        return g.pick((f"take {n} not {c}", f"target: {n} != {c}", f"um not the {c} {n} the other one",
                       f"pick any {n} but {c}", f"obj={n} except {c} dest={pl}", f"no {c} {n} please")), objs
    if reason == "impossible":
        return g.pick((f"throw {c} {n} at {pl}", f"um throw the {c} {n} yeah", f"throw({c}_{n})",
                       f"put {pl} in {c} {n}", f"smash the {c} {n}")), objs
    if reason == "unknown_word":
        return g.pick((f"pick {c} {n} with lid, put in {pl}", f"target: {c} {n}; goal: shelf",
                       f"grab the dirty {c} {n}", f"put the {c} {n} behind the {pl} upside down",
                       f"obj={c} {n} dest={pl} speed=fast", f"put {c} {n} under {pl}")), objs
    return g.pick((f"pick {n}, put in {pl}", f"target: {n}; goal: {pl}", f"um grab the {n} yeah",
                   f"the {n} put {place}", f"obj={n} dest={pl}")), objs


def dev5_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune', 'check' or 'unseen'): about 75 % to execute over seven styles, the rest
    must be refused (six reasons). 'unseen' uses the round-2 templates, written after the tune fixes."""
    g = _Gen4(np.random.default_rng(SEEDS[part]))
    g.round2 = part == "unseen"

    def category(cat: str, i: int) -> str:  # round 2 draws every other size case as depth
        return "depth" if g.round2 and cat == "size" and i % 2 else cat

    return draw_cases(g, n, f"dev5{part[0]}", CATS5, REFUSALS5, _execute, _refuse, category=category)
