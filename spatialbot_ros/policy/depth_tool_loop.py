"""SpatialBot's Depth API as a tool loop: the model writes `Depth(x,y)`, we answer with the depth
in millimetres at that point of the current frame, and it continues from there.

Each round generates until the model has asked for a depth (the text is cut right after the first
unanswered request, which is then answered) or stops. Rounds are bounded so a model that keeps
asking cannot stall the robot. When the final answer is itself a bare `Depth(x,y)`, it is resolved:
the answer becomes the depth value, as SpatialBot's evaluation does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from spatialbot_ros.core.depth_api import DEPTH_REQUEST, DepthAPI, find_depth_requests
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.policy.vlm_client import VlmClient, VlmRequest

log = logging.getLogger(__name__)


@dataclass
class DepthLoopResult:
    """text: the whole answer with every request answered; answer: the part after the last
    request (what parsers read); queries: (x, y, mm or None) in order."""

    text: str
    answer: str
    rounds: int
    queries: list[tuple[float, float, float | None]] = field(default_factory=list)
    exhausted: bool = False


def _answer_first_request(text: str, api: DepthAPI) -> tuple[str, tuple[float, float, float | None]]:
    """Cut `text` right after its first `Depth(x,y)` and append `=<mm>` from the frame; a value the
    model wrote itself is dropped (it cannot know the depth). The text must hold a request."""
    m = DEPTH_REQUEST.search(text)
    assert m is not None
    head = text[:m.start(3) if m.group(3) is not None else m.end(0)]
    answered = api.resolve_depth_requests(head)
    value_txt = answered.rsplit("=", 1)[-1].strip()
    mm = float(value_txt) if value_txt != "unknown" else None
    return answered, (float(m.group(1)), float(m.group(2)), mm)


def run_depth_loop(client: VlmClient, request: VlmRequest, frame: RGBDFrame, max_rounds: int = 4) -> DepthLoopResult:
    """Generate with the Depth API available; at most `max_rounds` depth answers are given."""
    if max_rounds < 0:
        raise ValueError("max_rounds must be >= 0")
    api = DepthAPI(frame)
    transcript = request.assistant_prefix
    queries: list[tuple[float, float, float | None]] = []
    rounds = 0
    while True:
        new = client.generate(VlmRequest(request.question, request.images, transcript, request.max_new_tokens))
        asks = DEPTH_REQUEST.search(new) is not None
        if not asks or rounds >= max_rounds:
            transcript += new
            exhausted = asks  # the model still wanted a depth when the rounds ran out
            break
        answered_new, q = _answer_first_request(new, api)
        transcript += answered_new
        queries.append(q)
        rounds += 1
        log.debug("Depth API round %d: Depth(%.3f,%.3f) = %s mm", rounds, q[0], q[1], q[2])
    answer = _final_answer(transcript, api, queries)
    return DepthLoopResult(transcript, answer, rounds, queries, exhausted)


def _final_answer(transcript: str, api: DepthAPI, queries: list[tuple[float, float, float | None]]) -> str:
    """The text after the last answered request; a bare trailing request is resolved to its value."""
    reqs = find_depth_requests(transcript)
    if not reqs:
        return transcript.strip()
    last = reqs[-1]
    tail = transcript[last.span[1]:].strip()
    if tail and any(ch.isalnum() for ch in tail):
        return tail
    # the model's last word is a depth request: the answer is its value
    resolved = api.resolve_depth_requests(transcript[last.span[0]:last.span[1]])
    value = resolved.rsplit("=", 1)[-1].strip()
    if not last.answered:
        queries.append((last.x, last.y, None if value == "unknown" else float(value)))
    return value
