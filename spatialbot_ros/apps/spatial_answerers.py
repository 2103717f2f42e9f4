"""Who answers spatial questions: the built-in perception (the baseline) or a VLM backend.

The baseline answers from the Set-of-Mark proposals, the rule-based phrase resolver, the Depth API
and the depth-based contact judgment: exactly what the built-in policy uses to act. A VLM gets the
colour image (and the encoded depth for depth-aware models), the Depth API tool loop, and the
question text.
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.apps.spatial_qa import QaScene, SpatialAnswerer, SpatialQuestion
from spatialbot_ros.core.contact import judge_contact
from spatialbot_ros.core.errors import SpatialBotError
from spatialbot_ros.core.grounding import NOUNS, resolve_phrase
from spatialbot_ros.policy.vlm_client import VlmClient
from spatialbot_ros.policy.vlm_grounder import VlmGrounder, VlmGrounderConfig
from spatialbot_ros.policy.vlm_prompts import qa_question

BUILTIN_NAMES = ("builtin", "geometric")


class BuiltinAnswerer:
    name = "builtin"

    def answer(self, q: SpatialQuestion, scene: QaScene) -> str:
        try:
            return self._answer(q, scene)
        except SpatialBotError as e:
            return f"cannot tell: {e}"

    def _mark(self, phrase: str, scene: QaScene):  # noqa: ANN202 (Mark)
        return resolve_phrase(phrase, scene.marks, base_from_camera=scene.base_from_camera)

    def _answer(self, q: SpatialQuestion, scene: QaScene) -> str:
        if q.category == "depth":
            return f"{self._mark(q.subjects[0], scene).depth.center_mm:.0f} mm"
        if q.category == "counting":
            shape = NOUNS.get(q.subjects[0])
            return str(sum(m.shape == shape for m in scene.marks))
        if q.category == "touching":
            j = judge_contact(scene.frame, scene.fingertips_base, self._mark(q.subjects[0], scene),
                              base_from_camera=scene.base_from_camera, points_frame="base",
                              reference_depth_mm=scene.observe_frame.depth_mm)
            return ("yes" if j.touching else "no") if j.valid else f"cannot tell: {j.evidence}"
        a, b = (self._mark(p, scene) for p in q.subjects[:2])
        pa, pb = q.subjects[:2]
        if q.category == "closer":
            return pa if np.linalg.norm(a.centroid_cam) < np.linalg.norm(b.centroid_cam) else pb
        if q.category == "left_right":
            return "yes" if a.centroid_cam[0] / a.centroid_cam[2] < b.centroid_cam[0] / b.centroid_cam[2] else "no"
        if q.category == "size":
            return pa if a.extent("size") > b.extent("size") else pb
        raise ValueError(f"unknown question category {q.category!r}")


class VlmAnswerer:
    """Ask a VLM the question on the clean colour (+ depth) image, with the Depth API loop: the
    grounder's images and loop, without the marks."""

    def __init__(self, client: VlmClient, config: VlmGrounderConfig | None = None) -> None:
        self._vlm = VlmGrounder(client, config)
        self.name = client.name

    def answer(self, q: SpatialQuestion, scene: QaScene) -> str:
        vlm = self._vlm
        question = qa_question(q.question, vlm.config.style, vlm.depth_rounds)
        return vlm.ask(question, scene.frame, vlm.images_for(scene.frame, None)).answer


def answerer_for(policy: str, model_dir: str = "", backend_config: str = "") -> SpatialAnswerer:
    """The answerer behind a policy backend name (the same names and options as everywhere)."""
    if policy in BUILTIN_NAMES:
        return BuiltinAnswerer()
    from spatialbot_ros.policy.magma_policy import MagmaPolicy
    from spatialbot_ros.policy.registry import available_backends, make_policy_from_params

    answering = tuple(n for n, b in available_backends().items() if b.answers_questions)
    if policy not in answering:
        raise ValueError(f"policy '{policy}' answers no questions; use builtin or one of {answering}")
    built = make_policy_from_params(policy, model_dir, backend_config)
    if isinstance(built, MagmaPolicy):
        return VlmAnswerer(built.model)
    grounder = built.grounder  # type: ignore[attr-defined]
    return VlmAnswerer(grounder.client, grounder.config)
