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


class ObjectTooWideError(GraspError):
    """The object is wider across every grasp the planner may take than the open gripper holds."""


class InputFileError(SpatialBotError):
    """A scene or config file is unreadable, too large, too deep or not the expected structure."""


class OutputError(SpatialBotError):
    """An output directory is not writable, or holds a run that must not be overwritten."""


class RunStateError(SpatialBotError):
    """A run directory to resume does not match the arguments (different policy, seed, scenes ...)."""


MAX_MESSAGE_CHARS = 400


def short_repr(value: object, limit: int = 80) -> str:
    """repr() bounded in work and length: nested or aliased structures are never expanded in full."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple, r.maxset = 3, 4, 4, 4, 4
    r.maxstring, r.maxother, r.maxlong = limit, limit, 40
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bounded_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line of at most `limit` characters (a huge bad value is cut, with a marker)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 14] + " ...(truncated)"


class TaskFailedError(SpatialBotError):
    """A run completed without producing what it exists for (no episode solved, nothing to write)."""
