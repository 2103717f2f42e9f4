"""Policy registry: one line per backend; heavy backends are imported only when chosen."""

from __future__ import annotations

import importlib
from typing import Any

from spatialbot_ros.policy.base import Policy

# name -> "module:Class"
POLICY_BACKENDS: dict[str, str] = {
    "geometric": "spatialbot_ros.policy.geometric:GeometricPolicy",
    "onnx": "spatialbot_ros.policy.onnx_policy:OnnxPolicy",
}


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Instantiate a policy backend by name (see POLICY_BACKENDS)."""
    try:
        target = POLICY_BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown policy '{name}'; available: {', '.join(sorted(POLICY_BACKENDS))}") from None
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(**kwargs)


def make_policy_from_params(name: str, model_dir: str = "") -> Policy:
    """The nodes' `policy` / `model_dir` parameters -> a policy (model_dir applies to 'onnx')."""
    if name == "onnx":
        from spatialbot_ros.policy.onnx_policy import OnnxPolicyConfig

        return make_policy(name, config=OnnxPolicyConfig(model_dir=model_dir))
    if model_dir:
        raise ValueError(f"parameter model_dir applies to policy 'onnx' only, not '{name}'")
    return make_policy(name)
