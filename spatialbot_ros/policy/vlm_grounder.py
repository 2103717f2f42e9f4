"""A VLM as the Grounder: Set-of-Mark prompting over the proposer's marks.

The instruction is split into its pick phrase and place phrase (core.grounding); the VLM is asked
which mark each one names, on the SoM overlay (plus the spatialbot16 depth image for depth-aware
models) with the Depth API loop available. The place relation (on / into / left of ...) is read from
the words and turned into a target with the same geometry as the built-in reasoner. An answer that
names no valid mark, or several, is a GroundingError: the robot does not move.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from spatialbot_ros.core.depth_encoding import encode_depth
from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grounding import (
    Grounding,
    GroundingConfig,
    format_report,
    parse_place_phrase,
    phrase_report,
    place_target_for,
    split_instruction,
)
from spatialbot_ros.core.grounding_check import CheckContext, verify_grounding
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.som_overlay import draw_marks
from spatialbot_ros.policy.depth_tool_loop import DepthLoopResult, run_depth_loop
from spatialbot_ros.policy.parsers import ParseResult, parse_box, parse_mark_id, parse_point, parse_yes_no
from spatialbot_ros.policy.vlm_client import VlmClient, VlmError, VlmRequest
from spatialbot_ros.policy.vlm_prompts import PromptStyle, contact_question, mark_question

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VlmGrounderConfig:
    style: PromptStyle = field(default_factory=PromptStyle)
    depth_encoding: str = "spatialbot16"
    max_depth_rounds: int = 4
    max_new_tokens: int = 64
    grounding: GroundingConfig = field(default_factory=GroundingConfig)


def mark_from_answer(answer: str, marks: list[Mark], width: int, height: int) -> ParseResult:
    """The mark an answer names: a mark id first; else a point (256 grid, 0..1, 0..1000) inside
    exactly one mark's mask; else a box whose best-overlapping mark covers most of it."""
    ids = [m.id for m in marks]
    by_id = parse_mark_id(answer, ids)
    if by_id.ok or "several" in by_id.reason or "is not one of" in by_id.reason:
        return by_id
    box = parse_box(answer, width, height)
    if box.ok:
        x0, y0, x1, y1 = box.value
        best, best_iou = None, 0.0
        for m in marks:
            bx0, by0, bx1, by1 = m.box_xyxy
            iw, ih = max(0.0, min(x1, bx1) - max(x0, bx0)), max(0.0, min(y1, by1) - max(y0, by0))
            inter = iw * ih
            union = (x1 - x0) * (y1 - y0) + (bx1 - bx0) * (by1 - by0) - inter
            iou = inter / union if union > 0 else 0.0
            if iou > best_iou:
                best, best_iou = m, iou
        if best is None or best_iou < 0.3:
            return ParseResult.fail(f"box {tuple(round(v) for v in box.value)} overlaps no mark well")
        return ParseResult(True, best.id, form=f"box:{box.form}")
    point = parse_point(answer, width, height)
    if point.ok:
        u, v = (int(round(c)) for c in point.value)
        hits = [m.id for m in marks if 0 <= v < m.mask.shape[0] and 0 <= u < m.mask.shape[1] and m.mask[v, u]]
        if len(hits) != 1:
            return ParseResult.fail(f"point ({u}, {v}) lies on {len(hits)} marks")
        return ParseResult(True, hits[0], form=f"point:{point.form}")
    return by_id


class VlmGrounder:
    """Grounder protocol over any VlmClient (transformers, OpenAI-compatible server, ...)."""

    def __init__(self, client: VlmClient, config: VlmGrounderConfig | None = None) -> None:
        self.client = client
        self.config = config or VlmGrounderConfig()
        self.name = f"vlm:{client.name}"
        self.last_transcripts: list[DepthLoopResult] = []

    @property
    def depth_rounds(self) -> int:
        return self.config.max_depth_rounds if self.config.style.depth_tool else 0

    def images_for(self, frame: RGBDFrame, marks: list[Mark] | None) -> list[np.ndarray]:
        """SoM overlay of the colour image (or the clean image: no marks, or a style without the
        overlay), then the encoded depth when the style uses depth."""
        overlay = marks is not None and self.config.style.som_overlay
        images = [draw_marks(frame.color_rgb, marks) if overlay else frame.color_rgb]
        if self.config.style.with_depth:
            images.append(encode_depth(frame.depth_mm, self.config.depth_encoding))
        return images

    def ask(self, question: str, frame: RGBDFrame, images: list[np.ndarray]) -> DepthLoopResult:
        """One question through the Depth API loop; a client failure is a GroundingError."""
        request = VlmRequest(question, images, max_new_tokens=self.config.max_new_tokens)
        try:
            return run_depth_loop(self.client, request, frame, self.depth_rounds)
        except VlmError as e:
            raise GroundingError(f"VLM '{self.client.name}' failed: {e}") from e

    def _ask_mark(self, phrase: str, role: str, frame: RGBDFrame, marks: list[Mark],
                  images: list[np.ndarray]) -> Mark:
        h, w = frame.depth_mm.shape
        result = self.ask(mark_question(phrase, role, marks, w, h, self.config.style), frame, images)
        self.last_transcripts.append(result)
        parsed = mark_from_answer(result.answer, marks, w, h)
        if not parsed.ok:
            raise GroundingError(f"VLM answer for the {role} object '{phrase}' is {parsed.reason} "
                                 f"(answer: {result.answer[:120]!r})", [m.describe() for m in marks])
        return next(m for m in marks if m.id == parsed.value)

    def ground(self, instruction: str, frame: RGBDFrame, marks: list[Mark],
               base_from_camera: np.ndarray) -> Grounding:
        if not isinstance(instruction, str) or not instruction.strip():
            raise GroundingError("empty instruction", [m.describe() for m in marks])
        if not marks:
            raise GroundingError("no objects were found on the table to ground the instruction")
        self.last_transcripts = []
        parts = split_instruction(instruction, self.config.grounding.default_viewpoint)
        images = self.images_for(frame, marks)
        pick = self._ask_mark(parts.pick_phrase, "pick", frame, marks, images)
        place = None
        why = f"VLM '{self.client.name}' chose {pick.describe()} for '{parts.pick_phrase}'"
        if parts.place_phrase:
            relation, ref_phrase = parse_place_phrase(parts.place_phrase)
            others = [m for m in marks if m.id != pick.id]
            if not others:
                raise GroundingError("there is no other object to place relative to", [m.describe() for m in marks])
            ref = self._ask_mark(ref_phrase, "place", frame, others, images)
            place = place_target_for(ref, relation, marks, self.config.grounding, base_from_camera, parts.viewpoint)
            why += f"; place {relation.replace('_', ' ')} {ref.describe()}"
        report = phrase_report(parts)
        grounding = Grounding(pick.id, place, f"{why}; {format_report(report)}", parts.pick_phrase,
                              parts.place_phrase, parts.viewpoint, report)
        verify_grounding(grounding, CheckContext(marks, parts.viewpoint, self.config.grounding))
        return grounding

    def judge_contact(self, object_phrase: str, frame: RGBDFrame, marks: list[Mark]) -> ParseResult:
        """Yes/no contact question on the current frame (evidence: the transcript with its depth queries)."""
        result = self.ask(contact_question(object_phrase, self.config.style), frame, self.images_for(frame, marks))
        self.last_transcripts.append(result)
        return parse_yes_no(result.answer)
