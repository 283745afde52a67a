"""Golden model of convolution layers: against PyTorch (binary exact, float ~1e-6), the
vectorised float accumulation against its scalar reference bit for bit, padding, pooling
and the hidden layout."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from sw.conv_shapes import ConvSpec, layer_shapes
from sw.golden import (float_conv_accumulate, float_conv_accumulate_reference, float_forward64, forward,
                       pool_bits, pool_floats, preprocess)
from sw.synthetic import CONV_PRESETS, conv_preset

torch.set_num_threads(1)


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def same_floats(a, b):
    """Bit-identical, except that any NaN equals any NaN."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return np.array_equal(nan_a, nan_b) and np.array_equal(bits(a)[~nan_a], bits(b)[~nan_b])


def pixels(model, n=64, seed=5):
    return np.random.default_rng(seed).integers(0, 256, (n, model.n_inputs)).astype(np.uint8)


def _torch_conv(x, model, l):
    s = model.conv(l)
    return F.conv2d(x, torch.from_numpy(model.weights[l].astype(np.float64 if x.dtype == torch.float64
                                                                    else np.float32)),
                    stride=(s.stride_y, s.stride_x), padding=(s.pad_y, s.pad_x))


def torch_binary(model, px):
    """The binary network in PyTorch: zero padding adds nothing to exact integer sums."""
    x = torch.from_numpy(px.astype(np.float32)).reshape(-1, *model.input_shape)
    if model.binary_input:
        x = 2 * (x >= model.input_threshold).float() - 1
    hidden = []
    for l in range(model.n_layers):
        if model.conv(l) is not None:
            acc = _torch_conv(x, model, l)
            b = (acc >= torch.from_numpy(model.thresholds[l].astype(np.float32))[:, None, None]).float()
            if model.pool(l) is not None:
                b = F.max_pool2d(b, model.pool(l))  # floor mode
            hidden.append(b.flatten(1))
            x = 2 * b - 1
            continue
        x = x.flatten(1)
        acc = x @ torch.from_numpy(model.weights[l].astype(np.float32)).T
        if l == model.n_layers - 1:
            return acc.numpy().astype(np.int64), [h.numpy().astype(np.uint8) for h in hidden]
        b = (acc >= torch.from_numpy(model.thresholds[l].astype(np.float32))).float()
        hidden.append(b)
        x = 2 * b - 1


def torch_float(model, px):
    """The float network in PyTorch, float64."""
    x = torch.from_numpy(px.astype(np.float64)) * float(model.x_scale) + float(model.x_offset)
    x = x.reshape(-1, *model.input_shape)
    hidden = []
    for l in range(model.n_layers):
        s, b = (torch.from_numpy(v.astype(np.float64)) for v in (model.scales[l], model.biases[l]))
        if model.conv(l) is not None:
            y = torch.relu(_torch_conv(x, model, l) * s[:, None, None] + b[:, None, None])
            if model.pool(l) is not None:
                y = F.max_pool2d(y, model.pool(l))
            hidden.append(y.flatten(1))
            x = y
            continue
        y = x.flatten(1) @ torch.from_numpy(model.weights[l].astype(np.float64)).T * s + b
        if l == model.n_layers - 1:
            return y.numpy(), [h.numpy() for h in hidden]
        x = torch.relu(y)
        hidden.append(x)


@pytest.mark.parametrize("input_threshold", [None, 100])
@pytest.mark.parametrize("name", sorted(CONV_PRESETS))
def test_binary_golden_equals_pytorch_exactly(name, input_threshold):
    m = conv_preset(name, "binary", seed=2, input_threshold=input_threshold)
    px = pixels(m)
    out, hidden = forward(m, px)
    t_out, t_hidden = torch_binary(m, px)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, t_out)
    assert len(hidden) == len(t_hidden) == m.n_layers - 1
    for h, t, s in zip(hidden, t_hidden, layer_shapes(m)):
        assert h.dtype == np.uint8 and h.shape == (len(px), s.n_out)
        np.testing.assert_array_equal(h, t)
    assert 0 < np.mean(np.concatenate([h.ravel() for h in hidden])) < 1


