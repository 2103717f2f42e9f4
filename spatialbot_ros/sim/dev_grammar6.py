"""A sixth dev split ("dev6") for the phrase parser: users dev1-5 do not imitate.

Why a sixth split: dev1-5 are at 100 % and each imitates its own users (dev4: goals, questions, several
sentences, relative clauses with a colour or a superlative, passives, adverbs, casual spellings; dev5:
non-native English, speech-to-text, jargon slots). Here: people who give a reason or some context with
the request ("the red cup is dirty, so put it in the bowl", "put it on the plate because I need the table
clear", "since the bowl is empty, ..."), who hedge or ask before they ask ("I think the blue one? put it on
the plate", "probably the red cup, into the bowl"), who speak to the robot in the second person ("you
should grab ...", "your job is to ..."), who stack attributes in any order or with commas ("the small, red
cup", "the red small cup", "the little plastic red cup"), who locate an object by a landmark in a relative
clause or between two landmarks ("the cup which is closest to the plate", "the ball between the plate and
the bowl"), and who type fast (one-letter typos of function words: "teh", "adn", "plase"). Must-refuse
cases: quantities that do not name one object ("one of the cups", "both boxes"), negation in new forms
("leave the red cup alone", "anything that isn't red"), typos in content words ("cpu", "rde": the parser
cannot know which word was meant), reasons that carry a second action or a condition ("... because then
you can stack the blue one on it", "only if it is clean"), and absent objects in the new frames.
No template is shared with dev1-5 or with sim/heldout_grammar.py (never read here). Expected answers come
from the scene geometry. Parts with separate seeds: `tune` (look at failures and fix), `check` (measure
only) and `unseen` (round-2 templates written after the tune fixes, measured only).
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.sim.dev_grammar import (
    COLOURS,
    DevCase,
    ObjectSpec,
    _clear,
    _lr,
    _place_objects,
    _size,
    draw_cases,
)
from spatialbot_ros.sim.dev_grammar4 import _Gen4

SEEDS = {"tune": 6060606, "check": 7171717, "unseen": 8282828}
CATS6 = ("reason", "hedge", "you", "stacked", "landmark", "typo")
REFUSALS6 = ("quantity", "negation", "content_typo", "reason_action", "absent")
# --- reasons and context around the request -----------------------------------------------------------
REASON_PLACE = ("the {c} {n} is dirty, so put it {L}", "put the {c} {n} {L} because I need the table clear",
                "I'm tidying up, so please put the {c} {n} {L}", "since the {pl} is empty, put the {c} {n} {L}",
                "put the {c} {n} {L} so that the table is clear", "the {c} {n} is in the way. put it {L}",
                "we're setting the table: the {c} {n} goes {L}", "put the {c} {n} {L}, because that's where it lives",
                "the {c} {n} doesn't belong here, move it {L}", "I need some space, so move the {c} {n} {L}")
REASON_PICK = ("the {c} {n} is dirty, so grab it", "pick up the {c} {n} because I need it",
               "I'm tidying up, so pick up the {c} {n}", "the {c} {n} is in the way, lift it")
# --- hedges and questions before the request ----------------------------------------------------------
HEDGE_PLACE = ("I think the {c} one? put it {L}", "maybe the {c} {n}? put it {L}", "probably the {c} {n}, {L}",
               "the {c} {n}, I think, goes {L}", "is it the {c} {n}? yes, put it {L}",
               "hmm, the {c} {n} maybe, put it {L}", "the {c} {n} I believe, {L} please",
               "perhaps put the {c} {n} {L}?", "could you maybe put the {c} {n} {L}?")
HEDGE_PICK = ("I think the {c} {n}? grab it", "maybe pick up the {c} {n}?", "probably the {c} {n}, pick it up",
              "the {c} {n}, I believe. lift it")
# --- the robot addressed in the second person ---------------------------------------------------------
YOU_PLACE = ("you should grab the {c} {n} and put it {L}", "you need to move the {c} {n} {L}",
             "your job is to put the {c} {n} {L}", "you'll want to place the {c} {n} {L}",
             "you can put the {c} {n} {L} now", "robot, you must put the {c} {n} {L}",
             "next you put the {c} {n} {L}", "you are going to move the {c} {n} {L}",
             "you have to set the {c} {n} {L}", "now you take the {c} {n} and place it {L}")
YOU_PICK = ("you should grab the {c} {n}", "your job is to pick up the {c} {n}", "you need to lift the {c} {n}",
            "robot, you pick up the {c} {n}")
# --- stacked attributes (size and colour in any order, commas, 'and', a material) ----------------------
STACKED = ("the {sz} {c} {n}", "the {c} {sz} {n}", "the {sz}, {c} {n}", "the {sz} and {c} {n}",
           "the {sz} {c} plastic {n}", "the {c}, {sz} {n}", "the {sz}, {c}, {n}", "the {sz} {c} coloured {n}",
           "the {sz} {c}-coloured {n}")
# --- landmarks: relative clauses and two landmarks ----------------------------------------------------
LANDMARK_NEAR = ("the {n} which is closest to the {lm}", "the {n} that sits nearest to the {lm}",
                 "the {n} that's nearest the {lm}", "the {n} located closest to the {lm}",
                 "the {n} which is the nearest to the {lm}", "whichever {n} is closest to the {lm}")
LANDMARK_BETWEEN = ("the {n} between the {a} and the {b}", "the {n} that is between the {a} and the {b}",
                    "the {n} sitting between the {a} and the {b}", "the {n} in between the {a} and the {b}")
# --- fast typing: one-letter typos of function words -----------------------------------------------------
TYPO_PLACE = ("put teh {c} {n} {L}", "pick up the {c} {n} adn put it {L}", "plase put the {c} {n} {L}",
              "put the {c} {n} {L} thnaks", "grab the {c} {n} nad put it {L}", "put hte {c} {n} {L}",
              "put the {c} {n} {L} pls thx", "move teh {c} {n} {L} please")
TYPO_PICK = ("pick up teh {c} {n}", "grab hte {c} {n} plase", "pick up the {c} {n} thnaks")
# --- round 2 (written after the tune fixes; the unseen part only) --------------------------------------
R2: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "reason": (("put the {c} {n} {L}, it's dirty", "the {c} {n} needs washing, so put it {L}",
                "as the {pl} is free, put the {c} {n} {L}", "put the {c} {n} {L} 'cause it's sticky",
                "we're cleaning up, the {c} {n} goes {L}", "put the {c} {n} {L} because we need room on the table",
                "the {c} {n} is empty. could you move it {L}?", "since you're there, put the {c} {n} {L}"),
               ("grab the {c} {n}, I need it", "the {c} {n} is empty, so pick it up")),
    "hedge": (("um, I'd say the {c} {n}, {L}", "I guess it's the {c} {n}? move it {L}",
               "maybe the {c} {n} should go {L}", "possibly the {c} {n}, put it {L}",
               "the {c} {n} perhaps? put it {L}", "I reckon the {c} {n} goes {L}"),
              ("I'd say the {c} {n}? pick it up", "perhaps grab the {c} {n}")),
    "you": (("you're supposed to put the {c} {n} {L}", "you will move the {c} {n} {L}",
             "you'd better put the {c} {n} {L}", "your next step: put the {c} {n} {L}",
             "you may now place the {c} {n} {L}", "robot, you need to set the {c} {n} {L}"),
            ("you may pick up the {c} {n}", "you're supposed to grab the {c} {n}")),
    "typo": (("put the {c} {n} {L} pleas", "put the {c} {n} {L} thansk", "yuo put the {c} {n} {L}",
              "pick up the {c} {n} adn then put it {L}", "put the {c} {n} {L} tahnks",
              "put hte {c} {n} {L} pelase", "pick up teh {c} {n} then put it {L}"),
             ("pick up teh {c} {n} pelase", "grab the {c} {n} thansk")),
}
R2_STACKED = ("the {c} and {sz} {n}", "the {sz}-sized {c} {n}", "that {sz} {c} {n}", "the {sz} {c} toy {n}",
              "the {c} {n}, the {sz} one")
R2_NEAR = ("the {n} that is nearest to the {lm}", "the {n} which sits closest to the {lm}",
           "the {n} that's the closest to the {lm}", "the {n} positioned nearest the {lm}")
R2_BETWEEN = ("the {n} halfway between the {a} and the {b}", "the {n} that's between the {a} and the {b}",
              "the {n} between the {a} and {b}", "the {n} which sits between the {a} and the {b}")


def _support(g: _Gen4, objs: list[ObjectSpec]) -> tuple[str, str, str]:
    """(place phrase, bare noun, target name)."""
    place, pl, _, name = g.place4(objs)
    return place, pl, name


def _nearest(objs: list[ObjectSpec], kind: str, lm: ObjectSpec) -> ObjectSpec | None:
    same = [o for o in objs if o.kind == kind]
    d = sorted((float(np.hypot(o.position[0] - lm.position[0], o.position[1] - lm.position[1])), i)
               for i, o in enumerate(same))
    return same[d[0][1]] if d[1][0] - d[0][0] > 0.07 else None


def _execute(g: _Gen4, cat: str) -> tuple[str, list[ObjectSpec], str, str | None]:
    kind = g.pick(("cup", "box", "sphere"))
    with_place = g.rng.random() < 0.7
    for _ in range(300):
        n, ns = g.noun4(kind)
        if cat in ("reason", "hedge", "you", "typo"):
            objs = g.scene(3, kind, False)
            t = objs[int(g.rng.integers(3))]
            place, pl, place_name = _support(g, objs)
            table = {"reason": (REASON_PLACE, REASON_PICK), "hedge": (HEDGE_PLACE, HEDGE_PICK),
                     "you": (YOU_PLACE, YOU_PICK), "typo": (TYPO_PLACE, TYPO_PICK)}[cat]
            if g.round2 and cat in R2:
                table = R2[cat]
            tpl = g.pick(table[0] if with_place else table[1])
            text = tpl.format(c=t.color, n=n, ns=ns, L=place, pl=pl)
            return text, objs, t.name, place_name if with_place else None
        if cat == "stacked":
            c0, c1 = [str(c) for c in g.rng.permutation(COLOURS)[:2]]
            small = g.rng.random() < 0.5
            spec = [(kind, c0), (kind, c0), (kind, c1), ("plate", "white"), ("bowl", g.pick(COLOURS))]
            try:
                objs = _place_objects(g.rng, spec, {0: 0.6, 1: 1.5, 2: 0.6 if small else 1.5})
            except ValueError:
                continue
            same = [o for o in objs if o.kind == kind and o.color == c0]
            if not _clear([_size(o, "size") for o in same], rel=0.25):
                continue
            t = (min if small else max)(same, key=lambda o: _size(o, "size"))
            sz = g.pick(("small", "little", "tiny") if small else ("big", "large", "huge"))
            phrase = g.pick(R2_STACKED if g.round2 and R2_STACKED else STACKED).format(sz=sz, c=c0, n=n)
        else:   # landmark
            objs = g.scene(3, kind, False)
            if g.rng.random() < 0.5:
                lms = [o for o in objs if o.kind != kind]
                lm = lms[int(g.rng.integers(len(lms)))]
                got = _nearest(objs, kind, lm)
                if got is None:
                    continue
                t = got
                lm_word = lm.kind if lm.kind in ("plate", "bowl") else f"{lm.color} {g.noun4(lm.kind)[0]}"
                phrase = g.pick(R2_NEAR if g.round2 and R2_NEAR else LANDMARK_NEAR).format(n=n, lm=lm_word)
            else:
                plate = next(o for o in objs if o.kind == "plate")
                bowl = next(o for o in objs if o.kind == "bowl")
                lo, hi = sorted((_lr(plate, "camera", g.cam_from_base), _lr(bowl, "camera", g.cam_from_base)))
                same = [o for o in objs if o.kind == kind]
                inside = [o for o in same if lo < _lr(o, "camera", g.cam_from_base) < hi]
                margin = min((min(abs(_lr(o, "camera", g.cam_from_base) - v) for v in (lo, hi)) for o in same),
                             default=0.0)
                if len(inside) != 1 or margin < 0.03:
                    continue
                t = inside[0]
                a, b = ("plate", "bowl") if g.rng.random() < 0.5 else ("bowl", "plate")
                phrase = g.pick(R2_BETWEEN if g.round2 and R2_BETWEEN else LANDMARK_BETWEEN).format(n=n, a=a, b=b)
        place, _, place_name = _support(g, objs)
        if with_place:
            text = g.pick(("put {P} {L}", "move {P} {L}", "pick up {P} and place it {L}")).format(P=phrase, L=place)
        else:
            text = g.pick(("pick up {P}", "grab {P}")).format(P=phrase)
        return text, objs, t.name, place_name if with_place else None
    raise ValueError(f"dev6 grammar: no clear {cat} layout")


def _refuse(g: _Gen4, reason: str) -> tuple[str, list[ObjectSpec]]:
    kind = g.pick(("cup", "box", "sphere"))
    objs = g.scene(3, kind, False)
    n, ns = g.noun4(kind)
    place, pl, _ = _support(g, objs)
    c, d = objs[0].color, objs[1].color
    if reason == "quantity":
        return g.pick((f"put one of the {ns} {place}", f"you should grab one of the {ns}", f"grab both {ns}",
                       f"pick up any of the {ns}, I don't mind which", f"put two {ns} {place}",
                       f"the {ns} are dirty, so put them {place}", f"move a couple of the {ns} {place}",
                       f"put all the {ns} {place}")), objs
    if reason == "negation":
        return g.pick((f"leave the {c} {n} alone and put the other one {place}", f"grab the {n} that isn't {c}",
                       f"you shouldn't pick up the {c} {n}", f"never touch the {c} {n}",
                       f"I think not the {c} {n}? put the other {place}", f"the {c} {n} is fine, so don't move it",
                       f"the {n} which is not {c}, {place}")), objs
    if reason == "content_typo":
        typo_n = {"cup": "cpu", "mug": "mgu", "glass": "glas", "tumbler": "tumbelr", "box": "bxo", "block": "blcok",
                  "cube": "cueb", "ball": "bal", "sphere": "spehre"}[n]
        typo_c = {"red": "rde", "green": "gren", "blue": "bleu", "yellow": "yelow", "orange": "ornage",
                  "purple": "purpel"}[c]
        return g.pick((f"pick teh {c} {typo_n}", f"put the {typo_c} {n} {place}", f"grab the {c} {n} adn put it in teh bwol",
                       f"put teh {typo_c} {n} {place}", f"pick up the {c} {typo_n} plase")), objs
    if reason == "reason_action":
        return g.pick((f"put the {c} {n} {place} because then you can stack the {d} {n} on it",
                       f"the {c} {n} is dirty, so wash it", f"put the {c} {n} {place} only if it is clean",
                       f"since the {pl} is full, put the {c} {n} somewhere else",
                       f"the {c} {n} is in the way, so push it aside",
                       f"put the {c} {n} {place} so that you can grab the {d} {n}")), objs
    present = {o.color for o in objs}   # 'the green one' may name any kind
    a = next(x for x in COLOURS if x not in present)
    return g.pick((f"the {a} {n} is dirty, so put it {place}", f"you should grab the {a} {n}",
                   f"I think the {a} one? put it {place}", f"the small, {a} {n}",
                   f"put the {n} between the {pl} and the shelf", f"the {n} which is closest to the lamp")), objs


def dev6_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """n cases of one part ('tune', 'check' or 'unseen'): about 75 % to execute over six styles, the rest
    must be refused (five reasons). 'unseen' uses the round-2 templates, written after the tune fixes."""
    g = _Gen4(np.random.default_rng(SEEDS[part]))
    g.round2 = part == "unseen"
    return draw_cases(g, n, f"dev6{part[0]}", CATS6, REFUSALS6, _execute, _refuse)
