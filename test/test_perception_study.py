"""Perception measures objects well enough that size and height comparisons hold: the study the
README quotes (bench/bench_perception_size.py), on a few scenes here."""

import pytest

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def report():
    from spatialbot_ros.apps.perception_study import run_study

    return run_study(min_objects=40, seed=11)


def test_footprint_and_height_errors_are_millimetres(report):
    assert report.objects >= 40 and report.missed <= 2
    assert report.errors_mm["footprint"]["median"] < 6.0 and report.errors_mm["footprint"]["p95"] < 12.0
    assert report.errors_mm["height"]["median"] < 2.0 and report.errors_mm["height"]["p95"] < 3.0


def test_pairs_fifteen_percent_apart_are_ordered_like_the_world(report):
    for pairs in (report.size_pairs, report.height_pairs, report.width_pairs):
        assert pairs.pairs >= 20
        assert pairs.ordered == pairs.pairs and pairs.decisive >= 0.95 * pairs.pairs


def test_the_report_names_every_kind_and_both_comparisons(report):
    from spatialbot_ros.apps.perception_study import report_markdown

    text = report_markdown(report)
    assert "| cup footprint |" in text and "| size (bounding volume) |" in text and "| height |" in text and "| width (footprint long side) |" in text


def test_the_stacked_study_through_the_bench_command(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "stacked.json"
    proc = subprocess.run([sys.executable, str(root / "bench" / "bench_perception_size.py"), "--stacked", "6",
                           "--seed", "3", "--json", str(out)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| object on the plate: own mark, right colour and shape |" in proc.stdout
    d = json.loads(out.read_text())
    assert d["scenes"] == 6 and d["separated"] >= 5 and d["rests_on_plate"] == d["separated"]
    assert d["plate_named"] == 6 and d["others_measured"] == d["others"]
    assert d["height_errors"]["median_mm"] < 3.0 and d["height_errors"]["n"] >= 5
