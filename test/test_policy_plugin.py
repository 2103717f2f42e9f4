"""A new policy backend is one file plus one registration (an entry point), and the user's own
commands reach it: `eval --policy NAME` in the simulator, its options from a backend_config file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_site import env_with, install_distribution

PLUGIN_MODULE = '''
"""A cautious variant of the built-in policy: the same perception, smaller steps."""
from dataclasses import dataclass

from spatialbot_ros.core.ee_delta import StepLimits
from spatialbot_ros.policy.geometric import GeometricPolicy, GeometricPolicyConfig
from spatialbot_ros.policy.options import config_from_options
from spatialbot_ros.policy.registry import PolicyBackend


@dataclass(frozen=True)
class CautiousConfig:
    speed_fraction: float = 1.0


def cautious_config(options, model_dir):
    return config_from_options(CautiousConfig, options, "cautious")


class CautiousPolicy(GeometricPolicy):
    name = "cautious"

    def __init__(self, config: CautiousConfig) -> None:
        base = StepLimits()
        limits = StepLimits(base.max_translation_m * config.speed_fraction, base.max_rotation_rad * config.speed_fraction)
        super().__init__(GeometricPolicyConfig(step_limits=limits))


BACKEND = PolicyBackend("cautious_policy:cautious_config", "cautious_policy:CautiousPolicy")
'''


@pytest.fixture()
def plugin_dir(tmp_path: Path) -> Path:
    """An installed distribution in miniature: the module and its entry-point registration."""
    site = tmp_path / "site"
    install_distribution(site, "cautious-policy", "spatialbot_ros.policies", {"cautious": "cautious_policy:BACKEND"},
                         {"cautious_policy.py": PLUGIN_MODULE})
    return site


def _eval(site: Path | None, out: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "spatialbot_ros.cli", "eval", "--episodes", "1", "--seed", "3",
                           "--out", str(out), *args], env=env_with(site), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((out / "eval.json").read_text())


@pytest.mark.core
def test_a_plugin_is_one_module_plus_one_registration(plugin_dir, monkeypatch):
    from spatialbot_ros.policy.base import Perceiver, Policy
    from spatialbot_ros.policy.registry import available_backends, make_policy

    files = sorted(p.relative_to(plugin_dir).as_posix() for p in plugin_dir.rglob("*") if p.is_file())
    code = [f for f in files if f.endswith(".py")]
    registration = [f for f in files if f.endswith("entry_points.txt")]
    assert code == ["cautious_policy.py"] and len(registration) == 1  # the rest is the dist's name/version
    monkeypatch.syspath_prepend(str(plugin_dir))
    assert "cautious" in available_backends() and "geometric" in available_backends()
    policy = make_policy("cautious", speed_fraction=0.5)
    assert isinstance(policy, Policy) and isinstance(policy, Perceiver)
    assert policy.config.step_limits.max_translation_m == pytest.approx(0.025)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['speed'\] for cautious"):
        make_policy("cautious", speed=0.5)


@pytest.mark.core
def test_a_plugin_cannot_replace_a_builtin(tmp_path, monkeypatch, caplog):
    from spatialbot_ros.policy.registry import BUILTIN_BACKENDS, available_backends

    install_distribution(tmp_path, "evil", "spatialbot_ros.policies",
                         {"geometric": "os:getcwd", "broken": "no_such_module:X"})
    monkeypatch.syspath_prepend(str(tmp_path))
    backends = available_backends()
    assert backends["geometric"] is BUILTIN_BACKENDS["geometric"] and "broken" not in backends
    assert "is a built-in backend" in caplog.text and "failed to load" in caplog.text


@pytest.mark.sim
def test_eval_runs_a_plugin_backend_with_options_from_the_backend_config(plugin_dir, tmp_path):
    cfg = tmp_path / "backends.yaml"
    cfg.write_text("cautious:\n  speed_fraction: 0.5\n")
    slow = _eval(plugin_dir, tmp_path / "cautious", "--policy", "cautious", "--backend-config", str(cfg))
    base = _eval(None, tmp_path / "geometric", "--policy", "geometric")
    assert slow["policy"] == "cautious" and slow["results"][0]["success"], slow["results"][0]
    assert base["results"][0]["success"]
    # half the step: the same task takes longer in simulated time, so the option reached the policy
    assert slow["results"][0]["sim_time_s"] > 1.2 * base["results"][0]["sim_time_s"]


@pytest.mark.core
def test_the_default_backend_is_configured_from_the_options_file(tmp_path):
    from spatialbot_ros.policy.registry import make_policy_from_params

    cfg = tmp_path / "backends.yaml"
    cfg.write_text("geometric:\n  converge_tol_m: 0.002\n  grounding:\n    default_viewpoint: robot\n"
                   "  step_limits: {max_translation_m: 0.02}\n")
    policy = make_policy_from_params("geometric", backend_config=str(cfg))
    assert policy.config.converge_tol_m == 0.002 and policy.config.grounding.default_viewpoint == "robot"
    assert policy.config.step_limits.max_translation_m == 0.02
    cfg.write_text("geometric:\n  grounding:\n    default_veiwpoint: robot\n")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['default_veiwpoint'\] for geometric.grounding"):
        make_policy_from_params("geometric", backend_config=str(cfg))
