"""One verification layer after any grounder (rules, learned network, VLM) has chosen its marks.

A learned or VLM grounder can be confident and wrong: "the purple cup" among red, green and blue
cups, "the plate" when there is none. Whatever chose the mark, its perceived attributes are checked
against what the phrase states (colour, kind, size or depth superlative, uniqueness when the phrase
has nothing else to tell candidates apart, place relation); a contradiction is a refusal naming the
candidates and what is missing, so the robot does not move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import (
    GRASPABLE_SHAPES,
    RELATIONS,
    SELECTOR_WORDS,
    STANDS_ON,
    SUPPORT_SHAPES,
    Grounding,
    GroundingConfig,
    holds,
    phrase_attributes,
    phrase_noun,
    place_phrase_attributes,
    size_rank_dimension,
    stands_in,
)
from spatialbot_ros.core.marks import SIZE_DIMENSIONS, Mark, Unmeasured


@dataclass(frozen=True)
class CheckContext:
    marks: list[Mark]
    viewpoint: str = "camera"
    config: GroundingConfig = GroundingConfig()
    unmeasured: tuple[Unmeasured, ...] = ()     # object evidence perception could not measure (Proposals)


def _describe(marks: list[Mark]) -> list[str]:
    return [m.describe() for m in marks]


def _depth(m: Mark, viewpoint: str) -> float:
    if viewpoint == "robot" and m.centroid_base is not None:
        return float(np.hypot(m.centroid_base[0], m.centroid_base[1]))
    return float(np.linalg.norm(m.centroid_cam))


def verify_mark(phrase: str, mark: Mark, ctx: CheckContext, role: str, exclude: frozenset[int] = frozenset()) -> None:
    """Refuse (GroundingError) when the chosen mark contradicts what the phrase states."""
    attrs = phrase_attributes(phrase)
    pool = [m for m in ctx.marks if m.id not in exclude]
    if attrs.color is not None and mark.color_name != attrs.color:
        having = [m for m in pool if m.color_name == attrs.color]
        raise GroundingError(f"the {role} phrase '{phrase}' says {attrs.color} but the chosen {mark.describe()} "
                             f"is perceived as {mark.color_name}; {attrs.color} objects seen: "
                             f"{', '.join(_describe(having)) or 'none'}", _describe(pool))
    if attrs.shape is not None and mark.shape != attrs.shape:
        having = [m for m in pool if m.shape == attrs.shape]
        raise GroundingError(f"the {role} phrase '{phrase}' names a {attrs.noun} ({attrs.shape}) but the chosen "
                             f"{mark.describe()} is a {mark.shape}; {attrs.shape} objects seen: "
                             f"{', '.join(_describe(having)) or 'none'}", _describe(pool))
    if attrs.relation == STANDS_ON:
        _verify_stands_in(phrase, mark, attrs.reference, ctx, role)
    if attrs.relation is not None:
        return   # relations to other objects: what the rules cannot verify cheaply is left to the grounder
    fits = [m for m in pool if (attrs.color is None or m.color_name == attrs.color)
            and (attrs.shape is None or m.shape == attrs.shape)]
    if attrs.shape is None and role == "pick":
        fits = [m for m in fits if m.shape in GRASPABLE_SHAPES] or fits
    if not attrs.selectors:
        if len(fits) > 1:
            raise GroundingError(f"the {role} phrase '{phrase}' is ambiguous: {len(fits)} objects fit and "
                                 "nothing in it tells them apart", _describe(fits))
        return
    if len(attrs.selectors) == 1:
        _verify_superlative(phrase, mark, fits, attrs.selectors[0], ctx, role)


def _verify_stands_in(phrase: str, mark: Mark, reference: str, ctx: CheckContext, role: str) -> None:
    """'the cup on the plate': the chosen mark must stand on or in a mark the reference phrase fits."""
    ref = phrase_attributes(reference)
    holders = [m for m in ctx.marks if stands_in(mark, m)]
    if not any((ref.color is None or h.color_name == ref.color) and (ref.shape is None or h.shape == ref.shape)
               for h in holders):
        raise GroundingError(f"the {role} phrase '{phrase}' says it stands on or in {reference}, but the chosen "
                             f"{mark.describe()} stands on {', '.join(_describe(holders)) or 'the table'}",
                             _describe(ctx.marks))


def _verify_superlative(phrase: str, mark: Mark, fits: list[Mark], selector: tuple[str, str | int],
                        ctx: CheckContext, role: str) -> None:
    kind, arg = selector
    if (dim := size_rank_dimension(kind)) is not None:
        _verify_size_rank(phrase, mark, fits, dim, int(arg), ctx, role)
        return
    if kind in SIZE_DIMENSIONS:
        def key(m: Mark) -> float:
            return m.extent(kind)
        margin = ctx.config.size_margin
    elif kind.startswith("depth"):
        frame = kind.split("_")[1] if "_" in kind else ctx.viewpoint   # "nearest the robot" names its frame

        def key(m: Mark) -> float:
            return _depth(m, frame)
        margin = 0.0
    else:
        return
    sign = 1.0 if arg in ("max", "far") else -1.0
    best = max(fits, key=lambda m: sign * key(m))
    gap = sign * (key(best) - key(mark))
    limit = margin * max(key(best), key(mark)) if not kind.startswith("depth") else ctx.config.depth_margin_m
    if best.id != mark.id and gap > limit:
        word = SELECTOR_WORDS[(kind, str(arg))] if kind in SIZE_DIMENSIONS else \
            "nearest" if arg == "near" else "farthest"
        raise GroundingError(f"the {role} phrase '{phrase}' asks for the {word}, but the chosen {mark.describe()} "
                             f"is not: {best.describe()} is", _describe(fits))


def _verify_size_rank(phrase: str, mark: Mark, fits: list[Mark], dim: str, rank: int, ctx: CheckContext,
                      role: str) -> None:
    """'the second biggest cup': the chosen mark must be the k-th in that order (or within the size margin of it)."""
    def key(m: Mark) -> float:
        return m.extent(dim)
    order = sorted(fits, key=key, reverse=rank > 0)
    k = abs(rank)
    if k > len(order):
        raise GroundingError(f"the {role} phrase '{phrase}' asks for number {k} by {dim}, but only {len(order)} fit",
                             _describe(fits))
    want = order[k - 1]
    if want.id != mark.id and abs(key(want) - key(mark)) > ctx.config.size_margin * max(key(want), key(mark)):
        raise GroundingError(f"the {role} phrase '{phrase}' asks for number {k} by {dim}, but the chosen "
                             f"{mark.describe()} is not: {want.describe()} is", _describe(fits))


def _verify_nothing_hidden(grounding: Grounding, ctx: CheckContext) -> None:
    """An object perception could not measure may be the one a phrase means ("the widest cup" when the widest
    stands against the arm in the image): refuse unless the phrase states a colour the hidden object lacks."""
    for role, phrase in (("pick", grounding.pick_phrase), ("place", grounding.place_phrase)):
        if not phrase:
            continue
        colour = phrase_attributes(phrase).color
        hidden = [u for u in ctx.unmeasured if colour is None or u.color_name in (colour, "unknown")]
        if hidden:
            raise GroundingError(f"the {role} phrase '{phrase}' could mean {hidden[0].describe()}; refusing rather "
                                 "than choosing among the objects it can measure (move the arm or the object)",
                                 _describe(ctx.marks))


def verify_grounding(grounding: Grounding, ctx: CheckContext) -> None:
    """Check a Grounding from any grounder against what its pick and place phrases state."""
    pick = next((m for m in ctx.marks if m.id == grounding.pick_mark_id), None)
    if pick is None:
        raise GroundingError(f"the grounder chose mark {grounding.pick_mark_id}, which is not among the marks",
                             _describe(ctx.marks))
    _verify_nothing_hidden(grounding, ctx)
    verify_mark(grounding.pick_phrase, pick, ctx, "pick")
    if not grounding.place_phrase:
        if grounding.place is not None:
            raise GroundingError("the grounder chose a place the instruction does not state", _describe(ctx.marks))
        return
    if grounding.place is None:
        raise GroundingError(f"the instruction states a place ('{grounding.place_phrase}') but the grounder chose "
                             "none", _describe(ctx.marks))
    ref = next((m for m in ctx.marks if m.id == grounding.place.mark_id), None)
    if ref is None:
        raise GroundingError(f"the grounder chose place mark {grounding.place.mark_id}, which is not among the marks",
                             _describe(ctx.marks))
    kind, ref_phrase = place_phrase_attributes(grounding.place_phrase)
    chosen = grounding.place.relation if grounding.place.kind == "relative" else None
    stated = kind if kind in RELATIONS else None
    if chosen != stated:
        raise GroundingError(f"the place phrase '{grounding.place_phrase}' states "
                             f"{(stated or 'on/into').replace('_', ' ')} but the grounder chose "
                             f"{(chosen or 'on/into').replace('_', ' ')} {ref.describe()}", _describe(ctx.marks))
    verify_mark(ref_phrase, ref, ctx, "place", frozenset({pick.id}))
    if stated is None and not holds(ref.shape, kind, phrase_noun(ref_phrase)):
        raise GroundingError(f"the grounder chose to put {pick.describe()} on {ref.describe()}: only "
                             f"{', '.join(SUPPORT_SHAPES['into' if kind == 'into' else 'on'])} hold an object "
                             "there", _describe(ctx.marks))
    occupants = [m for m in ctx.marks if m.id != pick.id and stands_in(m, ref)]
    if stated is None and occupants:
        raise GroundingError(f"cannot put {pick.describe()} on {ref.describe()}: "
                             f"{' and '.join(m.describe() for m in occupants)} already stands on it; "
                             "clear it first or name another place", _describe(ctx.marks))
