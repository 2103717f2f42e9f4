"""Bounds and word lists for reading instructions, shared by the phrase parser (core.phrase_parser).

An instruction is bounded before it is read (length, relations), filler words are the only words it
may contain without their being used, and negations are refused rather than dropped: dropping one
would invert the request.
"""

from __future__ import annotations

from spatialbot_ros.core.errors import GroundingError

MAX_INSTRUCTION_CHARS = 500
MAX_RELATIONS = 4          # relation words per instruction ("the cup left of the box behind the ...")

# words that carry no content: ignoring them cannot change what is picked or where it goes
FILLER = frozenset("""
please kindly could would will can you i me we us let's lets want need like to just now then and
also carefully gently slowly quickly thanks thank ok okay hey hi robot so for the a an this that
these those is are be which located sitting lying standing placed there here one ones its go goes
should must has have belongs belong currently up down over back away of with some any""".split())
# "can" is also a noun (a cylinder); the parser's lexicon claims such words before FILLER is consulted

NEGATIONS = frozenset("""not don't dont doesn't didn't isn't aren't won't shouldn't never no none nothing
neither nor except but without other others besides avoid instead excluding apart rather than""".split())


def bounded_text(instruction: object) -> str:
    """The instruction as a string within MAX_INSTRUCTION_CHARS, or GroundingError."""
    if not isinstance(instruction, str):
        raise GroundingError(f"an instruction must be text, not {type(instruction).__name__}")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise GroundingError(f"the instruction is {len(instruction)} characters long; at most "
                             f"{MAX_INSTRUCTION_CHARS} are accepted (say it in one short sentence)")
    return instruction
