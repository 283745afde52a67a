"""hw.engine with the float datapath (hw.float_datapath) in the Amaranth simulator
against the golden model, every bit. The plan alone: test_hw_plan.py."""

import numpy as np
import pytest

from engine_sim import run_engine_raw
from hw.engine import cycle_budget, layer_overhead
from hw.float_schedule import float_batch_cycles
from hw.plan import plan_float
from sw import golden
from sw.synthetic import random_float_model


def check(model, pixels, reuse, **options):
    plan = plan_float(model, reuse, **options)
    words, cycles = run_engine_raw(plan, pixels)
    want, _ = golden.forward(model, pixels, lanes=plan.add_latency)
    np.testing.assert_array_equal(words, want.view(np.uint32))
    assert cycles == [float_batch_cycles(plan)] * len(cycles)  # the schedule model, exactly
    return plan, cycles


@pytest.mark.parametrize("sizes, density, reuse, add_latency", [
    ([20, 9, 7, 4], 0.3, 3, 3),       # three layers, R not a power of two
    ([16, 1, 5], 0.6, 1, 3),          # a layer of width 1, R = 1
    ([12, 6], 0.5, 2, 2),             # a single layer, L = 2
    ([30, 8, 8, 3], 0.05, 4, 3),      # very sparse: empty rows, short rows, skips
    ([24, 10, 5], 0.4, 2, 1),         # L = 1: one partial sum, no reduction
    ([24, 10, 5], 0.7, 3, 4),         # L = 4
    ([40, 6, 4], 0.2, 12, 2),         # R > L*L + 1: the output unit limits row ends
])
def test_float_engine_matches_golden(sizes, density, reuse, add_latency):
    rng = np.random.default_rng(sum(sizes) * 7 + reuse + add_latency)
    model = random_float_model(rng, sizes, density)
    pixels = rng.integers(0, 256, size=(2 * reuse + 1, sizes[0]), dtype=np.uint8)
    check(model, pixels, reuse, add_latency=add_latency)


@pytest.mark.parametrize("add_latency, mul_latency", [(6, 6), (8, 7)])
def test_deep_pipelines_match_golden(add_latency, mul_latency):
    """The adder and multiplier at their deepest latencies (every stage registered): L
    partial sums per row, rows shorter than the L*L + 1 cycle tail."""
    rng = np.random.default_rng(add_latency * 10 + mul_latency)
    model = random_float_model(rng, [40, 12, 5], 0.3)
    pixels = rng.integers(0, 256, size=(5, 40), dtype=np.uint8)
    check(model, pixels, 2, add_latency=add_latency, mul_latency=mul_latency)


@pytest.mark.parametrize("add_latency", [3, 7])
def test_dsp_shifts_match_golden(add_latency):
    """Adders with DSP shifts (``dsp_shifts=True``): the same results and cycles."""
    rng = np.random.default_rng(40 + add_latency)
    model = random_float_model(rng, [24, 10, 5], 0.4)
    pixels = rng.integers(0, 256, size=(5, 24), dtype=np.uint8)
    plan, _ = check(model, pixels, 2, add_latency=add_latency, dsp_shifts=True)
    assert plan.dsp_shifts


@pytest.mark.parametrize("sizes, density, reuse, add_latency, asymmetric", [
    ([20, 9, 7, 4], 0.4, 3, 3, (0, 1, 2)),     # every layer asymmetric
    ([20, 9, 7, 4], 0.4, 2, 3, (1,)),          # mixed: ordinary layers in an asymmetric engine
    ([16, 6, 5], 0.5, 2, 1, (0, 1)),           # L = 1
    ([16, 6, 5], 0.6, 3, 2, (0,)),             # L = 2
    ([30, 8, 8, 3], 0.05, 4, 4, (0, 2)),       # sparse: empty sets, empty rows, L = 4
    ([40, 6, 4], 0.2, 12, 2, (0, 1)),          # R > L*L + 1
])
def test_asymmetric_layers_match_golden(sizes, density, reuse, add_latency, asymmetric):
    """Separate sums and scales for +1 and -1 weights (model files with sn{l})."""
    rng = np.random.default_rng(sum(sizes) * 11 + reuse + add_latency)
    model = random_float_model(rng, sizes, density, asymmetric=asymmetric)
    assert model.asymmetric
    pixels = rng.integers(0, 256, size=(2 * reuse + 1, sizes[0]), dtype=np.uint8)
    plan, _ = check(model, pixels, reuse, add_latency=add_latency)
    assert plan.asymmetric_layers == len(asymmetric) and plan.const_width == 96


