"""`eval --ray-address`: the same seeded episodes on Ray actors give the same per-episode results
as one process, in scene order, through the CLI users run: on a private local cluster, and on a
cluster of two Ray nodes (two raylets on this machine, ray.cluster_utils) that the CLI joins by
address, as it joins a remote one."""

import json
import logging

import pytest

pytestmark = pytest.mark.sim


def _key(r):  # what an episode decided (timings aside)
    return (r["scene"], r["success"], r["reason"], r["message"], r["grounding_correct"], r["place_error_m"],
            r["sim_time_s"])


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The first three seed-5 episodes run by the CLI in one process: what both Ray runs must match
    (the first two of them are what `--episodes 2 --seed 5` runs)."""
    pytest.importorskip("ray", reason="the ray profile (scripts/setup.sh ray) is not installed")
    from spatialbot_ros.cli import main

    out = tmp_path_factory.mktemp("one")
    assert main(["eval", "--episodes", "3", "--seed", "5", "--out", str(out)]) == 0
    return json.loads((out / "eval.json").read_text())["results"]


def test_eval_on_ray_actors_matches_one_process(tmp_path, one_process):
    pytest.importorskip("ray", reason="the ray profile (scripts/setup.sh ray) is not installed")
    from spatialbot_ros.cli import main

    assert main(["eval", "--episodes", "3", "--seed", "5", "--workers", "2", "--ray-address", "local",
                 "--out", str(tmp_path / "ray")]) == 0
    one = one_process
    on_ray = json.loads((tmp_path / "ray" / "eval.json").read_text())["results"]
    assert [_key(r) for r in on_ray] == [_key(r) for r in one] and len(one) == 3
    rows = [json.loads(line) for line in (tmp_path / "ray" / "episodes.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2]


def test_eval_joins_a_two_node_cluster_and_its_actors_run_on_both_nodes(tmp_path, caplog, one_process):
    pytest.importorskip("ray", reason="the ray profile (scripts/setup.sh ray) is not installed")
    from ray.cluster_utils import Cluster

    from spatialbot_ros.cli import main

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)  # one CPU per node: the two one-CPU actors must land on different nodes
        cluster.wait_for_nodes()
        with caplog.at_level(logging.INFO, logger="spatialbot_ros.apps.ray_pool"):
            assert main(["eval", "--episodes", "2", "--seed", "5", "--workers", "2", "--ray-address",
                         cluster.address, "--out", str(tmp_path / "nodes")]) == 0
    finally:
        cluster.shutdown()
    placed = [r.getMessage() for r in caplog.records if "actors on" in r.getMessage()]
    assert placed and "2 actors on 2 node(s)" in placed[-1], placed
    one = one_process[:2]  # the same two seeded scenes in one process
    on_nodes = json.loads((tmp_path / "nodes" / "eval.json").read_text())["results"]
    assert [_key(r) for r in on_nodes] == [_key(r) for r in one] and len(one) == 2


def test_an_unreachable_cluster_is_one_clear_line(tmp_path, capsys):
    pytest.importorskip("ray", reason="the ray profile (scripts/setup.sh ray) is not installed")
    from spatialbot_ros.cli import ExitCode, main

    code = main(["eval", "--episodes", "1", "--ray-address", "ray://127.0.0.1:1", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == ExitCode.MISSING_PACKAGE and "cannot reach the Ray cluster at 'ray://127.0.0.1:1'" in err


@pytest.mark.core
def test_without_ray_the_message_names_the_profile(monkeypatch):
    import builtins

    from spatialbot_ros.apps import ray_pool

    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ray_pool.RayUnavailable, match="scripts/setup.sh ray"):
        list(ray_pool.ordered_map(lambda: None, lambda s, x: x, [1], workers=1, address="local"))
