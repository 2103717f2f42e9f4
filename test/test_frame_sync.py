import pytest

from spatialbot_ros.core.frame_sync import ApproximateTimeSync

pytestmark = pytest.mark.core


def test_identical_stamps_pair_immediately():
    s = ApproximateTimeSync(slop_s=0.01)
    assert s.add("color", 1.0, "c1") is None
    assert s.add("depth", 1.0, "d1") is None
    out = s.add("info", 1.0, "i1")
    assert out == {"color": "c1", "depth": "d1", "info": "i1", "stamp_s": 1.0}


def test_nearest_within_slop_and_unmatched_colour_dropped():
    s = ApproximateTimeSync(slop_s=0.005)
    s.add("color", 1.000, "c_old")  # its depth never arrives
    s.add("color", 1.033, "c_new")
    s.add("depth", 1.034, "d_new")
    out = s.add("info", 1.031, "i_new")
    assert out is not None and out["color"] == "c_new" and out["depth"] == "d_new" and out["info"] == "i_new"
    assert s.dropped >= 1


def test_out_of_slop_does_not_pair():
    s = ApproximateTimeSync(slop_s=0.002)
    s.add("color", 1.0, "c")
    s.add("depth", 1.01, "d")
    assert s.add("info", 1.0, "i") is None


def test_bad_config_and_stream_are_errors():
    with pytest.raises(ValueError, match="slop_s"):
        ApproximateTimeSync(slop_s=-1)
    with pytest.raises(ValueError, match="unknown stream"):
        ApproximateTimeSync().add("ir", 0.0, None)
