"""tnn-model-v1 files: round trip, atomic writes, and every defect named by its field."""

import os
import re

import numpy as np
import pytest

from sw.errors import InputError
from sw.model_file import (FORMAT, K_MAX, ModelFileError, TnnModel, accumulator_range, load_model,
                           save_model, validate)


def random_binary(rng, sizes=(12, 8, 6, 3)):
    ws = [rng.integers(-1, 2, size=(o, i)).astype(np.int8) for i, o in zip(sizes, sizes[1:])]
    ts = []
    for l, w in enumerate(ws[:-1]):
        lo, hi = accumulator_range(w, l)
        ts.append(rng.integers(lo, hi + 2).astype(np.int32))
    return TnnModel("binary", ws, thresholds=ts, meta='{"origin": "test"}')


def random_float(rng, sizes=(12, 8, 3)):
    ws = [rng.integers(-1, 2, size=(o, i)).astype(np.int8) for i, o in zip(sizes, sizes[1:])]
    return TnnModel("float", ws,
                    scales=[rng.standard_normal(o).astype(np.float32) for o in sizes[1:]],
                    biases=[rng.standard_normal(o).astype(np.float32) for o in sizes[1:]],
                    x_scale=np.float32(1 / 255), x_offset=np.float32(-0.5))


@pytest.mark.parametrize("make", [random_binary, random_float])
def test_round_trip(tmp_path, make):
    m = make(np.random.default_rng(0))
    path = save_model(tmp_path / "sub" / "m.npz", m)
    assert [p.name for p in path.parent.iterdir()] == ["m.npz"]  # no temp file left behind
    back = load_model(path)
    assert back.activation == m.activation and back.meta == m.meta
    for field in ("weights", "thresholds", "scales", "biases"):
        a, b = getattr(m, field), getattr(back, field)
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    if m.activation == "float":
        assert back.x_scale == m.x_scale and back.x_scale.dtype == np.float32
        assert back.x_offset == m.x_offset


def test_asymmetric_layers_round_trip_and_stay_optional(tmp_path):
    """sn{l} (separate scales of the -1 weights) is an optional extension: files
    without it load with no asymmetric layer; with it, exactly the layers given."""
    m = random_float(np.random.default_rng(3))
    assert not m.asymmetric and not load_model(save_model(tmp_path / "a.npz", m)).asymmetric
    m.neg_scales = [None, np.arange(3, dtype=np.float32)]
    back = load_model(save_model(tmp_path / "b.npz", m))
    assert back.asymmetric and not back.weighted and back.neg_scale(0) is None
    np.testing.assert_array_equal(back.neg_scale(1), m.neg_scales[1])
    with np.load(tmp_path / "b.npz") as z:
        assert "sn1" in z.files and "sn0" not in z.files


def test_weighted_binary_layers_round_trip_and_stay_optional(tmp_path):
    """kp{l}/kn{l} (integer weights of the +1 and -1 weights) are an optional pair."""
    m = random_binary(np.random.default_rng(3))
    m.row_weights = [None, (np.arange(6, dtype=np.int32), np.full(6, K_MAX, np.int32)), None]
    assert not random_binary(np.random.default_rng(3)).weighted
    back = load_model(save_model(tmp_path / "k.npz", m))
    assert back.weighted and not back.asymmetric and back.row_weight(0) is None and back.row_weight(2) is None
    for a, b in zip(back.row_weight(1), m.row_weights[1]):
        np.testing.assert_array_equal(a, b)
    with np.load(tmp_path / "k.npz") as z:
        assert {"kp1", "kn1"} <= set(z.files) and "kp0" not in z.files


