"""The dense binary matrix-vector-threshold unit (hw/dense_mvu.py) in the Amaranth simulator
against numpy, with random stalls on both streams."""

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from hw.dense_mvu import DenseMVU
from hw.errors import ParameterError


def reference(weights, thresholds, x):
    """Output bits ``[vectors, n_out]``: ``popcount(x XNOR w_j) >= T_j`` (+1 as bit 1)."""
    agree = (x[:, None, :] == (weights[None] == 1)).sum(axis=2)
    return (agree >= thresholds[None]).astype(np.uint8)


def random_layer(rng, n_out, n_in):
    w = rng.choice(np.array([-1, 1], dtype=np.int8), (n_out, n_in))
    t = rng.integers(n_in // 2 - 3, n_in // 2 + 4, n_out).clip(0, n_in + 1)
    t[:2] = [0, n_in + 1][:min(2, n_out)]  # always 1, always 0
    return w, t


def pack(bits, width):
    """Words of ``width`` bits from a bit vector, the first bit in bit 0 (zero padded)."""
    padded = np.zeros(-(-len(bits) // width) * width, dtype=np.uint8)
    padded[:len(bits)] = bits
    return [int(sum(int(b) << i for i, b in enumerate(padded[k:k + width])))
            for k in range(0, len(padded), width)]


def run(dut, x, valid_prob=1.0, ready_prob=1.0, seed=0, garbage_padding=False):
    """Stream ``x`` (bits ``[vectors, n_in]``) through ``dut``; returns the output bits
    ``[vectors, n_out]`` and the cycle of every output transfer."""
    rng = np.random.default_rng(seed)
    words = [w for v in x for w in pack(v, dut.simd)]
    if garbage_padding:  # input bits past n_in must be ignored
        words = [w | (((1 << dut.simd) - 1) & ~((1 << (dut.n_in - (dut.sf - 1) * dut.simd)) - 1))
                 if (i % dut.sf) == dut.sf - 1 else w for i, w in enumerate(words)]
    n_words = len(x) * dut.nf
    got, when = [], []

    async def producer(ctx):
        for word in words:
            while valid_prob < 1.0 and rng.random() >= valid_prob:
                ctx.set(dut.x.valid, 0)
                await ctx.tick()
            ctx.set(dut.x.payload, word)
            ctx.set(dut.x.valid, 1)
            await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)

    async def consumer(ctx):
        cycle = 0
        while len(got) < n_words:
            ready = ready_prob >= 1.0 or rng.random() < ready_prob
            ctx.set(dut.y.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.y.valid, dut.y.payload)
            if valid and ready:
                got.append(int(payload))
                when.append(cycle)
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    bits = np.array([[(w >> p) & 1 for p in range(dut.pe)] for w in got], dtype=np.uint8)
    return bits.reshape(len(x), dut.nf * dut.pe)[:, :dut.n_out], when


@pytest.mark.parametrize("n_out, n_in, simd, pe, valid_prob, ready_prob", [
    (8, 16, 4, 2, 1.0, 1.0),
    (8, 16, 4, 2, 0.6, 0.5),       # stalls on both sides
    (7, 13, 4, 3, 0.7, 0.6),       # neither size a multiple: padded rows and inputs
    (5, 9, 9, 5, 0.8, 0.7),        # one word, one fold: no input buffer
    (6, 10, 1, 1, 1.0, 0.4),       # one input per cycle, one row
    (3, 33, 8, 1, 0.5, 1.0),       # three folds
])
def test_bit_exact_against_numpy(n_out, n_in, simd, pe, valid_prob, ready_prob):
    rng = np.random.default_rng(n_out * 1000 + n_in * 10 + simd)
    w, t = random_layer(rng, n_out, n_in)
    x = rng.integers(0, 2, (4, n_in), dtype=np.uint8)
    dut = DenseMVU(w, t, simd=simd, pe=pe)
    got, _ = run(dut, x, valid_prob, ready_prob, seed=simd + pe,
                 garbage_padding=n_in % simd != 0)
    np.testing.assert_array_equal(got, reference(w, t, x))


def test_a_vector_takes_nf_times_sf_cycles_and_outputs_follow_latency():
    rng = np.random.default_rng(3)
    w, t = random_layer(rng, 12, 20)
    dut = DenseMVU(w, t, simd=5, pe=4)   # SF = 4, NF = 3
    assert (dut.sf, dut.nf, dut.macs_per_cycle) == (4, 3, 20)
    x = rng.integers(0, 2, (3, 20), dtype=np.uint8)
    got, when = run(dut, x)
    np.testing.assert_array_equal(got, reference(w, t, x))
    # Issue starts in cycle 0 with the first word; fold f's last word issues in cycle
    # 4 f + 3 and its output is valid LATENCY cycles later, back to back over vectors.
    assert when == [4 * k + 3 + DenseMVU.LATENCY for k in range(9)]


def test_memories_hold_the_folded_layer():
    w = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, 1]], dtype=np.int8)
    dut = DenseMVU(w, [0, 2, 4], simd=2, pe=2)  # SF = 2, NF = 2: one padded row and column
    # word f*SF + s: row f*PE + p's bits of input word s in bits [2p, 2p + 2)
    assert dut.weight_words() == [0b00_01, 0b11_11, 0b11_11, 0b11_11]
    assert dut.threshold_width == 3
    assert dut.threshold_words() == [0 | 2 << 3, 4 | 4 << 3]
    Fragment.get(dut, None)  # elaborates (a component must not be left unused)


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights=np.ones(4, dtype=np.int8)),
     "weights: expected a 2-D integer array of -1 and +1, got int8 of shape [4]"),
    (dict(weights=np.ones((2, 4))),
     "weights: expected a 2-D integer array of -1 and +1, got float64 of shape [2, 4]"),
    (dict(weights=np.array([[1, 1, 0, -1], [1, 1, 1, 1]])),
     "weights: values must be -1 or +1, got 0 at [0, 2]"),
    (dict(thresholds=[1, 2, 3]),
     "thresholds: expected 2 integers (one per row), got int64 of shape [3]"),
    (dict(thresholds=[1, 6]), "thresholds: 6 of row 1 outside [0, 5]"),
    (dict(thresholds=[-1, 0]), "thresholds: -1 of row 0 outside [0, 5]"),
    (dict(simd=0), "simd: must be in 1..4 (the layer's inputs), got 0"),
    (dict(simd=5), "simd: must be in 1..4 (the layer's inputs), got 5"),
    (dict(pe=3), "pe: must be in 1..2 (the layer's outputs), got 3"),
])
def test_refuses_bad_parameters(kwargs, message):
    args = dict(weights=np.ones((2, 4), dtype=np.int8), thresholds=[1, 2], simd=2, pe=1) | kwargs
    with pytest.raises(ParameterError) as exc:
        DenseMVU(args.pop("weights"), args.pop("thresholds"), **args)
    assert str(exc.value) == message
