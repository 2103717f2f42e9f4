"""A fourth dev split ("dev4") for the phrase parser: sentence styles that dev, dev2 and dev3 lack.

Why a fourth split: dev1-3 are at ~100 % and share a habit, an imperative (or a bare noun phrase) in
lower case around one object phrase. People also state goals ("I want the red cup sitting on the
plate", "make it so the ball is in the bowl", "the plate should end up with the mug on it"), ask
("can the blue block go on the tray?"), speak in several sentences ("See the cups? Take the red one.
It goes in the bowl."), chain descriptions in relative clauses ("the cup that's red and small", "the
mug which is nearest to you"), use the passive ("the red cup is to be moved to the plate"), put manner
adverbs anywhere ("slowly pick up ...", "... gently and then carefully set it down ..."), write
casually ("gimme", "wanna", "you're gonna"), shout or trail off ("PICK UP THE RED CUP!!", "red cup...
bowl"), use spatial words in other roles ("the left-hand cup", "the cup on the left side of the table"),
count with digits ("the 2nd cup from the left", "the 3rd cup") and spell the British or American way.
Must-refuse cases (eight reasons) are written in the same styles. No template is shared with dev1-3 or
with sim/heldout_grammar.py (never read here). Expected answers come from the scene geometry here.
Two parts with separate seeds: `tune` (look at its failures and fix) and `check` (measure only).
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
    _place_objects,
    _size,
    draw_cases,
)

SEEDS = {"tune": 4242424, "check": 8080808, "unseen": 5151515}
CATS4 = ("goal", "question", "sentences", "relclause", "passive", "adverb", "casual", "noise", "spatial_role",
         "counting", "spelling")
REFUSALS4 = ("absent_colour", "absent_kind", "absent_place", "ambiguous", "negation", "dangling_pronoun",
             "impossible", "unknown_word")
NOUNS4 = {"cup": (("cup", "cups"), ("mug", "mugs"), ("glass", "glasses"), ("tumbler", "tumblers")),
          "box": (("box", "boxes"), ("block", "blocks"), ("cube", "cubes")),
          "sphere": (("ball", "balls"), ("sphere", "spheres"))}
PLACE_NOUNS4 = {"plate": ("plate", "tray", "dish"), "bowl": ("bowl", "basin")}
# --- goals and end states -------------------------------------------------------------------------
GOAL_PLACE = ("I want the {P} sitting {L}", "make it so the {P} is {L}", "I'd like the {P} to be {L}",
              "the {P} ought to be {L}", "the {P} should be sitting {L}", "let's get the {P} {L}",
              "what I want is the {P} {L}", "the aim is to have the {P} {L}", "we want the {P} resting {L}",
              "end state: the {P} {L}", "the {pl} should end up with the {P} {onin} it",
              "I'd love to see the {P} {L}", "can we have the {P} {L}?", "the idea is that the {P} ends up {L}")
GOAL_PICK = ("I want the {P} in your gripper", "I'd like you holding the {P}", "the {P} should be in your hand")
# --- questions ------------------------------------------------------------------------------------
QUESTION_PLACE = ("can the {P} go {L}?", "could the {P} be put {L}?", "how about putting the {P} {L}?",
                  "mind putting the {P} {L}?", "any chance you could move the {P} {L}?",
                  "would you be able to put the {P} {L}?", "shall we put the {P} {L}?",
                  "how about you take the {P} and put it {L}?", "are you able to set the {P} {L}?",
                  "is it ok to move the {P} {L}?")
QUESTION_PICK = ("are you able to grab the {P}?", "mind picking up the {P}?", "could the {P} be picked up?",
                 "how about grabbing the {P}?")
# --- several sentences ----------------------------------------------------------------------------
SENTENCES_PLACE = ("See the {ns}? Take the {c} one. It goes {L}.", "There's a {P} over there. Pick it up. Then put it {L}.",
                   "Find the {P}. Put it {L}.", "Look for the {P}. Grab it and drop it {L}.",
                   "You see the {P}? Put it {L}.", "The {P}. It goes {L}.", "OK. Take the {P}. Place it {L}. Thanks.",
                   "Got it? The {P}. Move it {L}.", "There are some {ns}. Grab the {c} one. Put it {L}.")
SENTENCES_PICK = ("See the {P}? Take it.", "The {P}. Pick it up, please.", "Look at the {ns}. Grab the {c} one.")
# --- relative clauses and descriptive chains ------------------------------------------------------
RELCL_COLOUR = ("the {n} which is {c}", "the {n} that happens to be {c}", "the {n} that is coloured {c}",
                "the {n} which has a {c} colour", "the {n}, the one that's {c},")
RELCL_CHAIN = ("the {n} that's {c} and {sz}", "the {n} which is {sz} and {c}", "the {n} that is both {c} and {sz}",
               "the {n} that's {sz} and also {c}")
RELCL_DEPTH = {("robot", "near"): ("the {n} which is nearest to you", "the {n} that is closest to the robot"),
               ("robot", "far"): ("the {n} that's furthest from you", "the {n} which is farthest from the robot"),
               ("camera", "near"): ("the {n} that is closest to me", "the {n} which is nearest the camera"),
               ("camera", "far"): ("the {n} that is furthest away", "the {n} which is farthest from me")}
RELCL_SIDE = ("the {n} that is on the {s}", "the {n} which is the {s}most one", "the {n} that sits on the {s}",
              "the {n} which is furthest to the {s}")
# --- the passive ----------------------------------------------------------------------------------
PASSIVE_PLACE = ("the {P} is to be moved {L}", "the {P} is to be placed {L}", "the {P} should get moved {L}",
                 "the {P} is going to be placed {L}", "the {P} has to get put {L}", "the {P} wants putting {L}",
                 "the {P} needs to be set {L}", "the {P} is to be put {L}, please", "the {P} gets placed {L}",
                 "the {P} must get moved {L}")
PASSIVE_PICK = ("the {P} is to be picked up", "the {P} should be lifted", "the {P} needs to be grabbed",
                "the {P} has to be picked up")
# --- manner and time adverbs anywhere -------------------------------------------------------------
ADVERB_PLACE = ("slowly pick up the {P} and put it {L}",
                "pick up the {P} gently and then carefully set it down {L}", "quietly move the {P} {L}",
                "firmly grab the {P} and smoothly place it {L}", "put the {P} {L} very carefully",
                "gently, put the {P} {L}", "calmly and slowly move the {P} {L}", "now immediately put the {P} {L}",
                "steadily carry the {P} {L}", "put the {P} softly {L}", "cautiously take the {P} and neatly put it {L}")
ADVERB_PICK = ("slowly pick up the {P}", "delicately lift the {P}", "grab the {P} firmly", "promptly grab the {P}",
               "carefully and slowly lift the {P}")
# --- casual writing and contractions --------------------------------------------------------------
CASUAL_PLACE = ("wanna put the {P} {L}?", "you're gonna put the {P} {L}", "gotta move the {P} {L}",
                "it's the {P} that goes {L}", "grab the {P} n put it {L}", "can ya put the {P} {L}?",
                "pop the {P} {L} would ya", "u mind putting the {P} {L}?", "yo, {P} {L} plz",
                "we're gonna need the {P} {L}", "could u move the {P} {L} pls", "lemme see the {P} go {L}")
CASUAL_PICK = ("gimme the {P}", "lemme have the {P}", "can ya grab the {P}?", "wanna grab the {P}?",
               "gimme the {P} pls")
# --- capitalisation and punctuation noise ---------------------------------------------------------
NOISE_PLACE = ("PUT THE {PU} {LU}!!", "Put The {PT} {LT}.", "{P}... {pl}", "{P} ... {L}", "put the {P} {L}!!!",
               "PUT the {P} {L} NOW", '"put the {P} {L}"', "put  the {P}   {L} .", "Move the {P} {L}?!",
               "*move* the {P} {L}", "put the {P} {L};", "{P} --- {pl}")
NOISE_PICK = ("PICK UP THE {PU}!!", "Pick Up The {PT}.", "pick up the {P}?!", "*grab* the {P}", "'grab the {P}'")
# --- spatial words in other grammatical roles -----------------------------------------------------
SPATIAL_ROLE = ("the {s}-hand {n}", "the {n} on the {s} side of the table", "the {n} furthest to the {s} of the row",
                "the {n} on the {s} side of the row", "the {n} at the {s} of the table", "the {s}-side {n}",
                "the {n} that's over on the {s}", "the {n} on the table's {s}", "the {n} at the {s} of the row",
                "the {n} on the {s}-hand side of the table", "the {n} closest to the {s} side of the table",
                "the {n} way over on the {s}")
# --- counting with digits and words ---------------------------------------------------------------
COUNTING = ("the {od} {n} from the {s}", "the {n} {od} from the {s}", "the {od}-from-the-{s} {n}",
            "the {n} that is {od} from the {s}", "the {ow} {n} if you count from the {s}",
            "the {od} {n} counting from the {s} side", "the {n} in {od} place from the {s}",
            "the {n} {od} in from the {s}", "{n} no. {k} from the {s}", "{n} #{k} from the {s}")
COUNTING_BARE = ("the {od} {n}", "the {ow} {n} in the row")
# --- British / American spellings and lexicon-poor synonyms ---------------------------------------
SPELLING_COLOUR = ("the {c}-colored {n}", "the {n} colored {c}", "the {n} whose colour is {c}",
                   "the {n} whose color is {c}", "the {n} in {c}", "the {n} of a {c} colour", "the {n} with the {c} color",
                   "the {c} {syn}")
SPELLING_MIDDLE = ("the {n} in the centre", "the {n} in the center", "the centre {n}", "the center {n}",
                   "the {n} at the centre of the row")
SYNONYMS4 = {"cup": ("goblet", "beaker", "mug"), "box": ("carton", "cuboid", "block"), "sphere": ("ball", "orb")}


# --- round 2: written after the tune fixes, in the same styles, and only measured (part "unseen") ----
R2_PLACE = {
    "goal": ("I'd like to end up with the {P} {L}", "get the {P} so it's {L}", "have the {P} sitting {L}",
             "what I'm after is the {P} {L}", "the target: {P} {L}", "ideally the {P} would be {L}",
             "I want the {pl} to have the {P} {onin} it", "leave the {P} {L}"),
    "question": ("could you possibly put the {P} {L}?", "is there any way you could move the {P} {L}?",
                 "can I get the {P} {L}?", "would you put the {P} {L}?", "do you want to put the {P} {L}?",
                 "how would you feel about moving the {P} {L}?", "can the {P} be moved {L}?",
                 "think you could set the {P} {L}?"),
    "sentences": ("Grab the {P}. Then drop it {L}.", "Right. The {P}? Goes {L}.", "Notice the {P}? Move it {L}.",
                  "I see a {P}. Put it {L}.", "There is a {P}. It should go {L}.", "Take the {P}. Put it down {L}. Done.",
                  "Look, the {P}. Pop it {L}."),
    "passive": ("the {P} can be moved {L}", "the {P} is to get moved {L}", "the {P} oughta be put {L}",
                "the {P} needs putting {L}", "the {P} should be taken {L}", "the {P} could be set {L}"),
    "adverb": ("quickly and carefully put the {P} {L}", "put the {P} {L}, slowly",
               "gently pick up the {P} and place it gently {L}", "move the {P} {L} real slowly",
               "smoothly and precisely set the {P} {L}"),
    "casual": ("could ya pop the {P} {L}", "ok so u gotta move the {P} {L}", "{P} {L} k?",
               "kinda need the {P} {L}", "ya mind putting the {P} {L}?", "we'll need the {P} {L}"),
    "noise": ("PLEASE put the {P} {L}!!!", "put the {P} {L}......", "{PU} -> {LU}", "put the {P}, {L}!",
              "~put the {P} {L}~", "put the {P} {L} :)"),
}
R2_PICK = {
    "goal": ("I'd like the {P} picked up", "ideally you'd be holding the {P}"),
    "question": ("could you possibly lift the {P}?", "can I get the {P}?", "you able to grab the {P}?"),
    "sentences": ("Notice the {P}? Grab it.", "I see a {P}. Pick it up."),
    "passive": ("the {P} must be lifted", "the {P} is to be grabbed"),
    "adverb": ("carefully, very carefully, lift the {P}", "smoothly grab the {P}", "securely grasp the {P}"),
    "casual": ("gimme that {P}", "pls grab the {P} thx", "wanna grab the {P} real quick?", "lemme get the {P}"),
    "noise": ("Grab The {PT}!", "GRAB the {P}...", "pick up the {P} :)"),
}
R2_RELCL_COLOUR = ("the {n} which happens to be the {c} one", "the {n} that's colored {c}", "the {n} that is the {c} one",
                   "the {n} whose colour's {c}", "the {n} which appears {c}")
R2_SPATIAL = ("the {n} over to the {s} of the table", "the {n} sitting at the {s} side", "the {n} placed furthest {s}",
              "the {n} on the {s} hand of the row", "the {n} that's the furthest {s} of them", "the {s} one of the {ns}",
              "the {n} on the {s}-most side")
R2_COUNTING = ("the {n} {od} from {s}", "{n} number {k} counting from the {s}", "the {od} one of the {ns} from the {s}",
               "the {n} positioned {od} from the {s}", "the {od} from {s} {n}")
R2_SPELLING = ("the {c}-colour {n}", "the {n} which is {c}-coloured", "the {n} painted {c}", "the {n} of {c} colour",
               "the {n} in {c} colour")
R2_MIDDLE = ("the {n} in the very centre", "the {n} right in the center", "the centremost {n}")


class _Gen4(_Gen):
    round2 = False

    def noun4(self, kind: str) -> tuple[str, str]:
        seq = NOUNS4[kind]
        return seq[int(self.rng.integers(len(seq)))]

    def place4(self, objs: list[ObjectSpec]) -> tuple[str, str, str, str]:
        """(place phrase, bare place noun, 'on'/'in' for 'with X on it', target name) for one support."""
        sup = [o for o in objs if o.kind in ("plate", "bowl")]
        o = sup[int(self.rng.integers(len(sup)))]
        noun = self.pick(PLACE_NOUNS4[o.kind])
        prep = self.pick(("in", "into", "inside")) if o.kind == "bowl" else self.pick(("on", "onto", "on top of"))
        return f"{prep} the {noun}", noun, "in" if o.kind == "bowl" else "on", o.name


def _row(g: _Gen4, kind: str, n: int, view: str = "camera") -> list[ObjectSpec] | None:
    objs = g.scene(n, kind, True)
    same = [o for o in objs if o.kind == kind]
    return objs if _clear([_lr(o, view, g.cam_from_base) for o in same], gap=0.08) else None


def _order(g: _Gen4, objs: list[ObjectSpec], kind: str, side: str, view: str = "camera") -> list[ObjectSpec]:
    return sorted([o for o in objs if o.kind == kind], key=lambda o: _lr(o, view, g.cam_from_base),
                  reverse=side == "right")


def _sentence(g: _Gen4, phrase: str, place: str | None) -> str:
    """A plain frame around a described phrase ('the ...') for categories about the phrase itself."""
    if place:
        return g.pick(("put {P} {L}", "move {P} {L}", "{P} goes {L}", "pick up {P} and place it {L}")).format(
            P=phrase, L=place)
    return g.pick(("pick up {P}", "grab {P}", "lift {P}")).format(P=phrase)


def _fill(template: str, phrase: str, place: str, pl: str, onin: str, n: str = "", ns: str = "", c: str = "") -> str:
    return template.format(P=phrase, L=place, pl=pl, onin=onin, PU=phrase.upper(), LU=place.upper(),
                           PT=phrase.title(), LT=place.title(), n=n, ns=ns, c=c)


def _execute(g: _Gen4, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.7
    for _ in range(300):
        n, ns = g.noun4(kind)
        if cat in ("goal", "question", "sentences", "passive", "adverb", "casual", "noise"):
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, onin, place_name = g.place4(objs)
            phrase = f"{t.color} {n}"
            table = {"goal": (GOAL_PLACE, GOAL_PICK), "question": (QUESTION_PLACE, QUESTION_PICK),
                     "sentences": (SENTENCES_PLACE, SENTENCES_PICK), "passive": (PASSIVE_PLACE, PASSIVE_PICK),
                     "adverb": (ADVERB_PLACE, ADVERB_PICK), "casual": (CASUAL_PLACE, CASUAL_PICK),
                     "noise": (NOISE_PLACE, NOISE_PICK)}[cat]
            if g.round2:
                table = (R2_PLACE[cat], R2_PICK[cat])
            tpl = g.pick(table[0] if with_place else table[1])
            return _fill(tpl, phrase, place, pl, onin, n, ns, t.color), objs, t.name, \
                place_name if with_place else None
        if cat == "relclause":
            form = g.pick(("colour", "chain", "depth", "side"))
            if form == "colour":
                objs = g.scene(3, kind, False)
                t = objs[int(g.rng.integers(3))]
                phrase = g.pick(R2_RELCL_COLOUR if g.round2 else RELCL_COLOUR).format(n=n, c=t.color)
            elif form == "chain":
                c0, c1 = [str(c) for c in g.rng.permutation(COLOURS)[:2]]
                spec = [(kind, c0), (kind, c0), (kind, c1), ("plate", "white"), ("bowl", c1)]
                try:
                    objs = _place_objects(g.rng, spec, {0: 0.6, 1: 1.5, 2: 1.0})
                except ValueError:
                    continue
                small = g.rng.random() < 0.5
                same = [o for o in objs if o.kind == kind and o.color == c0]
                if not _clear([_size(o, "size") for o in same], rel=0.25):
                    continue
                t = (min if small else max)(same, key=lambda o: _size(o, "size"))
                sz = g.pick(("small", "little") if small else ("big", "large"))
                phrase = g.pick(RELCL_CHAIN).format(n=n, c=c0, sz=sz)
            elif form == "depth":
                frame, way = g.pick(("camera|near", "camera|far", "robot|near", "robot|far")).split("|")
                objs = g.scene(3, kind, True)
                same = [o for o in objs if o.kind == kind]
                if not _clear([_dist(o, frame, g.cam_pos) for o in same], gap=0.07):
                    continue
                t = (min if way == "near" else max)(same, key=lambda o: _dist(o, frame, g.cam_pos))
                phrase = g.pick(RELCL_DEPTH[(frame, way)]).format(n=n)
            else:
                got = _row(g, kind, 3)
                if got is None:
                    continue
                objs = got
                side = g.pick(("left", "right"))
                t = _order(g, objs, kind, side)[0]
                phrase = g.pick(RELCL_SIDE).format(n=n, s=side)
        elif cat == "spatial_role":
            got = _row(g, kind, 3)
            if got is None:
                continue
            objs = got
            side = g.pick(("left", "right"))
            t = _order(g, objs, kind, side)[0]
            phrase = g.pick(R2_SPATIAL if g.round2 else SPATIAL_ROLE).format(n=n, s=side, ns=ns)
        elif cat == "counting":
            got = _row(g, kind, 4)
            if got is None:
                continue
            objs = got
            k = int(g.rng.integers(2, 4))
            od, ow = ("2nd", "3rd")[k - 2], ("second", "third")[k - 2]
            if g.rng.random() < 0.2:
                t = _order(g, objs, kind, "left")[k - 1]     # no side said: counted in reading order
                phrase = g.pick(COUNTING_BARE).format(od=od, ow=ow, n=n)
            else:
                side = g.pick(("left", "right"))
                t = _order(g, objs, kind, side)[k - 1]
                phrase = g.pick(R2_COUNTING if g.round2 else COUNTING).format(od=od, ow=ow, n=n, ns=ns, s=side, k=k)
        else:   # spelling
            if g.rng.random() < 0.7:
                objs = g.scene(3, kind, False)
                t = objs[int(g.rng.integers(3))]
                phrase = g.pick(R2_SPELLING if g.round2 else SPELLING_COLOUR).format(n=n, c=t.color,
                                                                                     syn=g.pick(SYNONYMS4[kind]))
            else:
                got = _row(g, kind, 3)
                if got is None:
                    continue
                objs = got
                t = _order(g, objs, kind, "left")[1]
                phrase = g.pick(R2_MIDDLE if g.round2 else SPELLING_MIDDLE).format(n=n)
        place, _, _, place_name = g.place4(objs)
        return _sentence(g, phrase, place if with_place else None), objs, t.name, place_name if with_place else None
    raise ValueError(f"dev4 grammar: no clear {cat} layout")


def _refuse(g: _Gen4, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    present = {o.color for o in objs}
    t = objs[0]
    n, ns = g.noun4(kind)
    place, pl, onin, _ = g.place4(objs)
    c = t.color
    if reason == "absent_colour":
        a = g.pick([x for x in COLOURS + ("pink", "grey", "gray", "brown") if x not in present])
        return g.pick((f"I want the {a} {n} sitting {place}", f"See the {ns}? Take the {a} one.",
                       f"GIMME THE {a.upper()} {n.upper()}!!", f"can the {a} {n} go {place}?",
                       f"the {n} which is {a} is to be moved {place}", f"slowly pick up the {a} {n}")), objs
    if reason == "absent_kind":
        thing = g.pick(("stapler", "banana", "kettle", "phone", "sponge", "candle", "spoon"))
        return g.pick((f"the {c} {thing} is to be moved {place}", f"slowly pick up the {c} {thing}",
                       f"make it so the {c} {thing} is {place}", f"gimme the {c} {thing}",
                       f"See the {c} {thing}? Put it {place}.")), objs
    if reason == "absent_place":
        objs = [o for o in objs if o.kind not in ("plate", "bowl")]
        return g.pick((f"make it so the {c} {n} is on the plate", f"the {c} {n} is to be moved into the bowl",
                       f"can the {c} {n} go on the tray?", f"Take the {c} {n}. It goes in the bowl.",
                       f"gently put the {c} {n} onto the dish")), objs
    if reason == "ambiguous":
        return g.pick((f"can the {n} go {place}?", f"slowly pick up the {n}", f"See the {ns}? Take one.",
                       f"the {n} is to be moved {place}", f"gimme the {n}", f"PICK UP THE {n.upper()}!!",
                       f"I want the {n} sitting {place}")), objs
    if reason == "negation":
        return g.pick((f"make it so the {c} {n} is not {place}", f"I don't want the {c} {n} moved",
                       f"gimme any {n} except the {c} one", f"the {n} that isn't {c} is to be moved {place}",
                       f"See the {ns}? Not the {c} one. Take another.", f"NOT THE {c.upper()} {n.upper()}!!",
                       f"slowly pick up the {n}, but not the {c} one", f"can the {n} that's not {c} go {place}?",
                       f"never move the {c} {n}", f"don't touch the {c} {n}. Move another {n} {place}.")), objs
    if reason == "dangling_pronoun":
        return g.pick((f"It goes {place}.", f"Take it. Put it {place}.", f"can it go {place}?",
                       f"make it so it is {place}", "gimme that", f"slowly pick it up and put it {place}",
                       f"it is to be moved {place}")), objs
    if reason == "impossible":
        return g.pick((f"throw the {c} {n}", f"slowly throw the {c} {n} {place}", f"make it so the plate is in the {c} {n}",
                       "the bowl is to be picked up", f"gently crush the {c} {n}", f"kick the {c} {n} {place}",
                       f"the {c} {n} is to be moved 5 cm to the left", "can the plate go in the bowl?")), objs
    return g.pick((f"carefully pick up the cracked {c} {n}", f"the {c} {n} which is sticky goes {place}",
                   f"I want the {c} {n} sitting under the {pl}", f"the {c} {n} is to be moved beneath the {pl}",
                   f"pick up the {c} {n} diagonally", f"put the {c} {n} {place} vertically",
                   f"the {c} {n}, which is wobbly, goes {place}", f"grab the smelly {c} {n}",
                   f"the {c} {n} that's half full goes {place}", f"slowly pour the {c} {n} {place}",
                   f"PUT THE {c.upper()} {n.upper()} ON THE SHELF!!")), objs


def dev4_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune', 'check' or 'unseen'): about 75 % to execute over eleven styles, the rest
    must be refused (eight reasons). 'unseen' draws the execute sentences from the round-2 templates, written
    after the parser was fixed on 'tune', so it measures the rules on phrasing they were not fitted to."""
    g = _Gen4(np.random.default_rng(SEEDS[part]))
    g.round2 = part == "unseen"
    return draw_cases(g, n, f"dev4{part[0]}", CATS4, REFUSALS4, _execute, _refuse)