def _weighted_arrays():
    m = random_binary(np.random.default_rng(6))
    m.row_weights = [(np.full(8, 3, np.int32), np.full(8, 2, np.int32)), None, None]
    lo, hi = accumulator_range(m.weights[0], 0, m.row_weights[0])
    m.thresholds[0] = ((lo + hi) // 2).astype(np.int32)
    return m.to_arrays()


def test_the_file_holds_exactly_the_documented_keys(tmp_path):
    path = save_model(tmp_path / "m.npz", random_binary(np.random.default_rng(1)))
    with np.load(path) as z:
        assert sorted(z.files) == ["activation", "format", "layers", "meta", "t0", "t1",
                                   "w0", "w1", "w2"]
        assert str(z["format"]) == FORMAT and int(z["layers"]) == 3


def test_failed_save_leaves_no_file(tmp_path):
    m = random_binary(np.random.default_rng(2))
    m.weights[1] = m.weights[1].astype(np.int16)
    with pytest.raises(ModelFileError, match="^w1: expected int8, got int16$"):
        save_model(tmp_path / "m.npz", m)
    assert list(tmp_path.iterdir()) == []


def _binary_arrays():
    return random_binary(np.random.default_rng(3)).to_arrays()


def _float_arrays():
    return random_float(np.random.default_rng(4)).to_arrays()


def _set(key, value):
    def mutate(a):
        a[key] = value(a) if callable(value) else value
    return mutate


def _drop(key):
    def mutate(a):
        del a[key]
    return mutate


BAD = [
    # (base, mutation, expected message prefix)
    (_binary_arrays, _set("w1", lambda a: a["w1"].astype(np.float32)), "w1: expected int8, got float32"),
    (_binary_arrays, _set("w0", lambda a: np.where(a["w0"] == 1, 2, a["w0"]).astype(np.int8)),
     "w0: values must be ternary"),
    (_binary_arrays, _set("w2", lambda a: a["w2"][:, :5]), "w2: expected 6 inputs (w1 has 6 outputs)"),
    (_binary_arrays, _set("w1", lambda a: a["w1"][0]), "w1: expected a 2-D [out, in] matrix"),
    (_binary_arrays, _drop("t1"), "t1: missing"),
    (_binary_arrays, _drop("w0"), "w0: missing"),
    (_binary_arrays, _set("t0", lambda a: a["t0"].astype(np.int64)), "t0: expected int32, got int64"),
    (_binary_arrays, _set("t1", lambda a: a["t1"][:-1]), "t1: expected shape [6], got shape [5]"),
    (_binary_arrays, _set("input_threshold", np.int64(128)), "input_threshold: expected int32, got int64"),
    (_binary_arrays, _set("input_threshold", np.zeros(1, np.int32)),
     "input_threshold: expected scalar, got shape [1]"),
    (_binary_arrays, _set("input_threshold", np.int32(257)),
     "input_threshold: expected 0..256 (input bit = pixel >= T), got 257"),
    (_binary_arrays, _set("input_threshold", np.int32(-1)),
     "input_threshold: expected 0..256 (input bit = pixel >= T), got -1"),
    (_float_arrays, _set("input_threshold", np.int32(128)),
     "input_threshold: unexpected key for a float network of 2 layer(s)"),
    (_binary_arrays, _set("t2", np.zeros(3, np.int32)), "t2: unexpected key"),
    (_binary_arrays, _set("bias0", np.zeros(8, np.float32)), "bias0: unexpected key"),
    (_binary_arrays, _set("format", np.array("tnn-model-v0")), "format: expected 'tnn-model-v1'"),
    (_binary_arrays, _set("format", np.array(1)), "format: expected a string"),
    (_binary_arrays, _drop("format"), "format: missing"),
    (_binary_arrays, _set("activation", np.array("relu")), "activation: expected one of"),
    (_binary_arrays, _set("layers", np.array(2)), "t1: unexpected key"),
    (_binary_arrays, _set("layers", np.array(4)), "t2: missing"),
    (_binary_arrays, _set("layers", np.array(0)), "layers: expected >= 1"),
    (_binary_arrays, _set("layers", np.array(3.0)), "layers: expected an integer scalar"),
    (_float_arrays, _set("s1", lambda a: a["s1"].astype(np.float64)), "s1: expected float32, got float64"),
    (_float_arrays, _set("b0", lambda a: np.full_like(a["b0"], np.nan)), "b0: not finite"),
    (_float_arrays, _set("x_scale", np.float32(np.inf)), "x_scale: not finite"),
    (_float_arrays, _set("x_offset", np.zeros(1, np.float32)), "x_offset: expected scalar, got shape [1]"),
    (_float_arrays, _drop("b1"), "b1: missing"),
    (_float_arrays, _set("t0", np.zeros(8, np.int32)), "t0: unexpected key"),
    (_float_arrays, _set("sn1", np.zeros(2, np.float32)), "sn1: expected shape [3]"),
    (_float_arrays, _set("sn0", np.full(8, np.inf, np.float32)), "sn0: not finite"),
    (_float_arrays, _set("sn0", np.zeros(8, np.float64)), "sn0: expected float32"),
    (_float_arrays, _set("sn2", np.zeros(3, np.float32)), "sn2: unexpected key"),
    (_binary_arrays, _set("sn0", np.zeros(8, np.float32)), "sn0: unexpected key"),
    (_weighted_arrays, _drop("kn0"), "kn0: missing (kp0 is given"),
    (_weighted_arrays, _set("kp0", lambda a: a["kp0"].astype(np.int64)), "kp0: expected int32"),
    (_weighted_arrays, _set("kn0", lambda a: a["kn0"][:3]), "kn0: expected shape [8]"),
    (_weighted_arrays, _set("kp0", lambda a: np.full_like(a["kp0"], -1)), "kp0: integer weight -1 of row 0 outside"),
    (_weighted_arrays, _set("kn0", lambda a: np.full_like(a["kn0"], K_MAX + 1)), "kn0: integer weight 32768"),
    (_weighted_arrays, _set("kp3", np.zeros(3, np.int32)), "kp3: unexpected key"),
    (_float_arrays, _set("kp0", np.zeros(8, np.int32)), "kp0: unexpected key"),
]


@pytest.mark.parametrize("base, mutate, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_files_are_rejected_with_the_field_named(tmp_path, base, mutate, message):
    arrays = base()
    validate(arrays)  # the unmodified model is fine
    mutate(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError) as e:
        load_model(path)
    assert str(e.value).startswith(message)
    assert isinstance(e.value, ValueError)


def test_unreadable_files_are_refused_as_the_model_field(tmp_path):
    """Missing, a folder, not a zip, a lone .npy array, an empty file: one message form."""
    np.save(tmp_path / "array.npy", np.arange(3))
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    (tmp_path / "empty.npz").write_bytes(b"")
    cases = {"missing.npz": "No such file or directory", ".": "Is a directory",
             "junk.npz": "not a .npz archive", "array.npy": "not a .npz archive",
             "empty.npz": "not a .npz archive"}
    for name, reason in cases.items():
        path = tmp_path / name
        with pytest.raises(ModelFileError, match=rf"^model: cannot read {re.escape(str(path))}: {reason}$"):
            load_model(path)


def test_model_file_errors_are_input_errors():
    assert issubclass(ModelFileError, InputError) and issubclass(ModelFileError, ValueError)


def test_saved_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        path = save_model(tmp_path / "m.npz", random_binary(np.random.default_rng(1)))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def test_thresholds_at_the_ends_of_the_accumulator_range_and_beyond_are_valid():
    """Any int32 threshold is valid: out of the range it is a constant bit."""
    w = np.array([[1, -1, 0, 1], [0, 0, 0, 0]], dtype=np.int8)
    lo, hi = accumulator_range(w, 0)
    assert lo.tolist() == [-255, 0] and hi.tolist() == [510, 0]
    lo, hi = accumulator_range(w, 1)
    assert lo.tolist() == [-3, 0] and hi.tolist() == [3, 0]
    lo, hi = accumulator_range(w, 0, binary_input=True)  # +-1 inputs: a hidden layer's range
    assert lo.tolist() == [-3, 0] and hi.tolist() == [3, 0]
    w2 = np.zeros((2, 2), np.int8)
    for t in ([-3, 0], [4, 1], [5, -1], [-2**31, 2**31 - 1]):  # always 1 / always 0, at the ends or beyond
        validate(TnnModel("binary", [np.zeros((4, 3), np.int8), w, w2],
                          thresholds=[np.zeros(4, np.int32), np.array(t, np.int32)]).to_arrays())


def test_input_threshold_round_trips(tmp_path):
    m = random_binary(np.random.default_rng(3))
    m.input_threshold = 128
    back = load_model(save_model(tmp_path / "m.npz", m))
    assert back.input_threshold == 128 and back.binary_input
    assert load_model(save_model(tmp_path / "n.npz", random_binary(np.random.default_rng(3)))).input_threshold is None


def test_weighted_accumulations_must_fit_int32():
    w = np.ones((2, 784), np.int8)
    m = TnnModel("binary", [w], row_weights=[(np.full(2, K_MAX, np.int32), np.ones(2, np.int32))])
    with pytest.raises(ModelFileError, match=r"^kp0: row 0's accumulation range \[0, 6550778640\] overflows int32"):
        validate(m.to_arrays())
    m.row_weights = [(np.full(2, 10000, np.int32), np.ones(2, np.int32))]
    validate(m.to_arrays())  # 255 * 10000 * 784 < 2**31
