"""The instruction phrase parser: words -> lexemes -> a structured parse of what to pick and where.

Why a parser and not patterns over the raw sentence: a user says the same thing many ways ("the
right-most tumbler", "whichever mug is furthest to the right", "the red cup -> bowl"), and a
pattern that half-matches drops the rest silently. Here every word becomes a lexeme first
(multi-word expressions longest-first: "second from the right end", "from where the robot
stands", "coffee cup"), the sentence structure is read from the lexemes (verb-first, object-first
and verbless sentences, pronouns that refer back to a fronted object), and each noun phrase is
parsed into its kind, colour, selectors and relations. Every lexeme is either used (and listed in
the report with the words the user wrote) or named in a refusal.

Viewpoints (which way "left", "front" and "nearest" point):
  camera  what the camera image shows. The camera stands across the table facing the robot, and a
          person giving instructions is taken to stand there too: "my left", "from my side",
          "as I see it", "in the image", "seen from the camera" all mean this frame. It is the default.
  robot   the robot's own frame at its base, looking out over the table (its left is +y in
          base_link): "from where the robot stands", "the robot's left", and "you"/"your" (the
          instruction is addressed to the robot: "your left", "from your side").
"Nearest the robot" / "closest to me" name the distance frame explicitly, whatever the viewpoint.

Words that only frame the request ("would it be possible for you to", "if you don't mind", "no rush",
"asap") are filler as whole phrases, never word by word: "if", "no" or "don't" alone still carry content.
A material before a kind noun names the kind ("plastic ball", "toy brick"): the camera sees the kind.
Rules over classes rather than word lists (dev4): an unknown -ly word where an adverb stands ("slowly pick up",
"grab it firmly") is filler, inside a noun phrase it stays unknown; contractions and casual spellings are
expanded alike in the input and the lexicon ("you're", "gimme", "wanna"); the passive with any auxiliary
("is to be moved", "could it be picked up"); sentences that refer back ("See the cups? Take the red one.",
"The red cup. It goes in the bowl.", "it's the red cup that goes ...").
dev6: reasons and remarks are filler when they name no colour, position, place, verb, negation, condition,
retraction, further object or wish about how the object ends up ("... because I need the table clear",
"I'm tidying up, so ...", "the red cup is dirty, so put it ...", "..., it's dirty"; but "so that it is
upright", "I mean the plate", "only if it is clean" stay refused); a leading question names the object a
pronoun refers to ("is it the blue cup? yes, put it ..."); a modal after you/we is filler, never the noun
'can'; an unknown word one slip (two letters swapped; for 5+ letters one dropped or doubled) from exactly
one known word, that word a determiner, 'and', 'then', 'please', 'thanks' or 'you', is that word ("teh",
"adn", "plase"); a slip of a content word ("cpu", "bwol") is refused.

Negation and exclusion ("not the red one", "anything but the cup") are refused, never inverted:
whether "not the red one" means any other cup or the one other cup depends on the scene, and a
refusal is the only reading that cannot pick the excluded object.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from spatialbot_ros.core.colors import COLOR_NAMES
from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.instruction_parse import FILLER as BASE_FILLER
from spatialbot_ros.core.instruction_parse import MAX_RELATIONS, NEGATIONS, bounded_text
from spatialbot_ros.core.marks import SIZE_DIMENSIONS
from spatialbot_ros.core.object_kinds import default_registry

MAX_TOKENS = 120           # lexemes per instruction (500 characters hold fewer)

# ---- lexicon --------------------------------------------------------------------------------------
# lexeme categories
PICKV, PLACEV, GOV, ARROW, PRON, AND, THEN, DET, FILL = "pickv", "placev", "gov", "arrow", "pron", "and", "then", "det", "fill"
COLOR, NOUN, SEL, ORD, LAST, FROMSIDE, REL, BETWEEN, PAIR = "color", "noun", "sel", "ord", "last", "fromside", "rel", "between", "pair"
PREP, VIEW, NEG, RELCL, SPOT, COUNT, UNKNOWN = "prep", "view", "neg", "relcl", "spot", "count", "unknown"
FRAMEREF, BREAK = "frameref", "break"
THAN = "than"     # dev7: "bigger than the others": a comparative against all the rest
SRC = "src"       # "the cup off the plate", "the cup from the plate": where the object stands now
INTRO = "intro"   # "see the cups? take the red one": introduces what a later sentence refers back to
BUTN, END, RARROW = "butn", "end", "rarrow"   # "the leftmost cup but one"; "at the very end, on the left"
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
NUMBER_WORDS_BY_RANK = {1: "one", 2: "two", 3: "three"}
# how a rank is written after "number", "position", "slot" ...: in words or digits
RANK_NUMBERS = (("one", 1), ("two", 2), ("three", 3), ("four", 4), ("1", 1), ("2", 2), ("3", 3), ("4", 4))

SHAPE_NOUNS: dict[str, tuple[str, ...]] = {
    "cylinder": ("cup", "mug", "tumbler", "beaker", "can", "cylinder", "glass", "bottle", "jar", "teacup", "tin",
                 "coffee cup", "coffee mug", "tea cup", "paper cup", "plastic cup", "drinking glass", "drinking cup",
                 "soda can", "tin can", "canister", "tea mug"),
    "box": ("box", "block", "cube", "brick", "cuboid", "crate", "bin", "basket", "tub", "tote", "container", "toy block", "wooden block", "building block",
            "toy cube", "wooden cube", "square block", "rectangular block"),
    "sphere": ("ball", "sphere", "orb", "toy ball", "globe", "rubber ball", "bouncy ball", "round ball"),
    "plate": ("plate", "dish", "saucer", "tray", "platter", "dinner plate", "serving plate", "serving platter",
              "serving tray", "side plate", "serving dish"),
    "bowl": ("bowl", "basin", "soup bowl", "mixing bowl", "salad bowl", "cereal bowl", "fruit bowl"),
}
GENERIC_NOUNS = ("object", "thing", "item", "one")
MATERIALS = ("plastic", "wooden", "wood", "rubber", "paper", "toy", "ceramic", "foam", "metal", "cardboard")
# box-shaped to perception but open at the top: something can go into one (ManiSkill's bin)
CONTAINER_NOUNS = frozenset({"crate", "bin", "basket", "tub", "tote", "container"})
# the words the training templates and the shipped model know, per kind: canonical renderings use them
BASE_NOUN = {"cylinder": "cup", "box": "box", "sphere": "ball", "plate": "plate", "bowl": "bowl"}
EXTRA_COLOURS = ("pink", "brown", "grey", "gray", "cyan", "magenta", "teal", "gold", "silver", "beige", "violet",
                 "navy", "turquoise", "maroon", "indigo")
ORDINAL_WORDS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
                 "fifth": 5, "5th": 5, "sixth": 6, "6th": 6}
SIZE_WORDS = {
    "biggest": ("size", "max"), "largest": ("size", "max"), "bigger": ("size", "max"), "larger": ("size", "max"),
    "big": ("size", "max"), "large": ("size", "max"), "huge": ("size", "max"), "widest": ("width", "max"),
    "wider": ("width", "max"), "smallest": ("size", "min"), "smaller": ("size", "min"), "small": ("size", "min"),
    "little": ("size", "min"), "tiny": ("size", "min"), "littlest": ("size", "min"), "narrowest": ("width", "min"),
    "thinnest": ("width", "min"), "slimmest": ("width", "min"), "greatest": ("size", "max"), "fattest": ("width", "max"),
    "bulkiest": ("size", "max"), "skinniest": ("width", "min"), "squattest": ("height", "min"),
    "tallest": ("height", "max"), "taller": ("height", "max"), "tall": ("height", "max"), "highest": ("height", "max"),
    "shortest": ("height", "min"), "shorter": ("height", "min"), "short": ("height", "min"),
    "flattest": ("height", "min"), "lowest": ("height", "min"),
    # dev2: more size words people use for the same ordering
    "tiniest": ("size", "min"), "broadest": ("width", "max"), "chunkiest": ("size", "max"),
    "thickest": ("width", "max"),
    # dev3
    "teeniest": ("size", "min"), "teeny": ("size", "min"),
    # dev5
    "mini": ("size", "min"), "miniature": ("size", "min"), "giant": ("size", "max"), "massive": ("size", "max"),
    "wide": ("width", "max"), "narrow": ("width", "min"), "littler": ("size", "min"),
    # dev9: how wide (the footprint's long side: a cup's diameter, a box's length) is its own ordering
    "fatter": ("width", "max"), "thicker": ("width", "max"), "broader": ("width", "max"), "thinner": ("width", "min"),
    "narrower": ("width", "min"), "slimmer": ("width", "min"), "skinnier": ("width", "min"),
    "longest": ("width", "max"), "longer": ("width", "max"),
}
# frame words around the request: they say how to ask, not what to pick ("go ahead and take the cup")
FRAME_PHRASES = ("go ahead and", "go ahead", "for me")
# dev3: how people wrap a request (politeness, hedges, timing, sign-offs): they say nothing about what to
# pick or where. Multi-word only where a word alone could carry content ("if", "possible", "ready").
REQUEST_FRAMES = (
    "would it be possible for you to", "would it be possible to", "is it possible to", "is it possible for you to",
    "i was wondering if you could", "i was wondering if you would", "i wonder if you could",
    "i'd really appreciate it if you could", "i'd appreciate it if you could", "i would appreciate it if you could",
    "i would really appreciate it if you could", "do you think you could", "do you think you can",
    "could you help me out by", "can you help me out by", "help me out by", "could you help me by", "help me by",
    "what i need is for you to", "what i'd like is for you to", "okay so", "ok so", "so basically", "basically",
    "if you can", "if you could", "if possible", "if you would", "when you get a chance", "when you have a chance",
    "when you get a moment", "when you have a moment", "when you're ready", "when you are ready",
    "as soon as you can", "as soon as possible", "asap", "that would be great", "that'd be great", "would be great",
    "thank you so much", "thanks so much", "thanks a lot", "thank you very much", "many thanks", "thx", "ty",
    "pls", "plz", "would you", "will you", "could you", "right away", "real quick",
    # round 2
    "what i'd like you to do is", "what i want you to do is", "what i need you to do is", "um", "uh", "erm", "hmm",
    "i'd appreciate it", "i would appreciate it", "i'd really appreciate it", "much appreciated", "hello",
    "be so kind as to", "would you be so kind as to", "could you be so kind as to", "no rush", "no hurry",
    "if you don't mind", "if you wouldn't mind", "if it's no trouble", "and that's it", "that's it", "that's all",
    "and that's all", "cheers", "i need your help", "i need some help", "alright", "all right", "next up",
    # dev5: speech-to-text discourse markers and hedges
    "yeah", "yep", "yes", "i guess", "i think", "i suppose", "you know", "okay then", "ok then",
    # dev6: hedges ("maybe the red cup?", "the blue one, i believe"): the user is unsure, the words name nothing
    "maybe", "perhaps", "i believe", "i reckon", "i assume", "i'd say", "i would say", "possibly",
)
# dev4: questions and goal statements that wrap a request ("are you able to ...", "make it so the X is in Y",
# "the aim is to have the X on Y"): whole phrases, so a word alone ("make", "able", "state") still counts
QUESTION_FRAMES = (
    "are you able to", "would you be able to", "will you be able to", "could you be able to", "is it ok to",
    "is it okay to", "is it alright to", "would it be ok to", "would it be okay to", "any chance you could",
    "any chance you can", "any chance", "how about you", "how about", "what about", "shall we", "shall i", "can we",
    "could we", "you mind", "mind if i", "got it", "yo", "over there", "right there", "over here", "in your gripper",
    "in the gripper", "in your hand", "in your grip", "in hand", "is there any way you could", "is there a way you could",
    "is there any way to", "any way you could", "think you could", "do you think", "do you want to", "would you want to",
    "you able to", "how would you feel about", "how do you feel about", "would you like to",
)
GOAL_FRAMES = (
    "make it so that", "make it so", "the aim is to have", "the goal is to have", "the aim is to get",
    "the idea is that", "the idea is to have", "what i want is", "what i'm after is", "what we want is", "what i'd like is", "what i need is",
    "end state", "end result", "final state", "i'd love to see", "i'd like to see", "i want to see",
    "i would like to see", "let me see", "let's get", "let's have", "can we have", "could we have", "let us have",
    "i'd love", "we need", "let me", "kind of need", "sort of need", "kind of want", "sort of want",
)
DEPTH_NEAR = ("closest", "nearest", "front", "frontmost", "near", "closer", "nearer", "foremost")
DEPTH_FAR = ("farthest", "furthest", "back", "far", "rear", "farther", "further", "backmost", "distant", "rearmost",
             "furthermost", "farthermost", "hindmost")
MIDDLE = ("middle", "center", "centre", "central", "midmost", "middlemost", "centremost", "centermost")
PICK_VERBS = ("pick", "pick up", "pick out", "grab", "grasp", "take", "take hold of", "lift", "lift up", "get",
              "fetch", "seize", "hold", "collect", "snatch", "retrieve", "raise", "raise up", "can i have",
              "give me", "hand me", "pass me", "let me have",
              # dev7
              "take a hold of", "get a hold of", "grab hold of", "grab a hold of", "catch hold of")
PLACE_VERBS = ("put", "put down", "place", "move", "drop", "drop off", "set", "set down", "bring", "transfer",
               "stack", "carry", "lay", "position", "deposit", "leave", "relocate", "shift", "stick", "pop")
# dev7: more verbs of putting; base forms only for those whose -ing form describes where a thing is
# ("the cup sitting between the plates", "the mug standing second from the left")
PLACE_VERBS_NO_GERUND = ("rest", "stand", "sit")
PLACE_VERBS_MORE = ("park", "nestle", "transport", "plonk", "settle", "ferry")
# verbs that are also nouns or adjectives ("the rest", "the lower cup", "a stand"): a verb only where a clause
# starts, anywhere else unknown (so refused, never read as an ordering)
CLAUSE_START_VERBS = frozenset({"rest", "stand", "sit", "lower"})
PLACE_PARTICIPLES = ("put", "placed", "moved", "set", "set down", "put down", "dropped", "transferred", "carried",
                     "brought", "relocated", "positioned", "deposited", "laid", "shifted", "stacked", "popped", "left")
PICK_PARTICIPLES = ("picked up", "picked", "picked out", "lifted", "lifted up", "grabbed", "grasped", "collected",
                    "fetched", "retrieved", "raised", "held", "seized")
PASSIVE = "passive"   # the value of a pick verb in the passive: its object came first
GO_WORDS = ("goes", "go", "belongs", "belong", "should go", "must go", "needs to go", "has to go", "is going",
            "should be put", "should be placed", "needs to be put", "has to be put", "ends up", "should end up",
            "is to go", "gets put", "end up", "to end up", "to go")
FILLER = BASE_FILLER | frozenset("positioned resting whichever whatever all very really i'd i'm".split())
DETS = frozenset({"the", "a", "an", "this", "that", "these", "those", "my", "your"})
PRONOUNS = frozenset({"it", "them", "they", "him", "her", "itself", "themselves"})
SIDES = ("left", "right")
RELATIONS = ("left_of", "right_of", "in_front_of", "behind", "next_to")
PLACE_KINDS = ("on", "into", "to")
SIDE_SUFFIXES = ("side", "end", "edge", "hand side", "hand end", "hand")   # what may follow a side word and add nothing
COLOUR_NOUNS = ("colour", "color", "shade")
# a dimension said as a noun, and the ordering it names ("the widest diameter" orders by size)
DIMENSION_NOUNS = {"size": "size", "height": "height", "diameter": "width", "radius": "width", "width": "width"}


# casual spellings and contractions, expanded alike in the input and the lexicon ("gimme", "you're", "it's");
# "'d", "'m" and "'s" of a noun stay as written ("i'd", "the robot's"), "n't" stays a negation
_CASUAL = {"gimme": "give me", "lemme": "let me", "wanna": "want to", "gonna": "going to", "gotta": "got to",
           "ya": "you", "u": "you", "ur": "your", "n": "and", "&": "and", "plz": "please", "pls": "please",
           "oughta": "ought to", "kinda": "kind of", "sorta": "sort of", "k": "ok", "kk": "ok",
           "it's": "it is", "what's": "what is", "here's": "here is", "colour's": "colour is", "color's": "color is"}
_CONTRACTION = re.compile(r"\b(you|we|they|i|it)'(re|ll|ve)\b|\b(you|we|they)'(d)\b")
_CASUAL_RE = re.compile(r"(?<![\w'])(" + "|".join(re.escape(k) for k in _CASUAL) + r")(?![\w'])")


def _expand_contractions(t: str) -> str:
    t = _CONTRACTION.sub(lambda m: f"{m.group(1) or m.group(3)} "
                         f"{dict(re='are', ll='will', ve='have', d='would')[m.group(2) or m.group(4)]}", t)
    return _CASUAL_RE.sub(lambda m: _CASUAL[m.group(1)], t)


def _lexicon() -> dict[tuple[str, ...], list[tuple[str, object]]]:
    """Word sequence -> the lexemes it stands for (usually one)."""
    lex: dict[tuple[str, ...], list[tuple[str, object]]] = {}

    def add(phrase: str, *lexemes: tuple[str, object]) -> None:
        lex.setdefault(tuple(_expand_contractions(phrase).split()), list(lexemes))

    for shape, nouns in SHAPE_NOUNS.items():
        for n in nouns:
            add(n, (NOUN, (shape, n)))
            plural = n + ("es" if n.endswith(("x", "ss", "sh")) else "s")
            add(plural, (NOUN, (shape, n)))
    # a registered kind's nouns name its perceived shape (the built-ins' are all in SHAPE_NOUNS already;
    # add() keeps the first meaning, so a plugin cannot re-map an existing word)
    for shape, nouns in default_registry().nouns_by_shape().items():
        for n in nouns:
            add(n, (NOUN, (shape, n)))
            add(n + ("es" if n.endswith(("x", "ss", "sh")) else "s"), (NOUN, (shape, n)))
    # what a thing is made of or sold as ("plastic ball", "toy brick", "rubber ball"): the camera sees the
    # kind, not the material, so the compound names the kind (longest match keeps "paper cup" etc. as listed)
    for shape, nouns in SHAPE_NOUNS.items():
        for n in nouns:
            if " " in n:
                continue
            for mat in MATERIALS:
                add(f"{mat} {n}", (NOUN, (shape, f"{mat} {n}")))
                add(f"{mat} {n}" + ("es" if n.endswith(("x", "ss", "sh")) else "s"), (NOUN, (shape, f"{mat} {n}")))
    add("dice", (NOUN, ("box", "dice")))
    for n in GENERIC_NOUNS:
        add(n, (NOUN, (None, n)))
        add(n + "s", (NOUN, (None, n)))
    for c in COLOR_NAMES + EXTRA_COLOURS:
        add(c, (COLOR, c))
        add(c + " coloured", (COLOR, c))
        add(c + " colored", (COLOR, c))
    for w, rank in ORDINAL_WORDS.items():
        add(w, (ORD, rank))
    for w, sel in SIZE_WORDS.items():
        add(w, (SEL, sel))
    add("most distant", (SEL, ("depth", "far")))
    for w in DEPTH_NEAR:
        add(w, (SEL, ("depth", "near")))
    for w in DEPTH_FAR:
        add(w, (SEL, ("depth", "far")))
    for p in ("in front", "at the front", "in the front", "front most", "in the front row", "front row", "near row",
              "in the near row"):
        add(p, (SEL, ("depth", "near")))
    for p in ("at the back", "in the back", "at the rear", "in the rear", "back most", "furthest away", "farthest away",
              "furthest back", "farthest back", "in the back row", "back row", "rear row", "in the rear row",
              "far row", "in the far row"):
        add(p, (SEL, ("depth", "far")))
    # dev5: a direction rather than a place ("the ball toward the front", "towards the back"); 'very'
    for p in ("in the very front", "at the very front"):
        add(p, (SEL, ("depth", "near")))
    for p in ("in the very back", "at the very back", "at the very rear"):
        add(p, (SEL, ("depth", "far")))
    for tw in ("toward", "towards"):
        for w in ("front", "near side", "near edge"):
            add(f"{tw} the {w}", (SEL, ("depth", "near")))
        for w in ("back", "rear", "far side", "far edge", "far end"):
            add(f"{tw} the {w}", (SEL, ("depth", "far")))
    # distance to a named frame: "nearest the robot", "farthest from the camera", "closest to me"
    frames = {"the robot": "robot", "the robot arm": "robot", "the arm": "robot", "the robot's base": "robot",
              "the base": "robot", "the base of the robot": "robot", "the robot base": "robot", "you": "robot",
              "your base": "robot", "your arm": "robot", "the robot's arm": "robot", "your gripper": "robot",
              "where the robot stands": "robot", "where the robot is": "robot", "where you are": "robot",
              "where you stand": "robot", "the camera": "camera", "me": "camera", "the viewer": "camera",
              "where i stand": "camera", "where i am": "camera", "where the camera is": "camera"}
    for ref, frame in frames.items():
        for w in ("nearest", "closest", "nearer", "closer"):
            for link in ("", "to "):
                add(f"{w} {link}{ref}", (SEL, (f"depth_{frame}", "near")))
        for w in ("farthest", "furthest", "farther", "further", "most distant"):
            for link in ("from ", "away from "):
                add(f"{w} {link}{ref}", (SEL, (f"depth_{frame}", "far")))
        add(f"next to {ref}", (SEL, (f"depth_{frame}", "near")))
        for tw in ("toward", "towards"):   # "the cup toward me": the one nearest that frame
            add(f"{tw} {ref}", (SEL, (f"depth_{frame}", "near")))
    for m in MIDDLE:
        add(m, (SEL, ("middle", "lr")))
        for p in ("in the", "at the", "in the very"):
            add(f"{p} {m}", (SEL, ("middle", "lr")))
            for grp in ("row", "line", "group"):
                add(f"{p} {m} of the {grp}", (SEL, ("middle", "lr")))
    for s in SIDES:
        ext = (SEL, ("extreme", s))
        for p in (s, f"{s}most", f"{s} most", f"most {s}", f"far {s}", f"very {s}", f"{s} hand", f"{s}hand",
                  f"on the {s}", f"on the far {s}", f"on the very {s}", f"at the {s}", f"at the far {s}",
                  f"to the {s}", f"to the far {s}", f"furthest {s}", f"farthest {s}", f"furthest to the {s}",
                  f"farthest to the {s}", f"most to the {s}", f"on the {s} side", f"on the {s} hand side",
                  f"on the {s} end", f"at the {s} end", f"{s} end", f"at the far {s} end", f"on the far {s} end",
                  f"at the {s} edge", f"on the {s} edge", f"extreme {s}", f"on the extreme {s}", f"at the extreme {s}",
                  f"to the extreme {s}", f"at the very {s}", f"at the far {s} edge", f"outermost {s}",
                  f"on the outermost {s}", f"at the end on the {s}", f"on the end on the {s}", f"at the {s} hand end",
                  f"at the {s} side", f"on the {s} hand end", f"all the way to the {s}", f"all the way on the {s}",
                  f"all the way {s}", f"furthest on the {s}", f"farthest on the {s}", f"at the far end on the {s}",
                  f"nearest the {s} edge", f"closest to the {s} edge", f"nearest to the {s} edge", f"nearest the {s}",
                  f"closest to the {s}", f"nearest to the {s}", f"closest to the {s} side", f"nearest the {s} side",
                  f"{s} hand most", f"on the outer {s}", f"at the end of the row on the {s}",
                  f"at the end of the line on the {s}", f"furthest over to the {s}", f"farthest over to the {s}",
                  f"over to the {s}", f"over on the {s}", f"all the way over to the {s}", f"all the way over on the {s}",
                  f"way over on the {s}", f"at the {s}-most end", f"at the very {s} end", f"at the very end on the {s}",
                  f"at the far end to the {s}", f"at the end to the {s}", f"{s} side", f"on the table's {s}",
                  f"at the table's {s}", f"on the table's {s} side", f"at the table's {s} end", f"on the {s}most",
                  f"on the {s} most", f"at the {s}most", f"at the {s} most", f"on the very {s}most"):
            add(p, ext)
            for sfx in SIDE_SUFFIXES:   # "counting from the right side", "on the left-most side"
                if p.endswith((s, "most")):
                    add(f"{p} {sfx}", ext)
            for grp in ("row", "line", "group", "table", "tabletop"):   # every object is on the table
                add(f"{p} of the {grp}", ext)
                add(f"{p} in the {grp}", ext)
                if p.endswith(s):
                    for sfx in SIDE_SUFFIXES:
                        add(f"{p} {sfx} of the {grp}", ext)
            if " the " in f" {p} ":   # "furthest to your right", "on my far left": a viewpoint and a side
                for owner, vp in (("my", "camera"), ("your", "robot"), ("the robot's", "robot"),
                                  ("the camera's", "camera")):
                    add(f" {p} ".replace(" the ", f" {owner} ", 1).strip(), (VIEW, vp), ext)
        for p in (f"{s} of", f"to the {s} of", f"on the {s} of", f"on the {s} side of", f"to the {s} side of",
                  f"on the {s} hand side of", f"to the {s} hand side of", f"{s} hand side of", f"{s} side of",
                  f"just {s} of", f"just to the {s} of", f"directly {s} of", f"directly to the {s} of",
                  f"immediately {s} of", f"immediately to the {s} of", f"to the immediate {s} of"):
            add(p, (REL, f"{s}_of"))
        for p in (f"from the {s}", f"from the {s} end", f"from the {s} side", f"from the {s} hand side", f"from {s}",
                  f"counting from the {s}", f"starting from the {s}", f"in from the {s}", f"from the {s} edge",
                  f"counting from the {s} end", f"from the {s} end of the row", f"from the {s} of the row",
                  f"from the {s} in the row", f"along from the {s}", f"from the {s} hand end", f"when counting from the {s}",
                  f"if you count from the {s}", f"counting in from the {s}", f"as counted from the {s}",
                  f"in line from the {s}", f"in from the {s} end", f"along from the {s} end", f"from the far {s}",
                  f"from the {s}most", f"from the end on the {s}", f"from the {s} most"):
            add(p, (FROMSIDE, s))
            if p.endswith(s):
                for sfx in SIDE_SUFFIXES:
                    add(f"{p} {sfx}", (FROMSIDE, s))
            if " the " in f" {p} ":   # "second from your left", "counting from the robot's right"
                for owner, vp in (("my", "camera"), ("your", "robot"), ("the robot's", "robot"),
                                  ("the camera's", "camera")):
                    add(f" {p} ".replace(" the ", f" {owner} ", 1).strip(), (VIEW, vp), (FROMSIDE, s))
        # the speaker's and the addressee's sides: a viewpoint and a side at once
        for owner, vp in (("my", "camera"), ("your", "robot"), ("the robot's", "robot"), ("the camera's", "camera"),
                          ("robot's", "robot"), ("camera's", "camera")):
            for p in ("", "on ", "to ", "at ", "on the far ", "to the far "):
                add(f"{p}{owner} {s}", (VIEW, vp), ext)
                add(f"{p}{owner} far {s}", (VIEW, vp), ext)
                add(f"{p}{owner} {s} hand side", (VIEW, vp), ext)
    for num, k in RANK_NUMBERS:
        add(f"number {num}", (ORD, k))
    for w, k in ORDINAL_WORDS.items():
        for p in (f"in {w} position", f"in {w} place", f"in the {w} position", f"in the {w} place"):
            add(p, (ORD, k))
    add("final", (LAST, 1))
    # ranks counted back from the far end: a LAST lexeme with its rank, so "from the left" after it says
    # which end is first ("the second to last cup from the left" is the second from the right)
    for k in range(2, 5):
        word = [w for w, n in ORDINAL_WORDS.items() if n == k][0]
        for p in (f"{word} to last", f"{word} from last", f"{word} from the end", f"{word} to the last",
                  f"{word} last", f"last but {NUMBER_WORDS_BY_RANK[k - 1]}"):
            add(p, (LAST, k))
    for p in ("next to last", "penultimate", "one before last", "one before the last", "one but last",
              "last but one", "next to the last", "the one before the last"):
        add(p, (LAST, 2))
    for p in ("last", "very last"):
        add(p, (LAST, 1))
    for k in (1, 2):   # shifts a side superlative or "last" in the same phrase by k; alone it is refused
        add(f"but {NUMBER_WORDS_BY_RANK[k]}", (BUTN, k))
    # an end of the row: says which object only together with a side ("at the very end, on the left")
    for p in ("at the end", "at the very end", "at the far end", "on the end", "on the very end", "at the end of the row",
              "at the end of the line", "at the very end of the row", "at one end", "on the far end"):
        add(p, (END, None))
    # "the leftmost but one": the second from that side ("but" here is not an exclusion)
    for s in SIDES:
        for p in (f"{s}most", f"{s} most", f"furthest {s}", f"farthest {s}"):
            for k in range(2, 4):
                add(f"{p} but {NUMBER_WORDS_BY_RANK[k - 1]}", (SEL, (f"ordinal_{s}", k)))
    for rel, phrases in {
        "in_front_of": ("in front of", "just in front of", "directly in front of", "right in front of", "before",
                        "in the front of"),
        "behind": ("behind", "just behind", "directly behind", "right behind", "in back of", "at the back of",
                   "in the back of", "at the rear of"),
        "next_to": ("next to", "right next to", "just next to", "beside", "right beside", "alongside", "adjacent to",
                    "near to", "close to", "closest to", "nearest to", "close by", "by"),
    }.items():
        for p in phrases:
            add(p, (REL, rel))
    for p in ("between", "in between"):
        add(p, (BETWEEN, None))
    for p in ("two", "both"):
        add(p, (PAIR, None))
    # "the middle one of the three cups": a count the resolver checks, never ignores
    for w, k in NUMBER_WORDS.items():
        for p in (f"of the {w}", f"out of the {w}", f"among the {w}", f"of {w}", f"the {w}", w):
            add(p, (COUNT, k))
    for p, kind in (("on top of", "on"), ("onto", "on"), ("on to", "on"), ("on", "on"), ("into", "into"),
                    ("in to", "into"), ("inside", "into"), ("inside of", "into"), ("in", "into"), ("over", "on"),
                    ("to", "to"), ("on the top of", "on"), ("over to", "to"), ("down on", "on"), ("down onto", "on"),
                    ("down in", "into"), ("down into", "into"), ("up on", "on"), ("back on", "on"),
                    ("back into", "into"), ("back in", "into"), ("back onto", "on"), ("over into", "into"),
                    ("over onto", "on"), ("over on", "on"), ("over in", "into"), ("over inside", "into"),
                    ("over on top of", "on"), ("over to", "to"), ("down on top of", "on"), ("back on top of", "on"),
                    ("up on top of", "on"), ("down inside", "into"), ("down inside of", "into"), ("on top", "on")):
        add(p, (PREP, kind))
    for v in PICK_VERBS:
        add(v, (PICKV, v))
        add(_gerund(v), (PICKV, v))
    for v in PLACE_VERBS + PLACE_VERBS_MORE:
        add(v, (PLACEV, v))
        add(_gerund(v), (PLACEV, v))
    for v in PLACE_VERBS_NO_GERUND + ("lower",):
        add(v, (PLACEV, v))
    for modal in ("should", "must", "needs to", "has to", "is to", "ought to", "will", "can", "could"):
        for part in ("put", "placed", "moved", "set", "dropped", "transferred", "carried", "brought", "relocated",
                     "positioned", "deposited", "laid", "shifted"):
            add(f"{modal} be {part}", (GOV, f"{modal} be {part}"))
    # the passive with any auxiliary ("is to be moved", "should get placed", "could it be picked up"): a place
    # verb's participle splits object and place like "goes"; a pick verb's is that verb after its object
    for aux in ("be", "get", "gets", "got", "getting", "being", "been", "is going to be", "are going to be",
                "going to be", "is going to get", "going to get"):
        for part in PLACE_PARTICIPLES:
            add(f"{aux} {part}", (GOV, f"{aux} {part}"))
        for part in PICK_PARTICIPLES:
            add(f"{aux} {part}", (PICKV, PASSIVE))
    for part in PICK_PARTICIPLES:
        if part not in ("picked", "held", "raised"):
            add(part, (PICKV, PASSIVE))         # "I'd like the red cup picked up"
    for want in ("wants", "needs", "want", "need"):   # "the cup wants putting on the plate" (British)
        for v in PLACE_VERBS:
            add(f"{want} {_gerund(v)}", (GOV, f"{want} {_gerund(v)}"))
    for p in ("needs moving", "wants to go", "is going to go", "goes back", "go back", "is supposed to go",
              "is meant to go", "should be going", "has to end up", "needs to end up", "must end up",
              "moved", "dropped", "transferred", "carried", "brought", "relocated", "shifted", "deposited", "taken"):
        add(p, (GOV, p))
    for p in ("atop", "within", "on to the top of"):
        add(p, (PREP, "into" if p == "within" else "on"))
    for p in ("from", "off", "off of", "from on top of", "from inside", "from inside of"):
        add(p, (SRC, None))
    for p in ("ahead of",):
        add(p, (REL, "in_front_of"))
    for p in ("beyond", "on the far side of"):
        add(p, (REL, "behind"))
    add("on the near side of", (REL, "in_front_of"))
    for p in ("neighbouring", "neighboring", "right by", "close beside", "just beside"):
        add(p, (REL, "next_to"))
    for g in GO_WORDS:
        add(g, (GOV, g))
    for p in ("see", "look", "look at", "look for", "find", "locate", "spot", "notice", "you see", "do you see",
              "can you see", "there are", "there are some", "there are a few"):
        add(p, (INTRO, p))
    add("->", (ARROW, None))
    add("<-", (RARROW, None))   # "tray <- red mug": the place first
    add(",", (BREAK, None))
    for w in PRONOUNS:
        add(w, (PRON, w))
    for d in ("the", "a", "an", "this", "these", "those"):
        add(d, (DET, d))
    add("and", (AND, None))
    add("then", (THEN, None))
    add("and then", (THEN, None))
    add("after that", (THEN, None))
    for p in ("that is", "which is", "that's", "that are", "which are", "the one that is", "one that is",
              "that happens to be", "which happens to be", "that happen to be", "which happen to be", "that has",
              "which has", "that looks", "which looks", "that seems", "which seems", "that appears", "which appears"):
        add(p, (RELCL, None))
    for p in ("spot", "place", "area", "space", "position", "side"):
        add(p, (SPOT, p))
    robot_views = [
        "from the robot's view", "from the robot's perspective", "from the robot's point of view", "from the robot's side",
        "in the robot's view", "in the robot's perspective", "from the robot", "from where the robot stands",
        "from where the robot is", "from where the robot sits", "from the robot's position", "as the robot sees it",
        "as the robot sees them", "as the robot would see it", "as seen by the robot", "as seen from the robot",
        "seen from the robot", "from the robot's side of the table", "in the robot's frame", "from the arm's view",
        "from your view", "from your perspective", "from your point of view", "from your side", "as you see it",
        "as you see them", "from where you stand", "from where you are", "from your side of the table",
        "looking from the robot", "robot's", "from the robot's viewpoint", "from your viewpoint",
        "in the robot's point of view", "relative to the robot", "standing where the robot is",
    ]
    camera_views = [
        "from the camera's view", "from the camera's perspective", "from the camera's point of view", "in the image",
        "from the camera", "as seen in the image", "as i see it", "as i see them", "seen from the camera",
        "as seen from the camera", "as seen by the camera", "as the camera sees it", "as the camera sees them",
        "from my view", "from my perspective", "from my point of view", "from my side", "from where i stand",
        "from where i am", "from where i am standing", "from where i'm standing", "from my side of the table",
        "in the camera image", "in the picture", "on the screen", "on screen", "looking from the camera",
        "in the camera's view", "in the camera view", "camera's", "from the camera's viewpoint", "from my viewpoint",
        "as i look at it", "as i look at them", "from the camera's side", "relative to the camera",
        "through the camera", "through the camera's eyes", "through the lens", "in the camera feed",
        "on the camera feed", "in the camera's image", "in the camera stream", "standing where the camera is",
    ]
    views = ("view", "perspective", "point of view", "viewpoint", "vantage point", "angle", "standpoint", "position",
             "side", "side of the table", "frame", "eyes", "end", "end of the table", "side of things")
    for vp, poss, objs, subjs in (("robot", ("the robot's", "your"), ("the robot", "you"), ("the robot", "you")),
                                  ("camera", ("the camera's", "my"), ("the camera", "me"), ("the camera", "i"))):
        for v in views:
            for ps in poss:
                for pre in ("from", "in", "seen from", "viewed from", "as seen from", "as viewed from"):
                    add(f"{pre} {ps} {v}", (VIEW, vp))
            for ob in objs:
                add(f"from the {v} of {ob}", (VIEW, vp))
        for ob in objs:
            for pre in ("seen from", "viewed from", "as seen from", "as viewed from", "as seen by", "as viewed by",
                        "looking from", "according to", "relative to", "with respect to", "from the side of",
                        "look from", "if you look from", "looking at it from", "looking at the table from",
                        "viewing from", "looking out from", "standing where", "if seen from", "if viewed from"):
                add(f"{pre} {ob}", (VIEW, vp))
        for sb in subjs:
            verb3 = sb in ("the robot", "the camera")
            for st in (("stands", "is", "sits", "is standing", "is looking", "is sitting") if verb3 else
                       ("stand", "am", "sit", "am standing", "am looking", "am sitting", "'m standing", "stand now")):
                add(f"from where {sb} {st}", (VIEW, vp))
            for see in (("sees", "would see", "views", "looks at") if verb3 else ("see", "would see", "view", "look at")):
                for it in ("it", "them", "things", "the table", "the scene"):
                    add(f"as {sb} {see} {it}", (VIEW, vp))
    for sb, be, vp in (("i", "i'm", "camera"), ("you", "you're", "robot")):
        for st in ("sitting", "standing", "looking", "positioned"):
            add(f"from where {be} {st}", (VIEW, vp))
        for it in ("it", "them", "the table", "the scene"):
            add(f"as {be} looking at {it}", (VIEW, vp))
            add(f"as {sb} look at {it}", (VIEW, vp))
        for see in ("see", "look at", "view"):
            for it in ("it", "them", "things", "the table", "the scene"):
                add(f"the way {sb} {see} {it}", (VIEW, vp))
                add(f"the way {sb} would {see} {it}", (VIEW, vp))
                add(f"as {sb} would {see} {it}", (VIEW, vp))
    for p in ("as seen on the camera", "as seen on camera", "as shown on the camera", "as the camera shows it",
              "as shown in the image", "looking from the camera's side"):
        add(p, (VIEW, "camera"))
    for p in ("from the robot's end", "from the robot's end of the table", "looking from the robot's side",
              "the way the robot sees it"):
        add(p, (VIEW, "robot"))
    # standing behind a viewer sees what it sees; "if you look at it from where I am"
    for vp, places in (("robot", ("the robot", "you", "where the robot is", "where the robot stands", "where you are",
                                  "where you stand", "your side", "your end", "the robot's side", "the robot's end")),
                       ("camera", ("the camera", "me", "where i am", "where i stand", "where i'm standing",
                                   "where i'm sitting", "my side", "my end", "the camera's side"))):
        for where in places:
            if where in ("the robot", "you", "the camera", "me"):
                add(f"from behind {where}", (VIEW, vp))
            for pre in ("if you look at it from", "looking at it from", "if you look from", "when you look from",
                        "if you look at the table from", "looking at the table from"):
                add(f"{pre} {where}", (VIEW, vp))
    for p in robot_views:
        add(p, (VIEW, "robot"))
    for p in camera_views:
        add(p, (VIEW, "camera"))
    for p in ("on the table", "from the table", "off the table", "on the tabletop", "of them", "of all",
              "out of all", "among them", "in the row", "in the line", "of the row", "in the scene", "you see",
              "would you mind", "do you mind", "i need you to", "i want you to", "i'd like you to", "try to", "in size",
              "in height", "by size", "by height", "sits", "stands", "lies", "rests", "situated", "found", "thank you",
              "among the", "out of the", "of the", "that you see", "you can see", "i see", "there is", "there's",
              "make sure", "make sure that", "ensure that", "as for", "your task is to", "your job is to",
              "the task is to", "the goal is to", "when", "while", *FRAME_PHRASES, *REQUEST_FRAMES,
              *QUESTION_FRAMES, *GOAL_FRAMES):
        add(p, (FILL, p))
    for c in COLOR_NAMES + EXTRA_COLOURS:
        for p in (f"coloured {c}", f"colored {c}", f"painted {c}"):
            add(p, (RELCL, None), (COLOR, c))      # "the cup coloured red": the colour describes the head
        for p in (f"{c} in colour", f"{c} in color"):
            add(p, (COLOR, c))
        # "the cup whose colour is red", "with the red color", "of a red colour", "in red": the head's colour
        for cn in COLOUR_NOUNS:
            add(f"{c} {cn}", (COLOR, c))
            for p in (f"whose {cn} is {c}", f"with the {c} {cn}", f"with a {c} {cn}", f"of a {c} {cn}",
                      f"of the {c} {cn}", f"has a {c} {cn}", f"in the {cn} {c}", f"of the {cn} {c}",
                      f"with the {cn} {c}", f"the {cn} {c}", f"is the {cn} {c}", f"in a {c} {cn}", f"in {c} {cn}",
                      f"in the {c} {cn}"):
                add(p, (RELCL, None), (COLOR, c))
        add(f"in {c}", (RELCL, None), (COLOR, c))
    for p, sel in (("least tall", ("height", "min")), ("least big", ("size", "min")), ("least large", ("size", "min")),
                   ("most tall", ("height", "max"))):
        add(p, (SEL, sel))
    for w, shape in (("cylindrical", "cylinder"), ("cylinder shaped", "cylinder"), ("cubic", "box"),
                     ("cube shaped", "box"), ("box shaped", "box"), ("spherical", "sphere"), ("ball shaped", "sphere")):
        add(w, (NOUN, (shape, w)))
    # a frame named after a superlative: "the closest cup to the robot", "the nearest one to me"
    for ref, frame in (("the robot", "robot"), ("the robot arm", "robot"), ("the arm", "robot"), ("you", "robot"),
                       ("the camera", "camera"), ("me", "camera"), ("us", "camera"), ("the viewer", "camera")):
        add(f"to {ref}", (FRAMEREF, frame))
        if ref in ("me", "us", "you"):
            add(f"from {ref}", (FRAMEREF, frame))
        add(f"away from {ref}", (FRAMEREF, frame))
    for w, fr in (("us", "camera"),):
        for near in ("nearest", "closest"):
            add(f"{near} to {w}", (SEL, (f"depth_{fr}", "near")))
        add(f"farthest from {w}", (SEL, (f"depth_{fr}", "far")))
        add(f"furthest from {w}", (SEL, (f"depth_{fr}", "far")))
    _dev7_lexemes(add)
    _dev8_lexemes(add)
    for w in NEGATIONS:
        add(w, (NEG, w))
    # dev5: dropped articles ("counting from left", "closest to robot", "from table"): every multi-word entry
    # also without its 'the's, where that shorter form has no meaning of its own
    for key, lexemes in list(lex.items()):
        if len(key) > 1 and "the" in key:
            short = tuple(w for w in key if w != "the")
            if short:
                lex.setdefault(short, lexemes)
    return lex


def _dev7_lexemes(add: Callable[..., None]) -> None:
    """dev7: everyday words the earlier splits lacked (each a class, not a sentence)."""
    # "move the cup across to the plate": 'across' is a particle of the destination, as 'over' is
    for p, kind in (("across to", "to"), ("across onto", "on"), ("across on", "on"), ("across into", "into"),
                    ("across in", "into"), ("across inside", "into"), ("across on top of", "on")):
        add(p, (PREP, kind))
    # a comparative against all the rest is the superlative ("bigger than the others"); the THAN pass checks
    # that a comparative stands right before it (value: the kind the rest must have, None for any)
    for p in ("than the others", "than the rest", "than all the others", "than all the rest", "than the other ones",
              "than any other", "than any of the others", "than the rest of them", "than the others are"):
        add(p, (THAN, None))
    for shape, nouns in SHAPE_NOUNS.items():
        for n in nouns:
            if " " not in n:
                plural = n + ("es" if n.endswith(("x", "ss", "sh")) else "s")
                add(f"than the other {plural}", (THAN, shape))
                add(f"than all the other {plural}", (THAN, shape))
    # the dimension named as a noun: "the cup with the largest size", "of the greatest height", (dev8) "the
    # widest diameter", "the least width": the noun says which dimension, the superlative which way
    for noun, dim in DIMENSION_NOUNS.items():
        for pre in ("with the", "of the", "that has the", "which has the", "having the"):
            for w, (_, way) in SIZE_WORDS.items():
                if w.endswith("est"):
                    add(f"{pre} {w} {noun}", (SEL, (dim, way)))
            add(f"{pre} least {noun}", (SEL, (dim, "min")))
    # depth said as scenery: "in the foreground", "at the front of the table", "closest to the back edge"
    for word, way in (("front", "near"), ("back", "far")):
        for where in ("of the table", "of the tabletop", "edge", "edge of the table", "of the scene"):
            for pre in ("at the", "nearest the", "nearest to the", "closest to the", "near the"):
                add(f"{pre} {word} {where}", (SEL, ("depth", way)))
    add("in the foreground", (SEL, ("depth", "near")))
    add("in the background", (SEL, ("depth", "far")))
    # sides: "the cup farthest toward the left", "the most leftward cup"
    for s in SIDES:
        for p in (f"most toward the {s}", f"most towards the {s}", f"farthest toward the {s}",
                  f"furthest toward the {s}", f"farthest towards the {s}", f"furthest towards the {s}",
                  f"most {s}ward", f"most {s}wards", f"furthest {s}ward", f"farthest {s}ward"):
            add(p, (SEL, ("extreme", s)))
    # ordinals said with a position noun or a verb: "at position two from the left", "the cup ranked second"
    for num, k in RANK_NUMBERS:
        for pre in ("at position", "in position", "at position number", "in position number", "position"):
            add(f"{pre} {num}", (ORD, k))
    for p in ("comes", "that comes", "which comes", "ranked", "that is ranked", "lying", "that lies"):
        add(p, (FILL, p))
    # viewpoints as labels and frames: "(robot's view)", "in the robot frame", "in robot coordinates"
    for vp, owners in (("robot", ("the robot's", "robot's", "your")), ("camera", ("the camera's", "camera's", "my"))):
        for ps in owners:
            for v in ("view", "perspective", "point of view", "viewpoint", "frame", "coordinates", "coordinate frame"):
                add(f"{ps} {v}", (VIEW, vp))
                add(f"taking {ps} {v}", (VIEW, vp))
                add(f"using {ps} {v}", (VIEW, vp))
    for vp in ("robot", "camera"):
        for p in (f"in the {vp} frame", f"in {vp} frame", f"in {vp} coordinates", f"in the {vp} coordinates",
                  f"in the {vp} coordinate frame", f"from the {vp} side"):
            add(p, (VIEW, vp))
    # the person at the camera: "from the operator's side", "from the viewer's side", "looking at the image";
    # someone facing the robot stands where the camera is, someone facing the camera where the robot is
    for who in ("the operator's", "the viewer's", "the user's", "the person's"):
        for v in ("side", "view", "perspective", "point of view", "viewpoint"):
            for pre in ("from", "in", "as seen from"):
                add(f"{pre} {who} {v}", (VIEW, "camera"))
    for p in ("looking at the image", "looking at the picture", "looking at the camera image", "facing the robot"):
        add(p, (VIEW, "camera"))
    add("facing the camera", (VIEW, "robot"))


def _dev8_lexemes(add: Callable[..., None]) -> None:
    """dev8: everyday wording of counting, sizes and sequence (each a class, not a sentence)."""
    # counting said as a clause: "count from the left and take ...", "starting on the left, ...", "going from
    # left to right, ...", "left to right, ..." (a fronted count is moved into the object phrase: _fronted_count)
    # round 2: any verb of counting or reading before the side ("begin at the left", "reading left to right")
    for s, o in (("left", "right"), ("right", "left")):
        for p in (f"from {s} to {o}", f"from the {s} to the {o}", f"{s} to {o}"):
            add(p, (FROMSIDE, s))
            for verb in ("going", "counting", "reading", "moving", "working", "read", "count", "go", "going across"):
                add(f"{verb} {p}", (FROMSIDE, s))
        for verb in ("count", "counting", "start", "starting", "begin", "beginning", "start counting", "begin counting",
                     "starting counting", "read", "reading", "starting to count"):
            for prep in ("from", "at", "on"):
                add(f"{verb} {prep} the {s}", (FROMSIDE, s))
    # positions as nouns: "in the second spot", "in slot 2", "in spot number 3"
    for w, k in ORDINAL_WORDS.items():
        for noun in ("spot", "slot"):
            for pre in ("in the", "at the", "in", "at", "the"):
                add(f"{pre} {w} {noun}", (ORD, k))
    for p in ("occupying", "that occupies", "which occupies", "taking up"):
        add(p, (FILL, p))
    for num, k in RANK_NUMBERS:
        for noun in ("spot", "slot"):
            for pre in ("in", "at", "in the", "at the"):
                add(f"{pre} {noun} {num}", (ORD, k))
                add(f"{pre} {noun} number {num}", (ORD, k))
    # more size adjectives, and 'most' before a plain size adjective ("the most slender", "the most petite")
    for w, dim, way in (("chubbiest", "width", "max"), ("oversized", "size", "max"), ("extra large", "size", "max"),
                        ("extra big", "size", "max"), ("slenderest", "width", "min"), ("extra small", "size", "min"),
                        ("jumbo", "size", "max")):
        add(w, (SEL, (dim, way)))
    for w, dim, way in (("slender", "width", "min"), ("petite", "size", "min"), ("big", "size", "max"),
                        ("large", "size", "max"), ("huge", "size", "max"), ("wide", "width", "max"),
                        ("massive", "size", "max"), ("small", "size", "min"), ("tiny", "size", "min"),
                        ("little", "size", "min"), ("narrow", "width", "min")):
        add(f"most {w}", (SEL, (dim, way)))
    add("most tall", (SEL, ("height", "max")))
    add("most short", (SEL, ("height", "min")))
    # the group as a collective noun: "the smallest of the bunch", "in the group", "of the lot"
    for grp in ("bunch", "lot", "group", "set"):
        for pre in ("of the", "in the", "out of the", "among the", "from the"):
            add(f"{pre} {grp}", (FILL, f"{pre} {grp}"))
    # the tool named: "use the gripper to ...", "with your gripper, ..."
    for det in ("the", "your", "the robot's", "its"):
        for p in (f"use {det} gripper to", f"using {det} gripper", f"with {det} gripper", f"by using {det} gripper"):
            add(p, (FILL, p))
    # wrappers: "... if that's ok", "directly on the plate"
    for ok in ("ok", "okay", "alright", "all right", "fine"):
        for p in (f"if that's {ok}", f"if that is {ok}", f"if it's {ok}", f"if it is {ok}"):
            add(p, (FILL, p))
    for p, kind in (("on", "on"), ("onto", "on"), ("into", "into"), ("in", "into"), ("inside", "into"),
                    ("on top of", "on"), ("to", "to")):
        add(f"directly {p}", (PREP, kind))
        add(f"straight {p}", (PREP, kind))
    add("on the surface of", (PREP, "on"))
    add("as soon as", (UNKNOWN, None))    # a sequence lead (_sequence); alone it is refused


def _gerund(verb: str) -> str:
    """'pick up' -> 'picking up', 'put' -> 'putting', 'place' -> 'placing'."""
    head, *rest = verb.split()
    irregular = {"put": "putting", "set": "setting", "get": "getting", "drop": "dropping", "grab": "grabbing",
                 "shift": "shifting", "lie": "lying", "stack": "stacking"}
    g = irregular.get(head) or (head[:-1] + "ing" if head.endswith("e") and not head.endswith("ee") else head + "ing")
    return " ".join([g, *rest])


_LEX = _lexicon()
_KNOWN_WORDS = frozenset(w for key in _LEX for w in key) | FILLER | NEGATIONS | DETS
_TYPO_TARGETS = (DETS | {"and", "then", "please", "thanks", "thank", "you"}) - {"a", "an", "my"}
_VERB_FIRST_WORDS = frozenset(v.split()[0] for v in PICK_VERBS + PLACE_VERBS)
_MAX_SPAN = max(len(k) for k in _LEX)

_AFTER_TO = frozenset({"be", "need", "want", "have", "like"})   # "going to need", "to be moved": 'to' is no place
# dev6: "you can put ...": 'can' after the robot as subject is a modal ("i can pick up ..." is the user's offer)
_SUBJECTS = frozenset({"you", "we", "robot"})
# dev6: a modal after its subject and before a verb ("you may now place", "you'd better put")
_MODALS = frozenset({"can", "may", "might", "shall", "better"})


def _verb_follows(words: list[str], i: int) -> bool:
    """Whether a verb (or 'to be'-style 'to') comes at words[i], after fillers such as 'now' or 'also'."""
    while i < len(words) and words[i] in ("now", "also", "just", "then", "really"):
        i += 1
    return i < len(words) and (words[i] in _VERB_FIRST_WORDS or words[i] in _AFTER_TO)
_OBJECT_CATS = frozenset({COLOR, NOUN, SEL, ORD, LAST})


@dataclass(frozen=True)
class Token:
    cat: str
    value: object
    surface: str          # the words the user wrote (normalised)


# dev5: labelled slots ("target: red cup; goal: bowl", "obj=red cup dest=plate") and call notation
# ("pick(red_cup) place(bowl)", "move(red cup, bowl)"), read by the role their label or verb names
PICK_SLOTS = frozenset({"target", "object", "obj", "item", "pick", "grasp", "grab", "src", "source", "thing", "from"})
PLACE_SLOTS = frozenset({"goal", "dest", "destination", "dst", "place", "to", "where", "location", "container"})
FRAME_SLOTS = frozenset({"task", "cmd", "command", "action", "instruction", "request", "step"})
_SLOT_RE = re.compile(r"(?:^|(?<=[\s;,/]))([a-z_]+)\s*(?:[:=]|-+>)\s*")
_CALL_RE = re.compile(r"([a-z_]+)\s*\(([^()]*)\)")
_PICK_PLACE_CALLS = frozenset({"pick_place", "pick_and_place", "pickplace", "pick_n_place"})


def _slots(t: str) -> str:
    """'target: red cup; goal: bowl' -> 'pick up red cup and put it to bowl'. Only when the whole text is
    labelled slots with known roles (one pick, at most one place); anything else is left for the parser,
    so an unknown label ('correction: ...', 'speed=fast') stays an unknown word and is refused."""
    hits = list(_SLOT_RE.finditer(t))
    if not hits or t[:hits[0].start()].strip():
        return t
    labels = [m.group(1) for m in hits]
    if any(lb not in PICK_SLOTS | PLACE_SLOTS | FRAME_SLOTS for lb in labels):
        return t
    values = [t[m.end():(hits[k + 1].start() if k + 1 < len(hits) else len(t))].strip(" ;,/")
              for k, m in enumerate(hits)]
    if all(lb in FRAME_SLOTS for lb in labels):
        return " , ".join(values)
    picks = [lb for lb in labels if lb in PICK_SLOTS]
    roles = {lb: ("place" if lb in PLACE_SLOTS or (lb == "target" and len(picks) > 1) else "pick") for lb in labels
             if lb not in FRAME_SLOTS}
    pick = [v for lb, v in zip(labels, values, strict=True) if roles.get(lb) == "pick"]
    place = [v for lb, v in zip(labels, values, strict=True) if roles.get(lb) == "place"]
    if len(pick) != 1 or len(place) > 1 or any(lb in FRAME_SLOTS for lb in labels):
        return t
    return f"pick up {pick[0]}" + (f" and put it to {place[0]}" if place else "")


def _calls(t: str) -> str:
    """'pick(red_cup) place(bowl)', 'move(red cup, bowl)', 'pick_place(red cup, bowl)' -> a plain request.
    Only when the whole text is calls of known verbs; 'the cup (yellow)' is no call."""
    calls = list(_CALL_RE.finditer(t))
    if not calls or _CALL_RE.sub("", t).strip(" ;,.") or len(calls) > 2:
        return t
    out: list[str] = []
    for m in calls:
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()]
        verb = name.replace("_", " ")
        if name in _PICK_PLACE_CALLS and len(args) == 2:
            out.append(f"pick up {args[0]} and put it to {args[1]}")
        elif verb in PICK_VERBS and len(args) == 1 and not out:
            out.append(f"{verb} {args[0]}")
        elif verb in PLACE_VERBS and len(args) == 2 and not out:
            out.append(f"{verb} {args[0]} to {args[1]}")
        elif verb in PLACE_VERBS and len(args) == 1 and out:
            out.append(f"and put it to {args[0]}")
        else:
            return t
    return " ".join(out)


def normalise(text: str) -> str:
    t = text.lower().replace("’", "'").replace("→", " -> ").replace("=>", " -> ")
    t = re.sub(r"!=|≠|=/=|<>|~=", " not ", t)                 # symbolic negation ("target: cup != red")
    t = _slots(_calls(t.strip()))
    t = re.sub(r"->\s*(?:place|put)\b", "->", t)          # "pick red cup -> place bowl"
    t = re.sub(r"#\s*(\d)\b", r" number \1 ", t)                 # "cup #2", "no. 2": a number, not "no"
    t = re.sub(r"\b(?:no\s*\.|nr\s*\.?|num\s*\.?)\s*(\d)\b", r" number \1 ", t)
    t = _expand_contractions(t)
    t = re.sub(r"-+>", " -> ", t)
    t = re.sub(r"<-+", " <- ", t)
    t = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t)          # right-most, left-hand, second-to-last
    t = re.sub(r"[,;:!?()]|\.(?!\d)|\s-+\s|[—–]", " , ", t)    # clause breaks (kept: "onto the plate, the red cup")
    t = re.sub(r"[^a-z0-9' <>,-]+", " ", t)
    t = re.sub(r"(?<!-)>|(?<!<)-(?!>)|<(?!-)", " ", t)
    t = re.sub(r"(^|\s)'+|'+(?=\s|$)", " ", t)           # quotes, not possessives
    return re.sub(r"\s+", " ", t).strip()


def _collapse_repeats(words: list[str]) -> list[str]:
    """'the the red cup', 'red red', '... on the plate on the plate': a stutter or a repeated place (speech)
    is said once. Only one word said twice, or a place phrase ('on'/'in'/'into'/... + words) repeated at the
    end of a clause: a repeated relation ('the cup left of the cup left of the box') is a chain and stays.
    Over-long input stays as written, so the token bound still refuses it."""
    if len(words) > MAX_TOKENS:
        return words
    out: list[str] = []
    for k, w in enumerate(words):
        if out and w == out[-1] and w != ",":
            continue
        out.append(w)
        if k + 1 < len(words) and words[k + 1] != ",":
            continue
        for n in range(2, 7):
            if len(out) >= 2 * n and out[-n:] == out[-2 * n:-n] and out[-n] in _PLACE_WORDS:
                del out[-n:]
                break
    return out


_PLACE_WORDS = frozenset({"on", "in", "into", "onto", "inside", "to", "at"})


def _fromside_follows(words: list[str], i: int) -> bool:
    """Whether a 'from the left'-style lexeme starts at words[i]."""
    for n in range(min(_MAX_SPAN, len(words) - i), 0, -1):
        lexemes = _LEX.get(tuple(words[i:i + n]))
        if lexemes:
            return any(cat == FROMSIDE for cat, _ in lexemes)
    return False


def _position_follows(words: list[str], i: int) -> bool:
    """Whether the lexeme starting at words[i] places something without a side: the middle, a depth, a relation."""
    for n in range(min(_MAX_SPAN, len(words) - i), 0, -1):
        lexemes = _LEX.get(tuple(words[i:i + n]))
        if lexemes:
            cat, val = lexemes[0]
            return n > 1 and (cat == REL or (cat == SEL and isinstance(val, tuple) and val[0] in ("middle", "depth")))
    return False


def _slip(a: str, b: str) -> str | None:
    """How b is one letter off a: 'swap' (two adjacent letters swapped), 'sub' (one mistyped), 'indel' (one
    left out or typed in), or None."""
    if a == b or abs(len(a) - len(b)) > 1:
        return None
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        if len(diff) == 1:
            return "sub"
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        return "swap" if swapped else None
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return "indel" if any(long_[:k] + long_[k + 1:] == short for k in range(len(long_))) else None


@functools.lru_cache(maxsize=4096)
def _function_typo(w: str) -> str:
    """dev6: 'teh' -> 'the', 'adn' -> 'and', 'thnaks' -> 'thanks': an unknown word one slip from exactly one
    known word, and that word one of the few that never carry content (a determiner, 'and', 'then', 'please',
    'thanks', 'you'), is that word: the slip can change no object, colour, verb or place. A slip is two
    adjacent letters swapped, or for words of 5 letters or more a letter left out or typed in ('plese',
    'pleasse'). A mistyped letter is no slip here: between real words it is everywhere ('new'/'now',
    'hot'/'not', 'thinks'/'thanks'). A word one slip from any other known word, or from none of the few
    ('cpu', 'rde', 'bwol'), stays unknown and is refused."""
    if w in _KNOWN_WORDS or len(w) < 3 or not w.isalpha():
        return w
    hits = {k for k in _KNOWN_WORDS if (kind := _slip(k, w)) == "swap" or (kind == "indel" and len(w) >= 5)}
    if (len(hits) == 1 and hits <= _TYPO_TARGETS) or (hits and hits <= {"thank", "thanks", "please"}):
        return sorted(hits)[-1]   # 'thansk': thank or thanks, a sign-off either way
    return w


def tokenize(text: str) -> list[Token]:
    """Normalised words -> lexemes, longest multi-word expression first. Context decides a few words
    that have two senses ("can you" vs "the can", "place" verb vs noun, "near the box" vs "near")."""
    words = _collapse_repeats([_function_typo(w) for w in normalise(text).split()])
    out: list[Token] = []
    i = 0
    while i < len(words):
        w = words[i]
        prev = words[i - 1] if i else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w.isdigit() and 1 <= int(w) <= 6 and out and out[-1].cat == NOUN and _fromside_follows(words, i + 1):
            out.append(Token(ORD, int(w), w))   # "box 2 from the left": a rank, as "number 2" is
            i += 1
            continue
        if w == "can" and (not out or nxt in ("you", "i", "we")) or (
                w in _MODALS and (prev in _SUBJECTS or (w == "better" and prev in ("would", "had")))
                and _verb_follows(words, i + 1)):
            out.append(Token(FILL, None, w))
            i += 1
            continue
        if w in _MODALS and prev in _SUBJECTS | {"i"}:
            out.append(Token(UNKNOWN, None, w))   # "you can, could you put it ...": a modal, never the noun 'can'
            i += 1
            continue
        if w in ("going", "got", "needs", "ought", "wants", "supposed", "meant") and nxt == "to" and i + 2 < len(words) \
                and (words[i + 2] in _VERB_FIRST_WORDS or words[i + 2] in _AFTER_TO):
            out.append(Token(FILL, None, w))   # "you're gonna put", "it needs to be moved": a modal
            i += 1
            continue
        if w == "to" and (nxt in _VERB_FIRST_WORDS or nxt in _AFTER_TO):
            out.append(Token(FILL, None, w))
            i += 1
            continue
        after = words[i + 2] if nxt in (",", "you") and i + 2 < len(words) else nxt
        if w in ("first", "next", "finally", "now") and (not out or out[-1].cat == BREAK) and after in _VERB_FIRST_WORDS:
            out.append(Token(FILL, None, w))   # "first, pick the cup": sequencing, not an ordinal
            i += 1
            continue
        if (w in ("sized", "looking", "across") and prev in SIZE_WORDS) or (w in ("halfway", "midway", "directly", "exactly", "smack")
                                                     and nxt == "between"):
            out.append(Token(FILL, None, w))   # dev6: "the tiny-sized cup", "halfway between X and Y"
            i += 1
            continue
        if w in ("place", "position", "side") and prev in DETS:
            out.append(Token(SPOT, w, w))
            i += 1
            continue
        if w.endswith("'s") and (w[:-2],) in _LEX and _LEX[(w[:-2],)][0][0] == NOUN \
                and nxt in ("surface", "top", "centre", "center", "middle"):
            out.extend(Token(c, v, f"{w} {nxt}") for c, v in _LEX[(w[:-2],)])   # dev8: "on the plate's surface"
            i += 2
            continue
        if w in CLAUSE_START_VERBS and out and out[-1].cat not in (FILL, BREAK, AND, THEN):
            out.append(Token(UNKNOWN, None, w))   # "the rest", "the lower cup": not the verb
            i += 1
            continue
        for n in range(min(_MAX_SPAN, len(words) - i), 0, -1):
            key = tuple(words[i:i + n])
            if key in _LEX:
                break
        else:
            n = 0
        if w == "way" and n <= 1 and _position_follows(words, i + 1):
            out.append(Token(FILL, None, w))   # dev7: "the cup way in the back": an intensifier
            i += 1
            continue
        if n < 3 and words[i:i + 3] == ["all", "the", "way"] and _position_follows(words, i + 3):
            out.extend(Token(FILL, None, x) for x in words[i:i + 3])   # "all the way at the back": an intensifier
            i += 3
            continue
        if w == "along" and nxt == "," and _fromside_follows(words, i + 2):
            out.append(Token(FILL, None, w))     # "the second cup along, from the left": one ordinal phrase
            i += 2
            continue
        if n == 0 and w == "at" and any(t.cat == PLACEV for t in out):
            out.append(Token(PREP, "to", w))   # "put the cup at the plate": a destination ("at the back" is a lexeme)
            i += 1
            continue
        if n == 1 and w == "right" and _position_follows(words, i + 1):
            out.append(Token(FILL, None, w))       # "right in the centre", "right at the back": an intensifier
            i += 1
            continue
        if n == 1 and w in ("near", "nearest", "closest") and nxt in DETS and prev not in DETS:
            out.append(Token(REL, "next_to", w))   # "the cup nearest the box": a relation, not a superlative
            i += 1
            continue
        if n:
            surface = " ".join(words[i:i + n])
            out.extend(Token(cat, val, surface) for cat, val in _LEX[tuple(words[i:i + n])])
            i += n
        else:
            cat = FILL if w in FILLER else UNKNOWN
            if w.endswith("n't"):
                cat = NEG
            elif w == "mind" and (not out or out[-1].cat in (BREAK, FILL)) and nxt.endswith("ing"):
                cat = FILL       # "mind putting the cup ...?": a request
            out.append(Token(cat, None, w))
            i += 1
    return _manner_adverbs(out)


# -ly words that say where, how much or which way (content), never how the motion feels
NOT_MANNER = frozenset("""only early nearly directly diagonally vertically horizontally exactly approximately roughly
partly partially fully completely entirely halfway mostly closely centrally laterally barely hardly scarcely
rarely upright separately individually respectively lately likely family jelly belly lily fly ugly holy silly
reply supply assembly apply rely ally rally bully curly oily woolly wobbly bubbly sparkly prickly smelly chilly
friendly lovely lonely lowly highly newly freshly recently previously originally initially overly""".split())
_MANNER_RE = re.compile(r"^[a-z]{3,}ly$")
# where a manner adverb stands: next to a verb, a pronoun, a clause edge, or after the object phrase
_ADVERB_PREV = frozenset({BREAK, AND, THEN, PICKV, PLACEV, GOV, PRON, NOUN, ARROW})
_ADVERB_NEXT = frozenset({BREAK, AND, THEN, PICKV, PLACEV, GOV, PRON, DET, PREP, ARROW})
_COPULA = frozenset({"is", "are", "be", "was", "were", "been", "being", "looks", "seems", "that", "which"})


def _manner_adverbs(tokens: list[Token]) -> list[Token]:
    """'slowly pick up the cup', 'put it down gently', 'calmly and carefully move ...': an unknown -ly word in
    an adverb's place says how to move, not what or where, so it is filler. In a noun phrase ('the sparkly
    cup', 'the cup that is wobbly') or on the exception list ('only', 'diagonally') it stays unknown."""
    out = list(tokens)
    for i, t in enumerate(out):
        if t.cat != UNKNOWN or not _MANNER_RE.match(t.surface) or t.surface in NOT_MANNER:
            continue
        j = i - 1
        while j >= 0 and out[j].surface in ("very", "really", "real", "so", "super", "extra", "quite"):
            j -= 1          # "very carefully": judged by the word before the intensifier
        prev = out[j] if j >= 0 else None
        nxt = next((x for x in out[i + 1:] if not (x.cat == UNKNOWN and _MANNER_RE.match(x.surface))), None)
        prev_ok = prev is None or prev.cat in _ADVERB_PREV or (prev.cat == FILL and prev.surface not in _COPULA)
        next_ok = nxt is None or nxt.cat in _ADVERB_NEXT or nxt.cat == FILL
        if prev_ok and next_ok:
            out[i] = Token(FILL, None, t.surface)
            for k in range(j + 1, i):     # "real slowly": the intensifier goes with its adverb
                if out[k].cat == UNKNOWN:
                    out[k] = Token(FILL, None, out[k].surface)
    for i, t in enumerate(out[:-1]):   # "real slowly" with a filler adverb ("slowly" is filler anyway)
        nxt = out[i + 1]
        if t.cat == UNKNOWN and t.surface == "real" and nxt.cat == FILL and _MANNER_RE.match(nxt.surface):
            out[i] = Token(FILL, None, t.surface)
    return out


