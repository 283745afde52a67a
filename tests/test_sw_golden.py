"""Golden model: float accumulation order, ReLU on special values, binary arithmetic, argmax."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from sw.golden import (binary_forward, float_accumulate, float_accumulate_reference, float_forward,
                       forward, predict, preprocess, relu)
from sw.model_file import TnnModel, accumulator_range
from sw.synthetic import random_binary_model


def bits(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32)


def same_floats(a, b):
    """Bit-identical, except that any NaN equals any NaN."""
    a, b = np.atleast_1d(np.asarray(a, np.float32)), np.atleast_1d(np.asarray(b, np.float32))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return np.array_equal(nan_a, nan_b) and np.array_equal(bits(a)[~nan_a], bits(b)[~nan_b])


floats32 = st.one_of(
    st.floats(width=32, allow_nan=False),          # any finite or infinite float32, +-0, subnormals
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 3e38, -3e38, 1e-45]),
)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n_in=st.integers(1, 24), n_out=st.integers(1, 5), n=st.integers(1, 4),
       lanes=st.integers(1, 5))
def test_vectorised_accumulation_matches_the_scalar_reference_bit_for_bit(data, n_in, n_out, n, lanes):
    x = data.draw(hnp.arrays(np.float32, (n, n_in), elements=floats32))
    w = data.draw(hnp.arrays(np.int8, (n_out, n_in), elements=st.sampled_from([-1, 0, 1])))
    acc = float_accumulate(x, w, lanes)
    assert acc.dtype == np.float32 and acc.shape == (n, n_out)
    for i in range(n):
        for j in range(n_out):
            ref = float_accumulate_reference(x[i], w[j], lanes)
            assert same_floats(acc[i, j], ref), (i, j, acc[i, j], ref)


def test_accumulation_order_is_the_documented_one():
    x = np.array([[1e8, 1.0, -1e8, 1.0]], dtype=np.float32)
    w = np.ones((1, 4), dtype=np.int8)
    # One lane: ((((0 + 1e8) + 1) - 1e8) + 1) = 1, since 1e8 + 1 rounds back to 1e8.
    assert float_accumulate(x, w, 1)[0, 0] == 1.0
    # Two lanes: p0 = 1e8 - 1e8 = 0, p1 = 1 + 1 = 2; p0 + p1 = 2.
    assert float_accumulate(x, w, 2)[0, 0] == 2.0
    # A -1 weight flips the sign bit of its term: -(+0.0) = -0.0, and +0.0 + -0.0 = +0.0.
    z = float_accumulate(np.zeros((1, 1), np.float32), -np.ones((1, 1), np.int8))
    assert z[0, 0] == 0 and not np.signbit(z[0, 0])
    # An empty row accumulates to +0.0.
    e = float_accumulate(np.ones((1, 3), np.float32), np.zeros((1, 3), np.int8), 3)
    assert e[0, 0] == 0 and not np.signbit(e[0, 0])
    with pytest.raises(ValueError, match="lanes"):
        float_accumulate(x, w, 0)


def test_relu_selects_on_the_sign_bit():
    neg_nan = -np.abs(np.float32(np.nan))
    y = np.array([1.5, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, neg_nan], dtype=np.float32)
    r = relu(y)
    assert r.dtype == np.float32
    assert r[:6].tolist() == [1.5, 0.0, 0.0, 0.0, np.inf, 0.0]
    assert not np.signbit(r).any()  # -0.0 became +0.0
    assert np.isnan(r[6]) and r[7] == 0.0


def test_predict_takes_the_lowest_index_on_ties():
    assert predict(np.array([[3, 7, 7, 1], [2, 2, 2, 2]], dtype=np.int32)).tolist() == [1, 0]
    assert predict(np.array([[-0.0, 0.0, -1.0]], dtype=np.float32)).tolist() == [0]


def _reference_binary(model, pixels):
    """Plain Python integers, one image and one weight at a time."""
    outs, hidden = [], [[] for _ in model.thresholds]
    for img in pixels.tolist():
        x = img
        for l, w in enumerate(model.weights):
            k = model.row_weight(l)
            kp, kn = ([1] * len(w), [1] * len(w)) if k is None else (k[0].tolist(), k[1].tolist())
            acc = [sum((p if wji > 0 else -n) * xi for wji, xi in zip(row, x) if wji)
                   for row, p, n in zip(w.tolist(), kp, kn)]
            if l == len(model.weights) - 1:
                outs.append(acc)
                break
            b = [int(a >= t) for a, t in zip(acc, model.thresholds[l].tolist())]
            hidden[l].append(b)
            x = [2 * bi - 1 for bi in b]
    return np.array(outs), [np.array(h) for h in hidden]


def test_binary_forward_matches_plain_integer_arithmetic():
    rng = np.random.default_rng(0)
    sizes = (30, 12, 9, 4)
    ws = [(rng.integers(-1, 2, (o, i)) * (rng.random((o, i)) < 0.6)).astype(np.int8)
          for i, o in zip(sizes, sizes[1:])]
    ts = [rng.integers(lo, hi + 2).astype(np.int32)
          for l, w in enumerate(ws[:-1]) for lo, hi in [accumulator_range(w, l)]]
    model = TnnModel("binary", ws, thresholds=ts)
    pixels = rng.integers(0, 256, (40, 30)).astype(np.uint8)
    out, hidden = forward(model, pixels)
    ref_out, ref_hidden = _reference_binary(model, pixels)
    assert out.dtype == np.int32 and np.array_equal(out, ref_out)
    assert [h.dtype for h in hidden] == [np.uint8, np.uint8]
    for h, r in zip(hidden, ref_hidden):
        assert np.array_equal(h, r)
    assert hidden[0].any() and not hidden[0].all()  # thresholds do something
    with pytest.raises(ValueError, match="pixels: expected uint8"):
        binary_forward(model, pixels.astype(np.float32))
    with pytest.raises(ValueError, match=r"pixels: expected shape \[N, 30\]"):
        binary_forward(model, pixels[:, :5])


def test_weighted_binary_layers_are_the_documented_formula():
    """kp{l}/kn{l}: acc = kp * sum_{w=+1} x - kn * sum_{w=-1} x, against plain integers;
    kp = kn = 1 is the unweighted layer."""
    rng = np.random.default_rng(5)
    model = random_binary_model(rng, [30, 12, 9, 4], 0.5, weighted=(0, 2), k_max=5000)
    pixels = rng.integers(0, 256, (40, 30)).astype(np.uint8)
    out, hidden = forward(model, pixels)
    ref_out, ref_hidden = _reference_binary(model, pixels)
    assert np.array_equal(out, ref_out)
    for h, r in zip(hidden, ref_hidden):
        assert np.array_equal(h, r)
    assert len(np.unique(model.row_weight(0)[0])) > 1  # the weights are not all equal
    ones = [None if k is None else (np.ones_like(k[0]), np.ones_like(k[1])) for k in model.row_weights]
    unit = TnnModel("binary", model.weights, thresholds=model.thresholds, row_weights=ones)
    plain = TnnModel("binary", model.weights, thresholds=model.thresholds)
    for a, b in zip(forward(unit, pixels), forward(plain, pixels)):
        for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
            assert np.array_equal(x, y)
    assert not np.array_equal(forward(model, pixels)[0], forward(plain, pixels)[0])


def test_float_forward_is_the_documented_formula():
    rng = np.random.default_rng(1)
    ws = [rng.integers(-1, 2, (6, 10)).astype(np.int8), rng.integers(-1, 2, (3, 6)).astype(np.int8)]
    s = [rng.standard_normal(6).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    b = [rng.standard_normal(6).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    model = TnnModel("float", ws, scales=s, biases=b, x_scale=np.float32(0.0039215689),
                     x_offset=np.float32(-0.25))
    pixels = rng.integers(0, 256, (7, 10)).astype(np.uint8)
    for lanes in (1, 3):
        out, hidden = float_forward(model, pixels, lanes)
        for n in range(len(pixels)):
            x = [np.float32(np.float32(p * model.x_scale) + model.x_offset) for p in pixels[n]]
            x = np.array(x, np.float32)
            np.testing.assert_array_equal(x, preprocess(pixels[n:n + 1], model.x_scale, model.x_offset)[0])
            for l in range(2):
                acc = np.array([float_accumulate_reference(x, row, lanes) for row in ws[l]], np.float32)
                y = np.array([np.float32(np.float32(sj * aj) + bj) for sj, aj, bj in zip(s[l], acc, b[l])])
                if l == 0:
                    x = np.where(np.signbit(y), np.float32(0), y).astype(np.float32)
                    assert same_floats(hidden[0][n], x)
            assert same_floats(out[n], y)


def test_binary_inputs_are_thresholded_pixels_added_as_plus_minus_one():
    """input_threshold T: layer 0 adds 2 (pixel >= T) - 1, like a hidden layer; thresholds
    beyond the accumulator range are constant bits."""
    w0 = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 0]], np.int8)
    w1 = np.array([[1, 1, -1]], np.int8)
    model = TnnModel("binary", [w0, w1], thresholds=[np.array([1, -100, 7], np.int32)], input_threshold=128)
    pixels = np.array([[127, 128, 255], [200, 200, 0]], np.uint8)
    out, hidden = binary_forward(model, pixels)
    # inputs +-1: [-1, +1, +1] and [+1, +1, -1]; acc0 = [0, 1, 0] and [2, 1, 0]
    np.testing.assert_array_equal(hidden[0], [[0, 1, 0], [1, 1, 0]])
    np.testing.assert_array_equal(out, [[-1 + 1 + 1], [1 + 1 + 1]])
    model.input_threshold = 0  # every input bit 1
    np.testing.assert_array_equal(binary_forward(model, pixels)[1][0], [[1, 1, 0], [1, 1, 0]])
    model.input_threshold = 256  # every input bit 0
    np.testing.assert_array_equal(binary_forward(model, pixels)[1][0], [[0, 1, 0], [0, 1, 0]])
