"""Policy registry: one line per backend; heavy backends are imported only when chosen."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from spatialbot_ros.policy.base import Policy

# name -> "module:Class"
POLICY_BACKENDS: dict[str, str] = {
    "geometric": "spatialbot_ros.policy.geometric:GeometricPolicy",
    "onnx": "spatialbot_ros.policy.onnx_policy:OnnxPolicy",
    "spatialbot": "spatialbot_ros.policy.vlm_backends:make_spatialbot_policy",
    "transformers": "spatialbot_ros.policy.vlm_backends:make_transformers_policy",
    "openai": "spatialbot_ros.policy.vlm_backends:make_openai_policy",
    "magma": "spatialbot_ros.policy.vlm_backends:make_magma_policy",
}


# the backends whose model and options come from backend_config / model_dir
VLM_BACKENDS = tuple(n for n, t in POLICY_BACKENDS.items() if t.startswith("spatialbot_ros.policy.vlm_backends:"))


def load_backend_options(path: Path | str, backend: str) -> dict[str, Any]:
    """The `backend` section of a backend options YAML file ({} when the file has none)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"backend_config: no such file {p}")
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"backend_config {p}: expected a mapping of backend name -> options")
    section = data.get(backend) or {}
    if not isinstance(section, dict):
        raise ValueError(f"backend_config {p}: section '{backend}' must be a mapping")
    return dict(section)


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Instantiate a policy backend by name (see POLICY_BACKENDS)."""
    try:
        target = POLICY_BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown policy '{name}'; available: {', '.join(sorted(POLICY_BACKENDS))}") from None
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(**kwargs)


def policy_options(name: str, model_dir: str = "", backend_config: str = "") -> dict[str, Any]:
    """Keyword arguments for `make_policy(name, ...)` from the shared parameters (nodes and CLI).

    model_dir: the onnx model directory, or a VLM backend's model (directory or hub id).
    backend_config: a YAML file whose section named like the backend holds its options."""
    if name == "onnx":
        from spatialbot_ros.policy.onnx_policy import onnx_policy_config

        options = load_backend_options(backend_config, name) if backend_config else {}
        return {"config": onnx_policy_config(model_dir, options)}

    if name in VLM_BACKENDS:
        options = load_backend_options(backend_config, name) if backend_config else {}
        if model_dir:
            options["model"] = model_dir
        return options
    if model_dir or backend_config:
        raise ValueError(f"parameters model_dir / backend_config do not apply to policy '{name}'")
    return {}


def make_policy_from_params(name: str, model_dir: str = "", backend_config: str = "") -> Policy:
    """The nodes' `policy` / `model_dir` / `backend_config` parameters -> a policy."""
    return make_policy(name, **policy_options(name, model_dir, backend_config))