# ---- structured parse ---------------------------------------------------------------------------

@dataclass
class ObjectPhrase:
    """One noun phrase: what it states about its object and, recursively, about reference objects."""
    text: str
    color: str | None = None
    shape: str | None = None
    noun: str | None = None
    selectors: list[tuple[str, str | int]] = field(default_factory=list)
    relation: str | None = None
    reference: ObjectPhrase | None = None
    reference2: ObjectPhrase | None = None   # "between X and Y"
    used: list[tuple[str, str]] = field(default_factory=list)   # (words, meaning) for the report
    unused: list[str] = field(default_factory=list)             # words this phrase could not use
    pronoun: str | None = None
    count: int | None = None     # "of the three cups": exactly this many candidates must fit

    def all_unused(self) -> list[str]:
        out = list(self.unused)
        for ref in (self.reference, self.reference2):
            if ref is not None:
                out += ref.all_unused()
        return out

    def all_used(self) -> list[tuple[str, str]]:
        out = list(self.used)
        for ref in (self.reference, self.reference2):
            if ref is not None:
                out += ref.all_used()
        return out

    def names_something(self) -> bool:
        return bool(self.color or self.noun or self.selectors or self.relation)


@dataclass
class PlacePhrase:
    kind: str                 # "on", "into", "to" or a relation in RELATIONS
    words: str                # the preposition/relation as written
    reference: ObjectPhrase
    text: str


