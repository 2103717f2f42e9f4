"""Set-of-Mark overlay: numbered marks with outlines on the colour image, the chosen mark
highlighted, and the place target, as Magma/SoM prompts and human reviewers see it."""

from __future__ import annotations

import cv2
import numpy as np

from spatialbot_ros.core.marks import Mark

_OUTLINE = (255, 255, 255)
_CHOSEN = (0, 230, 0)
_PLACE = (255, 0, 255)


def draw_marks(color_rgb: np.ndarray, marks: list[Mark], chosen_id: int | None = None,
               place_point_px: tuple[float, float] | None = None) -> np.ndarray:
    """A copy of the image with each mark's outline and number; the input is not modified."""
    img = np.ascontiguousarray(color_rgb).copy()
    for m in marks:
        chosen = m.id == chosen_id
        x0, y0, x1, y1 = m.box_xyxy
        crop = m.mask[y0:y1, x0:x1].astype(np.uint8)
        contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x0, y0))
        cv2.drawContours(img, contours, -1, _CHOSEN if chosen else _OUTLINE, 3 if chosen else 1, cv2.LINE_AA)
        if chosen:
            cv2.rectangle(img, (x0, y0), (x1, y1), _CHOSEN, 1)
        u, v = int(round(m.centroid_px[0])), int(round(m.centroid_px[1]))
        text = str(m.id)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 2)
        r = max(tw, th) // 2 + 5
        cv2.circle(img, (u, v), r, _CHOSEN if chosen else (20, 20, 20), -1, cv2.LINE_AA)
        cv2.circle(img, (u, v), r, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.putText(img, text, (u - tw // 2, v + th // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                    (0, 0, 0) if chosen else (255, 255, 255), 2, cv2.LINE_AA)
    if place_point_px is not None:
        pu, pv = int(round(place_point_px[0])), int(round(place_point_px[1]))
        cv2.drawMarker(img, (pu, pv), _PLACE, cv2.MARKER_TILTED_CROSS, 22, 3, cv2.LINE_AA)
    return img


def mark_legend(marks: list[Mark]) -> list[str]:
    """One line per mark, e.g. '1: red cylinder at 612 mm, 9 cm tall'."""
    return [f"{m.id}: {m.color_name} {m.shape} at {m.depth.center_mm:.0f} mm, {m.height_m * 100:.0f} cm tall"
            for m in marks]
