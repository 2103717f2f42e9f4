"""Prompts for spatial VLMs: Set-of-Mark questions (Magma's `Mark k at [x,y]` on a 256 grid), the
SpatialBot two-image template, contact and action questions.

The wording asks for answer forms that `policy.parsers` reads (`Mark k`, yes/no, `[..]` lists), and
tells depth-aware models that they may call the Depth API as `Depth(x,y)` with x, y in 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

from spatialbot_ros.core.marks import Mark

# The Bunny/SpatialBot system line and turn markers: the released checkpoints were trained on them.
SPATIALBOT_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant "
                     "gives helpful, detailed, and polite answers to the user's questions.")
SPATIALBOT_IMAGE_SLOTS = ("<image 1>", "<image 2>")
GRID = 256


def to_grid(value_px: float, size_px: int, grid: int = GRID) -> int:
    """A pixel coordinate on Magma's grid (0..grid-1)."""
    return int(min(grid - 1, max(0, int(value_px / size_px * grid))))


def mark_lines(marks: list[Mark], width: int, height: int) -> list[str]:
    """'Mark 3 at [121,88]': each mark's centre on the 256 grid, the form Magma's SoM answers use."""
    return [f"Mark {m.id} at [{to_grid(m.centroid_px[0], width)},{to_grid(m.centroid_px[1], height)}]" for m in marks]


@dataclass(frozen=True)
class PromptStyle:
    """with_depth: a depth image follows the colour image; depth_tool: the model may call Depth(x,y);
    som_overlay: the colour image carries the numbered marks (else it is sent clean and the marks
    exist only as the listed coordinates); list_marks: the prompt lists each mark's grid position."""

    with_depth: bool = True
    depth_tool: bool = True
    list_marks: bool = True
    som_overlay: bool = True

    def __post_init__(self) -> None:
        if not (self.som_overlay or self.list_marks):
            raise ValueError("prompt style: with neither the SoM overlay nor the mark list the model cannot name a mark")


def _preamble(style: PromptStyle) -> str:
    parts = ["The first image shows a table seen by the robot's camera"
             + (", with numbered marks on candidate objects." if style.som_overlay else ".")]
    if style.with_depth:
        parts.append("The second image is the aligned depth map.")
    if style.depth_tool:
        parts.append("To know how far a point is, write Depth(x,y) with x and y between 0 and 1 "
                     "(fractions of the image width and height) and you will be told its depth in millimetres.")
    return " ".join(parts)


def mark_question(phrase: str, role: str, marks: list[Mark], width: int, height: int,
                  style: PromptStyle = PromptStyle()) -> str:
    """Which mark is `phrase`? role 'pick' (the object to grasp) or 'place' (the reference object
    of where it goes). The answer form asked for is `Mark k`."""
    if role not in ("pick", "place"):
        raise ValueError(f"role must be 'pick' or 'place', not {role!r}")
    ask = (f"Which mark is {phrase.strip()}?" if role == "pick"
           else f"The object will be put relative to {phrase.strip()}. Which mark is {phrase.strip()}?")
    lines = [_preamble(style)]
    if style.list_marks:
        lines.append("Marks: " + "; ".join(mark_lines(marks, width, height)) + ".")
    lines.append(ask + " Answer with 'Mark k' for exactly one k.")
    return "\n".join(lines)


def qa_question(question: str, style: PromptStyle, depth_rounds: int) -> str:
    """A spatial question on the clean colour image (+ depth), with the Depth API offered when
    depth rounds are allowed."""
    text = ("The second image is the depth map of the first. " if style.with_depth else "") + question
    if depth_rounds:
        text += " You may write Depth(x,y), x and y between 0 and 1, to be told the depth there in millimetres."
    return text


def contact_question(object_phrase: str, style: PromptStyle = PromptStyle()) -> str:
    """SpatialBot judges contact by comparing gripper and object depth; the question says so."""
    tool = " You may compare their depths with Depth(x,y)." if style.depth_tool else ""
    return (f"Is the robot's gripper touching {object_phrase.strip()}?{tool} Answer yes or no.")


def action_question(instruction: str) -> str:
    """Magma/OpenVLA-style action prompt; the model answers with 7 action tokens."""
    return f"What action should the robot take to {instruction.strip().rstrip('.')}?"


def spatialbot_prompt(question: str, n_images: int = 2, assistant_prefix: str = "") -> str:
    """The SpatialBot (Bunny) single-turn template with `<image k>` slots for 1 or 2 images."""
    if n_images not in (1, 2):
        raise ValueError(f"SpatialBot takes one or two images, not {n_images}")
    slots = "".join(f"{s}\n" for s in SPATIALBOT_IMAGE_SLOTS[:n_images])
    return f"{SPATIALBOT_SYSTEM} USER: {slots}{question} ASSISTANT:" + (f" {assistant_prefix}" if assistant_prefix else "")
