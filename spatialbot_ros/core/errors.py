"""Exception types: every refusal in the core is one of these, with a message a user can act on."""

from __future__ import annotations


class SpatialBotError(ValueError):
    """Base class for bad input the pipeline refuses (the robot must not move)."""


class FrameError(SpatialBotError):
    """An RGB-D frame or camera model is malformed (shape, dtype, intrinsics, staleness)."""


class DepthEncodingError(SpatialBotError):
    """A depth value cannot be represented in the requested encoding, or a code is invalid."""


class DepthQueryError(SpatialBotError):
    """A Depth API query is out of the image or has no valid depth around it."""


class GroundingError(SpatialBotError):
    """An instruction does not resolve to exactly one object; lists the candidates."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        self.candidates = list(candidates or [])
        if self.candidates:
            message = f"{message}; candidates: {', '.join(self.candidates)}"
        super().__init__(message)


class GraspError(SpatialBotError):
    """No feasible grasp (too wide for the gripper, too few points, ...)."""
