"""The phrase-parser tests' scene, one definition for test_phrase_parser.py and test_phrase_parser_dev3.py.

Camera at x=1.15 looking back at the robot, so the camera's left is -y and the robot's left +y:
four cups in a row at x=0.45 — red A (y=-0.24, small), red B (-0.08), red C (+0.08, big), blue D (+0.24) —
a green box, a white plate and a yellow bowl. Marks come from the objects' facts (no rendering)."""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.grounding import ground_instruction
from spatialbot_ros.core.instruction_templates import SceneObjectFacts
from spatialbot_ros.core.transforms import look_at

CAM = look_at([1.15, 0.0, 0.62], [0.5, 0.0, 0.0])
SIZES = {"cup": ((0.064, 0.064), 0.10), "box": ((0.05, 0.04), 0.06), "plate": ((0.18, 0.18), 0.015),
         "bowl": ((0.16, 0.16), 0.05)}


def scene_object(name: str, kind: str, colour: str, x: float, y: float, scale: float = 1.0) -> SceneObjectFacts:
    fp, h = SIZES[kind]
    return SceneObjectFacts(name, kind, colour, np.array([x, y, h * scale / 2]), (fp[0] * scale, fp[1] * scale),
                            h * scale)


SCENE = [scene_object("A", "cup", "red", 0.45, -0.24, 0.8), scene_object("B", "cup", "red", 0.45, -0.08),
         scene_object("C", "cup", "red", 0.45, 0.08, 1.3), scene_object("D", "cup", "blue", 0.45, 0.24),
         scene_object("box", "box", "green", 0.62, -0.10), scene_object("plate", "plate", "white", 0.66, 0.15),
         scene_object("bowl", "bowl", "yellow", 0.33, 0.30)]


def ground_names(marks: list, text: str) -> tuple[str, str | None]:
    """The names of the object to pick and of the place (None: no place) the instruction grounds to."""
    g = ground_instruction(text, marks, base_from_camera=CAM)
    names = {m.id: m.label for m in marks}
    return names[g.pick_mark_id], (names[g.place.mark_id] if g.place is not None else None)


def rule_grounder(text: str, marks: list, base_from_camera: np.ndarray) -> tuple[int, int | None]:
    """The rule grounder as the dev splits' scorer (sim.dev_grammar.score_grounder) calls it."""
    g = ground_instruction(text, marks, None, base_from_camera)
    return g.pick_mark_id, g.place.mark_id if g.place is not None else None
