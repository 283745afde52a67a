"""hw.binary_engine in the Amaranth simulator against the golden model (fast, small
nets): K lanes, pathological shapes, weighted layers, thresholds at and beyond the
accumulator's ends, exact cycle counts. The plan alone: test_hw_plan.py."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from engine_sim import load_batch, run_engine_raw
from hw.binary_engine import BinaryEngine
from hw.engine import build_engine, cycle_budget
from hw.binary_plan import engine_inputs, plan_binary
from hw.plan import PlanError
from sw import golden
from sw.synthetic import random_binary_model


def run_engine(model, pixels, reuse, lanes):
    plan = plan_binary(model, reuse, lanes=lanes)
    words, cycles = run_engine_raw(plan, engine_inputs(model, pixels))
    return words.view(np.int32), cycles, plan


def check(model, reuse, lanes, n_images=None, pixels=None, seed=0):
    rng = np.random.default_rng(seed)
    if pixels is None:
        pixels = rng.integers(0, 256, size=(n_images or 2 * reuse + 1, model.n_inputs), dtype=np.uint8)
    got, cycles, plan = run_engine(model, pixels, reuse, lanes)
    want, _ = golden.forward(model, pixels)
    np.testing.assert_array_equal(got, want)
    # Data-independent: every batch takes exactly the plan's cycles.
    assert cycles == [sum(cycle_budget(plan).values())] * len(cycles)
    return plan


@pytest.mark.parametrize("sizes, density, reuse, lanes", [
    ([20, 9, 7, 4], 0.3, 3, 1),         # one lane, R not a power of two
    ([20, 9, 7, 4], 0.3, 3, 4),
    ([16, 1, 5], 0.6, 1, 3),            # a layer of width 1, K not a power of two
    ([12, 6], 0.25, 2, 2),              # a single (pixel) layer
    ([30, 8, 8, 8, 3], 0.05, 4, 5),     # very sparse: empty rows, rows shorter than K
    ([40, 12, 10], 0.9, 2, 16),         # dense rows, sixteen lanes
    ([70, 6, 2], 0.02, 5, 7),           # long zero runs: a wide run field
])
def test_engine_matches_golden(sizes, density, reuse, lanes):
    model = random_binary_model(np.random.default_rng(sum(sizes) + reuse + lanes), sizes, density)
    check(model, reuse, lanes, seed=lanes)


@pytest.mark.parametrize("sizes, reuse, lanes, weighted", [
    ([40, 9, 4], 3, 4, ()),     # binary inputs: layer 0 walks bit plane 0 once
    ([25, 6], 2, 3, ()),        # a single layer with binary inputs: scores 2p - nnz
    ([30, 7, 3], 2, 2, (0,)),   # weighted layer 0 on binary inputs
])
def test_binary_inputs_match_golden(sizes, reuse, lanes, weighted):
    rng = np.random.default_rng(sum(sizes) + lanes)
    model = random_binary_model(rng, sizes, 0.4, weighted=weighted, k_max=40, input_threshold=128)
    plan = check(model, reuse, lanes, seed=lanes)
    assert plan.layers[0].passes == 1


def test_lane_streams_have_no_skip_words():
    """The plan's run field spans every zero run in a lane; a narrower one is refused."""
    model = random_binary_model(np.random.default_rng(5), [90, 7, 3], 0.03)
    plan = plan_binary(model, 3, lanes=3)
    assert all(lp.skip_words == 0 for lp in plan.layers)
    with pytest.raises(PlanError, match=r"^field_width: the lanes need a run field of at least "
                                        rf"{plan.field_width} bits \(the longest zero run in a lane "
                                        r"is \d+\), got 1$"):
        plan_binary(model, 3, field_width=1, lanes=3)


