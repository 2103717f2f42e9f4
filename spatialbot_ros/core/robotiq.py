"""The Robotiq 2F-85 as ROS 2 drivers describe it (PickNik ros2_robotiq_gripper): one actuated joint,
`robotiq_85_left_knuckle_joint`, from 0.0 rad (fully open, 85 mm between the pads) to about
0.7929 rad (closed). The mapping between knuckle angle and pad opening is taken as linear, which is
within a few millimetres over the stroke; one home for it, used by the gripper clients and the
driver emulator alike."""

from __future__ import annotations

import math

STROKE_M = 0.085
KNUCKLE_JOINT = "robotiq_85_left_knuckle_joint"
KNUCKLE_OPEN_RAD = 0.0
KNUCKLE_CLOSED_RAD = 0.7929


def width_from_knuckle(knuckle_rad: float, closed_rad: float = KNUCKLE_CLOSED_RAD, stroke_m: float = STROKE_M) -> float:
    """Pad opening (m) for a knuckle angle (clamped to the stroke); NaN stays NaN."""
    if not math.isfinite(knuckle_rad):
        return float("nan")
    frac = min(max(knuckle_rad / closed_rad, 0.0), 1.0)
    return stroke_m * (1.0 - frac)


def knuckle_from_width(width_m: float, closed_rad: float = KNUCKLE_CLOSED_RAD, stroke_m: float = STROKE_M) -> float:
    """Knuckle angle (rad) that opens the pads to width_m (clamped to the stroke)."""
    if not math.isfinite(width_m):
        raise ValueError(f"gripper width must be finite, got {width_m}")
    frac = min(max(width_m / stroke_m, 0.0), 1.0)
    return closed_rad * (1.0 - frac)