def test_asymmetric_sums_differ_from_symmetric_ones():
    """The check above could not pass with the extension ignored: the same network
    without sn gives other outputs."""
    rng = np.random.default_rng(3)
    model = random_float_model(rng, [16, 6, 5], 0.5, asymmetric=(0, 1))
    pixels = rng.integers(0, 256, size=(4, 16), dtype=np.uint8)
    with_sn, _ = golden.forward(model, pixels, lanes=3)
    model.neg_scales = []
    without, _ = golden.forward(model, pixels, lanes=3)
    assert not np.array_equal(with_sn, without)


def test_long_rows_take_the_predicted_cycles():
    """Dense rows of at least L*L + 2 words (no skips, no row-end stalls): words +
    (L - 1) per row except each layer's last + the layer overhead, exactly."""
    rng = np.random.default_rng(5)
    model = random_float_model(rng, [20, 16, 3], 1.0)
    reuse = 2
    pixels = rng.integers(0, 256, size=(reuse, 20), dtype=np.uint8)
    plan, cycles = check(model, pixels, reuse)
    L = plan.add_latency
    words = sum(lp.word_count for lp in plan.layers)
    reduce_stalls = sum((L - 1) * (lp.n_out - 1) for lp in plan.layers)
    assert cycles == [words + reduce_stalls + layer_overhead(plan) * len(plan.layers)]
    budget = cycle_budget(plan)
    assert sum(budget.values()) - (L - 1) * len(plan.layers) == cycles[0]


def test_short_rows_stall_for_the_lane_reduction():
    """Rows shorter than the reduction wait for the previous row's tail: a layer
    of 3-word rows costs L*L + 2 cycles per row, not 3 + (L - 1)."""
    rng = np.random.default_rng(5)
    model = random_float_model(rng, [20, 3, 4], 1.0)
    plan, cycles = check(model, rng.integers(0, 256, size=(2, 20), dtype=np.uint8), 2)
    L = plan.add_latency
    first = plan.layers[0].word_count + (L - 1) * 2
    second = 3 + (L * L + 2) * 3   # the first row's 3 words, then one row end per tail
    assert cycles == [first + second + 2 * layer_overhead(plan)]


def test_ieee_corner_cases_flow_through_bit_exactly():
    """Cancellation to signed zeros, subnormal sums, overflow to inf and inf - inf
    = NaN inside the accumulation; ReLU on -0.0 and NaN; huge and tiny scales."""
    rng = np.random.default_rng(9)
    model = random_float_model(rng, [8, 5, 3], 0.5)
    model.x_scale, model.x_offset = np.float32(3e38 / 255), np.float32(-1e38)
    model.weights[0][:] = 0
    model.weights[0][0, :2] = [1, -1]                 # x0 - x1: exact 0 or +-huge
    model.weights[0][1, :4] = [1, 1, 1, 1]            # overflows to +inf for bright pixels
    model.weights[0][2, :3] = [1, 1, -1]
    model.weights[0][3, :] = 0                        # empty row: +0.0
    model.weights[0][4, :6] = [1, -1, 1, -1, 1, -1]
    model.scales[0][:] = np.float32(1e-38)            # products in the subnormal range
    model.scales[0][2] = np.float32(-2.0)
    model.biases[0][:] = np.float32(0.0)
    model.biases[0][4] = np.float32(-0.0)
    model.scales[1][:] = np.float32(1e30)
    pixels = rng.integers(0, 256, size=(6, 8), dtype=np.uint8)
    pixels[0, :2] = [7, 7]
    pixels[1] = 255
    pixels[2] = 0
    check(model, pixels, 3, add_latency=3)


def test_hidden_activations_are_readable_per_layer():
    rng = np.random.default_rng(13)
    model = random_float_model(rng, [14, 7, 6, 3], 0.4)
    plan = plan_float(model, 2)
    pixels = rng.integers(0, 256, size=(2, 14), dtype=np.uint8)
    _, want_hidden = golden.forward(model, pixels, lanes=plan.add_latency)
    for k in (1, 2):
        words, _ = run_engine_raw(plan, pixels, stop_after=k)
        np.testing.assert_array_equal(words, want_hidden[k - 1].view(np.uint32), err_msg=f"layer {k - 1}")
