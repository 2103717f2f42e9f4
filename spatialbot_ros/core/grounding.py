"""Instruction grounding: the built-in spatial reasoner.

Resolves an English instruction to a pick mark and a place target over Set-of-Mark proposals,
using colour, object noun (shape), size, position, depth, relations to other objects and an
explicit viewpoint. The sentence is read by core.phrase_parser (structure, synonyms, viewpoints);
this module resolves the parsed phrases over the marks. It never guesses: an instruction that fits
no mark or several equally raises GroundingError listing the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.marks import SIZE_DIMENSIONS, Mark
from spatialbot_ros.core.phrase_parser import (
    CONTAINER_NOUNS,
    GENERIC_NOUNS,
    ORDINAL_WORDS,
    RELATIONS,
    SELECTOR_WORDS,
    SHAPE_NOUNS,
    STANDS_ON,
    ObjectPhrase,
    ParsedInstruction,
    PlacePhrase,
    canonical_object,
    canonical_place,
    known_words,
    parse_instruction,
    parse_object_text,
    parse_place_text,
    refuse_unused,
)

# the kind each noun names (None: any object); plural forms included
NOUNS: dict[str, str | None] = {
    **{n: shape for shape, nouns in SHAPE_NOUNS.items() for n in nouns if " " not in n},
    **{n + ("es" if n.endswith(("x", "ss", "sh")) else "s"): shape for shape, nouns in SHAPE_NOUNS.items()
       for n in nouns if " " not in n},
    **{n: None for n in GENERIC_NOUNS}, **{n + "s": None for n in GENERIC_NOUNS},
}
GRASPABLE_SHAPES = ("cylinder", "box", "sphere")
# what a placed object can stand on / go into: a ball or a cup's rim holds nothing
SUPPORT_SHAPES = {"on": ("plate", "bowl", "box"), "into": ("bowl", "plate")}


def holds(shape: str | None, place_kind: str, noun: str | None = None) -> bool:
    """Whether an object of `shape` (perceived, or named by the phrase) can have something put
    on/into it. A box-shaped object the user calls a container (bin, crate, ...) takes "into"."""
    if shape is None or shape == "unknown":
        return True
    support = SUPPORT_SHAPES["into" if place_kind == "into" else "on"]
    return shape in support or (shape == "box" and noun in CONTAINER_NOUNS)


def _support_words(place_kind: str) -> str:
    words = ", ".join(SUPPORT_SHAPES["into" if place_kind == "into" else "on"])
    return words + (", and box-shaped containers (bin, crate, basket)" if place_kind == "into" else "")
ORDINALS = ORDINAL_WORDS
# every single word the parser reads somewhere (alone or inside a longer expression)
KNOWN_WORDS: frozenset[str] = known_words()


def stands_in(m: Mark, ref: Mark) -> bool:
    """m stands on ref (perception says so) or inside it (its centre within ref's footprint on the
    table: objects on the table never overlap, so only a stacked or contained one does)."""
    if m.id == ref.id:
        return False
    if m.resting_on == ref.id:
        return True
    if m.centroid_base is None or ref.centroid_base is None:
        return False
    return bool(np.hypot(*(np.asarray(m.centroid_base)[:2] - np.asarray(ref.centroid_base)[:2])) < ref.footprint_m[0] / 2)


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




def size_rank_dimension(kind: str) -> str | None:
    """The size dimension a rank selector orders by ('width_rank' -> 'width'), None for other selectors."""
    dim = kind.removesuffix("_rank")
    return dim if dim != kind and dim in SIZE_DIMENSIONS else None


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





@dataclass(frozen=True)
class InstructionParts:
    pick_phrase: str
    place_phrase: str
    viewpoint: str


def _prepare(instruction: object, default_viewpoint: str) -> ParsedInstruction:
    """The parsed instruction after the checks that refuse what the grounder would otherwise misread:
    too long, too nested, negated, unknown or unusable words, a dangling pronoun, no object."""
    parsed = parse_instruction(instruction, default_viewpoint)
    raw = str(instruction)
    refuse_unused(parsed.pick, "pick", raw)
    if parsed.place is not None:
        refuse_unused(parsed.place.reference, "place", raw)
    if not parsed.pick.names_something():
        raise GroundingError(f"'{raw.strip()}' names no object to pick (no colour, noun or position)")
    if parsed.pick.shape is not None and parsed.pick.shape not in GRASPABLE_SHAPES:
        raise GroundingError(f"cannot pick up a {parsed.pick.noun} ({parsed.pick.shape}): the gripper picks cups, "
                             "boxes and balls")
    if parsed.place is not None:
        ref = parsed.place.reference
        if not ref.names_something():
            raise GroundingError(f"the place phrase '{parsed.place.text}' names no object to put it on or in")
        kind = parsed.place.kind if parsed.place.kind != "to" else "on"
        if kind in SUPPORT_SHAPES and not holds(ref.shape, kind, ref.noun):
            raise GroundingError(f"cannot put something {parsed.place.words} a {ref.noun} ({ref.shape}): only "
                                 f"{_support_words(kind)} hold an object there")
    return parsed


def split_instruction(instruction: str, default_viewpoint: str = "camera") -> InstructionParts:
    """The pick phrase, the place phrase and the viewpoint of an instruction (no marks needed):
    what a learned or VLM grounder is asked about, one phrase at a time."""
    parsed = _prepare(instruction, default_viewpoint)
    return InstructionParts(parsed.pick_text, parsed.place_text, parsed.viewpoint)


def canonical_parts(instruction: str, default_viewpoint: str = "camera") -> InstructionParts:
    """Like split_instruction, but each phrase rendered in the training vocabulary ('the right-most
    tumbler' -> 'the rightmost cup'): what a learned text encoder reads best."""
    parsed = _prepare(instruction, default_viewpoint)
    viewpoint = _distance_viewpoint(parsed)
    place = canonical_place(parsed.place, viewpoint) if parsed.place is not None else ""
    return InstructionParts(canonical_object(parsed.pick, viewpoint), place, viewpoint)


_SIDE_WISE = ("extreme", "ordinal_left", "ordinal_right", "middle")


def _distance_viewpoint(parsed: ParsedInstruction) -> str:
    """'the cup nearest the robot' is exactly 'the nearest cup from the robot's view' when nothing else in
    the instruction depends on the viewpoint: then the robot's viewpoint, which a learned grounder's
    camera features carry, replaces the default."""
    phrases = [parsed.pick] + ([parsed.place.reference] if parsed.place is not None else [])
    frames: set[str] = set()
    stack = list(phrases)
    while stack:
        np_ = stack.pop()
        for kind, _ in np_.selectors:
            if kind.startswith("depth_"):
                frames.add(kind.split("_")[1])
            elif kind in _SIDE_WISE or kind == "depth":
                return parsed.viewpoint
        if np_.relation is not None:
            return parsed.viewpoint
    if parsed.place is not None and parsed.place.kind in RELATIONS:
        return parsed.viewpoint
    return frames.pop() if len(frames) == 1 else parsed.viewpoint


def instruction_report(instruction: str, default_viewpoint: str = "camera") -> list[tuple[str, str]]:
    """The grounding report of an instruction in the user's own words (no marks needed)."""
    return parse_report(_prepare(instruction, default_viewpoint))


def _parse_np(text: str) -> ObjectPhrase:
    return parse_object_text(text)[0]


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

    def depth(self, m: Mark, frame: str | None = None) -> float:
        """Distance from the viewer (frame None: the viewpoint's), or from the robot base / the camera."""
        if (frame or self.viewpoint) == "robot":
            if m.centroid_base is None:
                raise GroundingError("the robot's viewpoint needs marks with base-frame coordinates (camera extrinsic)")
            return float(np.hypot(m.centroid_base[0], m.centroid_base[1]))
        return float(np.linalg.norm(m.centroid_cam))

    def pos(self, m: Mark) -> np.ndarray:
        return np.asarray(m.centroid_base if m.centroid_base is not None else m.centroid_cam, dtype=float)

    def describe(self, marks: list[Mark]) -> list[str]:
        return [m.describe() for m in marks]

    def candidates(self, np_: ObjectPhrase, exclude: set[int], graspable_only: bool) -> list[Mark]:
        out = [m for m in self.marks if m.id not in exclude]
        if np_.color:
            out = [m for m in out if m.color_name == np_.color]
        if np_.shape:
            out = [m for m in out if m.shape == np_.shape]
        elif graspable_only:
            graspable = [m for m in out if m.shape in GRASPABLE_SHAPES]
            out = graspable or out
        return out

    def resolve(self, np_: ObjectPhrase, exclude: set[int], graspable_only: bool, role: str) -> tuple[Mark, str]:
        if np_.color is None and np_.noun is None and not np_.selectors and np_.relation is None:
            raise GroundingError(f"the {role} phrase '{np_.text}' names no object (no colour, noun or position)",
                                 self.describe(self.marks))
        cands = self.candidates(np_, exclude, graspable_only)
        what = " ".join(x for x in (np_.color, np_.noun or "object") if x)
        if not cands:
            raise GroundingError(f"no {what} matches the {role} phrase '{np_.text}'", self.describe(self.marks))
        reasons = [what]
        if np_.count is not None and len(cands) != np_.count:
            raise GroundingError(f"the {role} phrase '{np_.text}' speaks of {np_.count} such objects but {len(cands)} "
                                 "are seen", self.describe(cands))
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

    def _apply_relation(self, np_: ObjectPhrase, cands: list[Mark], exclude: set[int]) -> tuple[list[Mark], str]:
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
        if rel == STANDS_ON:
            return [m for m in cands if stands_in(m, ref)], f"standing on/in {ref.describe()}"
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

    def _relation_between_two(self, np_: ObjectPhrase, cands: list[Mark], exclude: set[int]) -> tuple[list[Mark], str]:
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

    def _apply_selector(self, kind: str, arg: str | int, cands: list[Mark], np_: ObjectPhrase,
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
        if kind.startswith("depth"):
            frame = kind.split("_")[1] if "_" in kind else None

            def dist(m: Mark) -> float:
                return self.depth(m, frame)
            order = sorted(cands, key=dist, reverse=arg == "far")
            if n > 1 and abs(dist(order[0]) - dist(order[1])) < self.config.depth_margin_m:
                raise GroundingError(f"'{np_.text}': two candidates are equally {'near' if arg == 'near' else 'far'}",
                                     self.describe(order[:2]))
            where = f" to the {frame}" if frame else ""
            return [order[0]], f"{'nearest' if arg == 'near' else 'farthest'}{where} of {n}"
        if (dim := size_rank_dimension(kind)) is not None:
            return self._size_rank(dim, int(arg), cands, np_)
        if kind in SIZE_DIMENSIONS:
            def key(m: Mark) -> float:
                return m.extent(kind)
            order = sorted(cands, key=key, reverse=arg == "max")
            if n > 1 and abs(key(order[0]) - key(order[1])) < self.config.size_margin * max(key(order[0]), key(order[1])):
                raise GroundingError(f"'{np_.text}': the two {'largest' if arg == 'max' else 'smallest'} candidates "
                                     f"are about the same {kind}", self.describe(order[:2]))
            return [order[0]], f"{SELECTOR_WORDS[(kind, str(arg))]} of {n}"
        raise GroundingError(f"unknown selector {kind}")

    def _size_rank(self, dim: str, rank: int, cands: list[Mark], np_: ObjectPhrase) -> tuple[list[Mark], str]:
        """'the second biggest': the k-th in size order, only when it stands clear of both neighbours."""
        def key(m: Mark) -> float:
            return m.extent(dim)
        k, n = abs(rank), len(cands)
        if k > n:
            raise GroundingError(f"'{np_.text}': asked for number {k} by {dim} but only {n} fit", self.describe(cands))
        order = sorted(cands, key=key, reverse=rank > 0)
        for a, b in ((k - 2, k - 1), (k - 1, k)):
            if 0 <= a and b < n and abs(key(order[a]) - key(order[b])) < self.config.size_margin * max(key(order[a]),
                                                                                                       key(order[b])):
                raise GroundingError(f"'{np_.text}': candidates {a + 1} and {b + 1} by {dim} are about the same {dim}",
                                     self.describe([order[a], order[b]]))
        return [order[k - 1]], f"number {k} {SELECTOR_WORDS[(dim, 'max' if rank > 0 else 'min')]} of {n}"

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


def _parse_place(text: str) -> tuple[str, ObjectPhrase]:
    """(preposition kind or relation, noun phrase) of a place phrase like 'on the plate'."""
    place = parse_place_text(text)
    return place.kind, place.reference


def parse_place_phrase(place_phrase: str) -> tuple[str, str]:
    """(relation, reference phrase): 'to the left of the red cup' -> ('left_of', 'the red cup'),
    'into the bowl' -> ('into', 'the bowl'). For grounders that name the reference mark themselves."""
    kind, ref = _parse_place(place_phrase)
    return kind, ref.text


@dataclass(frozen=True)
class PhraseAttributes:
    """What a noun phrase states about its object, for checking a mark another grounder chose."""
    color: str | None
    shape: str | None
    noun: str | None
    selectors: tuple[tuple[str, str | int], ...]
    relation: str | None
    reference: str = ""   # the phrase the relation refers to ('the plate' in 'the cup on the plate')


def phrase_attributes(phrase: str) -> PhraseAttributes:
    """The colour, kind, selectors and relation a noun phrase states ('the tallest red cup')."""
    np_ = _parse_np(phrase)
    return PhraseAttributes(np_.color, np_.shape, np_.noun, tuple(np_.selectors), np_.relation,
                            np_.reference.text if np_.reference is not None else "")


def place_phrase_attributes(place_phrase: str) -> tuple[str, str]:
    """(place kind or relation, reference phrase) of a place phrase; bounded like an instruction."""
    return parse_place_phrase(place_phrase)


def phrase_noun(phrase: str) -> str | None:
    """The head noun of an object phrase as the user said it ('the blue bin' -> 'bin'), or None."""
    if not isinstance(phrase, str) or not phrase.strip():
        return None
    return _parse_np(phrase).noun


def phrase_shape(phrase: str) -> str | None:
    """The shape the phrase's head noun names ('the block left of the cup' -> 'box'), None when the
    noun is generic or unknown."""
    if not isinstance(phrase, str) or not phrase.strip():
        return None
    return _parse_np(phrase).shape


def resolve_phrase(phrase: str, marks: list[Mark], config: GroundingConfig | None = None,
                   base_from_camera: np.ndarray | None = None) -> Mark:
    """The one mark a noun phrase ('the red cup', 'the plate left of the bowl') names, any shape;
    GroundingError when none or several fit. For spatial questions about objects."""
    cfg = config or GroundingConfig()
    parsed = parse_instruction(phrase, cfg.default_viewpoint)   # bounds, negation, nesting, unknown words
    np_, viewpoint = parse_object_text(phrase)
    refuse_unused(np_, "object", phrase)
    return _Resolver(marks, viewpoint or parsed.viewpoint, cfg, base_from_camera).resolve(np_, set(), False,
                                                                                          "object")[0]


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
        parsed = _prepare(instruction, cfg.default_viewpoint)
    except GroundingError as exc:
        if exc.candidates:
            raise
        raise GroundingError(str(exc), [m.describe() for m in marks]) from None
    viewpoint = parsed.viewpoint
    resolver = _Resolver(marks, viewpoint, cfg, base_from_camera)
    pick, pick_why = resolver.resolve(parsed.pick, set(), graspable_only=True, role="pick")
    place: PlaceTarget | None = None
    place_why = ""
    if parsed.place is not None:
        kind, ref_np = parsed.place.kind, parsed.place.reference
        ref, _ = resolver.resolve(ref_np, {pick.id}, graspable_only=False, role="place")
        if kind in ("on", "into", "to"):
            if not holds(ref.shape, kind, ref_np.noun):
                raise GroundingError(f"cannot put {pick.describe()} {parsed.place.words} {ref.describe()}: only "
                                     f"{_support_words(kind)} hold an object there", resolver.describe(marks))
            pkind = "into" if ref.shape == "bowl" else "on"
            point = np.asarray(ref.centroid_base, float).copy() if ref.centroid_base is not None else None
            place = PlaceTarget(pkind, ref.id, None, point)
            place_why = f"place {pkind} {ref.describe()}"
        else:
            place = PlaceTarget("relative", ref.id, kind, resolver.place_point(ref, kind))
            place_why = f"place {kind.replace('_', ' ')} {ref.describe()}"
    report = parse_report(parsed)
    explanation = f"picked {pick.describe()}: {pick_why}" + (f"; {place_why}" if place_why else "")
    explanation += "; " + format_report(report)
    return Grounding(pick.id, place, explanation, parsed.pick_text, parsed.place_text, viewpoint, report)


def parse_report(parsed: ParsedInstruction) -> list[tuple[str, str]]:
    """(phrase as written, what it was read as) for every content phrase of a parsed instruction."""
    report = [(w, f"action: {'place' if k else 'pick'}") for k, w in enumerate(parsed.verb_words)]
    report += _report(parsed.pick, parsed.place, parsed.viewpoint)
    if parsed.viewpoint_words:
        report.insert(len(report) - 1, (parsed.viewpoint_words, f"viewpoint {parsed.viewpoint}"))
    return report


def _report(pick_np: ObjectPhrase, place: PlacePhrase | None, viewpoint: str) -> list[tuple[str, str]]:
    report = [(w, f"pick: {meaning}") for w, meaning in pick_np.all_used()]
    if place is not None:
        report.append((place.words, f"place: {place.kind.replace('_', ' ')}"))
        report += [(w, f"place reference: {meaning}") for w, meaning in place.reference.all_used()]
    report.append(("viewpoint", viewpoint))
    return report


def phrase_report(parts: InstructionParts) -> list[tuple[str, str]]:
    """The grounding report (phrase, what it was read as) for a split instruction: what a learned or
    VLM grounder was asked, shown the same way as the rule grounder's."""
    place = parse_place_text(parts.place_phrase) if parts.place_phrase else None
    return _report(_parse_np(parts.pick_phrase), place, parts.viewpoint)


def format_report(report: list[tuple[str, str]]) -> str:
    return "read: " + ", ".join(f"'{w}' = {meaning}" for w, meaning in report)


def require_object_phrase(instruction: str, default_viewpoint: str = "camera") -> InstructionParts:
    """Parse an instruction far enough to know it names an object to pick (no marks needed), or
    raise GroundingError ("hello"): policies call it from reset(), before anything moves."""
    if not isinstance(instruction, str) or not instruction.strip():
        raise GroundingError("empty instruction")
    return split_instruction(instruction, default_viewpoint)
