"""bench/bench_estop.py: the standstill detector on synthetic joint samples, and a smoke run of the
bench itself (the emulated cell over DDS, two trials of each kind, the printed table)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ros_domain import Slot, ros_domain

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_estop import JointSample, StopCriteria, find_standstill, measure_stop  # noqa: E402


def _decelerating(v0=0.5, decel=10.0, rate=100.0, t_cmd=0.0, tail_s=0.3):
    """Pan joint at v0 until t_cmd, then braking at decel to rest, then still for tail_s."""
    samples, q, t, v = [], 0.0, -0.1, v0
    while t < t_cmd + v0 / decel + tail_s:
        if t > t_cmd:
            v = max(0.0, v - decel / rate)
        q += v / rate
        samples.append(JointSample(t, t + 0.001, np.array([q, -1.5, 1.5, -1.5, -1.5, 0.0]),
                                   np.array([v, 0, 0, 0, 0, 0.0])))
        t += 1.0 / rate
    return samples


def _xyz(q):
    return np.array([0.5 * np.cos(q[0]), 0.5 * np.sin(q[0]), 0.3])  # a TCP on a 0.5 m radius about the pan axis


@pytest.mark.core
def test_standstill_is_the_first_sample_after_braking_and_needs_the_settle_window():
    c = StopCriteria()
    samples = _decelerating()
    trial = measure_stop(samples, 0.0, c, _xyz, "estop")
    # 0.5 rad/s at 10 rad/s^2: 50 ms to rest, seen on the 100 Hz sample that first reads below 0.01 rad/s
    assert trial is not None and 40.0 <= trial.stop_to_standstill_ms <= 60.0
    assert trial.stop_to_standstill_received_ms == pytest.approx(trial.stop_to_standstill_ms + 1.0, abs=1e-6)
    # braking in 100 Hz steps of 0.1 rad/s: (0.4 + 0.3 + 0.2 + 0.1) / 100 = 10 mrad on a 0.5 m radius = 5 mm
    assert trial.tcp_travel_mm == pytest.approx(5.0, abs=0.3)
    assert trial.joint_speed_at_stop_rad_s == pytest.approx(0.5)
    assert trial.tcp_speed_at_stop_m_s == pytest.approx(0.25, rel=0.05)
    # not proven yet: the samples end before the settle window is covered
    i = find_standstill(samples, 0.0, c)
    cut = [s for s in samples if s.stamp_s < samples[i].stamp_s + 0.05]
    assert find_standstill(cut, 0.0, c) is None


@pytest.mark.core
def test_a_slow_creep_or_a_rebound_is_not_standstill():
    c = StopCriteria()
    samples = _decelerating()
    # a creep below the speed threshold still moves the position out of the settle band
    creep = [JointSample(s.stamp_s, s.received_s, s.q + np.array([0.009 * max(0.0, s.stamp_s - 0.05), 0, 0, 0, 0, 0]),
                         s.v) for s in samples]
    assert find_standstill(creep, 0.0, c) is None
    # a rebound 100 ms after rest: the standstill starts after it
    i = find_standstill(samples, 0.0, c)
    bounced = list(samples)
    j = i + 5
    bounced[j] = JointSample(samples[j].stamp_s, samples[j].received_s, samples[j].q, np.array([0.05, 0, 0, 0, 0, 0.0]))
    assert find_standstill(bounced, 0.0, c) == j + 1


@pytest.mark.ros
@pytest.mark.sim
@pytest.mark.skipif(not importlib.util.find_spec("control_msgs"), reason="control_msgs not built (scripts/build_interfaces.sh)")
def test_bench_smoke_two_trials_prints_the_table():
    # a domain of its own: nothing of the bench's graph may meet another test's graph
    env = dict(os.environ, ROS_DOMAIN_ID=str(ros_domain(Slot.BENCH)))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_estop.py"), "--trials", "2", "--time-limit-s", "80"],
                         capture_output=True, text=True, timeout=140, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    estop = next(line for line in lines if line.startswith("e-stop via pick_place"))
    base = next(line for line in lines if line.startswith("baseline: FJT cancel"))
    assert estop.split()[4] == "2" and base.split()[4] == "2"  # trials column
    assert any(line.startswith("ratio e-stop / baseline (medians) = ") for line in lines)
    median_ms = float(estop.split()[5])
    assert 0.0 < median_ms < 2000.0