@dataclass
class ParsedInstruction:
    pick: ObjectPhrase
    place: PlacePhrase | None
    viewpoint: str
    viewpoint_words: str | None
    action: str               # "pick" or "pick and place"
    verb_words: list[str] = field(default_factory=list)

    @property
    def pick_text(self) -> str:
        return self.pick.text

    @property
    def place_text(self) -> str:
        return self.place.text if self.place is not None else ""


def _join(tokens: list[Token]) -> str:
    """Surface text of a token run (a multi-lexeme expression appears once)."""
    out: list[str] = []
    last: Token | None = None
    for t in tokens:
        if last is not None and t.surface == last.surface and t.cat != last.cat:
            continue
        out.append(t.surface)
        last = t
    return " ".join(out)


def _is_plural(t: Token) -> bool:
    """A noun written in the plural ('cups', 'plastic balls'): its surface is not the singular it maps to."""
    return t.cat == NOUN and t.surface != t.value[1] and t.surface.endswith("s")  # type: ignore[index]


def _names_object(tokens: list[Token]) -> bool:
    return any(t.cat in (NOUN, COLOR, PRON) for t in tokens)


# "the cup on the plate", "the ball in the bowl", "the cup off the plate": what the object stands on or in
STANDS_ON = "on"
_STANDS_IN_SURFACES = frozenset({"on", "on top of", "on the top of", "atop", "in", "inside", "inside of", "within"})


