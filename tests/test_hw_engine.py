"""hw.engine with the binary datapath (hw.binary_datapath) in the Amaranth simulator
against the golden model (fast, small nets). The plan alone: test_hw_plan.py."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from engine_sim import load_batch, run_engine_raw
from hw.engine import Engine, cycle_budget, layer_overhead
from hw.plan import plan_binary
from sw import golden
from sw.synthetic import random_binary_model


def run_engine(model, pixels, reuse):
    plan = plan_binary(model, reuse)
    words, cycles = run_engine_raw(plan, pixels)
    return words.view(np.int32), cycles, plan


@pytest.mark.parametrize("sizes, density, reuse", [
    ([20, 9, 7, 4], 0.3, 3),        # three layers, R not a power of two
    ([16, 1, 5], 0.6, 1),           # a layer of width 1, R = 1
    ([12, 6], 0.25, 2),             # a single (pixel) layer
    ([30, 8, 8, 8, 3], 0.05, 4),    # very sparse: empty rows, skip words
])
def test_engine_matches_golden(sizes, density, reuse):
    rng = np.random.default_rng(sum(sizes) + reuse)
    model = random_binary_model(rng, sizes, density)
    pixels = rng.integers(0, 256, size=(2 * reuse + 1, sizes[0]), dtype=np.uint8)
    got, cycles, plan = run_engine(model, pixels, reuse)
    want, _ = golden.forward(model, pixels)
    np.testing.assert_array_equal(got, want)
    # Per batch: one cycle per RLE word plus a fixed overhead per layer.
    expected = sum(lp.word_count for lp in plan.layers) + layer_overhead(plan) * len(plan.layers)
    assert cycles == [expected] * len(cycles)
    assert sum(cycle_budget(plan).values()) == expected


def test_dense_rows_and_extreme_accumulators():
    """All-+1 and all--1 rows with all-255 pixels: the accumulator at both ends."""
    rng = np.random.default_rng(0)
    model = random_binary_model(rng, [10, 4, 3], 0.5)
    model.weights[0][0, :] = 1
    model.weights[0][1, :] = -1
    model.weights[1][:, :] = 1
    pixels = np.array([[255] * 10, [0] * 10], dtype=np.uint8)
    got, _, _ = run_engine(model, pixels, 2)
    want, _ = golden.forward(model, pixels)
    np.testing.assert_array_equal(got, want)


def test_stop_after_exposes_each_hidden_layer():
    rng = np.random.default_rng(11)
    model = random_binary_model(rng, [18, 7, 6, 5, 3], 0.4)
    reuse = 3
    pixels = rng.integers(0, 256, size=(reuse, 18), dtype=np.uint8)
    _, want_hidden = golden.forward(model, pixels)
    dut = Engine(plan_binary(model, reuse))
    got_hidden = {}

    async def testbench(ctx):
        await load_batch(ctx, dut, pixels, reuse)
        for k in range(1, model.n_layers):
            ctx.set(dut.stop_after, k)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            await ctx.tick().until(dut.done)
            bits = np.zeros((reuse, model.weights[k - 1].shape[0]), dtype=np.uint8)
            for j in range(bits.shape[1]):
                ctx.set(dut.hidden.addr, j)
                await ctx.tick()
                word = ctx.get(dut.hidden.data)
                bits[:, j] = [(word >> r) & 1 for r in range(reuse)]
            got_hidden[k - 1] = bits

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    for layer, bits in got_hidden.items():
        np.testing.assert_array_equal(bits, want_hidden[layer], err_msg=f"layer {layer}")
    assert len(got_hidden) == model.n_layers - 1


@pytest.mark.parametrize("sizes, density, reuse, weighted, k_max", [
    ([20, 9, 7, 4], 0.4, 3, (0, 1, 2), 32767),  # every layer weighted, 15-bit integer weights
    ([20, 9, 7, 4], 0.4, 2, (1,), 1000),         # mixed: ordinary layers in a weighted engine
    ([12, 6], 0.3, 2, (0,), 5),                  # a single weighted (pixel) layer
    ([30, 8, 8, 3], 0.05, 4, (0, 2), 300),       # very sparse: empty rows, skip words
])
def test_weighted_layers_match_golden(sizes, density, reuse, weighted, k_max):
    """Integer weights kp, kn per row (model files with kp{l}/kn{l}): same cycles as unweighted."""
    rng = np.random.default_rng(sum(sizes) + reuse + k_max)
    model = random_binary_model(rng, sizes, density, weighted=weighted, k_max=k_max)
    pixels = rng.integers(0, 256, size=(2 * reuse + 1, sizes[0]), dtype=np.uint8)
    got, cycles, plan = run_engine(model, pixels, reuse)
    assert plan.weighted and plan.weighted_layers == len(weighted)
    want, hidden = golden.forward(model, pixels)
    np.testing.assert_array_equal(got, want)
    expected = sum(lp.word_count for lp in plan.layers) + layer_overhead(plan) * len(plan.layers)
    assert cycles == [expected] * len(cycles)
