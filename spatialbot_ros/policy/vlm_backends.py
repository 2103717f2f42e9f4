"""Config factories and policy builders for the VLM backends (registered in policy.registry).

`spatialbot`, `transformers` and `openai` ground the instruction with a VLM over Set-of-Mark
proposals and leave grasping, contact judgment and the end-effector deltas to the built-in policy
(GeometricPolicy with a VlmGrounder). `magma` asks the model for 7 action tokens every step.
Options come from one section of a YAML file (config/policy_backends.yaml,
the nodes' `backend_config` parameter, the CLI's --backend-config).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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


@dataclass(frozen=True)
class VlmPolicyConfig:
    """A VLM grounding backend: the client's config (TransformersVlmConfig or OpenAIVlmConfig) and
    the grounder's. Grasping, contact and deltas stay the built-in policy's."""

    client: Any
    grounder: VlmGrounderConfig


@dataclass(frozen=True)
class MagmaPolicyConfig:
    client: Any  # TransformersVlmConfig
    action: MagmaActionConfig


def _with_model(options: dict[str, Any], model_dir: str, default_model: str = "", **defaults: Any) -> dict[str, Any]:
    merged = {**({"model": default_model} if default_model else {}), **defaults, **options}
    if model_dir:
        merged["model"] = model_dir
    return merged


def _vlm_config(options: dict[str, Any], client_cfg: type, style_defaults: dict[str, Any]) -> VlmPolicyConfig:
    client_opts, grounder_opts, style_opts = _split(options, client_cfg, VlmGrounderConfig, PromptStyle)
    grounder_opts = {k: v for k, v in grounder_opts.items() if k not in ("style", "grounding")}
    style = PromptStyle(**{**style_defaults, **style_opts})
    return VlmPolicyConfig(client_cfg(**client_opts), VlmGrounderConfig(style=style, **grounder_opts))


def transformers_config(options: dict[str, Any] | None = None, model_dir: str = "") -> VlmPolicyConfig:
    """A local transformers VLM (LLaVA, Qwen2.5-VL, ...) grounding over SoM marks."""
    from spatialbot_ros.policy.transformers_vlm import TransformersVlmConfig

    return _vlm_config(_with_model(options or {}, model_dir), TransformersVlmConfig,
                       {"with_depth": False, "depth_tool": False})


def spatialbot_config(options: dict[str, Any] | None = None, model_dir: str = "") -> VlmPolicyConfig:
    """SpatialBot: RGB + spatialbot16 depth images, SoM, the Depth API loop."""
    from spatialbot_ros.policy.transformers_vlm import TransformersVlmConfig

    opts = _with_model(options or {}, model_dir, "RussRobin/SpatialBot-3B", trust_remote_code=True)
    return _vlm_config(opts, TransformersVlmConfig, {"with_depth": True, "depth_tool": True})


def openai_config(options: dict[str, Any] | None = None, model_dir: str = "") -> VlmPolicyConfig:
    """Any OpenAI-compatible chat server with image input (vLLM, SGLang, Ollama, hosted)."""
    return _vlm_config(_with_model(options or {}, model_dir), OpenAIVlmConfig,
                       {"with_depth": False, "depth_tool": True})


def vlm_policy(config: VlmPolicyConfig) -> GeometricPolicy:
    """The built-in policy with a VLM grounder whose client matches the config's type."""
    if isinstance(config.client, OpenAIVlmConfig):
        client: Any = OpenAIVlm(config.client)
    else:
        from spatialbot_ros.policy.transformers_vlm import TransformersVlm

        client = TransformersVlm(config.client)
    return GeometricPolicy(grounder=VlmGrounder(client, config.grounder))


def magma_config(options: dict[str, Any] | None = None, model_dir: str = "") -> MagmaPolicyConfig:
    """Magma-style per-step actions from a transformers model (e.g. microsoft/Magma-8B)."""
    from spatialbot_ros.policy.transformers_vlm import TransformersVlmConfig

    opts = _with_model(options or {}, model_dir, "microsoft/Magma-8B", trust_remote_code=True)
    if "step_limits" in opts and isinstance(opts["step_limits"], dict):
        opts["step_limits"] = StepLimits(**opts["step_limits"])
    client_opts, action_opts = _split(opts, TransformersVlmConfig, MagmaActionConfig)
    for key in ("low", "high"):
        if key in action_opts:
            action_opts[key] = tuple(float(v) for v in action_opts[key])
    return MagmaPolicyConfig(TransformersVlmConfig(**client_opts), MagmaActionConfig(**action_opts))


def magma_policy(config: MagmaPolicyConfig) -> MagmaPolicy:
    from spatialbot_ros.policy.transformers_vlm import TransformersVlm

    return MagmaPolicy(TransformersVlm(config.client), config.action)