def _stands_in_word(t: Token) -> bool:
    return t.cat == SRC or (t.cat == PREP and t.surface in _STANDS_IN_SURFACES)


def _plain_reference(tokens: list[Token]) -> bool:
    """What a support relation refers to is one noun phrase: no sentence break, pronoun or clause after it
    ('put the cup on the plate. it goes ...' is two places for one object, not the cup on the plate)."""
    return not any(t.cat in (BREAK, PRON, GOV, PICKV, PLACEV, PREP, ARROW, RARROW, SRC) for t in tokens)


def parse_object(tokens: list[Token]) -> ObjectPhrase:
    """A noun phrase: kind, colour, selectors, and a relation to (nested) reference phrases."""
    np_ = ObjectPhrase(_join(tokens))
    # between the two X / between X and Y
    for i, t in enumerate(tokens):
        if t.cat == BETWEEN and i > 0:
            rest = tokens[i + 1:]
            k = 0
            while k < len(rest) and rest[k].cat in (DET, FILL) and rest[k].surface in DETS:
                k += 1
            if k < len(rest) and (rest[k].cat == PAIR or (rest[k].cat == COUNT and rest[k].value == 2)):
                np_.relation = "between_two"
                np_.reference = parse_object(rest[k + 1:])
                np_.used.append((_join(tokens[i:i + 1 + k + 1]), "relation between_two"))
            elif not any(r.cat == AND for r in rest) and [_is_plural(r) for r in rest if r.cat == NOUN] == [True]:
                np_.relation = "between_two"       # "between the cups": the two the resolver must see
                np_.reference = parse_object(rest[k:])
                np_.used.append((_join(tokens[i:i + 1 + k]), "relation between_two"))
            else:
                ands = [j for j, r in enumerate(rest) if r.cat == AND]
                if not ands:
                    np_.unused.append(t.surface)
                    tokens = tokens[:i]
                    break
                np_.relation = "between"
                np_.reference = parse_object(rest[:ands[0]])
                np_.reference2 = parse_object(rest[ands[0] + 1:])
                np_.used.append((t.surface, "relation between"))
            tokens = tokens[:i]
            break
    else:
        for i, t in enumerate(tokens):
            if (t.cat == REL or (_stands_in_word(t) and _plain_reference(tokens[i + 1:]))) and i > 0 \
                    and _names_object(tokens[i + 1:]):
                np_.relation = str(t.value) if t.cat == REL else STANDS_ON
                np_.reference = parse_object(tokens[i + 1:])
                np_.used.append((t.surface, f"relation {np_.relation}"))
                tokens = tokens[:i]
                break
    tokens = _pair_ordinal(_end_with_side(_rank_but(tokens)))
    head_seen = False
    relcl = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        n_sel = len(np_.selectors)
        words = t.surface
        if t.cat == COLOR:
            if head_seen and not relcl:
                np_.unused.append(words)   # a colour after the head noun describes another object
            elif np_.color is None:
                np_.color = str(t.value)
                np_.used.append((words, f"colour {t.value}"))
            elif t.value != np_.color:
                np_.unused.append(words)
        elif t.cat == NOUN:
            shape: str | None = t.value[0]  # type: ignore[index]
            noun: str = t.value[1]  # type: ignore[index]
            if np_.noun is None:
                np_.noun, np_.shape = noun, shape
                np_.used.append((words, f"kind {shape or 'any object'}"))
                head_seen = head_seen or shape is not None
            elif shape is not None and np_.shape is None and np_.noun in GENERIC_NOUNS:
                np_.noun, np_.shape = noun, shape    # "the one ... cup": the specific noun wins
                np_.used.append((words, f"kind {shape}"))
                head_seen = True
            elif shape is not None and shape != np_.shape:
                np_.unused.append(words)   # a second object noun in one phrase: which one is meant?
            elif shape is not None:
                np_.unused.append(words)
        elif t.cat in (ORD, LAST):
            if i + 1 < len(tokens) and tokens[i + 1].cat == SEL:
                np_.unused.append(f"{words} {tokens[i + 1].surface}")   # "second biggest": a ranked superlative
                i += 1
            elif t.cat == LAST:   # in reading order, the last is the rightmost
                np_.selectors.append(("ordinal_right", int(t.value)))  # type: ignore[call-overload]
            else:
                np_.selectors.append(("ordinal_left", int(t.value)))  # type: ignore[call-overload]
        elif t.cat == SEL:
            np_.selectors.append(t.value)  # type: ignore[arg-type]
        elif t.cat == RELCL:
            relcl = True
        elif t.cat == COUNT and np_.count is None:
            np_.count = int(t.value)  # type: ignore[call-overload]
            np_.used.append((words, f"count {t.value}"))
        elif t.cat == FILL and t.surface in ("is", "are", "which", "that"):
            relcl = relcl or head_seen
        elif t.cat in (FILL, DET, AND, BREAK) or (t.cat == SRC and i == 0):
            pass       # a particle right after the verb: "take off the red cup"
        elif t.cat == PAIR and relcl and t.surface == "both" and any(x.cat == AND for x in tokens[i + 1:]):
            pass       # "the cup that is both red and small": both attributes hold
        elif t.cat == FRAMEREF and np_.selectors and str(np_.selectors[-1][0]) == "depth":
            kind, arg = np_.selectors[-1]      # "the closest cup to the robot": the superlative's frame
            np_.selectors[-1] = (f"depth_{t.value}", arg)
            said = _sel_words(np_, kind, arg)
            np_.used = [(w, m) for w, m in np_.used if m != f"{kind} {arg}"]
            np_.used.append((f"{said} .. {words}", f"depth_{t.value} {arg}"))
            n_sel = len(np_.selectors)
        elif t.cat == PRON:
            np_.pronoun = np_.pronoun or t.surface
        else:
            np_.unused.append(words)
        if len(np_.selectors) > n_sel:
            kind, arg = np_.selectors[-1]
            np_.used.append((words, f"{kind} {arg}"))
        i += 1
    return np_


