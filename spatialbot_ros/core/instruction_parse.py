"""Checks that run before an instruction is grounded, so no part of it is silently ignored.

The rule grounder reads a small vocabulary; anything outside it (a coordinate, "throw", a
negation, a pronoun with nothing to refer to) would otherwise be skipped and the rest executed.
These checks refuse such instructions, naming the words, and bound the work any input can cause.
"""

from __future__ import annotations

import re

from spatialbot_ros.core.errors import GroundingError

MAX_INSTRUCTION_CHARS = 500
MAX_RELATIONS = 4          # relation words per instruction ("the cup left of the box behind the ...")

# words that carry no content: ignoring them cannot change what is picked or where it goes
FILLER = frozenset("""
please kindly could would will can you i me we us let's lets want need like to just now then and
also carefully gently slowly quickly thanks thank ok okay hey hi robot so for the a an this that
these those is are be which located sitting lying standing placed there here one ones its go goes
should must has have belongs belong currently up down over back away of with some any""".split())
# "can" is also a noun (a cylinder); FILLER is only consulted for words no other vocabulary claims

NEGATIONS = frozenset("""not don't dont doesn't didn't isn't aren't won't shouldn't never no none nothing
neither nor except but without other others besides avoid instead excluding apart rather than""".split())
PRONOUNS = frozenset({"it", "them", "they", "him", "her", "itself", "that one", "this one"})

_RELATION_WORDS = re.compile(r"\b(?:left|right|front|behind|before|next|beside|near|close|by|between|nearest"
                             r"|closest)\b")


def bounded_text(instruction: object) -> str:
    """The instruction as a string within MAX_INSTRUCTION_CHARS, or GroundingError."""
    if not isinstance(instruction, str):
        raise GroundingError(f"an instruction must be text, not {type(instruction).__name__}")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise GroundingError(f"the instruction is {len(instruction)} characters long; at most "
                             f"{MAX_INSTRUCTION_CHARS} are accepted (say it in one short sentence)")
    return instruction


def refuse_negation(words: list[str], instruction: str) -> None:
    """A negation is refused rather than dropped: dropping it would invert the request."""
    neg = [w for w in words if w in NEGATIONS or w.endswith("n't")]
    if neg:
        raise GroundingError(f"'{instruction.strip()}' contains a negation or exclusion ({', '.join(dict.fromkeys(neg))}); "
                             "name the object to pick positively (e.g. 'pick the blue cup')")


def refuse_deep_nesting(text: str) -> None:
    n = len(_RELATION_WORDS.findall(text))
    if n > MAX_RELATIONS:
        raise GroundingError(f"the instruction chains {n} spatial relations; at most {MAX_RELATIONS} are accepted")


def refuse_unknown(words: list[str], known: frozenset[str] | set[str], instruction: str) -> None:
    """Every word must be one the grounder reads (or filler); otherwise refuse naming the words."""
    unknown = [w for w in words if w not in known and w not in FILLER]
    if unknown:
        raise GroundingError(f"cannot use the word(s) {', '.join(repr(w) for w in dict.fromkeys(unknown))} in "
                             f"'{instruction.strip()}'; refusing rather than ignoring part of the instruction")


def refuse_dangling_pronoun(phrase: str, role: str) -> None:
    """A pick phrase that is a pronoun ('put it on the red cup') has nothing to refer to."""
    words = phrase.split()
    bare = [w for w in words if w in PRONOUNS]
    if bare:
        raise GroundingError(f"the {role} phrase '{phrase}' uses '{bare[0]}' with nothing it refers to; "
                             "name the object (e.g. 'put the blue cup on the red cup')")
