"""Marks and grounding results as ROS messages (RViz markers, target pose, JSON summary)."""

from __future__ import annotations

import json

from geometry_msgs.msg import PoseStamped
from std_msgs.msg import String
from visualization_msgs.msg import Marker, MarkerArray

from spatialbot_ros.core.colors import PALETTE
from spatialbot_ros.core.grounding import Grounding
from spatialbot_ros.core.marks import Mark


def marks_to_marker_array(marks: list[Mark], frame_id: str, stamp: object, chosen_id: int | None = None) -> MarkerArray:
    """A cylinder per mark (footprint x height, in the base frame) and its number as text."""
    out = MarkerArray()
    out.markers.append(Marker(action=Marker.DELETEALL))
    for m in marks:
        if m.centroid_base is None:
            continue
        body = Marker(type=Marker.CYLINDER, action=Marker.ADD, ns="marks", id=m.id)
        body.header.frame_id, body.header.stamp = frame_id, stamp
        body.pose.position.x, body.pose.position.y, body.pose.position.z = (float(v) for v in m.centroid_base)
        body.pose.orientation.w = 1.0
        body.scale.x = body.scale.y = float(m.footprint_m[0])
        body.scale.z = float(m.height_m)
        r, g, b = PALETTE.get(m.color_name, (0.5, 0.5, 0.5))
        body.color.r, body.color.g, body.color.b, body.color.a = r, g, b, 1.0 if m.id == chosen_id else 0.6
        text = Marker(type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, ns="mark_ids", id=m.id, text=str(m.id))
        text.header = body.header
        text.pose.position.x, text.pose.position.y = body.pose.position.x, body.pose.position.y
        text.pose.position.z = float(m.centroid_base[2] + m.height_m / 2 + 0.04)
        text.pose.orientation.w = 1.0
        text.scale.z = 0.04
        text.color.r = text.color.g = text.color.b = text.color.a = 1.0
        out.markers += [body, text]
    return out


def target_pose(mark: Mark, frame_id: str, stamp: object) -> PoseStamped:
    msg = PoseStamped()
    msg.header.frame_id, msg.header.stamp = frame_id, stamp
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in mark.centroid_base)
    msg.pose.orientation.w = 1.0
    return msg


def grounding_json(instruction: str, marks: list[Mark], grounding: Grounding | None, error: str = "",
                   stamp_s: float = 0.0) -> String:
    """Structured result as JSON, for tools without spatialbot_interfaces (the typed PolicyStep and
    MarkArray carry the same when it is built)."""
    def mark_dict(m: Mark) -> dict:
        return {"id": m.id, "label": m.label, "color": m.color_name, "shape": m.shape, "box_xyxy": list(m.box_xyxy),
                "centroid_px": [round(v, 1) for v in m.centroid_px],
                "centroid_base": None if m.centroid_base is None else [round(float(v), 4) for v in m.centroid_base],
                "height_m": round(float(m.height_m), 4), "resting_on": m.resting_on,
                "base_height_m": round(float(m.base_height_m), 4),
                "depth_mm": {"center": m.depth.center_mm, "mean": round(m.depth.mean_mm, 1), "min": m.depth.min_mm,
                             "max": m.depth.max_mm}}
    data: dict = {"instruction": instruction, "stamp_s": stamp_s, "marks": [mark_dict(m) for m in marks], "error": error}
    if grounding is not None:
        place = grounding.place
        data.update(pick_mark_id=grounding.pick_mark_id, explanation=grounding.explanation,
                    place=None if place is None else {
                        "kind": place.kind, "mark_id": place.mark_id, "relation": place.relation,
                        "point_base": None if place.point_base is None else [round(float(v), 4) for v in place.point_base]})
    return String(data=json.dumps(data))
