"""test/ros_domain: the DDS domains that keep the workers of one test run apart."""

from __future__ import annotations

import pytest
from ros_domain import FIRST_DOMAIN, N_DOMAINS, Slot, ros_domain, use_ros_domain

pytestmark = pytest.mark.core


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 16])
def test_every_slot_of_every_worker_of_a_run_has_its_own_domain(monkeypatch, workers):
    seen = {}
    for worker in range(workers):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{worker}")
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
        for slot in range(Slot.COUNT):
            domain = ros_domain(slot)
            assert FIRST_DOMAIN <= domain < FIRST_DOMAIN + N_DOMAINS
            assert domain not in seen, (domain, seen[domain], (worker, slot))
            seen[domain] = (worker, slot)


def test_one_process_without_workers_and_the_environment(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    domains = {ros_domain(slot) for slot in range(Slot.COUNT)}
    assert len(domains) == Slot.COUNT
    monkeypatch.setenv("ROS_DOMAIN_ID", "0")
    import os

    assert use_ros_domain(Slot.CELL) == os.environ["ROS_DOMAIN_ID"] == str(ros_domain(Slot.CELL))
    with pytest.raises(ValueError, match="slot"):
        ros_domain(Slot.COUNT)