def _rank_but(tokens: list[Token]) -> list[Token]:
    """'the leftmost cup but one' is the second from the left, 'the last cup but one' the second to last:
    'but one' shifts the one side superlative or 'last' before it. Without exactly one, it stays unused."""
    buts = [i for i, t in enumerate(tokens) if t.cat == BUTN]
    if len(buts) != 1:
        return tokens
    b = buts[0]
    heads = [i for i, t in enumerate(tokens[:b])
             if t.cat == LAST or (t.cat == SEL and t.value[0] == "extreme")]  # type: ignore[index]
    if len(heads) != 1:
        return tokens
    h, k = heads[0], int(tokens[b].value)  # type: ignore[call-overload]
    t = tokens[h]
    surface = f"{t.surface} .. {tokens[b].surface}"
    if t.cat == LAST:
        new = Token(LAST, int(t.value) + k, surface)  # type: ignore[call-overload]
    else:
        new = Token(SEL, (f"ordinal_{t.value[1]}", 1 + k), surface)  # type: ignore[index]
    return [new if i == h else x for i, x in enumerate(tokens) if i != b]


def _end_with_side(tokens: list[Token]) -> list[Token]:
    """'at the very end, on the left': the end is the side's extreme. An end with no side (or with two
    orderings) stays unused: which end is meant is not said."""
    ends = [i for i, t in enumerate(tokens) if t.cat == END]
    ext = [i for i, t in enumerate(tokens) if t.cat == SEL and t.value[0] == "extreme"]  # type: ignore[index]
    if len(ends) != 1 or len(ext) != 1 or any(t.cat in (ORD, LAST) for t in tokens):
        return tokens
    e, x = ends[0], ext[0]
    merged = Token(SEL, tokens[x].value, f"{tokens[min(e, x)].surface} .. {tokens[max(e, x)].surface}")
    return [merged if i == x else t for i, t in enumerate(tokens) if i != e]


