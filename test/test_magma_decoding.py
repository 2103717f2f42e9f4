"""Magma's action decoding as its own SimplerEnv adapter reads it: bins to values, dims 4-6 as roll,
pitch, yaw (static x-y-z) turned into the axis-angle our EEAction and SimplerEnv's rot_axangle carry,
and back to the same roll/pitch/yaw in the adapter's raw `rotation_delta`."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.apps.simpler_env import rotvec_to_rpy
from spatialbot_ros.core.ee_delta import StepLimits
from spatialbot_ros.policy.magma_policy import MagmaActionConfig, action_from_tokens

pytestmark = pytest.mark.core

VOCAB = 32000
WIDE = StepLimits(max_translation_m=1.0, max_rotation_rad=3.0)  # no clipping: the decoding alone


def _tokens(bins: list[int]) -> list[int]:
    return [VOCAB - 1 - b for b in bins]


def _value(b: int, lo: float, hi: float) -> float:
    centres = (np.linspace(-1, 1, 256)[:-1] + np.linspace(-1, 1, 256)[1:]) / 2
    return float(0.5 * (centres[b] + 1) * (hi - lo) + lo)


def test_rotation_dims_are_roll_pitch_yaw_and_become_the_axis_angle():
    cfg = MagmaActionConfig(step_limits=WIDE)
    bins = [127, 127, 127, 220, 60, 180, 250]
    action, raw = action_from_tokens(_tokens(bins), VOCAB, cfg)
    rpy = np.array([_value(b, lo, hi) for b, lo, hi in zip(bins[3:6], cfg.low[3:], cfg.high[3:], strict=True)])
    assert np.allclose(raw["raw_delta"][3:], rpy, atol=1e-9)
    expected = Rotation.from_euler("xyz", rpy).as_rotvec()
    assert np.allclose(action.delta_rotvec, expected, atol=1e-9)
    assert not np.allclose(action.delta_rotvec, rpy, atol=1e-4)  # the three angles are not a rotation vector
    # the SimplerEnv adapter reports the same roll/pitch/yaw as its raw rotation_delta
    assert np.allclose(rotvec_to_rpy(action.delta_rotvec), rpy, atol=1e-9)


def test_rotvec_format_reads_the_dims_as_a_rotation_vector():
    cfg = MagmaActionConfig(step_limits=WIDE, rotation_format="rotvec")
    action, raw = action_from_tokens(_tokens([127, 127, 127, 220, 60, 180, 250]), VOCAB, cfg)
    assert np.allclose(action.delta_rotvec, raw["raw_delta"][3:], atol=1e-9)
    with pytest.raises(ValueError, match="rotation_format"):
        MagmaActionConfig(rotation_format="quaternion")


def test_the_shipped_magma_options_follow_magmas_adapter():
    from spatialbot_ros.policy.registry import load_backend_options

    opts = load_backend_options("config/policy_backends.yaml", "magma")
    assert opts["rotation_format"] == "rpy" and opts["gripper_convention"] == "open_positive"
