"""tnn-model-v1's convolution extension: round trip, the TnnModel API, geometry, and
every refusal pinned whole."""

import numpy as np
import pytest

from sw.conv_shapes import ConvSpec, conv_output_hw, layer_shapes, valid_range
from sw.model_file import ModelFileError, TnnModel, accumulator_range, load_model, save_model, validate
from sw.synthetic import CONV_PRESETS, conv_preset, random_binary_model, random_float_model


@pytest.mark.parametrize("activation", ["binary", "float"])
@pytest.mark.parametrize("name", sorted(CONV_PRESETS))
def test_round_trip(tmp_path, name, activation):
    m = conv_preset(name, activation, seed=1)
    back = load_model(save_model(tmp_path / "m.npz", m))
    assert back.input_shape == m.input_shape and back.has_conv
    for l in range(m.n_layers):
        assert back.conv(l) == m.conv(l) and back.pool(l) == m.pool(l)
        assert back.weights[l].dtype == np.int8
        np.testing.assert_array_equal(back.weights[l], m.weights[l])
    for a, b in zip(m.thresholds + m.scales + m.biases, back.thresholds + back.scales + back.biases):
        np.testing.assert_array_equal(a, b)
    with np.load(tmp_path / "m.npz") as z:
        assert z["input_shape"].dtype == np.int32 and z["conv0"].dtype == np.int32
        assert z["conv0"].tolist() == list(m.conv(0))


def test_dense_files_get_no_conv_keys_and_input_shape_is_optional(tmp_path):
    rng = np.random.default_rng(0)
    for m in (random_binary_model(rng, [12, 5, 3]), random_float_model(rng, [12, 5, 3])):
        keys = set(m.to_arrays())
        assert not keys & {"input_shape", "conv0", "pool0", "conv1"}
        back = load_model(save_model(tmp_path / "d.npz", m))
        assert back.input_shape is None and not back.has_conv and back.conv(0) is None and back.pool(0) is None
        assert back.weight_matrix(0) is back.weights[0]
        m.input_shape = (1, 3, 4)  # a dense network may state its image shape
        back = load_model(save_model(tmp_path / "e.npz", m))
        assert back.input_shape == (1, 3, 4) and back.n_inputs == 12 and not back.has_conv


def test_api_weight_matrix_shapes_and_n_inputs():
    m = conv_preset("stride2", "binary")
    assert m.n_inputs == 2 * 9 * 9 and m.n_outputs == 5
    assert m.conv(0) == ConvSpec(3, 3, 2, 2, 1, 1) and m.pool(0) == (2, 2)
    assert m.conv(2) is None and m.pool(1) is None
    wm = m.weight_matrix(0)
    assert wm.shape == (6, 2 * 9) and wm.dtype == np.int8
    np.testing.assert_array_equal(wm[3, 9 + 3 + 2], m.weights[0][3, 1, 1, 2])  # (c, ky, kx) row-major
    s = layer_shapes(m)
    assert [(x.in_shape, x.out_shape, x.pooled_shape) for x in s] == [
        ((2, 9, 9), (6, 5, 5), (6, 2, 2)), ((6, 2, 2), (4, 2, 2), (4, 2, 2)),
        ((16, 1, 1), (7, 1, 1), (7, 1, 1)), ((7, 1, 1), (5, 1, 1), (5, 1, 1))]
    assert [(x.n_in, x.n_out, x.fan_in, x.out_pixels, x.is_conv) for x in s] == [
        (162, 24, 18, 25, True), (24, 16, 18, 4, True), (16, 7, 16, 1, False), (7, 5, 7, 1, False)]
    assert s[0].conv == m.conv(0) and s[0].pool == (2, 2) and s[2].conv is None
    assert tuple(ConvSpec(1, 2, 3, 4, 0, 1)) == (1, 2, 3, 4, 0, 1)


def test_accumulator_range_of_a_kernel_is_that_of_its_matrix():
    m = conv_preset("odd", "binary")
    for l in range(2):
        for a, b in zip(accumulator_range(m.weights[l], l), accumulator_range(m.weight_matrix(l), l)):
            np.testing.assert_array_equal(a, b)
    lo, hi = accumulator_range(m.weights[0], 0)
    assert lo[0] == hi[0] == 0  # the empty channel