def _pair_ordinal(tokens: list[Token]) -> list[Token]:
    """One ordinal and one 'from the <side>' (or side superlative) anywhere in a phrase count from that
    side: 'the second cup from the left', 'counting from the left, the second cup', 'the first cup on the
    left'. The pair becomes one ordinal lexeme; anything else is left for the phrase parser to judge."""
    ords = [i for i, t in enumerate(tokens) if t.cat in (ORD, LAST)]
    sides = [i for i, t in enumerate(tokens) if t.cat == FROMSIDE]
    if len(ords) != 1 or len(sides) > 1:
        return tokens
    o = ords[0]
    if not sides:
        ext = [i for i, t in enumerate(tokens) if t.cat == SEL and t.value[0] == "extreme"]  # type: ignore[index]
        if len(ext) != 1:
            return _size_rank(tokens, o)
        sides = ext
    k = sides[0]
    side = str(tokens[k].value if tokens[k].cat == FROMSIDE else tokens[k].value[1])  # type: ignore[index]
    n = int(tokens[o].value)  # type: ignore[call-overload]
    if tokens[o].cat == LAST and tokens[k].cat == FROMSIDE:   # the last from the left = the first from the right
        side = "right" if side == "left" else "left"
    elif tokens[o].cat == LAST and n > 1:   # "the second to last cup on the left": which end counts? refused
        return tokens
    return _merge(tokens, o, k, Token(SEL, (f"ordinal_{side}", n), _pair_surface(tokens, o, k)))


def _pair_surface(tokens: list[Token], a: int, b: int) -> str:
    """The user's words of two lexemes read as one ('second .. from the left' when words stand between)."""
    lo, hi = tokens[min(a, b)].surface, tokens[max(a, b)].surface
    return f"{lo} {hi}" if abs(a - b) == 1 else f"{lo} .. {hi}"


def _merge(tokens: list[Token], keep: int, drop: int, merged: Token) -> list[Token]:
    """The lexemes at keep and drop become merged, standing where keep stood."""
    return [merged if i == keep else t for i, t in enumerate(tokens) if i != drop]


def _size_rank(tokens: list[Token], o: int) -> list[Token]:
    """'the second biggest cup', 'the third smallest': an ordinal with one size or height superlative is a rank
    in that order (kind '<dim>_rank', arg +k counted from the largest, -k from the smallest)."""
    sizes = [i for i, t in enumerate(tokens) if t.cat == SEL and isinstance(t.value, tuple)
             and t.value[0] in SIZE_DIMENSIONS]
    if len(sizes) != 1 or tokens[o].cat != ORD:
        return tokens
    k = sizes[0]
    value = tokens[k].value
    assert isinstance(value, tuple)
    dim, way = str(value[0]), str(value[1])
    n = int(tokens[o].value)  # type: ignore[call-overload]
    return _merge(tokens, o, k, Token(SEL, (f"{dim}_rank", n if way == "max" else -n), _pair_surface(tokens, o, k)))


def _sel_words(np_: ObjectPhrase, kind: object, arg: object) -> str:
    return next((w for w, m in np_.used if m == f"{kind} {arg}"), str(kind))


def parse_place(tokens: list[Token]) -> PlacePhrase:
    """A place phrase ('on the plate', 'to the left of the red cup', 'the bowl' after '->')."""
    while tokens and (tokens[0].cat in (PRON, FILL, BREAK) or (tokens[0].cat == SEL and tokens[0].surface == "back")):
        tokens = tokens[1:]
    text = _join(tokens)
    kind, words = "to", ""
    if tokens and tokens[0].cat == PREP and len(tokens) > 2 and tokens[1].surface in DETS and tokens[2].cat == SPOT \
            and len(tokens) > 3 and tokens[3].cat == REL:
        words = _join(tokens[:4])
        kind, tokens = str(tokens[3].value), tokens[4:]
    elif tokens and tokens[0].cat == REL:
        kind, words, tokens = str(tokens[0].value), tokens[0].surface, tokens[1:]
    elif tokens and tokens[0].cat == PREP:
        kind, words, tokens = str(tokens[0].value), tokens[0].surface, tokens[1:]
    return PlacePhrase(kind, words or kind, parse_object(tokens), text)


def _strip(tokens: list[Token]) -> list[Token]:
    while tokens and tokens[0].cat in (AND, THEN, FILL, BREAK):
        tokens = tokens[1:]
    while tokens and tokens[-1].cat in (AND, THEN, FILL, BREAK) and tokens[-1].surface not in ("up",):
        tokens = tokens[:-1]
    return tokens


_DIRECTIONAL = frozenset({"to", "onto", "into", "on top of", "over to", "on to", "in to", "down onto", "down into",
                          "back onto", "back into"})


def _split_place(tokens: list[Token], allow: Callable[[Token], bool]) -> tuple[list[Token], list[Token]] | None:
    """Split 'X <place>' at the last allowed preposition (or relation) with an object on both sides, so
    relations inside the pick phrase ('the cup left of the box on the plate') stay there."""
    for k in range(len(tokens) - 1, 0, -1):
        if allow(tokens[k]) and any(t.cat in _OBJECT_CATS or t.cat == PRON for t in tokens[:k]) \
                and _names_object(tokens[k:]):
            return tokens[:k], tokens[k:]
    return None


def _after_place_verb(t: Token) -> bool:
    return t.cat in (PREP, REL)


def _after_pick_verb(t: Token) -> bool:
    """'take the cup to the bowl' places; 'pick the cup in the bowl' / 'next to the box' describe the cup."""
    return t.cat == PREP and t.surface in _DIRECTIONAL


def _verbless(t: Token) -> bool:
    return t.cat == PREP and t.surface != "over"


def _pronoun_end(tokens: list[Token], i: int) -> int | None:
    """The index just past a pronoun at i ('it', 'them', or 'that one' / 'this one'), else None."""
    if i < len(tokens) and tokens[i].cat == PRON:
        return i + 1
    if i + 1 < len(tokens) and tokens[i].surface in ("that", "this") and tokens[i + 1].cat == NOUN \
            and tokens[i + 1].value == (None, "one"):
        return i + 2
    return None


def _simple_np(tokens: list[Token]) -> bool:
    """A plain noun phrase: determiners, colours and one noun ('the red bowl', 'plate')."""
    return sum(t.cat == NOUN for t in tokens) == 1 and all(t.cat in (DET, COLOR, NOUN, FILL) for t in tokens)


def _place_before_object(rest: list[Token]) -> list[Token]:
    """'put on the plate the red cup' / 'put in bowl red cup': after a place verb, a plain place phrase
    then a plain object phrase -> the object first. Both must be plain noun phrases, so nothing is dropped."""
    if not rest or rest[0].cat != PREP:
        return rest
    j = next((i for i, t in enumerate(rest) if t.cat == NOUN), None)
    if j is None or j + 1 >= len(rest) or rest[j + 1].cat not in (DET, COLOR):
        return rest
    obj = rest[j + 1:]
    if _simple_np(rest[1:j + 1]) and _simple_np(_strip(obj)):
        return obj + rest[:j + 1]
    return rest


def _postposed_colour(tokens: list[Token]) -> list[Token]:
    """'the cup red put in the bowl', 'pick up the cube yellow': a colour right after a kind noun and before
    a verb, a place or the end is that noun's colour (word order of other languages)."""
    out = list(tokens)
    for i in range(len(out) - 1):
        t, c = out[i], out[i + 1]
        after = out[i + 2].cat if i + 2 < len(out) else None
        before = out[i - 1].cat if i else None
        if t.cat == NOUN and c.cat == COLOR and t.value != (None, "one") \
                and after in (None, PICKV, PLACEV, GOV, PREP, ARROW, BREAK) \
                and before in (None, DET, PICKV, PLACEV, FILL, BREAK):
            out[i], out[i + 1] = c, t
    return out


def _appositive_colour(tokens: list[Token]) -> list[Token]:
    """'cup, red' / 'paper cup (yellow)' / 'glass orange': a lone colour after the head noun is the head's
    colour. Only in a phrase of just a noun and that colour (set off by a comma, or the bare pair), so a
    colour after a relation's object, or anywhere in a longer phrase, stays unused."""
    cols = [i for i, t in enumerate(tokens) if t.cat == COLOR]
    if len(cols) != 1 or any(t.cat in (REL, BETWEEN, SEL, ORD, LAST) for t in tokens):
        return tokens
    # "the box, the red one": the generic 'one' after the colour is the head noun again
    c = cols[0]
    if c + 1 < len(tokens) and tokens[c + 1].cat == NOUN and tokens[c + 1].value == (None, "one") \
            and all(t.cat in (DET, BREAK, FILL) for t in tokens[c + 2:]) and BREAK in [t.cat for t in tokens[:c]]:
        tokens = tokens[:c + 1] + tokens[c + 2:]
    c = cols[0]
    nouns = [i for i, t in enumerate(tokens[:c]) if t.cat == NOUN]
    if not nouns or any(t.cat not in (BREAK, FILL) for t in tokens[c + 1:]):
        return tokens
    if tokens[c - 1].cat != BREAK and any(t.cat not in (NOUN, DET, FILL, BREAK, COLOR) for t in tokens):
        return tokens
    n = nouns[0]
    return tokens[:n] + [tokens[c]] + [t for t in tokens[n:c] if t.cat != BREAK]


_PLACE_SHAPES = frozenset({"plate", "bowl"})
_HAVING = frozenset({"with", "have", "has", "having"})
_GOAL_MODALS = frozenset({"should", "must", "will", "would", "make sure", "make sure that", "ensure that", "make it so",
                          "make it so that", "i want", "want", "need", "needs"})


def _next_break(tokens: list[Token], start: int = 0) -> int | None:
    """Index of the first sentence break at or after start, None when there is none."""
    return next((k for k in range(start, len(tokens)) if tokens[k].cat == BREAK), None)


def _discourse(tokens: list[Token]) -> list[Token]:
    """Sentences that refer to each other, rewritten as one request:
    - 'see the cups? take the red one': a plural introduced first gives a later 'one' its kind;
    - 'see the red cup? take it' / 'look for the red cup. put it in the bowl': the introduction is the
      object a later pronoun refers to (the verb 'see' itself goes);
    - 'the red cup. it goes in the bowl' / 'take the cup, it goes ...': a pronoun right after a sentence
      break that starts a 'goes' clause is the object just named;
    - 'it's the red cup that goes in the bowl': a cleft is the plain sentence;
    - 'the plate should end up with the red cup on it': the object goes onto the subject.
    Anything else is left as it is, for the parser to read or refuse."""
    lead = 0
    while lead < len(tokens) and tokens[lead].cat in (FILL, BREAK):
        lead += 1
    if lead < len(tokens) and tokens[lead].cat == INTRO:
        brk = _next_break(tokens, lead + 1)
        if brk is not None:
            intro, rest = tokens[lead + 1:brk], tokens[brk + 1:]
            nouns = [t for t in intro if t.cat == NOUN]
            ones = [i for i, t in enumerate(rest) if t.cat == NOUN and t.value == (None, "one")]
            if len(nouns) == 1 and _is_plural(nouns[0]) and all(t.cat in (NOUN, DET, FILL) for t in intro) \
                    and len(ones) == 1 and next(i for i, t in enumerate(rest) if t.cat == NOUN) == ones[0]:
                n = nouns[0]
                rest = [Token(NOUN, n.value, f"{t.surface} ({n.surface})") if i == ones[0] else t
                        for i, t in enumerate(rest)]
                tokens = tokens[:lead] + rest
            elif any(t.cat == PRON for t in rest):
                tokens = tokens[:lead] + tokens[lead + 1:]
    # dev6: a question that names the object first: "is it the blue cup? yes, put it on the plate"
    # (and the statement "i guess it's the blue cup? move it ...")
    if lead < len(tokens) and tokens[lead].cat == PRON and tokens[lead].surface == "it" and (
            (lead and tokens[lead - 1].surface in ("is", "was") and all(t.cat == FILL for t in tokens[:lead]))
            or (lead + 1 < len(tokens) and tokens[lead + 1].surface in ("is", "was"))):
        brk = _next_break(tokens, lead + 1)
        if brk is not None and _names_object(tokens[lead + 1:brk]) and any(t.cat == PRON for t in tokens[brk:]) \
                and all(t.cat in (DET, FILL) or t.cat in _OBJECT_CATS for t in tokens[lead + 1:brk]):
            tokens = tokens[:lead] + tokens[lead + 1:]
    # a pronoun subject after a break: "the red cup. it goes in the bowl"
    out: list[Token] = []
    for i, t in enumerate(tokens):
        if t.cat == PRON and out and out[-1].cat == BREAK and _names_object(out[:-1]) \
                and not any(x.cat in (PREP, ARROW, GOV, RARROW) for x in out) \
                and next((x.cat for x in tokens[i + 1:] if x.cat != FILL), None) == GOV:
            out.pop()
            continue
        out.append(t)
    tokens = out
    # a pseudo-cleft: "the red cup is what to pick (up)" -> "pick up the red cup"
    w = next((i for i, t in enumerate(tokens) if t.cat == UNKNOWN and t.surface == "what"), None)
    if w is not None and 0 < w < len(tokens) - 1 and tokens[w - 1].surface == "is" and _names_object(tokens[:w - 1]):
        k = w + 1
        while k < len(tokens) and tokens[k].cat == FILL:
            k += 1
        if k < len(tokens) and tokens[k].cat in (PICKV, PLACEV):
            tokens = [tokens[k]] + tokens[:w - 1] + tokens[k + 1:]
    # a cleft: "it is the red cup that goes in the bowl"
    if len(tokens) > 3 and tokens[0].cat == PRON and tokens[0].surface == "it" and tokens[1].surface == "is":
        that = next((i for i, t in enumerate(tokens) if t.surface in ("that", "which") and t.cat == FILL), None)
        if that is not None and that + 1 < len(tokens) and tokens[that + 1].cat in (GOV, PICKV, PLACEV) \
                and _names_object(tokens[2:that]):
            tokens = tokens[2:that] + tokens[that + 1:]
    # "I'd like to end up with the red cup in the bowl": the 'with' object goes to the place
    g = next((i for i, t in enumerate(tokens) if t.cat == GOV), None)
    if g is not None and g + 1 < len(tokens) and tokens[g + 1].surface == "with" and not _names_object(tokens[:g]) \
            and not any(t.cat == PRON for t in tokens[g + 2:]):
        tokens = tokens[:g] + tokens[g + 2:]
    # the place as the subject: "the plate should end up with the red cup on it"
    if len(tokens) > 4 and tokens[-1].cat == PRON and tokens[-2].cat == PREP \
            and not any(t.cat in (PICKV, PLACEV, ARROW) for t in tokens):
        have = [i for i, t in enumerate(tokens[:-2]) if t.cat == FILL and t.surface in _HAVING]
        if have:
            h = have[-1]
            subject, obj = tokens[:h], tokens[h + 1:-2]
            gov = [t for t in subject if t.cat == GOV]
            subject = [t for t in subject if t.cat != GOV]
            # a goal, not a description ('the cup with the ball on it'): a 'goes' word, or 'should/must have'
            goal = bool(gov) or (tokens[h].surface != "with" and any(
                t.cat == FILL and t.surface in _GOAL_MODALS for t in tokens[:h]))
            if goal and _names_object(subject) and _names_object(obj) and not any(t.cat == PRON for t in subject + obj):
                tokens = obj + (gov[:1] or [Token(ARROW, None, tokens[h].surface)]) + [tokens[-2]] + subject
    return tokens


# dev6: what a reason or a remark may hold and still say nothing about which object or where: no colour,
# position, place phrase, verb or count; no condition or contrast word ("only if", "unless", "but")
_REMARK_CATS = frozenset({UNKNOWN, FILL, DET, PRON, NOUN, AND, SPOT, RELCL})
_NOT_IN_REMARK = frozenset({"if", "only", "unless", "until", "when", "after", "before", "instead", "also", "too",
                            "but", "or", "except", "then", "first", "next", "once", "while",
                            # a retraction or correction is no reason: "..., i changed my mind", "i mean ..."
                            "wait", "sorry", "actually", "mean", "meant", "mind", "cancel", "stop", "forget",
                            "scratch", "nevermind", "wrong", "mistake", "kidding", "joking", "undo", "ignore",
                            "rather", "correction", "oops", "no",
                            # more objects than the one named: "..., i need them all", "it as well"
                            "all", "both", "every", "each", "everything", "another", "other", "others", "more",
                            "else", "again", "as", "well", "rest"})
