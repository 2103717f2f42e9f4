import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spatialbot_ros.core.depth_encoding import DEPTH_ENCODINGS, decode_depth, encode_depth
from spatialbot_ros.core.errors import DepthEncodingError

pytestmark = pytest.mark.core


def test_spatialbot16_round_trips_every_uint16_value():
    d = np.arange(2**16, dtype=np.uint32).reshape(256, 256)
    enc = encode_depth(d, "spatialbot16")
    assert enc.dtype == np.uint8 and enc.shape == (256, 256, 3)
    assert np.array_equal(decode_depth(enc, "spatialbot16"), d)


def test_spatialbot16_layout_matches_the_released_checkpoints():
    # 1234 mm = 0b00000_1_00110_10010 -> (1*4, 6*8, 18*8)
    enc = encode_depth(np.array([[1234]], np.uint16), "spatialbot16")
    assert enc[0, 0].tolist() == [(1234 >> 10) * 4, ((1234 >> 5) & 31) * 8, (1234 & 31) * 8]
    assert encode_depth(np.array([[65535]]), "spatialbot16")[0, 0].tolist() == [252, 248, 248]


@pytest.mark.parametrize("v", [0, 1, 255, 256, 65535, 65536, 2**24 - 1])
def test_rgb24_boundaries(v):
    enc = encode_depth(np.array([[v]], np.uint32), "rgb24")
    assert enc[0, 0].tolist() == [v >> 16, (v >> 8) & 255, v & 255]
    assert decode_depth(enc, "rgb24")[0, 0] == v


@pytest.mark.parametrize("bad, enc, match", [
    (np.array([[65536]]), "spatialbot16", "outside"),
    (np.array([[-1]]), "spatialbot16", "outside"),
    (np.array([[2**24]]), "rgb24", "outside"),
    (np.array([[1.5]]), "rgb24", "whole"),
    (np.array([[np.nan]]), "spatialbot16", "NaN"),
    (np.zeros(3), "spatialbot16", "HxW"),
])
def test_out_of_range_is_an_error_not_a_wrap(bad, enc, match):
    with pytest.raises(DepthEncodingError, match=match):
        encode_depth(bad, enc)


def test_unknown_encoding_lists_the_known_ones():
    with pytest.raises(DepthEncodingError, match="spatialbot16, rgb24"):
        encode_depth(np.zeros((2, 2), np.uint16), "jet")


def test_strict_decoding_rejects_foreign_images_and_lenient_rounds():
    img = encode_depth(np.array([[1000, 2000]], np.uint16))
    noisy = img.copy()
    noisy[0, 0, 1] += 3
    with pytest.raises(DepthEncodingError, match="not a spatialbot16"):
        decode_depth(noisy)
    assert decode_depth(noisy, strict=False)[0, 0] == 1000


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint32, (4, 5), elements=st.integers(0, 2**24 - 1)), st.sampled_from(DEPTH_ENCODINGS))
def test_round_trip_property(d, encoding):
    d = np.minimum(d, 2**16 - 1) if encoding == "spatialbot16" else d
    assert np.array_equal(decode_depth(encode_depth(d, encoding), encoding), d)