@pytest.mark.parametrize("size,k,stride,pad", [(7, 3, 1, 1), (9, 3, 2, 1), (5, 1, 1, 0), (6, 2, 2, 1),
                                               (4, 4, 3, 3), (3, 3, 1, 0)])
def test_valid_range_agrees_with_brute_force(size, k, stride, pad):
    out = conv_output_hw(size, size, ConvSpec(k, k, stride, stride, pad, pad))[0]
    for ky in range(k):
        o0, o1, i0 = valid_range(ky, stride, pad, size, out)
        inside = [o for o in range(out) if 0 <= o * stride - pad + ky < size]
        assert list(range(o0, o1)) == inside
        if inside:
            assert i0 == o0 * stride - pad + ky


def _arrays(activation="binary"):
    return conv_preset("stride2", activation).to_arrays()  # conv0 3x3/2 pad 1 + pool 2x2, conv1 3x1, 2 dense


def _set(**kv):
    def f(a):
        for k, v in kv.items():
            if v is None:
                del a[k]
            else:
                a[k] = v
    return f


def _i32(*v):
    return np.array(v, dtype=np.int32)


def _with_w(key, fn):
    def f(a):
        a[key] = fn(a[key])
    return f


def _zero_size(a):
    a["conv1"] = _i32(3, 1, 1, 1, 0, 0)  # 3x1, no padding, on the 2x2 map: 0 rows


def _conv_after_dense(a):
    del a["conv1"]
    a["w1"] = a["w1"].reshape(4, -1)[:, :24]
    a["conv2"] = _i32(1, 1, 1, 1, 0, 0)


def _conv_last(a):
    a["conv3"] = _i32(1, 1, 1, 1, 0, 0)


def _dense_input_shape(a):
    m = random_binary_model(np.random.default_rng(0), [13, 4, 3])
    a.clear()
    a.update(m.to_arrays())
    a["input_shape"] = _i32(1, 3, 4)


REFUSALS = [
    (_set(input_shape=None), "input_shape: missing (required with convolution layers; conv0 is given)"),
    (_set(input_shape=np.array([2, 9, 9], np.float32)), "input_shape: expected int32, got float32"),
    (_set(input_shape=_i32(2, 81)), "input_shape: expected shape [3], got shape [2]"),
    (_set(input_shape=_i32(2, 9, 0)), "input_shape: sizes must be >= 1, got (C, H, W) = (2, 9, 0)"),
    (_set(conv0=_i32(3, 3, 2, 2, 1)), "conv0: expected shape [6], got shape [5]"),
    (_set(conv0=np.array([3, 3, 2, 2, 1, 1], np.int64)), "conv0: expected int32, got int64"),
    (_set(conv0=_i32(0, 3, 2, 2, 0, 1)), "conv0: kernel sizes must be >= 1, got 0x3"),
    (_set(conv0=_i32(3, 3, 0, 2, 1, 1)), "conv0: strides must be >= 1, got (0, 2)"),
    (_set(conv0=_i32(3, 3, 2, 2, 3, 1)),
     "conv0: padding must be 0..kernel size - 1 per axis, got (3, 1) for a 3x3 kernel"),
    (_set(conv0=_i32(3, 3, 2, 2, 1, -1)),
     "conv0: padding must be 0..kernel size - 1 per axis, got (1, -1) for a 3x3 kernel"),
    (_zero_size, "conv1: a 3x1 kernel with stride (1, 1) and padding (0, 0) gives an empty output on the 2x2 input"),
    (_set(pool0=_i32(2)), "pool0: expected shape [2], got shape [1]"),
    (_set(pool0=_i32(0, 2)), "pool0: window sizes must be >= 1, got 0x2"),
    (_set(pool0=_i32(6, 2)), "pool0: a 6x2 window gives an empty output on the 5x5 map"),
    (_set(pool2=_i32(1, 1)), "pool2: pooling follows hidden convolution layers only (layer 2 is dense)"),
    (_set(pool3=_i32(2, 2)), "pool3: pooling follows hidden convolution layers only (layer 3 is dense)"),
    (_set(conv4=_i32(1, 1, 1, 1, 0, 0)), "conv4: unexpected key for a binary network of 4 layer(s)"),
    (_conv_last, "conv3: the last layer must be dense"),
    (_conv_after_dense, "conv2: convolutions must come before all dense layers (layer 1 is dense)"),
    (_set(kp0=np.ones(6, np.int32), kn0=np.ones(6, np.int32)),
     "kp0: two-scale conv layers are not supported (conv0 is given)"),
    (_set(kn1=np.ones(4, np.int32)), "kn1: two-scale conv layers are not supported (conv1 is given)"),
    (_with_w("w0", lambda w: w.reshape(6, -1)),
     "w0: expected a 4-D [out_c, in_c, kh, kw] kernel (conv0 is given), got shape [6, 18]"),
    (_with_w("w0", lambda w: w[:, :1]),
     "w0: expected shape [out_c >= 1, 2, 3, 3] (input_shape has 2 channel(s); conv0 has a 3x3 kernel), "
     "got shape [6, 1, 3, 3]"),
    (_with_w("w0", lambda w: w[:, :, :2]),
     "w0: expected shape [out_c >= 1, 2, 3, 3] (input_shape has 2 channel(s); conv0 has a 3x3 kernel), "
     "got shape [6, 2, 2, 3]"),
    (_with_w("w1", lambda w: w[:, :5]),
     "w1: expected shape [out_c >= 1, 6, 3, 1] (layer 0 outputs 6 channel(s); conv1 has a 3x1 kernel), "
     "got shape [4, 5, 3, 1]"),
    (_with_w("w0", lambda w: np.where(np.arange(w.size).reshape(w.shape) == 1 * 18 + 0 * 9 + 2 * 3 + 1, 2, w)
             .astype(np.int8)),
     "w0: values must be ternary (-1, 0, +1), found 2 at [1, 0, 2, 1]"),
    (_with_w("w2", lambda w: w[:, :15]), "w2: expected 16 inputs (layer 1's output after pooling is 4x2x2), "
                                          "got shape [7, 15]"),
    (_set(t0=np.zeros(5, np.int32)), "t0: expected shape [6], got shape [5]"),
    (_dense_input_shape, "input_shape: C*H*W = 1*3*4 = 12 differs from w0's 13 inputs"),
]


