"""Instruction grounding: the built-in spatial reasoner.

Resolves an English instruction to a pick mark and a place target over Set-of-Mark proposals,
using colour, object noun (shape), size, position, depth, relations to other objects and an
explicit viewpoint. It never guesses: an instruction that fits no mark or several equally raises
GroundingError listing the candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from spatialbot_ros.core.colors import COLOR_NAMES
from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.instruction_parse import (
    FILLER,
    bounded_text,
    refuse_dangling_pronoun,
    refuse_deep_nesting,
    refuse_negation,
    refuse_unknown,
)
from spatialbot_ros.core.marks import Mark

NOUNS: dict[str, str | None] = {
    "cup": "cylinder", "cups": "cylinder", "mug": "cylinder", "mugs": "cylinder", "can": "cylinder",
    "cans": "cylinder", "cylinder": "cylinder", "cylinders": "cylinder", "glass": "cylinder", "bottle": "cylinder",
    "box": "box", "boxes": "box", "block": "box", "blocks": "box", "cube": "box", "cubes": "box", "brick": "box",
    "ball": "sphere", "balls": "sphere", "sphere": "sphere", "spheres": "sphere", "orb": "sphere",
    "plate": "plate", "plates": "plate", "dish": "plate", "saucer": "plate", "tray": "plate",
    "bowl": "bowl", "bowls": "bowl", "basin": "bowl",
    "object": None, "objects": None, "thing": None, "things": None, "item": None, "items": None, "one": None,
}
GRASPABLE_SHAPES = ("cylinder", "box", "sphere")
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "fifth": 5, "5th": 5, "sixth": 6, "6th": 6}
SIZE_WORDS = {
    "biggest": ("size", "max"), "largest": ("size", "max"), "bigger": ("size", "max"), "larger": ("size", "max"),
    "big": ("size", "max"), "large": ("size", "max"), "huge": ("size", "max"),
    "smallest": ("size", "min"), "smaller": ("size", "min"), "small": ("size", "min"), "little": ("size", "min"),
    "tiny": ("size", "min"), "littlest": ("size", "min"),
    "tallest": ("height", "max"), "taller": ("height", "max"), "tall": ("height", "max"), "highest": ("height", "max"),
    "shortest": ("height", "min"), "shorter": ("height", "min"), "short": ("height", "min"), "flattest": ("height", "min"),
    "lowest": ("height", "min"),
}

_PICK_VERBS = r"(?:pick\s+up|pick|grab|grasp|take|lift|get|fetch|seize|hold|collect)"
_PLACE_VERBS = r"(?:put|place|move|drop|set|bring|transfer|stack|carry|lay|position|deposit|leave|relocate|shift)"
_VIEWPOINTS = [
    (re.compile(r"\b(?:from|in)\s+(?:the\s+)?robot(?:'s)?\s+(?:view|perspective|point of view|side)\b|\bfrom\s+the\s+robot\b|\brobot's\b"), "robot"),
    (re.compile(r"\b(?:from|in)\s+(?:the\s+)?(?:camera(?:'s)?|my|your)\s+(?:view|perspective|point of view)\b|\bin\s+the\s+image\b|\bfrom\s+the\s+camera\b|\bcamera's\b|\bas\s+seen\s+in\s+the\s+image\b|\bas\s+i\s+see\s+it\b"), "camera"),
]
# relation phrases inside a noun phrase, longest first
_RELATIONS = [
    (r"to\s+the\s+left\s+of", "left_of"), (r"on\s+the\s+left\s+of", "left_of"), (r"left\s+of", "left_of"),
    (r"to\s+the\s+right\s+of", "right_of"), (r"on\s+the\s+right\s+of", "right_of"), (r"right\s+of", "right_of"),
    (r"in\s+front\s+of", "in_front_of"), (r"before", "in_front_of"),
    (r"behind", "behind"), (r"in\s+back\s+of", "behind"), (r"at\s+the\s+back\s+of", "behind"),
    (r"next\s+to", "next_to"), (r"beside", "next_to"), (r"near", "next_to"), (r"close\s+to", "next_to"),
    (r"by", "next_to"), (r"nearest\s+to", "next_to"), (r"closest\s+to", "next_to"),
]
_PLACE_PREPS = [
    (r"on\s+top\s+of", "on"), (r"onto", "on"), (r"on", "on"), (r"into", "into"), (r"inside", "into"),
    (r"in", "into"), (r"over", "on"), (r"to", "to"),
]

_DEPTH_NEAR = ("closest", "nearest", "front", "frontmost", "near", "closer", "nearer")
_DEPTH_FAR = ("farthest", "furthest", "back", "far", "rear", "farther", "further", "backmost", "distant")
_MIDDLE = ("middle", "center", "centre", "central")
# every word the grounder reads somewhere (verbs, viewpoint, relation and place words); a word outside
# this set and FILLER is refused by name rather than skipped
KNOWN_WORDS: frozenset[str] = frozenset(
    set(NOUNS) | set(COLOR_NAMES) | set(ORDINALS) | set(SIZE_WORDS) | set(_DEPTH_NEAR) | set(_DEPTH_FAR)
    | set(_MIDDLE) | set("""pick up grab grasp take lift get fetch seize hold collect put place move drop set bring
    transfer stack carry lay position deposit leave relocate shift from in robot robot's view perspective point of
    side camera camera's my your image as seen i see it them to left right on front before behind back at next
    beside near close by between two both and top onto into inside over spot area last leftmost rightmost
    then""".split()))

_OBJECT_WORDS = frozenset(set(NOUNS) | set(COLOR_NAMES) | set(ORDINALS) | set(SIZE_WORDS) | set(_DEPTH_NEAR)
                          | set(_DEPTH_FAR) | set(_MIDDLE) | {"left", "right", "leftmost", "rightmost", "last"})


@dataclass(frozen=True)
class GroundingConfig:
    default_viewpoint: str = "camera"   # "camera" (what the image shows) or "robot"
    place_offset_m: float = 0.12        # relative places: this far from the reference object's centre
    size_margin: float = 0.1            # superlatives need this relative difference to be unambiguous
    depth_margin_m: float = 0.02
    lr_margin: float = 0.0              # left/right orderings need this gap (normalised image x)
    nearest_margin_m: float = 0.02      # "the cup next to / left of X": the nearest must win by this

    def __post_init__(self) -> None:
        if self.default_viewpoint not in ("camera", "robot"):
            raise ValueError(f"grounding: default_viewpoint must be 'camera' or 'robot', not {self.default_viewpoint!r}")


RELATIONS = ("left_of", "right_of", "in_front_of", "behind", "next_to")


@dataclass(frozen=True)
class PlaceTarget:
    kind: str                            # "on", "into" or "relative"
    mark_id: int | None
    relation: str | None = None
    point_base: np.ndarray | None = None


@dataclass(frozen=True)
class Grounding:
    pick_mark_id: int
    place: PlaceTarget | None
    explanation: str
    pick_phrase: str = ""
    place_phrase: str = ""
    viewpoint: str = "camera"
    # (phrase, what it was used for), in instruction order: every content word of the instruction
    report: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _NounPhrase:
    text: str
    color: str | None = None
    shape: str | None = None
    noun: str | None = None
    selectors: list[tuple[str, str | int]] = field(default_factory=list)
    relation: str | None = None
    reference: _NounPhrase | None = None
    reference2: _NounPhrase | None = None   # "between X and Y"
    used: list[tuple[str, str]] = field(default_factory=list)   # (word(s), meaning) for the report
    unused: list[str] = field(default_factory=list)             # content words this phrase could not use

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


def _normalise(text: str) -> str:
    t = text.lower().replace("’", "'")
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def _strip_viewpoint(text: str, default: str) -> tuple[str, str]:
    for rx, vp in _VIEWPOINTS:
        if rx.search(text):
            return rx.sub(" ", text), vp
    return text, default


def _prefix_check(prefix: str) -> None:
    """Words before the verb ("could you ...") must be filler: anything else would be dropped."""
    dropped = [w for w in prefix.split() if w not in FILLER and not re.fullmatch(_PICK_VERBS + "|" + _PLACE_VERBS, w)]
    if dropped:
        raise GroundingError(f"cannot use {' '.join(dropped)!r} before the verb; start with what to do "
                             "(e.g. 'pick the red cup')")


def _split_at_place(rest: str, kinds: tuple[str, ...] | None = None) -> tuple[str, str] | None:
    """Split "X <place phrase>" at the last preposition with an object on both sides, so relations
    inside the pick phrase ("the cup left of the box on the plate") stay there. kinds: only these
    place-preposition patterns (not relations) may start the place phrase."""
    preps = [(rx, k) for rx, k in _PLACE_PREPS if kinds is None or rx in kinds]
    spans = [m.span() for rx, _ in _PLACE_PREPS + _RELATIONS for m in re.finditer(rf"\b{rx}\b", rest)
             if m.start() > 0]
    rel_starts = {m.start() for rx, _ in _RELATIONS for m in re.finditer(rf"\b{rx}\b", rest)}
    allowed = {m.start() for rx, _ in (preps if kinds is not None else _PLACE_PREPS + _RELATIONS)
               for m in re.finditer(rf"\b{rx}\b", rest) if m.start() > 0}
    if kinds is not None:
        allowed -= rel_starts
    starts = sorted({a for a, b in spans if a in allowed and not any(a2 < a < b2 for a2, b2 in spans)})
    for pos in reversed(starts):
        head, tail = rest[:pos].strip(), rest[pos:].strip()
        if _names_object(head) and _names_object(tail):
            return head, tail
    return None


def _split_pick_place(text: str) -> tuple[str, str]:
    """(pick phrase, place phrase) from a whole instruction; a place clause is never dropped."""
    place_m = re.match(rf"^(?:.*?\b)?{_PLACE_VERBS}\s+(.*)$", text)
    pick_m = re.match(rf"^(?:.*?\b)?{_PICK_VERBS}\s+(.*)$", text)
    if pick_m and (not place_m or pick_m.start(1) <= place_m.start(1)):
        _prefix_check(text[: pick_m.start(1)])
        # "pick the X (and) (then) put it on Y"
        parts = re.split(rf"\b(?:and\s+)?(?:then\s+)?{_PLACE_VERBS}\b", pick_m.group(1), maxsplit=1)
        if len(parts) == 2:
            return parts[0].strip(), re.sub(r"^(?:it|them|that|this)\b", "", parts[1].strip()).strip()
        # "take the red cup to the bowl": a place without a place verb
        split = _split_at_place(pick_m.group(1), (r"on\s+top\s+of", "onto", "into", "to"))
        if split is not None:
            return split
        return pick_m.group(1).strip(), ""
    if place_m:
        _prefix_check(text[: place_m.start(1)])
        rest = place_m.group(1)
        split = _split_at_place(rest)
        return split if split is not None else (rest.strip(), "")
    # no verb: "the red cup goes into the bowl", "the red cup into the bowl please"
    split = _split_at_place(text, tuple(rx for rx, _ in _PLACE_PREPS if rx != "over"))
    return split if split is not None else (text.strip(), "")


def _prepare(instruction: object, default_viewpoint: str) -> tuple[str, str, str, str]:
    """(pick phrase, place phrase, viewpoint, normalised text) after the checks that refuse what the
    grounder would otherwise misread: too long, too nested, negated, unknown words, dangling pronoun."""
    raw = bounded_text(instruction)
    text = _normalise(raw)
    words = text.split()
    refuse_negation(words, raw)
    refuse_deep_nesting(text)
    if not any(w in _OBJECT_WORDS for w in words):
        raise GroundingError(f"'{raw.strip()}' names no object to pick (no colour, noun or position)")
    refuse_unknown(words, KNOWN_WORDS, raw)
    text, viewpoint = _strip_viewpoint(text, default_viewpoint)
    pick, place = _split_pick_place(text)
    refuse_dangling_pronoun(pick, "pick")
    if place:
        refuse_dangling_pronoun(re.sub(r"^(?:it|them|that|this)\s+", "", place), "place")
    return pick, place, viewpoint, text


def _refuse_unused(np_: _NounPhrase, role: str, instruction: str) -> None:
    unused = np_.all_unused()
    if unused:
        raise GroundingError(f"the {role} phrase '{np_.text}' has word(s) the grounder cannot use "
                             f"({', '.join(repr(w) for w in dict.fromkeys(unused))}) in '{instruction.strip()}'; "
                             "refusing rather than ignoring them")


@dataclass(frozen=True)
class InstructionParts:
    pick_phrase: str
    place_phrase: str
    viewpoint: str


def split_instruction(instruction: str, default_viewpoint: str = "camera") -> InstructionParts:
    """The pick phrase, the place phrase and the viewpoint of an instruction (no marks needed):
    what a learned or VLM grounder is asked about, one phrase at a time."""
    pick, place, viewpoint, _ = _prepare(instruction, default_viewpoint)
    return InstructionParts(pick, place, viewpoint)


def _names_object(text: str) -> bool:
    words = text.split()
    return any(w in NOUNS or w in COLOR_NAMES for w in words)


def _parse_np(text: str) -> _NounPhrase:
    text = text.strip()
    np_ = _NounPhrase(text)
    # between X and Y
    bm = re.search(r"\bbetween\s+(.+?)\s+and\s+(.+)$", text)
    two = re.search(r"\bbetween\s+(?:the\s+)?(?:two|both)\s+(.+)$", text)
    if two:
        np_.relation = "between_two"
        np_.reference = _parse_np(two.group(1))
        np_.used.append(("between the two", "relation between_two"))
        text = text[: two.start()]
    elif bm:
        np_.relation = "between"
        np_.reference = _parse_np(bm.group(1))
        np_.reference2 = _parse_np(bm.group(2))
        np_.used.append(("between", "relation between"))
        text = text[: bm.start()]
    else:
        for rx, rel in _RELATIONS:
            rm = re.search(rf"\b{rx}\s+(?=(?:the|a|an|this|that|those|these)\b)", text)
            if rm and _names_object(text[rm.end():]) and rm.start() > 0:
                np_.relation = rel
                np_.reference = _parse_np(text[rm.end():])
                np_.used.append((rm.group(0).strip(), f"relation {rel}"))
                text = text[: rm.start()]
                break
    # "second cup from the left" -> "second@left cup"
    text = re.sub(rf"\b({'|'.join(ORDINALS)}|last)\s+((?:[a-z]+\s+){{0,2}}?)from\s+(?:the\s+)?(left|right)\b",
                  lambda m: f"{m.group(1)}@{m.group(3)} {m.group(2)}", text)
    # "the cup in the middle", "the ball on the left", "the box at the back": the position word itself
    text = re.sub(r"\b(?:in|on|at|to)\s+the\s+(?:far\s+|very\s+)?(middle|centre|center|left|right|back|front|rear)\b",
                  r"\1", text)
    text = re.sub(r"\b(?:in|at)\s+(front|back)\b", r"\1", text)
    words = text.split()
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        nxt2 = words[i + 2] if i + 2 < len(words) else ""
        n_sel = len(np_.selectors)
        if "@" in w:
            word, side = w.split("@")
            np_.selectors.append((f"ordinal_{side}", 1 if word == "last" and side == "left" else ORDINALS.get(word, 1)))
            if word == "last":
                np_.selectors[-1] = (f"ordinal_{'right' if side == 'left' else 'left'}", 1)
            w = f"{word} from the {side}"
        elif w in COLOR_NAMES:
            if np_.noun is not None and NOUNS[np_.noun] is not None:
                np_.unused.append(w)   # a colour after the head noun describes another object
            elif np_.color is None:
                np_.color = w
                np_.used.append((w, f"colour {w}"))
            elif w != np_.color:
                np_.unused.append(w)
        elif w in NOUNS:
            if np_.noun is None:
                np_.noun = w
                np_.shape = NOUNS[w]
                np_.used.append((w, f"kind {NOUNS[w] or 'any object'}"))
            elif NOUNS[w] is not None:
                np_.unused.append(w)   # a second object noun in one phrase: which one is meant?
        elif w in ORDINALS and nxt == "from" and nxt2 in ("left", "right"):
            np_.selectors.append((f"ordinal_{nxt2}", ORDINALS[w]))
            w = f"{w} from {nxt2}"
            i += 2
        elif w in ORDINALS and nxt in ("left", "leftmost"):
            np_.selectors.append(("ordinal_left", ORDINALS[w]))
            w = f"{w} {nxt}"
            i += 1
        elif w in ORDINALS and nxt in ("right", "rightmost"):
            np_.selectors.append(("ordinal_right", ORDINALS[w]))
            w = f"{w} {nxt}"
            i += 1
        elif w in ORDINALS:
            np_.selectors.append(("ordinal_left", ORDINALS[w]))
        elif w in ("last",):
            np_.selectors.append(("ordinal_right", 1))
        elif w in ("leftmost", "left"):
            np_.selectors.append(("extreme", "left"))
        elif w in ("rightmost", "right"):
            np_.selectors.append(("extreme", "right"))
        elif w in _MIDDLE:
            np_.selectors.append(("middle", "lr"))
        elif w in _DEPTH_NEAR:
            np_.selectors.append(("depth", "near"))
        elif w in _DEPTH_FAR:
            np_.selectors.append(("depth", "far"))
        elif w in SIZE_WORDS:
            np_.selectors.append(SIZE_WORDS[w])
        elif w not in FILLER:
            np_.unused.append(w)
        if len(np_.selectors) > n_sel:
            kind, arg = np_.selectors[-1]
            np_.used.append((w, f"{kind} {arg}"))
        i += 1
    return np_


class _Resolver:
    def __init__(self, marks: list[Mark], viewpoint: str, config: GroundingConfig,
                 base_from_camera: np.ndarray | None) -> None:
        self.marks = marks
        self.viewpoint = viewpoint
        self.config = config
        self.base_from_camera = base_from_camera

    # axes in the chosen viewpoint: lr increases to the viewer's right; depth increases away from the viewer
    def lr(self, m: Mark) -> float:
        if self.viewpoint == "robot":
            if m.centroid_base is None:
                raise GroundingError("the robot's viewpoint needs marks with base-frame coordinates (camera extrinsic)")
            return -float(m.centroid_base[1])
        return float(m.centroid_cam[0] / max(m.centroid_cam[2], 1e-6))

    def depth(self, m: Mark) -> float:
        if self.viewpoint == "robot":
            if m.centroid_base is None:
                raise GroundingError("the robot's viewpoint needs marks with base-frame coordinates (camera extrinsic)")
            return float(np.hypot(m.centroid_base[0], m.centroid_base[1]))
        return float(np.linalg.norm(m.centroid_cam))

    def pos(self, m: Mark) -> np.ndarray:
        return np.asarray(m.centroid_base if m.centroid_base is not None else m.centroid_cam, dtype=float)

    def describe(self, marks: list[Mark]) -> list[str]:
        return [m.describe() for m in marks]

    def candidates(self, np_: _NounPhrase, exclude: set[int], graspable_only: bool) -> list[Mark]:
        out = [m for m in self.marks if m.id not in exclude]
        if np_.color:
            out = [m for m in out if m.color_name == np_.color]
        if np_.shape:
            out = [m for m in out if m.shape == np_.shape]
        elif graspable_only:
            graspable = [m for m in out if m.shape in GRASPABLE_SHAPES]
            out = graspable or out
        return out

    def resolve(self, np_: _NounPhrase, exclude: set[int], graspable_only: bool, role: str) -> tuple[Mark, str]:
        if np_.color is None and np_.noun is None and not np_.selectors and np_.relation is None:
            raise GroundingError(f"the {role} phrase '{np_.text}' names no object (no colour, noun or position)",
                                 self.describe(self.marks))
        cands = self.candidates(np_, exclude, graspable_only)
        what = " ".join(x for x in (np_.color, np_.noun or "object") if x)
        if not cands:
            raise GroundingError(f"no {what} matches the {role} phrase '{np_.text}'", self.describe(self.marks))
        reasons = [what]
        if np_.relation is not None:
            cands, why = self._apply_relation(np_, cands, exclude)
            reasons.append(why)
            if not cands:
                raise GroundingError(f"no {what} is {why}", self.describe(self.candidates(np_, exclude, graspable_only)))
        for kind, arg in np_.selectors:
            cands, why = self._apply_selector(kind, arg, cands, np_, role)
            reasons.append(why)
        if len(cands) > 1:
            raise GroundingError(f"the {role} phrase '{np_.text}' is ambiguous: {len(cands)} marks fit",
                                 self.describe(cands))
        view = "the camera's" if self.viewpoint == "camera" else "the robot's"
        return cands[0], f"{', '.join(reasons)} (from {view} view)"

    def _apply_relation(self, np_: _NounPhrase, cands: list[Mark], exclude: set[int]) -> tuple[list[Mark], str]:
        assert np_.reference is not None
        if np_.relation == "between_two":
            return self._relation_between_two(np_, cands, exclude)
        ref, _ = self.resolve(np_.reference, exclude, graspable_only=False, role="reference")
        cands = [m for m in cands if m.id != ref.id]
        rel = np_.relation
        if rel == "between":
            assert np_.reference2 is not None
            ref2, _ = self.resolve(np_.reference2, exclude | {ref.id}, graspable_only=False, role="reference")
            lo, hi = sorted((self.lr(ref), self.lr(ref2)))
            cands = [m for m in cands if m.id != ref2.id and lo < self.lr(m) < hi]
            return cands, f"between {ref.describe()} and {ref2.describe()}"
        if rel == "left_of":
            cands = [m for m in cands if self.lr(m) < self.lr(ref) - self.config.lr_margin]
            return self._nearest_to(cands, ref), f"left of {ref.describe()}"
        if rel == "right_of":
            cands = [m for m in cands if self.lr(m) > self.lr(ref) + self.config.lr_margin]
            return self._nearest_to(cands, ref), f"right of {ref.describe()}"
        if rel == "in_front_of":
            cands = [m for m in cands if self.depth(m) < self.depth(ref) - self.config.depth_margin_m]
            return self._nearest_to(cands, ref), f"in front of {ref.describe()}"
        if rel == "behind":
            cands = [m for m in cands if self.depth(m) > self.depth(ref) + self.config.depth_margin_m]
            return self._nearest_to(cands, ref), f"behind {ref.describe()}"
        return self._nearest_to(cands, ref, strict=True), f"next to {ref.describe()}"

    def _relation_between_two(self, np_: _NounPhrase, cands: list[Mark], exclude: set[int]) -> tuple[list[Mark], str]:
        assert np_.reference is not None
        pair = self.candidates(np_.reference, exclude, graspable_only=False)
        if len(pair) != 2:
            raise GroundingError(f"'between the two ...' needs exactly two such objects, found {len(pair)}",
                                 self.describe(pair))
        lo, hi = sorted((self.lr(pair[0]), self.lr(pair[1])))
        ids = {m.id for m in pair}
        return ([m for m in cands if m.id not in ids and lo < self.lr(m) < hi],
                f"between {pair[0].describe()} and {pair[1].describe()}")

    def _nearest_to(self, cands: list[Mark], ref: Mark, strict: bool = False) -> list[Mark]:
        """Among candidates satisfying a relation, the one nearest the reference (if clearly nearest)."""
        if len(cands) <= 1:
            return cands
        d = sorted((float(np.linalg.norm(self.pos(m)[:2] - self.pos(ref)[:2])), m.id) for m in cands)
        if d[1][0] - d[0][0] < self.config.nearest_margin_m:
            return [m for m in cands if m.id in (d[0][1], d[1][1])] if strict else cands
        return [m for m in cands if m.id == d[0][1]]

    def _apply_selector(self, kind: str, arg: str | int, cands: list[Mark], np_: _NounPhrase,
                        role: str) -> tuple[list[Mark], str]:
        n = len(cands)
        if kind in ("ordinal_left", "ordinal_right", "extreme", "middle"):
            lrs = sorted(self.lr(m) for m in cands)
            if n > 1 and min(np.diff(lrs)) < self.config.lr_margin:
                raise GroundingError(f"'{np_.text}': two candidates are side by side in depth, not left/right",
                                     self.describe(cands))
        if kind in ("ordinal_left", "ordinal_right"):
            order = sorted(cands, key=self.lr, reverse=kind == "ordinal_right")
            k = int(arg)
            if k > n:
                raise GroundingError(f"'{np_.text}': asked for number {k} but only {n} fit", self.describe(cands))
            side = "left" if kind == "ordinal_left" else "right"
            return [order[k - 1]], f"number {k} from the {side} of {n}"
        if kind == "extreme":
            order = sorted(cands, key=self.lr, reverse=arg == "right")
            return [order[0]], f"{arg}most of {n}"
        if kind == "middle":
            if n % 2 == 0 or n < 3:
                raise GroundingError(f"'{np_.text}': 'middle' needs an odd number (>=3) of candidates, found {n}",
                                     self.describe(cands))
            order = sorted(cands, key=self.lr)
            return [order[n // 2]], f"middle of {n}"
        if kind == "depth":
            order = sorted(cands, key=self.depth, reverse=arg == "far")
            if n > 1 and abs(self.depth(order[0]) - self.depth(order[1])) < self.config.depth_margin_m:
                raise GroundingError(f"'{np_.text}': two candidates are equally {'near' if arg == 'near' else 'far'}",
                                     self.describe(order[:2]))
            return [order[0]], f"{'nearest' if arg == 'near' else 'farthest'} of {n}"
        if kind in ("size", "height"):
            def key(m: Mark) -> float:
                return m.size_m if kind == "size" else m.height_m
            order = sorted(cands, key=key, reverse=arg == "max")
            if n > 1 and abs(key(order[0]) - key(order[1])) < self.config.size_margin * max(key(order[0]), key(order[1])):
                raise GroundingError(f"'{np_.text}': the two {'largest' if arg == 'max' else 'smallest'} candidates "
                                     f"are about the same {kind}", self.describe(order[:2]))
            word = {("size", "max"): "biggest", ("size", "min"): "smallest", ("height", "max"): "tallest",
                    ("height", "min"): "shortest"}[(kind, str(arg))]
            return [order[0]], f"{word} of {n}"
        raise GroundingError(f"unknown selector {kind}")

    # -- place ------------------------------------------------------------------------------
    def direction(self, relation: str) -> np.ndarray:
        """Unit xy vector in the base frame for a relation in the current viewpoint."""
        if self.viewpoint == "robot":
            vec = {"left_of": (0.0, 1.0), "right_of": (0.0, -1.0), "in_front_of": (-1.0, 0.0), "behind": (1.0, 0.0)}
            return np.array(vec[relation])
        if self.base_from_camera is None:
            raise GroundingError("a place relative to an object from the camera's view needs the camera extrinsic")
        R = np.asarray(self.base_from_camera, float)[:3, :3]
        right = R[:2, 0] / max(np.linalg.norm(R[:2, 0]), 1e-9)
        toward_cam = -R[:2, 2] / max(np.linalg.norm(R[:2, 2]), 1e-9)
        return {"left_of": -right, "right_of": right, "in_front_of": toward_cam, "behind": -toward_cam}[relation]

    def place_point(self, ref: Mark, relation: str) -> np.ndarray:
        if ref.centroid_base is None:
            raise GroundingError("a relative place needs marks with base-frame coordinates (camera extrinsic)")
        c = np.asarray(ref.centroid_base, float)
        off = self.config.place_offset_m
        if relation == "next_to":
            options = [self.direction("left_of"), self.direction("right_of")]
            others = [np.asarray(m.centroid_base, float)[:2] for m in self.marks
                      if m.id != ref.id and m.centroid_base is not None]

            def clearance(d: np.ndarray) -> float:
                p = c[:2] + off * d
                return min((float(np.linalg.norm(p - o)) for o in others), default=np.inf)

            d = max(options, key=clearance)  # ties -> left (first)
        else:
            d = self.direction(relation)
        return np.array([c[0] + off * d[0], c[1] + off * d[1], 0.0])


def _parse_place(text: str) -> tuple[str, _NounPhrase]:
    """(preposition kind, noun phrase) of a place phrase like 'on the plate' / 'to the left of the cup'."""
    text = re.sub(r"^(?:it|them|that|this)\s+", "", text.strip())
    text = re.sub(r"^(?:down|over|back|up)\s+", "", text)
    for rx, rel in _RELATIONS:
        m = re.match(rf"(?:to\s+)?(?:the\s+)?(?:spot\s+|place\s+|area\s+)?{rx}\s+(.*)$", text)
        if m:
            return rel, _parse_np(m.group(1))
    for rx, kind in _PLACE_PREPS:
        m = re.match(rf"{rx}\s+(.*)$", text)
        if m:
            return kind, _parse_np(m.group(1))
    return "to", _parse_np(text)


def parse_place_phrase(place_phrase: str) -> tuple[str, str]:
    """(relation, reference phrase): 'to the left of the red cup' -> ('left_of', 'red cup'),
    'into the bowl' -> ('into', 'bowl'). For grounders that name the reference mark themselves."""
    kind, ref = _parse_place(_normalise(place_phrase))
    return kind, ref.text


@dataclass(frozen=True)
class PhraseAttributes:
    """What a noun phrase states about its object, for checking a mark another grounder chose."""
    color: str | None
    shape: str | None
    noun: str | None
    selectors: tuple[tuple[str, str | int], ...]
    relation: str | None


def phrase_attributes(phrase: str) -> PhraseAttributes:
    """The colour, kind, selectors and relation a noun phrase states ('the tallest red cup')."""
    text, _ = _strip_viewpoint(_normalise(bounded_text(phrase)), GroundingConfig().default_viewpoint)
    np_ = _parse_np(text)
    return PhraseAttributes(np_.color, np_.shape, np_.noun, tuple(np_.selectors), np_.relation)


def place_phrase_attributes(place_phrase: str) -> tuple[str, str]:
    """(place kind or relation, reference phrase) of a place phrase; bounded like an instruction."""
    return parse_place_phrase(bounded_text(place_phrase))


def phrase_shape(phrase: str) -> str | None:
    """The shape the phrase's head noun names ('the block left of the cup' -> 'box'), None when the
    noun is generic or unknown. The vocabulary is NOUNS."""
    if not isinstance(phrase, str) or not phrase.strip():
        return None
    text, _ = _strip_viewpoint(_normalise(phrase), GroundingConfig().default_viewpoint)
    return _parse_np(text).shape


def resolve_phrase(phrase: str, marks: list[Mark], config: GroundingConfig | None = None,
                   base_from_camera: np.ndarray | None = None) -> Mark:
    """The one mark a noun phrase ('the red cup', 'the plate left of the bowl') names, any shape;
    GroundingError when none or several fit. For spatial questions about objects."""
    cfg = config or GroundingConfig()
    text, viewpoint = _strip_viewpoint(_normalise(bounded_text(phrase)), cfg.default_viewpoint)
    refuse_deep_nesting(text)
    return _Resolver(marks, viewpoint, cfg, base_from_camera).resolve(_parse_np(text), set(), False, "object")[0]


def place_target_for(ref: Mark, relation: str | None, marks: list[Mark], config: GroundingConfig | None = None,
                     base_from_camera: np.ndarray | None = None, viewpoint: str | None = None) -> PlaceTarget:
    """The PlaceTarget for a chosen reference mark and relation, with the same geometry the rule-based
    grounding uses. For grounders (learned, VLM) that pick the marks themselves.

    relation: None / "on" / "into" / "to" (onto or into the mark), or one of RELATIONS.
    """
    cfg = config or GroundingConfig()
    if relation in (None, "on", "into", "to"):
        kind = "into" if ref.shape == "bowl" else "on"
        point = np.asarray(ref.centroid_base, float).copy() if ref.centroid_base is not None else None
        return PlaceTarget(kind, ref.id, None, point)
    if relation not in RELATIONS:
        raise GroundingError(f"unknown place relation '{relation}'; expected one of {', '.join(RELATIONS)}")
    resolver = _Resolver(marks, viewpoint or cfg.default_viewpoint, cfg, base_from_camera)
    return PlaceTarget("relative", ref.id, relation, resolver.place_point(ref, relation))


def ground_instruction(instruction: str, marks: list[Mark], config: GroundingConfig | None = None,
                       base_from_camera: np.ndarray | None = None) -> Grounding:
    """Resolve an instruction over marks; raises GroundingError when it does not pick one object."""
    cfg = config or GroundingConfig()
    if not isinstance(instruction, str) or not instruction.strip():
        raise GroundingError("empty instruction", [m.describe() for m in marks])
    if not marks:
        raise GroundingError("no objects were found on the table to ground the instruction")
    try:
        pick_text, place_text, viewpoint, _ = _prepare(instruction, cfg.default_viewpoint)
        pick_np = _parse_np(pick_text)
        _refuse_unused(pick_np, "pick", instruction)
        place_parsed = _parse_place(place_text) if place_text else None
        if place_parsed is not None:
            _refuse_unused(place_parsed[1], "place", instruction)
    except GroundingError as exc:
        if exc.candidates:
            raise
        raise GroundingError(str(exc), [m.describe() for m in marks]) from None
    resolver = _Resolver(marks, viewpoint, cfg, base_from_camera)
    pick, pick_why = resolver.resolve(pick_np, set(), graspable_only=True, role="pick")
    place: PlaceTarget | None = None
    place_why = ""
    if place_parsed is not None:
        kind, ref_np = place_parsed
        ref, _ = resolver.resolve(ref_np, {pick.id}, graspable_only=False, role="place")
        if kind in ("on", "into", "to"):
            pkind = "into" if ref.shape == "bowl" else "on"
            point = np.asarray(ref.centroid_base, float).copy() if ref.centroid_base is not None else None
            place = PlaceTarget(pkind, ref.id, None, point)
            place_why = f"place {pkind} {ref.describe()}"
        else:
            place = PlaceTarget("relative", ref.id, kind, resolver.place_point(ref, kind))
            place_why = f"place {kind.replace('_', ' ')} {ref.describe()}"
    report = _report(pick_np, place_text, place_parsed, viewpoint)
    explanation = f"picked {pick.describe()}: {pick_why}" + (f"; {place_why}" if place_why else "")
    explanation += "; " + format_report(report)
    return Grounding(pick.id, place, explanation, pick_text, place_text, viewpoint, report)


def _report(pick_np: _NounPhrase, place_text: str, place_parsed: tuple[str, _NounPhrase] | None,
            viewpoint: str) -> list[tuple[str, str]]:
    report = [(w, f"pick: {meaning}") for w, meaning in pick_np.all_used()]
    if place_parsed is not None:
        kind, ref_np = place_parsed
        report.append((place_text.split(ref_np.text)[0].strip() or kind, f"place: {kind.replace('_', ' ')}"))
        report += [(w, f"place reference: {meaning}") for w, meaning in ref_np.all_used()]
    report.append(("viewpoint", viewpoint))
    return report


def phrase_report(parts: InstructionParts) -> list[tuple[str, str]]:
    """The grounding report (phrase, what it was read as) for a split instruction: what a learned or
    VLM grounder was asked, shown the same way as the rule grounder's."""
    place = _parse_place(parts.place_phrase) if parts.place_phrase else None
    return _report(_parse_np(parts.pick_phrase), parts.place_phrase, place, parts.viewpoint)


def format_report(report: list[tuple[str, str]]) -> str:
    return "read: " + ", ".join(f"'{w}' = {meaning}" for w, meaning in report)


def require_object_phrase(instruction: str, default_viewpoint: str = "camera") -> InstructionParts:
    """Parse an instruction far enough to know it names an object to pick (no marks needed), or
    raise GroundingError ("hello"): policies call it from reset(), before anything moves."""
    if not isinstance(instruction, str) or not instruction.strip():
        raise GroundingError("empty instruction")
    parts = split_instruction(instruction, default_viewpoint)
    np_ = _parse_np(parts.pick_phrase)
    _refuse_unused(np_, "pick", instruction)
    if parts.place_phrase:
        _refuse_unused(_parse_place(parts.place_phrase)[1], "place", instruction)
    if np_.color is None and np_.noun is None and not np_.selectors and np_.relation is None:
        raise GroundingError(f"'{instruction.strip()}' names no object to pick (no colour, noun or position)")
    return parts