@pytest.mark.parametrize("lanes", [1, 3, 8])
@pytest.mark.parametrize("name", sorted(CONV_PRESETS))
def test_float_golden_agrees_with_pytorch(name, lanes):
    m = conv_preset(name, "float", seed=3)
    px = pixels(m)
    out, hidden = forward(m, px, lanes)
    t_out, t_hidden = torch_float(m, px)
    assert out.dtype == np.float32
    for g, t in zip([*hidden, out], [*t_hidden, t_out]):
        assert g.shape == t.shape
        np.testing.assert_allclose(g, t, rtol=2e-5, atol=2e-5 * max(1.0, float(np.abs(t).max())))
    np.testing.assert_allclose(float_forward64(m, px), t_out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lanes", [1, 2, 5])
@pytest.mark.parametrize("name", sorted(CONV_PRESETS))
def test_float_conv_layers_match_the_scalar_reference(name, lanes):
    m = conv_preset(name, "float", seed=4)
    px = pixels(m, n=6)
    _, hidden = forward(m, px, lanes)
    x = preprocess(px, m.x_scale, m.x_offset).reshape(-1, *m.input_shape)
    for l, s in enumerate(layer_shapes(m)):
        if not s.is_conv:
            break
        acc = np.stack([float_conv_accumulate_reference(xi, m.weights[l], m.conv(l), lanes) for xi in x])
        assert same_floats(float_conv_accumulate(x, m.weights[l], m.conv(l), lanes), acc)
        y = (acc * m.scales[l][:, None, None]).astype(np.float32) + m.biases[l][:, None, None]
        y = np.where(np.signbit(y), np.float32(0), y).astype(np.float32)
        x = pool_floats(y, m.pool(l))
        assert same_floats(hidden[l], x.reshape(len(x), -1))


specials = st.one_of(st.floats(width=32), st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 3e38, -3e38]))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sy=st.integers(1, 3), sx=st.integers(1, 3),
       lanes=st.integers(1, 5))
def test_vectorised_conv_accumulation_is_the_reference_bit_for_bit(data, c, h, w, kh, kw, sy, sx, lanes):
    py, px = data.draw(st.integers(0, kh - 1)), data.draw(st.integers(0, kw - 1))
    spec = ConvSpec(kh, kw, sy, sx, py, px)
    if h + 2 * py < kh or w + 2 * px < kw:
        return
    x = data.draw(hnp.arrays(np.float32, (2, c, h, w), elements=specials))
    k = data.draw(hnp.arrays(np.int8, (3, c, kh, kw), elements=st.sampled_from([-1, 0, 1])))
    acc = float_conv_accumulate(x, k, spec, lanes)
    for i in range(2):
        assert same_floats(acc[i], float_conv_accumulate_reference(x[i], k, spec, lanes))


def test_padding_taps_take_their_lane_turn_but_add_nothing():
    """1x4 kernel of +1 weights, padding 1 on each side of the row (1e8, -1e8, 1); three lanes.

    Output 0 reads (pad, 1e8, -1e8, 1): tap 0 (padding) has lane 0 and adds nothing, tap 1 ->
    p1 = 1e8, tap 2 -> p2 = -1e8, tap 3 -> p0 = 1; acc = ((p0 + p1) + p2) = (1 + 1e8) - 1e8 = 0
    (1e8 + 1 rounds to 1e8). Counting only the taps inside would give (1e8 - 1e8) + 1 = 1.
    """
    x = np.array([[[[1e8, -1e8, 1.0]]]], dtype=np.float32)
    spec = ConvSpec(1, 4, 1, 1, 0, 1)
    k = np.ones((1, 1, 1, 4), np.int8)
    acc = float_conv_accumulate(x, k, spec, 3)
    assert acc.shape == (1, 1, 1, 2)
    assert acc[0, 0, 0, 0] == 0.0
    # Output 1 reads (1e8, -1e8, 1, pad): p0 = 1e8, p1 = -1e8, p2 = 1: (1e8 - 1e8) + 1 = 1.
    assert acc[0, 0, 0, 1] == 1.0
    np.testing.assert_array_equal(float_conv_accumulate_reference(x[0], k, spec, 3), acc[0])


