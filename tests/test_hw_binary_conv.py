"""The binary engine's convolution mode (hw.conv_plan, hw.binary_conv) in the Amaranth
simulator against the golden model: padding, strides, 1 x k kernels, pools with
leftovers, empty / dense / one-corner-tap channels, binary inputs, R not a power
of two; outputs and every hidden layer, exact cycle counts."""

import numpy as np
import pytest

from engine_sim import run_engine_raw
from hw.binary_plan import engine_inputs, plan_binary
from hw.conv_plan import conv_geometry
from hw.engine import cycle_budget
from hw.plan import PlanError
from sw import golden
from sw.model_file import TnnModel, accumulator_range, validate
from sw.synthetic import random_ternary


def conv_model(rng, input_shape, convs, dense, density=0.4, input_threshold=None, special=True):
    """A binary network: conv layers ``convs`` = [(out_c, (kh, kw, sy, sx, py, px), pool)],
    then dense layers of widths ``dense``. With ``special``, conv layer 0's channel 0 is
    empty, channel 1 dense and channel 2 one corner tap."""
    c, h, w = input_shape
    weights, specs, pools, thresholds = [], [], [], []
    for i, (out_c, spec, pool) in enumerate(convs):
        kh, kw, sy, sx, py, px = spec
        k = random_ternary(rng, out_c, c * kh * kw, density).reshape(out_c, c, kh, kw)
        if special and i == 0 and out_c >= 3:
            k[0] = 0
            k[1] = rng.choice(np.array([-1, 1], np.int8), k[1].shape)
            k[2] = 0
            k[2, -1, -1, -1] = -1
        weights.append(k)
        specs.append(spec)
        pools.append(pool)
        h, w = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
        if pool:
            h, w = h // pool[0], w // pool[1]
        c = out_c
    n_in = c * h * w
    for n_out in dense:
        weights.append(random_ternary(rng, n_out, n_in, density))
        specs.append(None)
        pools.append(None)
        n_in = n_out
    for l, wl in enumerate(weights[:-1]):
        binary = l > 0 or input_threshold is not None
        lo, hi = accumulator_range(wl, l, binary_input=binary)
        mid = (lo + hi) // 2 if binary else (lo + hi) // 4
        t = mid + rng.integers(-2, 3, size=mid.shape)
        t = np.where(rng.random(t.shape) < 0.05, lo - 3, t)
        thresholds.append(t.astype(np.int32))
    model = TnnModel(activation="binary", weights=weights, thresholds=thresholds,
                     input_threshold=input_threshold, input_shape=tuple(input_shape),
                     convs=specs, pools=pools)
    validate(model.to_arrays())
    return model


def check(model, reuse, lanes=None, n_images=None, seed=0, hidden=True):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n_images or 2 * reuse + 1, model.n_inputs), dtype=np.uint8)
    plan = plan_binary(model, reuse, lanes=lanes)
    want, want_hidden = golden.forward(model, pixels)
    words, cycles = run_engine_raw(plan, engine_inputs(model, pixels))
    np.testing.assert_array_equal(words.view(np.int32), want)
    assert cycles == [sum(cycle_budget(plan).values())] * len(cycles)
    if hidden:
        for k in range(1, model.n_layers):
            acts, _ = run_engine_raw(plan, engine_inputs(model, pixels[:reuse]), stop_after=k)
            np.testing.assert_array_equal(acts, want_hidden[k - 1][:reuse], err_msg=f"layer {k - 1}")
    return plan


CASES = {
    # name: (input_shape, convs, dense, reuse, lanes)
    "pad-pool": ((1, 6, 7), [(4, (3, 3, 1, 1, 1, 1), (2, 2)), (3, (3, 3, 1, 1, 1, 1), None)], [5], 3, 2),
    "stride2-leftover": ((2, 9, 8), [(3, (3, 3, 2, 2, 1, 1), (2, 3))], [4, 3], 2, 4),
    "1xk-kx1": ((1, 5, 6), [(3, (1, 3, 1, 1, 0, 1), None), (4, (3, 1, 1, 1, 1, 0), (2, 1))], [3], 5, 1),
    "wide-pad": ((1, 4, 4), [(3, (3, 3, 1, 1, 2, 2), (3, 3))], [4], 2, 3),
    "no-pad-k8": ((3, 5, 5), [(5, (3, 3, 1, 1, 0, 0), None)], [6], 2, 8),
}


@pytest.mark.parametrize("name", CASES)
def test_conv_engine_matches_golden(name):
    shape, convs, dense, reuse, lanes = CASES[name]
    model = conv_model(np.random.default_rng(len(name)), shape, convs, dense)
    plan = check(model, reuse, lanes, seed=reuse)
    assert plan.conv and plan.layers[0].passes == 8 * plan.layers[0].conv.pixels


def test_binary_inputs_conv():
    model = conv_model(np.random.default_rng(7), (1, 6, 6), [(3, (3, 3, 1, 1, 1, 1), (2, 2))], [4],
                       input_threshold=100)
    plan = check(model, 2, 3)
    assert plan.layers[0].passes == plan.layers[0].conv.pixels
    assert plan.layers[0].classes > 1  # bits layers with padding: one start value per border class


def test_border_classes_of_a_padded_3x3():
    model = conv_model(np.random.default_rng(1), (1, 6, 7), [(4, (3, 3, 1, 1, 1, 1), None)], [5],
                       special=False)
    g = conv_geometry(model)[0]
    assert g.y_class == (0, 1, 1, 1, 1, 2) and g.x_class == (0, 1, 1, 1, 1, 1, 2)
    assert g.valid_taps(0).tolist() == [[False] * 3, [False, True, True], [False, True, True]]


def test_weighted_conv_layers_are_refused():
    model = conv_model(np.random.default_rng(2), (1, 5, 5), [(2, (3, 3, 1, 1, 1, 1), None)], [3])
    model.row_weights = [(np.ones(2, np.int32), np.ones(2, np.int32)), None]
    with pytest.raises(PlanError, match=r"^kp0: the binary engine runs weighted layers in dense networks only$"):
        plan_binary(model, 2)
