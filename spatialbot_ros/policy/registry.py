"""Policy registry: every backend is a config factory plus a policy class, registered together.

Like LeRobot's configuration / modeling split: `PolicyBackend.config` turns one section of a
backend options file (and the `model_dir` parameter) into the backend's typed config, and
`PolicyBackend.policy` turns that config into a Policy. Both are "module:attribute" strings, so
choosing one backend imports only its own modules (no torch for the built-in policy).

Backends outside this package register through the `spatialbot_ros.policies` entry-point group:
one module that defines the config, the policy and a `PolicyBackend`, and one line in its
distribution's entry points (`name = package.module:BACKEND`).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

from spatialbot_ros.policy.base import Perceiver, Policy

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "spatialbot_ros.policies"


@dataclass(frozen=True)
class PolicyBackend:
    """config: "module:callable" taking keyword arguments `options` (a mapping) and `model_dir`
    (str) and returning the backend's config object (raise ValueError for a bad option).
    policy: "module:callable" taking that config and returning a Policy.
    grounds: whether the policy offers Perceiver.ground (the spatial_policy node needs it).
    answers_questions: whether spatial QA can ask its model (the VLM backends)."""

    config: str
    policy: str
    grounds: bool = True
    answers_questions: bool = False


_VLM = "spatialbot_ros.policy.vlm_backends"
BUILTIN_BACKENDS: dict[str, PolicyBackend] = {
    "geometric": PolicyBackend("spatialbot_ros.policy.geometric:geometric_policy_config",
                               "spatialbot_ros.policy.geometric:GeometricPolicy"),
    "onnx": PolicyBackend("spatialbot_ros.policy.onnx_policy:onnx_policy_config",
                          "spatialbot_ros.policy.onnx_policy:OnnxPolicy"),
    "spatialbot": PolicyBackend(f"{_VLM}:spatialbot_config", f"{_VLM}:vlm_policy", answers_questions=True),
    "transformers": PolicyBackend(f"{_VLM}:transformers_config", f"{_VLM}:vlm_policy", answers_questions=True),
    "openai": PolicyBackend(f"{_VLM}:openai_config", f"{_VLM}:vlm_policy", answers_questions=True),
    "magma": PolicyBackend(f"{_VLM}:magma_config", f"{_VLM}:magma_policy", grounds=False, answers_questions=True),
}


def _load(target: str) -> Any:
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def available_backends() -> dict[str, PolicyBackend]:
    """The built-in backends plus those registered by installed distributions (entry points).
    A plug-in cannot replace a built-in name; one that does not load is skipped with a warning."""
    backends = dict(BUILTIN_BACKENDS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN_BACKENDS:
            log.warning("policy plug-in '%s' (%s) ignored: the name is a built-in backend", ep.name, ep.value)
            continue
        try:
            backend = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not take the built-ins down
            log.warning("policy plug-in '%s' (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        if not isinstance(backend, PolicyBackend):
            log.warning("policy plug-in '%s' (%s) is not a PolicyBackend; ignored", ep.name, ep.value)
            continue
        backends[ep.name] = backend
    return backends


def backend(name: str) -> PolicyBackend:
    backends = available_backends()
    try:
        return backends[name]
    except KeyError:
        raise ValueError(f"unknown policy '{name}'; available: {', '.join(sorted(backends))}") from None


def load_backend_options(path: Path | str, backend_name: str) -> dict[str, Any]:
    """The `backend_name` section of a backend options YAML file ({} when the file has none)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"backend_config: no such file {p}")
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"backend_config {p}: expected a mapping of backend name -> options")
    section = data.get(backend_name) or {}
    if not isinstance(section, dict):
        raise ValueError(f"backend_config {p}: section '{backend_name}' must be a mapping")
    return dict(section)


def make_config(name: str, options: dict[str, Any] | None = None, model_dir: str = "") -> Any:
    """The typed config of backend `name` from its options (ValueError naming a bad option)."""
    return _load(backend(name).config)(options=dict(options or {}), model_dir=str(model_dir or ""))


def make_policy(name: str, config: Any = None, **options: Any) -> Policy:
    """Instantiate a policy backend by name: from its typed `config`, else from flat options."""
    spec = backend(name)
    if config is None:
        config = _load(spec.config)(options=options, model_dir=str(options.pop("model_dir", "") or ""))
    elif options:
        raise ValueError(f"make_policy('{name}'): pass either config or options, not both")
    return _load(spec.policy)(config)


def policy_options(name: str, model_dir: str = "", backend_config: str = "") -> dict[str, Any]:
    """Keyword arguments for `make_policy(name, ...)` from the shared parameters (nodes and CLI):
    {"config": the backend's typed config}, built from the section named like the backend in the
    `backend_config` YAML file and from `model_dir` (the onnx model directory, or a VLM's model)."""
    options = load_backend_options(backend_config, name) if backend_config else {}
    return {"config": make_config(name, options, model_dir)}


def make_policy_from_params(name: str, model_dir: str = "", backend_config: str = "") -> Policy:
    """The nodes' `policy` / `model_dir` / `backend_config` parameters -> a policy."""
    return make_policy(name, **policy_options(name, model_dir, backend_config))


def make_perceiver_from_params(name: str, model_dir: str = "", backend_config: str = "") -> Perceiver:
    """A policy that grounds frames (the spatial_policy node): an action-only backend is refused
    before its model is loaded, with the backends that would do."""
    spec = backend(name)
    if spec.grounds:
        policy = make_policy_from_params(name, model_dir, backend_config)
        if isinstance(policy, Perceiver):
            return policy
    grounding = sorted(n for n, b in available_backends().items() if b.grounds)
    raise ValueError(f"policy '{name}' emits end-effector actions only and grounds no marks; the spatial_policy "
                     f"node needs one of {', '.join(grounding)} (run '{name}' through serve-policy or the SimplerEnv adapter)")
