"""Policy factories for the VLM backends (registered in policy.registry).

`spatialbot`, `transformers` and `openai` ground the instruction with a VLM over Set-of-Mark
proposals and leave grasping, contact judgment and the end-effector deltas to the built-in policy
(GeometricPolicy with a VlmGrounder). `magma` asks the model for 7 action tokens every step.
Options come as keyword arguments, usually from one section of a YAML file (config/policy_backends.yaml,
the nodes' `backend_config` parameter, the CLI's --backend-config).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from spatialbot_ros.core.ee_delta import StepLimits
from spatialbot_ros.policy.geometric import GeometricPolicy
from spatialbot_ros.policy.magma_policy import MagmaActionConfig, MagmaPolicy
from spatialbot_ros.policy.openai_vlm import OpenAIVlm, OpenAIVlmConfig
from spatialbot_ros.policy.vlm_grounder import VlmGrounder, VlmGrounderConfig
from spatialbot_ros.policy.vlm_prompts import PromptStyle


def _split(options: dict[str, Any], *classes: type) -> list[dict[str, Any]]:
    """Distribute options over dataclasses by field name; unknown keys are an error."""
    names = [{f.name for f in fields(c)} for c in classes]
    out: list[dict[str, Any]] = [{} for _ in classes]
    for key, value in options.items():
        owners = [i for i, n in enumerate(names) if key in n]
        if not owners:
            known = sorted(set().union(*names))
            raise ValueError(f"unknown backend option '{key}'; known: {', '.join(known)}")
        for i in owners:
            out[i][key] = value
    return out


def make_transformers_policy(**options: Any) -> GeometricPolicy:
    """A local transformers VLM (LLaVA, Qwen2.5-VL, ...) grounding over SoM marks."""
    from spatialbot_ros.policy.transformers_vlm import TransformersVlm, TransformersVlmConfig

    return _vlm_policy(options, TransformersVlmConfig, TransformersVlm, {"with_depth": False, "depth_tool": False})


def make_spatialbot_policy(**options: Any) -> GeometricPolicy:
    """SpatialBot: RGB + spatialbot16 depth images, SoM, the Depth API loop."""
    from spatialbot_ros.policy.transformers_vlm import TransformersVlm, TransformersVlmConfig

    options = {"model": "RussRobin/SpatialBot-3B", "trust_remote_code": True, **options}
    return _vlm_policy(options, TransformersVlmConfig, TransformersVlm, {"with_depth": True, "depth_tool": True})


def make_openai_policy(**options: Any) -> GeometricPolicy:
    """Any OpenAI-compatible chat server with image input (vLLM, SGLang, Ollama, hosted)."""
    return _vlm_policy(options, OpenAIVlmConfig, OpenAIVlm, {"with_depth": False, "depth_tool": True})


def _vlm_policy(options: dict[str, Any], client_cfg: type, client_cls: type,
                style_defaults: dict[str, Any]) -> GeometricPolicy:
    client_opts, grounder_opts, style_opts = _split(options, client_cfg, VlmGrounderConfig, PromptStyle)
    grounder_opts = {k: v for k, v in grounder_opts.items() if k not in ("style", "grounding")}
    style = PromptStyle(**{**style_defaults, **style_opts})
    return GeometricPolicy(grounder=VlmGrounder(client_cls(client_cfg(**client_opts)),
                                                VlmGrounderConfig(style=style, **grounder_opts)))


def make_magma_policy(**options: Any) -> MagmaPolicy:
    """Magma-style per-step actions from a transformers model (e.g. microsoft/Magma-8B)."""
    from spatialbot_ros.policy.transformers_vlm import TransformersVlm, TransformersVlmConfig

    options = {"model": "microsoft/Magma-8B", "trust_remote_code": True, **options}
    if "step_limits" in options and isinstance(options["step_limits"], dict):
        options["step_limits"] = StepLimits(**options["step_limits"])
    client_opts, action_opts = _split(options, TransformersVlmConfig, MagmaActionConfig)
    for key in ("low", "high"):
        if key in action_opts:
            action_opts[key] = tuple(float(v) for v in action_opts[key])
    return MagmaPolicy(TransformersVlm(TransformersVlmConfig(**client_opts)), MagmaActionConfig(**action_opts))