@pytest.mark.parametrize("mutate,message", REFUSALS, ids=[m for _, m in REFUSALS])
def test_refusals_name_the_field(mutate, message):
    a = _arrays()
    mutate(a)
    with pytest.raises(ModelFileError) as e:
        validate(a)
    assert str(e.value) == message


@pytest.mark.parametrize("key", ["sn0", "sn1"])
def test_two_scale_float_conv_layers_are_refused(key):
    a = _arrays("float")
    a[key] = np.ones(a[f"w{key[-1]}"].shape[0], np.float32)
    with pytest.raises(ModelFileError) as e:
        validate(a)
    assert str(e.value) == f"{key}: two-scale conv layers are not supported (conv{key[-1]} is given)"


def test_float_per_channel_parameters_and_load_model_messages(tmp_path):
    a = _arrays("float")
    a["s1"] = np.ones(3, np.float32)
    with pytest.raises(ModelFileError, match=r"^s1: expected shape \[4\], got shape \[3\]$"):
        validate(a)
    a = _arrays()
    a["pool0"] = _i32(6, 2)
    np.savez(tmp_path / "bad.npz", **a)
    with pytest.raises(ModelFileError, match=r"^pool0: a 6x2 window gives an empty output on the 5x5 map$"):
        load_model(tmp_path / "bad.npz")


def test_tnn_model_accepts_plain_tuples():
    m = conv_preset("odd", "binary")
    m.convs = [tuple(c) if c is not None else None for c in m.convs]
    assert m.conv(0) == ConvSpec(3, 3, 1, 1, 1, 1)
    validate(m.to_arrays())
    assert isinstance(TnnModel, type)


def test_qonnx_export_refuses_convolutions():
    pytest.importorskip("onnx")
    from sw.interop.qonnx_graph import InteropError
    from sw.interop.qonnx_export import to_qonnx
    with pytest.raises(InteropError) as e:
        to_qonnx(conv_preset("odd", "binary"))
    assert str(e.value) == "conv0: convolution layers have no QONNX form here (fully connected networks only)"
