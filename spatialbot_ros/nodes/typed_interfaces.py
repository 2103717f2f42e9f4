"""spatialbot_interfaces (built by scripts/build_interfaces.sh) <-> core types.

The typed package is optional at run time: `interfaces_available()` says whether it imports, and the
nodes then add the typed topic, service and action beside their JSON topics. Conversions only.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from spatialbot_ros.core.depth_api import DepthAPI
from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grounding import Grounding
from spatialbot_ros.core.marks import Mark


def interfaces_available() -> bool:
    return importlib.util.find_spec("spatialbot_interfaces") is not None


def _point(msg: Any, xyz: np.ndarray | None) -> None:
    if xyz is not None:
        msg.x, msg.y, msg.z = (float(v) for v in xyz)


def mark_to_msg(m: Mark) -> Any:
    from spatialbot_interfaces.msg import Mark as MarkMsg

    msg = MarkMsg(id=int(m.id), label=m.label or m.describe(), color=m.color_name, shape=m.shape,
                  box_xyxy=[int(v) for v in m.box_xyxy], footprint_long_m=float(m.footprint_m[0]),
                  footprint_short_m=float(m.footprint_m[1]), height_m=float(m.height_m),
                  depth_center_mm=float(m.depth.center_mm), depth_mean_mm=float(m.depth.mean_mm),
                  depth_min_mm=float(m.depth.min_mm), depth_max_mm=float(m.depth.max_mm),
                  resting_on=int(m.resting_on or 0), base_height_m=float(m.base_height_m))
    msg.centroid_px = [float(v) for v in m.centroid_px]
    _point(msg.centroid_camera, m.centroid_cam)
    _point(msg.centroid_base, m.centroid_base)
    return msg


def marks_to_msg(marks: list[Mark], frame_id: str, stamp: Any) -> Any:
    from spatialbot_interfaces.msg import MarkArray

    msg = MarkArray(marks=[mark_to_msg(m) for m in marks])
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    return msg


def _step_msg(instruction: str, phase: str, gripper: int, frame_id: str, stamp: Any, **fields: Any) -> Any:
    """A PolicyStep with no target yet (mark -1, box all -1)."""
    from spatialbot_interfaces.msg import PolicyStep

    msg = PolicyStep(instruction=instruction, phase=phase, target_mark_id=-1, gripper=gripper, **fields)
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    msg.target_box_xyxy = [-1, -1, -1, -1]
    return msg


def _set_target(msg: Any, mark_id: int, box_xyxy: Any, point_cam: np.ndarray | None,
                point_base: np.ndarray | None) -> None:
    msg.target_mark_id = int(mark_id)
    msg.target_box_xyxy = [int(v) for v in box_xyxy]
    _point(msg.target_point_camera, point_cam)
    _point(msg.target_point_base, point_base)


def _set_place(msg: Any, kind: str, relation: str | None, point_base: np.ndarray | None) -> None:
    """place_kind: on / into, or the relation of a relative place."""
    msg.place_kind = kind if relation is None else relation
    _point(msg.place_point_base, point_base)


def grounding_to_step_msg(instruction: str, marks: list[Mark], grounding: Grounding | None, error: str,
                          frame_id: str, stamp: Any) -> Any:
    """The spatial_policy node's per-frame result as a PolicyStep (no motion: zero delta, hold)."""
    from spatialbot_interfaces.msg import PolicyStep

    msg = _step_msg(instruction, "observe", PolicyStep.GRIPPER_HOLD, frame_id, stamp, error=error)
    if grounding is not None:
        msg.target_mark_id = int(grounding.pick_mark_id)
        msg.explanation = grounding.explanation
        chosen = next((m for m in marks if m.id == grounding.pick_mark_id), None)
        if chosen is not None:
            _set_target(msg, chosen.id, chosen.box_xyxy, chosen.centroid_cam, chosen.centroid_base)
        if grounding.place is not None:
            _set_place(msg, grounding.place.kind, grounding.place.relation, grounding.place.point_base)
    return msg


def policy_step_to_msg(instruction: str, phase: str, step: Any, frame_id: str, stamp: Any) -> Any:
    """One executed policy step (policy.base.PolicyStep): target, contact judgment with its evidence,
    the 6-DoF end-effector delta and the gripper command."""
    # GripperCommand's values are the message's GRIPPER_OPEN / CLOSE / HOLD
    msg = _step_msg(instruction, phase, int(step.action.gripper), frame_id, stamp, phase_done=bool(step.phase_done),
                    explanation=step.explanation, error=step.error)
    if step.target is not None:
        t = step.target
        _set_target(msg, t.mark_id, t.box_xyxy, t.point_cam, t.point_base)
    if step.place is not None:
        _set_place(msg, step.place.kind, step.place.relation, step.place.point_base)
    if step.contact is not None:
        msg.contact.header = msg.header
        msg.contact.touching, msg.contact.valid = bool(step.contact.touching), bool(step.contact.valid)
        msg.contact.gap_mm, msg.contact.evidence = float(step.contact.gap_mm), step.contact.evidence
    _point(msg.delta_translation_m, step.action.delta_translation_m)
    _point(msg.delta_rotvec, step.action.delta_rotvec)
    return msg


def answer_depth_query(request: Any, response: Any, frame: RGBDFrame | None) -> Any:
    """DepthQuery: a point (box_xyxy all -1) -> depth at it; a box -> centre/mean/min/max over it.
    Errors (no frame yet, outside the image, no depth there) come back as ok=false with the reason."""
    box = [int(v) for v in request.box_xyxy]
    if frame is None:
        response.ok, response.message = False, "no camera frame received yet"
        return response
    api = DepthAPI(frame)
    try:
        if box == [-1, -1, -1, -1]:
            response.depth_mm = response.center_mm = float(api.depth_at(request.x, request.y, bool(request.normalized)))
            response.mean_mm = response.min_mm = response.max_mm = response.depth_mm
        else:
            stats = api.region_stats(tuple(box))
            response.depth_mm, response.center_mm = float(stats.center_mm), float(stats.center_mm)
            response.mean_mm, response.min_mm, response.max_mm = float(stats.mean_mm), float(stats.min_mm), float(stats.max_mm)
        response.ok, response.message = True, ""
    except (SpatialBotError, ValueError) as exc:
        response.ok, response.message = False, str(exc)
    return response