def test_padding_leaves_partials_unchanged_and_negative_zero_inputs_survive():
    """A tap in the padding is no operation: an output pixel whose every tap is in the padding
    is +0.0 (the partials' start), not the sum of zeros; -0.0 inputs add as -0.0 terms."""
    spec = ConvSpec(3, 3, 1, 1, 2, 2)  # 3x3 kernel, padding 2: corner outputs see one input
    x = np.full((1, 1, 2, 2), -0.0, np.float32)
    k = np.zeros((2, 1, 3, 3), np.int8)
    k[0, 0, 0, 0] = 1   # reads input (oy - 2, ox - 2): only output (2, 2) ... (3, 3) see the image
    k[1, 0, 2, 2] = -1  # reads input (oy, ox): -(-0.0) = +0.0 terms
    acc = float_conv_accumulate(x, k, spec, 1)
    ref = float_conv_accumulate_reference(x[0], k, spec, 1)
    assert same_floats(acc[0], ref)
    assert not np.signbit(acc).any()  # partials start at +0.0: +0.0 + -0.0 = +0.0, untouched = +0.0
    # With a -0.0 input and a +1 weight the term is -0.0; a finite value must pass unchanged:
    x2 = np.array([[[[-0.0, 2.5], [-3.0, 7.0]]]], np.float32)
    acc2 = float_conv_accumulate(x2, k, spec, 2)
    assert acc2[0, 0, 3, 3] == 7.0 and acc2[0, 0, 2, 3] == 2.5 and acc2[0, 1, 1, 0] == 3.0
    assert same_floats(acc2[0], float_conv_accumulate_reference(x2[0], k, spec, 2))


def test_pool_drops_leftovers_ors_bits_and_takes_the_largest_bit_pattern():
    b = np.zeros((1, 1, 5, 5), np.uint8)
    b[0, 0, 4, :] = 1  # the leftover row
    b[0, 0, :, 4] = 1  # the leftover column
    b[0, 0, 1, 2] = 1
    np.testing.assert_array_equal(pool_bits(b, (2, 2))[0, 0], [[0, 1], [0, 0]])
    y = np.zeros((1, 1, 5, 5), np.float32)
    y[0, 0, 0, 0], y[0, 0, 1, 1] = 3.0, 2.0                # max 3
    y[0, 0, 0, 2], y[0, 0, 1, 3] = np.inf, 1e38             # inf above finite
    y[0, 0, 2, 0], y[0, 0, 3, 1] = np.nan, np.inf           # a NaN wins
    y[0, 0, 4, 4] = 99.0                                    # leftover
    p = pool_floats(y, (2, 2))[0, 0]
    assert p.shape == (2, 2) and p[0, 0] == 3.0 and p[0, 1] == np.inf and np.isnan(p[1, 0]) and p[1, 1] == 0
    assert not np.signbit(pool_floats(np.zeros((1, 1, 2, 2), np.float32), (2, 2))).any()
    assert pool_bits(b, None) is b


def test_hidden_layout_is_chw_and_feeds_the_first_dense_layer():
    m = conv_preset("vgg", "binary", seed=7)
    px = pixels(m, 16)
    out, hidden = forward(m, px)
    s = layer_shapes(m)
    last = max(l for l in range(m.n_layers) if s[l].is_conv)
    h = hidden[last]
    assert h.shape == (16, int(np.prod(s[last].pooled_shape)))
    acc = (2 * h.astype(np.int64) - 1) @ m.weights[last + 1].T.astype(np.int64)
    np.testing.assert_array_equal(hidden[last + 1], (acc >= m.thresholds[last + 1]).astype(np.uint8))
    # channel-major: reshaping gives the (C, H, W) maps
    c, hh, ww = s[last].pooled_shape
    assert h.reshape(16, c, hh, ww).shape == (16, c, hh, ww)


def test_empty_and_single_images():
    for act in ("binary", "float"):
        m = conv_preset("odd", act)
        out, hidden = forward(m, np.zeros((0, m.n_inputs), np.uint8))
        assert out.shape == (0, m.n_outputs) and [h.shape[1] for h in hidden] == [s.n_out for s in layer_shapes(m)[:-1]]
        one, _ = forward(m, pixels(m, 1))
        assert one.shape == (1, m.n_outputs)
        if act == "float":
            assert float_forward64(m, np.zeros((0, m.n_inputs), np.uint8)).shape == (0, m.n_outputs)
