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
                  depth_min_mm=float(m.depth.min_mm), depth_max_mm=float(m.depth.max_mm))
    msg.centroid_px = [float(v) for v in m.centroid_px]
    _point(msg.centroid_camera, m.centroid_cam)
    _point(msg.centroid_base, m.centroid_base)
    return msg


def marks_to_msg(marks: list[Mark], frame_id: str, stamp: Any) -> Any:
    from spatialbot_interfaces.msg import MarkArray

    msg = MarkArray(marks=[mark_to_msg(m) for m in marks])
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    return msg


def grounding_to_step_msg(instruction: str, marks: list[Mark], grounding: Grounding | None, error: str,
                          frame_id: str, stamp: Any) -> Any:
    """The spatial_policy node's per-frame result as a PolicyStep (no motion: zero delta, hold)."""
    from spatialbot_interfaces.msg import PolicyStep

    msg = PolicyStep(instruction=instruction, phase="observe", target_mark_id=-1, gripper=PolicyStep.GRIPPER_HOLD,
                     error=error)
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    msg.target_box_xyxy = [-1, -1, -1, -1]
    if grounding is not None:
        chosen = next((m for m in marks if m.id == grounding.pick_mark_id), None)
        msg.target_mark_id = int(grounding.pick_mark_id)
        msg.explanation = grounding.explanation
        if chosen is not None:
            msg.target_box_xyxy = [int(v) for v in chosen.box_xyxy]
            _point(msg.target_point_camera, chosen.centroid_cam)
            _point(msg.target_point_base, chosen.centroid_base)
        if grounding.place is not None:
            msg.place_kind = grounding.place.kind if grounding.place.relation is None else grounding.place.relation
            _point(msg.place_point_base, grounding.place.point_base)
    return msg


def policy_step_to_msg(instruction: str, phase: str, step: Any, frame_id: str, stamp: Any) -> Any:
    """One executed policy step (policy.base.PolicyStep): target, contact judgment with its evidence,
    the 6-DoF end-effector delta and the gripper command."""
    from spatialbot_interfaces.msg import PolicyStep as StepMsg

    # GripperCommand's values are the message's GRIPPER_OPEN / CLOSE / HOLD
    msg = StepMsg(instruction=instruction, phase=phase, target_mark_id=-1, gripper=int(step.action.gripper),
                  phase_done=bool(step.phase_done), explanation=step.explanation, error=step.error)
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    msg.target_box_xyxy = [-1, -1, -1, -1]
    if step.target is not None:
        msg.target_mark_id = int(step.target.mark_id)
        msg.target_box_xyxy = [int(v) for v in step.target.box_xyxy]
        _point(msg.target_point_camera, step.target.point_cam)
        _point(msg.target_point_base, step.target.point_base)
    if step.place is not None:
        msg.place_kind = step.place.kind if step.place.relation is None else step.place.relation
        _point(msg.place_point_base, step.place.point_base)
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