# what says how the object should end up ("so that it is upright", "i want it upside down", "it should face
# left"): a wish or a modal about the object is part of the request, not a reason for it
_WISH = frozenset({"want", "wants", "like", "prefer", "need", "needs", "wish", "expect"})
_OBJECT_MODALS = frozenset({"should", "must", "needs", "need", "has", "have", "will", "would", "ought", "shall",
                            "could", "can", "may", "might", "better", "gotta", "wants"})
_REASON_MARKS = frozenset({"because", "cause", "since", "coz", "cuz", "bc"})
_FIRST_PERSON = frozenset({"i", "i'm", "we", "i've", "we've", "i'll", "we'll", "i'd"})
_PREDICATE_COPULA = frozenset({"is", "are", "looks", "seems", "was"})


def _remark(tokens: list[Token], allow: frozenset[str] = _REMARK_CATS) -> bool:
    """Whether the words say nothing about which object, where, or how it should end up."""
    if not tokens or not all(t.cat in allow and t.surface not in _NOT_IN_REMARK for t in tokens):
        return False
    for k, t in enumerate(tokens):
        if t.cat != PRON:
            continue
        if k + 1 < len(tokens) and tokens[k + 1].surface in _OBJECT_MODALS:
            return False        # "it should be upright"
        if k + 1 < len(tokens) and any(x.surface in _WISH for x in tokens[:k]):
            return False        # "i want it upside down" ("because i need it" says no more)
    return True


def _as_filler(tokens: list[Token]) -> list[Token]:
    return [Token(FILL, None, t.surface) for t in tokens]


def _reasons(tokens: list[Token]) -> list[Token]:
    """Reasons and context around a request say why, not what or where, so their words are filler:
    - a reason clause up to the next break: 'put the cup in the bowl because I need the table clear',
      'since the bowl is empty, put ...', '... so that the table is clear';
    - a first-person remark before the request: "I'm tidying up, so put ...", "we're setting the table: ...";
    - a remark about the object, which a later pronoun names: 'the red cup is dirty, so put it in the bowl'
      -> 'the red cup, put it in the bowl'.
    A reason or remark that holds a colour, a position, a place phrase, a verb (other than an -ing form in a
    first-person remark), a negation or a condition ('only if') is no mere reason: it stays for the parser,
    which refuses its words."""
    out = list(tokens)
    i = 0
    while i < len(out):
        t = out[i]
        leading = all(x.cat in (FILL, BREAK) for x in out[:i])
        start = i + 1 if t.cat == UNKNOWN and (t.surface in _REASON_MARKS or (leading and t.surface == "as")) else \
            i + 2 if t.surface == "so" and i + 1 < len(out) and out[i + 1].surface == "that" else None
        if start is None:
            i += 1
            continue
        brk = _next_break(out, start)
        end = len(out) if brk is None else brk
        purpose = t.surface == "so"   # "so that it is upright": how it should end up, unless no pronoun
        if _remark(out[start:end]) and (not leading or end < len(out)) and (leading or i > 0) \
                and not (purpose and any(x.cat == PRON for x in out[start:end])):
            out[i:end] = _as_filler(out[i:end])
        i = end
    # a first-person remark before the request
    brk = _next_break(out)
    if brk is not None and out and out[0].surface in _FIRST_PERSON:
        clause = [x for x in out[:brk] if not (x.cat in (PICKV, PLACEV) and x.surface.endswith("ing"))]
        rest = [x for x in out[brk + 1:] if x.cat not in (FILL, BREAK)]
        if _remark(clause, _REMARK_CATS - {NOUN, PRON}) and rest and (
                rest[0].cat in (PICKV, PLACEV) or any(x.cat == GOV for x in rest)):
            out[:brk] = _as_filler(out[:brk])
    # a remark after the request: "put the cup in the bowl, it's dirty", "grab the cup, i need it" (a pronoun
    # or 'i'/'we' as its subject; no noun: ', that one' still points at something)
    brk = max((k for k, x in enumerate(out) if x.cat == BREAK), default=None)
    if brk is not None and brk + 2 < len(out) and any(x.cat in (PICKV, PLACEV, GOV, ARROW) for x in out[:brk]) \
            and (out[brk + 1].cat == PRON or out[brk + 1].surface in _FIRST_PERSON) \
            and _remark(out[brk + 1:], _REMARK_CATS - {NOUN}):
        out[brk + 1:] = _as_filler(out[brk + 1:])
    # a remark about the object: 'NP is PRED, (so) VERB ... PRONOUN ...' (or 'NP needs washing, ...')
    np_end = next((k for k, x in enumerate(out) if x.cat not in (DET,) and x.cat not in _OBJECT_CATS), len(out))
    cop = np_end if np_end < len(out) and (out[np_end].surface in _PREDICATE_COPULA or (
        out[np_end].cat == UNKNOWN and out[np_end].surface.endswith("s") and not out[np_end].surface.endswith("ss"))
        or out[np_end].surface in ("has", "needs", "need", "have")) else None
    if cop is not None and cop > 0 and _names_object(out[:cop]) \
            and all(x.cat in (DET, FILL) or x.cat in _OBJECT_CATS for x in out[:cop]):
        brk = next((k for k in range(cop + 1, len(out)) if out[k].cat == BREAK or out[k].surface == "so"), None)
        if brk is not None:
            pred = out[cop + 1:brk]
            # a preposition only where nothing follows it to name a place ('in the way', not 'on the plate')
            p = next((k for k, x in enumerate(pred) if x.cat == PREP), None)
            pred_ok = _remark([x for x in pred if x.cat != PREP]) and (p is None or not any(
                x.cat == NOUN for x in pred[p:]))
            rest = out[brk:]
            verb = next((x for x in rest if x.cat not in (FILL, BREAK)), None)
            if pred_ok and verb is not None and verb.cat in (PICKV, PLACEV) and any(x.cat == PRON for x in rest):
                out = out[:cop] + _as_filler(out[cop:brk]) + [Token(BREAK, None, ",")] + rest
    return out


def _bare_destination(tokens: list[Token]) -> tuple[list[Token], list[Token]] | None:
    """'red cup... bowl', 'the blue cup -- the plate': two noun phrases set apart by a break, the second a
    bare plate or bowl, say where the first goes (as '->' does). Only a bare support noun phrase qualifies,
    so an appositive ('the cup, the red one') or a second object stays for the parser to refuse."""
    brks = [i for i, t in enumerate(tokens) if t.cat == BREAK]
    if not brks:
        return None
    k = brks[-1]
    first, second = _strip(tokens[:k]), _strip(tokens[k + 1:])
    nouns = [t for t in second if t.cat == NOUN]
    if not first or not _names_object(first) or len(nouns) != 1 \
            or any(t.cat not in (DET, COLOR, NOUN, FILL) for t in second) \
            or not (nouns[0].value[0] in _PLACE_SHAPES or nouns[0].value[1] in CONTAINER_NOUNS):  # type: ignore[index]
        return None
    if any(t.cat == NOUN and t.value[0] in _PLACE_SHAPES for t in first):  # type: ignore[index]
        return None       # "the plate, the bowl": which goes where is not said
    return first, [Token(PREP, "to", tokens[k].surface)] + second


_GROUP_LEADS = frozenset({"of the", "of all", "among the", "out of the", "out of all", "among", "of", "from"})
_LOCATED = frozenset({"sits", "rests", "stands", "lies", "is", "ends up", "lands", "goes"})


def _errands(tokens: list[Token]) -> list[Token]:
    """'go pick up the cup', 'go and grab it', 'come and take the ball': an errand verb right before the
    verb at the start of a clause says nothing about what or where."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.surface in ("go", "come") and (not out or out[-1].cat in (FILL, BREAK)):
            j = i + 1 + (i + 2 < len(tokens) and tokens[i + 1].surface == "on" and tokens[i + 2].cat == AND)
            j += j < len(tokens) and tokens[j].cat == AND
            if j < len(tokens) and tokens[j].cat in (PICKV, PLACEV) and tokens[j].value != PASSIVE:
                i = j
                continue
        out.append(t)
        i += 1
    return out


def _place_clauses(tokens: list[Token]) -> list[Token]:
    """A place said as a clause: 'put the cup where the plate is' (-> to the plate), 'place the cup so (that)
    it sits on the plate' (-> on the plate). Only a plain noun phrase between 'where' and 'is', only a
    pronoun and a verb of being located before the place's preposition; anything else stays to be refused."""
    out = list(tokens)
    w = next((i for i, t in enumerate(out) if t.cat == UNKNOWN and t.surface == "where"), None)
    if w is not None and (w == 0 or out[w - 1].cat != SRC):
        end = next((k for k in range(w + 1, len(out)) if out[k].cat == FILL and out[k].surface in ("is", "are")), None)
        if end is not None and end > w + 1 and _simple_np(out[w + 1:end]) and _names_object(out[w + 1:end]):
            lead = [] if w and out[w - 1].cat == PREP else [Token(PREP, "to", "where")]
            out = out[:w] + lead + out[w + 1:end] + out[end + 1:]
    for i, t in enumerate(out):
        if t.cat == FILL and t.surface == "so":
            j = i + 1 + (i + 1 < len(out) and out[i + 1].surface == "that")
            if j + 2 < len(out) and out[j].cat == PRON and out[j].surface == "it" \
                    and out[j + 1].surface in _LOCATED and out[j + 2].cat == PREP:
                return out[:i] + out[j + 2:]
    return out


def _held_tail(tokens: list[Token]) -> list[Token]:
    """'pick up the cup and hold it', '... and lift it up': a second pick verb on the same object at the end
    of a pick-only instruction is the same pick (the robot ends holding it)."""
    if any(t.cat in (PLACEV, GOV, ARROW, PREP) for t in tokens):
        return tokens
    k = len(tokens)
    while k and tokens[k - 1].cat == FILL:
        k -= 1
    if k >= 3 and tokens[k - 1].cat == PRON and tokens[k - 1].surface == "it" \
            and tokens[k - 2].cat == PICKV and tokens[k - 2].value != PASSIVE and tokens[k - 3].cat in (AND, THEN) \
            and any(t.cat == PICKV for t in tokens[:k - 3]) and all(t.surface == "up" for t in tokens[k:]):
        return tokens[:k - 3]
    return tokens


def _than_rest(tokens: list[Token]) -> list[Token]:
    """'bigger than the others' is the biggest: kept only right after a comparative ('-er') size word and,
    when it names the rest's kind ('than the other cups'), with a head noun of that kind; else refused."""
    out = list(tokens)
    for i, t in enumerate(out):
        if t.cat != THAN:
            continue
        prev = out[i - 1] if i else None
        kinds = {x.value[0] for x in out[:i] if x.cat == NOUN and isinstance(x.value, tuple)}
        if prev is not None and prev.cat == SEL and prev.surface.endswith("er") \
                and (t.value is None or kinds == {t.value}):
            out[i] = Token(FILL, None, t.surface)
    return out


def _fronted_group(tokens: list[Token]) -> list[Token]:
    """'of the mugs, take the leftmost one', 'among the cubes, pick the red one': the group named before the
    verb is read as part of the object phrase ('take of the mugs, the leftmost one'), as the verbless
    'of the three mugs, the one in the middle' already is."""
    brk = _next_break(tokens)
    if brk is None or brk < 2 or tokens[0].surface not in _GROUP_LEADS:
        return tokens
    head = tokens[:brk]
    nouns = [t for t in head if t.cat == NOUN]
    if len(nouns) != 1 or not _is_plural(nouns[0]) or not all(t.cat in (FILL, SRC, DET, COUNT, COLOR, NOUN)
                                                             for t in head):
        return tokens
    v = brk + 1
    while v < len(tokens) and tokens[v].cat == FILL:
        v += 1
    if v < len(tokens) and tokens[v].cat in (PICKV, PLACEV) and tokens[v].value != PASSIVE:
        return [tokens[v]] + [t for t in head if t.cat != SRC] + [tokens[brk]] + tokens[v + 1:]
    return tokens


_SEQUENCE_LEADS = frozenset({"after", "once", "when", "as soon as"})
_CENTRE = frozenset({"in the middle", "in the centre", "in the center", "in the very middle", "in the very centre",
                     "at the centre", "at the center", "at the middle"})


def _sequence(tokens: list[Token]) -> list[Token]:
    """'after picking up the cup, put it in the bowl', 'once you have the cup, put it ...': a subordinate clause
    that holds the object, then the place verb with 'it' (the same object) -> 'pick up the cup and put it ...'.
    A second clause about another object or another pick ('once you have X, put Y ...') is left to be refused."""
    if not tokens or tokens[0].surface not in _SEQUENCE_LEADS:
        return tokens
    brk = _next_break(tokens)
    if brk is None or brk + 2 >= len(tokens) or tokens[brk + 1].cat != PLACEV or tokens[brk + 2].cat != PRON \
            or tokens[brk + 2].surface != "it":
        return tokens
    k = 1
    while k < brk and tokens[k].cat == FILL and tokens[k].surface in ("you", "have", "'ve", "you've", "got"):
        k += 1
    has_verb = tokens[k].cat == PICKV    # "after picking up", "once you've grabbed" (a participle after 'have')
    verb = Token(PICKV, "pick up", f"{tokens[0].surface} {tokens[k].surface}" if has_verb else tokens[0].surface)
    obj = tokens[k + 1:brk] if has_verb else tokens[k:brk]
    if not _names_object(obj) or any(t.cat in (PICKV, PLACEV, GOV, PREP, ARROW, PRON, UNKNOWN) for t in obj):
        return tokens
    return [verb, *obj, Token(AND, None, ","), *tokens[brk + 1:]]


def _tasks_and_steps(tokens: list[Token]) -> list[Token]:
    """'help me put ...', 'time to grab ...', 'step 1: put ...' where a clause starts, before a verb: framing.
    A second step ('step 2: ...') leaves the words to be refused."""
    out = list(tokens)
    steps = [i for i, t in enumerate(out) if t.surface == "step"]
    if len(steps) == 1 and steps[0] == 0 and len(out) > 3 and out[1].surface in ("1", "one") and out[2].cat == BREAK:
        out = out[3:]
    for lead in (("help", "me", "out", "and"), ("help", "me"), ("time", "to")):
        n = len(lead)
        if tuple(t.surface for t in out[:n]) == lead and len(out) > n and out[n].cat in (PICKV, PLACEV):
            out = out[n:]
    return out


def _centre_of_place(tokens: list[Token]) -> list[Token]:
    """'put the cup in the centre of the bowl': after a place verb, 'in the middle/centre of' + a noun is the place
    (with a pick verb alone it stays the ordering 'in the middle', which the resolver reads or refuses)."""
    v = next((i for i, t in enumerate(tokens) if t.cat in (PLACEV, GOV)), None)
    if v is None:
        return tokens
    for i in range(v + 1, len(tokens) - 2):
        t, of = tokens[i], tokens[i + 1]
        if t.cat == SEL and t.surface in _CENTRE and of.cat == FILL and of.surface in ("of the", "of"):
            return tokens[:i] + [Token(PREP, "to", f"{t.surface} {of.surface}")] + tokens[i + 2:]
    return tokens


def _fronted_count(tokens: list[Token]) -> list[Token]:
    """'count from the left and take the second cup', 'starting on the left, put the third cup ...': a side to
    count from, said before the verb, belongs to the ordinal in the object phrase (moved right after its noun).
    Without an ordinal after it, it stays where it is, to be refused."""
    if len(tokens) < 3 or tokens[0].cat != FROMSIDE or tokens[1].cat not in (BREAK, AND, THEN):
        return tokens
    v = 2
    while v < len(tokens) and tokens[v].cat == FILL:
        v += 1
    if v >= len(tokens) or tokens[v].cat not in (PICKV, PLACEV):
        return tokens
    rest = tokens[v:]
    o = next((i for i, t in enumerate(rest) if t.cat in (ORD, LAST)), None)
    if o is None:
        return tokens
    n = next((i for i in range(o + 1, len(rest)) if rest[i].cat == NOUN), None)
    if n is None or any(t.cat in (PREP, REL, PLACEV, GOV, ARROW, FROMSIDE) for t in rest[o:n]):
        return tokens
    return rest[:n + 1] + [tokens[0]] + rest[n + 1:]