def test_dense_rows_and_extreme_accumulators():
    """All-+1 and all--1 rows with all-255 pixels: the accumulator at both ends."""
    model = random_binary_model(np.random.default_rng(0), [10, 4, 3], 0.5)
    model.weights[0][0, :] = 1
    model.weights[0][1, :] = -1
    model.weights[1][:, :] = 1
    pixels = np.array([[255] * 10, [0] * 10], dtype=np.uint8)
    for lanes in (1, 4):
        check(model, 2, lanes, pixels=pixels)


def test_thresholds_at_and_beyond_the_accumulator_range():
    """Thresholds at lo, hi + 1 and past both (constant bits) in every hidden layer."""
    rng = np.random.default_rng(3)
    model = random_binary_model(rng, [14, 8, 6, 3], 0.5)
    for l in range(model.n_layers - 1):
        w = model.weights[l].astype(np.int64)
        scale = 255 if l == 0 else 1
        lo, hi = -scale * (w < 0).sum(axis=1), scale * (w > 0).sum(axis=1)
        if l > 0:
            lo, hi = -(w != 0).sum(axis=1), (w != 0).sum(axis=1)
        t = model.thresholds[l].astype(np.int64)
        t[0::4], t[1::4], t[2::4], t[3::4] = lo[0::4], (hi + 1)[1::4], (lo - 7)[2::4], (hi + 9)[3::4]
        model.thresholds[l] = t.astype(model.thresholds[l].dtype)
    pixels = np.vstack([np.zeros(14, np.uint8), np.full(14, 255, np.uint8),
                        rng.integers(0, 256, size=(3, 14), dtype=np.uint8)])
    check(model, 5, 3, pixels=pixels)


@pytest.mark.parametrize("sizes, density, reuse, lanes, weighted, k_max", [
    ([20, 9, 7, 4], 0.4, 3, 2, (0, 1, 2), 32767),  # every layer weighted, 15-bit integer weights
    ([20, 9, 7, 4], 0.4, 2, 3, (1,), 1000),         # mixed: ordinary layers in a weighted engine
    ([12, 6], 0.3, 2, 1, (0,), 5),                  # a single weighted (pixel) layer
    ([30, 8, 8, 3], 0.05, 4, 4, (0, 2), 300),       # very sparse: empty rows, skip words
])
def test_weighted_layers_match_golden(sizes, density, reuse, lanes, weighted, k_max):
    """Integer weights kp, kn per row (model files with kp{l}/kn{l}): same cycles as unweighted."""
    rng = np.random.default_rng(sum(sizes) + reuse + k_max)
    model = random_binary_model(rng, sizes, density, weighted=weighted, k_max=k_max)
    plan = check(model, reuse, lanes, seed=k_max)
    assert plan.weighted and plan.weighted_layers == len(weighted)


def test_stop_after_exposes_each_hidden_layer():
    rng = np.random.default_rng(11)
    model = random_binary_model(rng, [18, 7, 6, 5, 3], 0.4)
    reuse = 3
    pixels = rng.integers(0, 256, size=(reuse, 18), dtype=np.uint8)
    _, want_hidden = golden.forward(model, pixels)
    plan = plan_binary(model, reuse, lanes=2)
    dut = build_engine(plan)
    assert isinstance(dut, BinaryEngine)
    got_hidden = {}

    async def testbench(ctx):
        await load_batch(ctx, dut, pixels, plan)
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


def test_loader_refuses_words_while_it_writes_planes():
    """``load_ready`` is low for the 7 cycles after a word; a write then is ignored."""
    model = random_binary_model(np.random.default_rng(2), [3, 2], 1.0)
    plan = plan_binary(model, 1, lanes=1)
    dut = build_engine(plan)
    seen = []

    async def testbench(ctx):
        ctx.set(dut.load.en, 1)
        for cycle in range(9):
            seen.append(ctx.get(dut.load_ready))
            ctx.set(dut.load.addr, 0 if cycle == 0 else 1)
            ctx.set(dut.load.data, 200 if cycle == 0 else 99)
            await ctx.tick()
        ctx.set(dut.load.en, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert seen == [1, 0, 0, 0, 0, 0, 0, 0, 1]
