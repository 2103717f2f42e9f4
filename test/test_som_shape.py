"""The proposer's shape call on synthetic point sets (core): a ball seen from a low camera shows some
surface below its equator (ManiSkill PlaceSphere's view: up to ~0.17 of its mid-height band) and is
still a sphere; a wall, which shows as much surface low as at mid height, never is, nor is a
square-topped mark (a cube from above: down to ~0.25) with a little wall showing."""

import numpy as np
import pytest

from spatialbot_ros.core.som_proposer import (
    ROUND_TOP_MAX_FILL,
    ROUND_TOP_SPHERE_MAX_LOW_TO_MID,
    SPHERE_MAX_LOW_TO_MID,
    GeometricProposer,
)

pytestmark = pytest.mark.core


def _round_mark(low: int, mid: int, height: float = 0.039, radius: float = 0.017):
    """Heights: `low` points in the bottom quarter, `mid` in the middle fifth, the rest on the upper
    half; a half-disc footprint as the visible half of a ball projects onto the table."""
    rng = np.random.default_rng(0)
    h = np.concatenate([rng.uniform(0.0, 0.24 * height, low), rng.uniform(0.41 * height, 0.59 * height, mid),
                        rng.uniform(0.62 * height, height, 150)])
    ang = rng.uniform(0.0, np.pi, len(h))
    r = radius * np.sqrt(rng.uniform(0.0, 1.0, len(h)))
    xy = np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1).astype(np.float32)
    return h, xy, height


@pytest.mark.parametrize("low, mid", [(0, 80), (12, 78), (14, 80), (16, 80)])  # ManiSkill balls: up to 14/80
def test_a_ball_showing_some_surface_below_its_equator_is_a_sphere(low, mid):
    h, xy, height = _round_mark(low, mid)
    assert GeometricProposer._shape(h, xy, None, (0.0, 0.0), 0.034, 0.019, height, 0.78) == "sphere"


@pytest.mark.parametrize("low, mid", [(54, 80), (80, 80), (100, 80)])  # walls: >= 0.68 of the mid band
def test_a_round_mark_with_a_wall_down_to_the_table_is_not_a_sphere(low, mid):
    h, xy, height = _round_mark(low, mid)
    assert GeometricProposer._shape(h, xy, None, (0.0, 0.0), 0.034, 0.019, height, 0.78) != "sphere"


@pytest.mark.parametrize("low, mid", [(20, 80), (24, 80)])  # ManiSkill cubes from above: 0.25-0.5
def test_a_square_topped_mark_with_a_little_wall_is_not_a_sphere(low, mid):
    h, xy, height = _round_mark(low, mid)
    assert GeometricProposer._shape(h, xy, None, (0.0, 0.0), 0.037, 0.035, height, 0.90) != "sphere"


def test_the_thresholds_sit_between_the_measured_balls_walls_and_cubes():
    assert 0.05 < SPHERE_MAX_LOW_TO_MID < 0.25          # any top: MuJoCo balls <= 0.05, cubes >= 0.25
    assert 0.17 < ROUND_TOP_SPHERE_MAX_LOW_TO_MID < 0.68  # round top: ManiSkill balls <= 0.17, walls >= 0.68
    assert 0.82 < ROUND_TOP_MAX_FILL < 0.92               # ball tops fill <= 0.82, cube tops >= 0.92


def _cube_walls(visible: float, noise_m: float = 0.0004):
    """A 4 cm cube turned 30 deg: two adjacent walls (each seen over `visible` of its width) and its top."""
    rng = np.random.default_rng(1)
    a, turn = 0.02, np.deg2rad(30)
    R = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    t = rng.uniform(-a, a * (2 * visible - 1), 200)
    side = np.vstack([np.stack([t, np.full_like(t, -a)], 1), np.stack([np.full_like(t, a), -t], 1)]) @ R.T
    side += rng.normal(0.0, noise_m, side.shape)
    top = rng.uniform(-a, a, (300, 2)) @ R.T
    xy = np.vstack([side, top]).astype(np.float32)
    h = np.concatenate([rng.uniform(0.0, 0.03, len(side)), np.full(len(top), 0.04)])
    return h, xy


def test_a_turned_cube_whose_walls_a_circle_fits_within_2_mm_is_still_a_box():
    from spatialbot_ros.core.som_proposer import CYLINDER_MAX_CIRCLE_TO_RECT, _fit_circle, _rect_rms

    h, xy = _cube_walls(visible=0.85)
    side = xy[h < 0.8 * 0.04]
    centre, radius, rms = _fit_circle(side)
    assert rms < 0.002 and 0.6 <= radius / 0.02 <= 1.4       # what the circle test alone calls a cylinder
    assert rms > CYLINDER_MAX_CIRCLE_TO_RECT * _rect_rms(side, xy)  # the rectangle explains the walls better
    assert GeometricProposer._shape(h, xy, None, (0.0, 0.0), 0.04, 0.04, 0.04, 0.8) == "box"


def test_a_cup_wall_stays_a_cylinder_with_the_same_depth_noise():
    rng = np.random.default_rng(2)
    ang = rng.uniform(-0.2, np.pi + 0.2, 300)              # the half of the wall facing the camera
    r = 0.03 + rng.normal(0.0, 0.0004, len(ang))
    side = np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    rim = 0.03 * np.stack([np.cos(a := rng.uniform(0, 2 * np.pi, 300)), np.sin(a)], 1)
    xy = np.vstack([side, rim]).astype(np.float32)
    h = np.concatenate([rng.uniform(0.0, 0.07, len(side)), np.full(len(rim), 0.09)])
    assert GeometricProposer._shape(h, xy, None, (0.0, 0.0), 0.06, 0.06, 0.09, 0.78) == "cylinder"


def _cup(radius: float, height: float, rng: np.random.Generator):
    ang = rng.uniform(-0.2, np.pi + 0.2, 300)
    r = radius + rng.normal(0.0, 0.0004, len(ang))
    side = np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    a = rng.uniform(0, 2 * np.pi, 300)
    rim = radius * np.sqrt(rng.uniform(0, 1, 300))[:, None] * np.stack([np.cos(a), np.sin(a)], 1)
    xy = np.vstack([side, rim]).astype(np.float32)
    h = np.concatenate([rng.uniform(0.0, 0.8 * height, len(side)), np.full(len(rim), height)])
    return h, xy


@pytest.mark.parametrize("radius", [0.014, 0.016, 0.018])
def test_a_narrow_cup_is_a_cylinder_not_a_box(radius):
    # found by `eval --suite dev`: 32-38 mm cups were called boxes (no circle under 20 mm radius was fitted,
    # and a round top's fill, pi/4, passed the box fallback), so 'the smallest cup' skipped the smallest
    h, xy = _cup(radius, 0.05, np.random.default_rng(3))
    assert GeometricProposer._shape(h, xy, None, (0.0, 0.0), 2 * radius, 2 * radius, 0.05, 0.785) == "cylinder"


def test_a_small_turned_cube_stays_a_box():
    h, xy = _cube_walls(visible=0.85)
    small = 0.75                                  # a 3 cm cube
    assert GeometricProposer._shape(h * small, xy * small, None, (0.0, 0.0), 0.03, 0.03, 0.03, 0.8) == "box"