def _everyday_rewrites(tokens: list[Token]) -> list[Token]:
    """The dev8 and dev7 sentence rules, before reasons and discourse are read (each leaves what it does
    not recognise as it was, to be read or refused later)."""
    tokens = _fronted_count(_centre_of_place(_tasks_and_steps(_sequence(tokens))))   # dev8
    return _fronted_group(_than_rest(_held_tail(_place_clauses(_errands(tokens)))))   # dev7


_MISPLACED_AUX = frozenset({"does", "do", "is"})
_MISPLACED_NEG = frozenset({"doesn't", "don't", "isn't", "not"})
# what the negated words may say: where the object is now is not where it goes
_MISPLACED_SAYINGS = frozenset({(*verb, here) for verb in (("belong",), ("go",), ("supposed", "to", "be"))
                                for here in ("here", "there")})


def _misplaced_remark(tokens: list[Token]) -> list[Token]:
    """'the green block doesn't belong here, move it into the bowl' -> 'the green block, move it ...': a
    negation that says where the named object is not wanted now, followed by a request for it (a verb and a
    pronoun), is a reason, not an exclusion. Only this shape: NP + (does) not + belong/go here|there or
    (is not) supposed to be here|there, then a break; every other negation is refused as before."""
    k = next((i for i, t in enumerate(tokens) if t.cat == NEG), None)
    if k is None or k == 0:
        return tokens
    j = k - 1 if tokens[k - 1].cat == UNKNOWN and tokens[k - 1].surface in _MISPLACED_AUX else k
    np_ = tokens[:j]
    if tokens[k].surface not in _MISPLACED_NEG or not _names_object(np_) \
            or not all(t.cat == DET or t.cat in _OBJECT_CATS for t in np_):
        return tokens
    brk = _next_break(tokens, k)
    if brk is None or tuple(t.surface for t in tokens[k + 1:brk]) not in _MISPLACED_SAYINGS:
        return tokens
    rest = [t for t in tokens[brk + 1:] if t.cat not in (FILL, BREAK)]
    if not rest or rest[0].cat not in (PICKV, PLACEV) or not any(t.cat == PRON for t in rest) \
            or any(t.cat == NEG for t in rest):
        return tokens
    return tokens[:j] + _as_filler(tokens[j:brk]) + tokens[brk:]


def _refuse_structure(words: list[str], why: str, instruction: str) -> GroundingError:
    return GroundingError(f"cannot use {' '.join(words)!r} {why} in '{instruction.strip()}'; "
                          "start with what to do (e.g. 'pick the red cup')")


def parse_instruction(instruction: object, default_viewpoint: str = "camera") -> ParsedInstruction:
    """The structured parse of a whole instruction, or GroundingError naming what it cannot use."""
    raw = bounded_text(instruction)
    tokens = tokenize(raw)
    if len(tokens) > MAX_TOKENS:
        raise GroundingError(f"the instruction has {len(tokens)} words; at most {MAX_TOKENS} are accepted")
    tokens = _misplaced_remark(tokens)
    neg = [t.surface for t in tokens if t.cat == NEG]
    if neg:
        raise GroundingError(f"'{raw.strip()}' contains a negation or exclusion ({', '.join(dict.fromkeys(neg))}); "
                             "name the object to pick positively (e.g. 'pick the blue cup')")
    n_rel = sum(t.cat in (REL, BETWEEN) for t in tokens)
    if n_rel > MAX_RELATIONS:
        raise GroundingError(f"the instruction chains {n_rel} spatial relations; at most {MAX_RELATIONS} are accepted")
    if not any(t.cat in _OBJECT_CATS for t in tokens):
        raise GroundingError(f"'{raw.strip()}' names no object to pick (no colour, noun or position)")
    tokens = _discourse(_reasons(_everyday_rewrites(tokens)))
    unknown = [t.surface for t in tokens if t.cat in (UNKNOWN, INTRO, THAN)]
    if unknown:
        raise GroundingError(f"cannot use the word(s) {', '.join(repr(w) for w in dict.fromkeys(unknown))} in "
                             f"'{raw.strip()}'; refusing rather than ignoring part of the instruction")
    views = [t for t in tokens if t.cat == VIEW]
    if len({t.value for t in views}) > 1:
        raise GroundingError(f"'{raw.strip()}' states two viewpoints ({', '.join(t.surface for t in views)}); "
                             "say one")
    viewpoint = str(views[0].value) if views else default_viewpoint
    view_words = ", ".join(dict.fromkeys(t.surface for t in views)) or None
    tokens = [t for t in tokens if t.cat != VIEW]
    tokens = _strip(tokens)
    # place-first: "onto the plate, the red cup" / "into the bowl, put the red cup" -> the place goes last
    if tokens and tokens[0].cat in (PREP, REL):
        brk = _next_break(tokens)
        if brk is not None and _names_object(tokens[:brk]) and _names_object(tokens[brk + 1:]):
            tokens = _strip(tokens[brk + 1:]) + tokens[:brk]
        elif tokens[0].cat == PREP:   # "into the bowl put the red cup": the place, then the verb
            v = next((i for i, t in enumerate(tokens) if t.cat == PLACEV), None)
            if v is not None and _simple_np(tokens[1:v]) and _names_object(tokens[v + 1:]) \
                    and not any(t.cat in (PREP, REL, PLACEV, PICKV) for t in tokens[v + 1:]):
                tokens = tokens[v:] + tokens[:v]
    tokens = _postposed_colour(tokens)
    rarrow = [i for i, t in enumerate(tokens) if t.cat == RARROW]
    if rarrow:   # "tray <- red mug": the object after the arrow goes to the place before it
        r = rarrow[0]
        if len(rarrow) > 1 or not _names_object(tokens[:r]) or not _names_object(tokens[r + 1:]) \
                or any(t.cat in (PICKV, PLACEV, ARROW, GOV) for t in tokens):
            raise _refuse_structure([t.surface for t in tokens[:r + 1]], "around '<-'", raw)
        tokens = _strip(tokens[r + 1:]) + [Token(ARROW, None, "<-")] + _strip(tokens[:r])
    verbs = [i for i, t in enumerate(tokens) if t.cat in (PICKV, PLACEV)]
    verb_words: list[str] = []
    # object-first with a verb later: "the red cup, put it in the bowl" -> the pronoun is the fronted object
    if verbs and any(t.cat in _OBJECT_CATS for t in tokens[:verbs[0]]) and tokens[0].cat not in (PICKV, PLACEV):
        v = verbs[0]
        after = v + 1
        while after < len(tokens) and tokens[after].cat == FILL and tokens[after].surface != "that":
            after += 1
        end = _pronoun_end(tokens, after)
        if end is not None:
            fronted = _strip(tokens[:v])
            tokens = [tokens[v]] + fronted + tokens[end:]
            verbs = [i for i, t in enumerate(tokens) if t.cat in (PICKV, PLACEV)]
        elif tokens[v].cat == PICKV and tokens[v].value == PASSIVE:
            tokens = [tokens[v]] + _strip(tokens[:v]) + tokens[v + 1:]   # "the cup is to be picked up"
            verbs = [i for i, t in enumerate(tokens) if t.cat in (PICKV, PLACEV)]
        elif tokens[v].cat == PLACEV and len(verbs) == 1 and v + 1 < len(tokens) and tokens[v + 1].cat == PREP \
                and _simple_np(_strip(tokens[:v])):
            # "the red cup put in the bowl": a plain object, a bare place verb, the place (as 'goes')
            tokens = _strip(tokens[:v]) + [Token(ARROW, None, tokens[v].surface)] + tokens[v + 1:]
            verbs = []
        elif tokens[v].cat == PICKV and len(verbs) == 1 and all(t.cat in (FILL, BREAK) for t in tokens[v + 1:]):
            tokens = [tokens[v]] + _strip(tokens[:v])       # "box, red, pick up": the verb comes last
            verbs = [0]
        else:
            raise _refuse_structure([t.surface for t in tokens[:v]], "before the verb", raw)
    place_tokens: list[Token] | None = None
    if verbs:
        v = verbs[0]
        prefix = [t for t in tokens[:v] if t.cat not in (FILL, DET)]
        if prefix:
            raise _refuse_structure([t.surface for t in prefix], "before the verb", raw)
        verb = tokens[v]
        verb_words.append(verb.surface)
        rest = tokens[v + 1:]
        if verb.cat == PLACEV:
            rest = _place_before_object(rest)
        later = [i for i, t in enumerate(rest) if t.cat == PLACEV]
        arrow = [i for i, t in enumerate(rest) if t.cat in (ARROW, GOV)]
        if verb.cat == PICKV and later:
            k = later[0]
            verb_words.append(rest[k].surface)
            pick_tokens, place_tokens = rest[:k], rest[k + 1:]
        elif arrow:
            verb_words.append(rest[arrow[0]].surface)
            pick_tokens, place_tokens = rest[:arrow[0]], rest[arrow[0] + 1:]
        else:
            split = _split_place(rest, _after_place_verb if verb.cat == PLACEV else _after_pick_verb)
            pick_tokens, place_tokens = split if split is not None else (rest, None)
        if verb.cat == PLACEV and place_tokens is None:
            raise GroundingError(f"'{raw.strip()}' says {verb.surface!r} but names no place to put it "
                                 "(e.g. '... on the plate')")
    else:
        arrow = [i for i, t in enumerate(tokens) if t.cat in (ARROW, GOV)]
        if arrow:
            pick_tokens, place_tokens = tokens[:arrow[0]], tokens[arrow[0] + 1:]
            verb_words.append(tokens[arrow[0]].surface)
        else:
            split = _split_place(tokens, _verbless) or _bare_destination(tokens)
            pick_tokens, place_tokens = split if split is not None else (tokens, None)
    pick = parse_object(_appositive_colour(_strip(pick_tokens)))
    if pick.pronoun is not None:
        raise GroundingError(f"the pick phrase '{pick.text}' uses '{pick.pronoun}' with nothing it refers to; "
                             "name the object (e.g. 'put the blue cup on the red cup')")
    place = None
    if place_tokens is not None:
        place = parse_place(_strip(place_tokens) if place_tokens and place_tokens[0].cat != PRON else place_tokens)
        if place.reference.pronoun is not None:
            raise GroundingError(f"the place phrase '{place.text}' uses '{place.reference.pronoun}' with nothing it "
                                 "refers to; name the object (e.g. 'put the blue cup on the red cup')")
    action = "pick and place" if place is not None else "pick"
    return ParsedInstruction(pick, place, viewpoint, view_words, action, verb_words)


def _stacked_selectors(np_: ObjectPhrase) -> list[str]:
    """Two orderings in one phrase ('the leftmost biggest cup') have no single reading: applied in turn,
    the second would be vacuous. Their words, to refuse with."""
    out: list[str] = []
    for p in (np_, np_.reference, np_.reference2):
        if p is not None and len(p.selectors) > 1:
            out += [w for w, m in p.used if m.split()[0] in {k for k, _ in p.selectors}]
        if p is not np_ and p is not None:
            out += [w for w in _stacked_selectors(p) if w not in out]
    return out


def refuse_unused(np_: ObjectPhrase, role: str, instruction: str) -> None:
    """GroundingError naming the words a phrase could not use (or combines in no single reading)."""
    stacked = _stacked_selectors(np_)
    if stacked:
        raise GroundingError(f"the {role} phrase '{np_.text}' combines orderings "
                             f"({', '.join(repr(w) for w in dict.fromkeys(stacked))}) that have no single reading "
                             f"in '{instruction.strip()}'; say one (e.g. 'the biggest red cup')")
    unused = np_.all_unused()
    if unused:
        raise GroundingError(f"the {role} phrase '{np_.text}' has word(s) the grounder cannot use "
                             f"({', '.join(repr(w) for w in dict.fromkeys(unused))}) in '{instruction.strip()}'; "
                             "refusing rather than ignoring them")


def parse_object_text(phrase: str) -> tuple[ObjectPhrase, str | None]:
    """A lone noun phrase (and the viewpoint it states, if any), e.g. a phrase another grounder was given."""
    tokens = tokenize(bounded_text(phrase))[:MAX_TOKENS]
    views = [t for t in tokens if t.cat == VIEW]
    tokens = [t for t in tokens if t.cat != VIEW]
    return parse_object(_strip(tokens)), (str(views[0].value) if views else None)


def parse_place_text(phrase: str) -> PlacePhrase:
    tokens = [t for t in tokenize(bounded_text(phrase))[:MAX_TOKENS] if t.cat != VIEW]
    return parse_place(tokens)


# ---- canonical rendering (the words the training templates use) ---------------------------------

# what each ordering is called in the training vocabulary (and in the resolver's and the check's messages)
SELECTOR_WORDS = {("size", "max"): "biggest", ("size", "min"): "smallest", ("width", "max"): "widest",
             ("width", "min"): "narrowest", ("height", "max"): "tallest",
             ("height", "min"): "shortest", ("depth", "near"): "closest", ("depth", "far"): "farthest",
             ("extreme", "left"): "leftmost", ("extreme", "right"): "rightmost", ("middle", "lr"): "middle"}
_BASE_WORDS = frozenset(set(SIZE_WORDS) | set(DEPTH_NEAR) | set(DEPTH_FAR) | {"leftmost", "rightmost", "middle"})
_BASE_NOUNS = frozenset({"cup", "mug", "can", "cylinder", "glass", "bottle", "box", "block", "cube", "brick", "ball",
                         "sphere", "orb", "plate", "dish", "saucer", "tray", "bowl", "basin", "object", "thing",
                         "item", "one"})
_ORD_WORD = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
_REL_WORD = {"left_of": "left of", "right_of": "right of", "in_front_of": "in front of", "behind": "behind",
             "next_to": "next to", STANDS_ON: "on"}


def canonical_object(np_: ObjectPhrase, viewpoint: str | None = None, used_words: bool = True) -> str:
    """'the <selector> <colour> <noun> [from the <side>] [<relation> the <reference>]' in the training
    vocabulary, so a learned text encoder sees the phrasing it was trained on."""
    noun = np_.noun if np_.noun in _BASE_NOUNS else BASE_NOUN.get(np_.shape or "", "object")
    head = [w for w in (np_.color, noun) if w]
    pre: list[str] = []
    post: list[str] = []
    surface = dict(reversed([(m, w) for w, m in np_.used]))
    for kind, arg in np_.selectors:
        if kind.startswith("ordinal_"):
            side = kind.split("_")[1]
            pre.append(_ORD_WORD.get(int(arg), str(arg)))
            post.append(f"from the {side}")
        elif kind.endswith("_rank"):   # "the second biggest cup"
            pre.append(_ORD_WORD.get(abs(int(arg)), str(abs(int(arg)))))
            pre.append(SELECTOR_WORDS.get((kind.removesuffix("_rank"), "max" if int(arg) > 0 else "min"), ""))
        elif kind.startswith("depth_"):
            pre.append("closest" if arg == "near" else "farthest")
            frame = kind.split("_")[1]
            if frame != viewpoint:   # said from another viewpoint: keep the distance's own frame explicit
                post.append(f"{'to' if arg == 'near' else 'away from'} the {frame}")
        else:
            w = surface.get(f"{kind} {arg}", "")
            pre.append(w if used_words and w in _BASE_WORDS else SELECTOR_WORDS.get((kind, str(arg)), w))
    out = ["the", *pre, *head, *post]
    if np_.relation == "between_two" and np_.reference is not None:
        out += ["between the two", canonical_object(np_.reference, viewpoint).removeprefix("the ") + "s"]
    elif np_.relation == "between" and np_.reference is not None and np_.reference2 is not None:
        out += ["between", canonical_object(np_.reference, viewpoint), "and", canonical_object(np_.reference2, viewpoint)]
    elif np_.relation is not None and np_.reference is not None:
        out += [_REL_WORD[np_.relation], canonical_object(np_.reference, viewpoint)]
    return " ".join(out)


def canonical_place(place: PlacePhrase, viewpoint: str | None = None) -> str:
    ref = canonical_object(place.reference, viewpoint)
    if place.kind in RELATIONS:
        word = {"left_of": "to the left of", "right_of": "to the right of"}.get(place.kind, _REL_WORD[place.kind])
        return f"{word} {ref}"
    return f"{'into' if place.kind == 'into' else 'on'} {ref}"


def known_words() -> frozenset[str]:
    """Every single word the lexicon reads somewhere, alone or inside a longer expression."""
    return frozenset(w for key in _LEX for w in key) | FILLER
