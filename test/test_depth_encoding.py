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
    assert len({tuple(p) for p in enc.reshape(-1, 3).tolist()}) == 2**16  # injective: no two depths collide


def test_spatialbot16_layout_matches_the_released_checkpoints():
    # 1234 mm = 0b000001_00110_10010 -> (1*4, 6*8, 18*8)
    enc = encode_depth(np.array([[1234]], np.uint16), "spatialbot16")
    assert enc[0, 0].tolist() == [4, 48, 144]
    assert encode_depth(np.array([[65535]]), "spatialbot16")[0, 0].tolist() == [252, 248, 248]
    assert encode_depth(np.array([[1024, 32, 1]]), "spatialbot16")[0].tolist() == [[4, 0, 0], [0, 8, 0], [0, 0, 8]]


@pytest.mark.parametrize("v", [0, 1, 255, 256, 65535, 65536, 2**24 - 1])
def test_rgb24_boundaries(v):
    enc = encode_depth(np.array([[v]], np.uint32), "rgb24")
    assert enc[0, 0].tolist() == [v >> 16, (v >> 8) & 255, v & 255]
    assert decode_depth(enc, "rgb24")[0, 0] == v


def test_rgb24_layout_examples():
    enc = encode_depth(np.array([[0x123456, 256, 65536]]), "rgb24")
    assert enc[0].tolist() == [[0x12, 0x34, 0x56], [0, 1, 0], [1, 0, 0]]


@pytest.mark.parametrize("bad, enc, match", [
    (np.array([[65536]]), "spatialbot16", "outside"),
    (np.array([[70000.0]]), "spatialbot16", "outside"),
    (np.array([[-1]]), "spatialbot16", "outside"),
    (np.array([[-1]], np.int16), "rgb24", "outside"),
    (np.array([[2**24]]), "rgb24", "outside"),
    (np.array([[2**40]], np.uint64), "rgb24", "outside"),
    (np.array([[1.5]]), "rgb24", "whole"),
    (np.array([[np.nan]]), "spatialbot16", "NaN"),
    (np.array([[np.inf]]), "rgb24", "NaN or inf"),
    (np.array([[True]]), "spatialbot16", "integer or float"),
    (np.zeros(3), "spatialbot16", "HxW"),
    (np.zeros((2, 2, 1)), "spatialbot16", "HxW"),
])
def test_out_of_range_is_an_error_not_a_wrap(bad, enc, match):
    with pytest.raises(DepthEncodingError, match=match):
        encode_depth(bad, enc)


def test_unknown_encoding_lists_the_known_ones():
    with pytest.raises(DepthEncodingError, match="spatialbot16, rgb24"):
        encode_depth(np.zeros((2, 2), np.uint16), "jet")
    with pytest.raises(DepthEncodingError, match="known: spatialbot16, rgb24"):
        decode_depth(np.zeros((1, 1, 3), np.uint8), "jet")
    assert DEPTH_ENCODINGS == ("spatialbot16", "rgb24")


def test_whole_float_depth_is_accepted_and_empty_images_work():
    d = np.array([[0.0, 1000.0, 65535.0]])
    assert np.array_equal(decode_depth(encode_depth(d, "spatialbot16")), d.astype(np.uint16))
    assert encode_depth(np.zeros((2, 3), np.uint16)).max() == 0  # no data -> black
    assert decode_depth(encode_depth(np.zeros((0, 4), np.uint16))).shape == (0, 4)


def test_decoded_dtypes():
    assert decode_depth(encode_depth(np.array([[7]]), "spatialbot16"), "spatialbot16").dtype == np.uint16
    assert decode_depth(encode_depth(np.array([[7]]), "rgb24"), "rgb24").dtype == np.uint32


@pytest.mark.parametrize("img", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.uint16)])
def test_decoding_refuses_images_of_the_wrong_form(img):
    with pytest.raises(DepthEncodingError, match="HxWx3 uint8"):
        decode_depth(img)


def test_strict_decoding_rejects_foreign_images_and_lenient_rounds():
    img = encode_depth(np.array([[1000, 2000]], np.uint16))
    noisy = img.copy()
    noisy[0, 1, 1] += 3
    with pytest.raises(DepthEncodingError, match=r"not a spatialbot16.*column 1, row 0"):
        decode_depth(noisy)
    assert decode_depth(noisy, strict=False).tolist() == [[1000, 2000]]
    photo = np.full((2, 2, 3), 255, np.uint8)  # a white RGB image passed by mistake
    with pytest.raises(DepthEncodingError, match="4 pixel"):
        decode_depth(photo)
    assert decode_depth(photo, strict=False)[0, 0] == 65535  # codes clip at 63/31/31, never wrap to 0
    assert decode_depth(photo, "rgb24")[0, 0] == 2**24 - 1  # every triple is a valid rgb24 code


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(DEPTH_ENCODINGS), st.data())
def test_round_trip_property(encoding, data):
    top = 2**16 - 1 if encoding == "spatialbot16" else 2**24 - 1
    shape = st.tuples(st.integers(1, 6), st.integers(1, 6))
    d = data.draw(arrays(np.int64, shape, elements=st.integers(0, top)))
    enc = encode_depth(d, encoding)
    assert enc.shape == d.shape + (3,) and enc.dtype == np.uint8
    assert np.array_equal(decode_depth(enc, encoding), d)


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint16, (3, 4)), arrays(np.int8, (3, 4, 3), elements=st.integers(-3, 3)))
def test_lenient_decoding_undoes_noise_below_half_a_step(d, noise):
    enc = encode_depth(d, "spatialbot16").astype(int)
    noise = noise.astype(int)
    noise[..., 0] = np.clip(noise[..., 0], -1, 1)  # ch0 has step 4: up to 1 off; ch1/ch2 step 8: up to 3
    noisy = np.clip(enc + noise, 0, 255).astype(np.uint8)
    assert np.array_equal(decode_depth(noisy, "spatialbot16", strict=False), d)


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, (3, 4, 3)))
def test_strict_decode_accepts_exactly_the_encoder_images(img):
    try:
        d = decode_depth(img, "spatialbot16")
    except DepthEncodingError:
        assert np.any(img % np.array([4, 8, 8], np.uint8))
    else:
        assert np.array_equal(encode_depth(d, "spatialbot16"), img)
