"""What every VLM backend offers the rest of the policy: one request (question, images, what the
assistant has already said) in, generated text out.

The assistant prefix is how the Depth API tool loop continues a model's answer after it asked
`Depth(x,y)`: local models append it to the prompt, chat servers send it as the assistant's turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class VlmError(RuntimeError):
    """A VLM backend could not produce text (server down, bad model directory, ...). Callers turn it
    into a refused step; it never moves the robot."""


@dataclass(frozen=True)
class VlmRequest:
    """images: HxWx3 uint8 RGB arrays, in prompt order (SpatialBot: colour, then encoded depth)."""

    question: str
    images: list[np.ndarray] = field(default_factory=list)
    assistant_prefix: str = ""
    max_new_tokens: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError("VLM request: the question must be non-empty text")
        for i, im in enumerate(self.images):
            a = np.asarray(im)
            if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
                raise ValueError(f"VLM request: image {i} must be HxWx3 uint8 RGB, got {a.dtype} {a.shape}")
        if self.max_new_tokens < 1:
            raise ValueError("VLM request: max_new_tokens must be >= 1")


class VlmClient(Protocol):
    name: str

    def generate(self, request: VlmRequest) -> str:
        """The continuation of the assistant's answer after `request.assistant_prefix`."""
        ...
