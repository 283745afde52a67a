"""The ternary PE alone in the Amaranth simulator: rows of random weights in both
modes against a numpy model of its contract (hw/pe.py, hw/plan.py)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.pe import TernaryPE


@pytest.mark.parametrize("bits_mode", [0, 1])
def test_rows_score_and_bit(bits_mode):
    rng = np.random.default_rng(bits_mode)
    pe = TernaryPE(acc_width=14, const_width=14, score_width=16)
    rows = []
    for _ in range(40):
        n = int(rng.integers(0, 12))        # 0: an empty row (one null beat)
        x = rng.integers(0, 2 if bits_mode else 256, n)
        sign = rng.integers(0, 2, n)
        k = int(rng.integers(-300, 300))
        rows.append((x, sign, k))
    got = []

    async def testbench(ctx):
        ctx.set(pe.bits_mode, bits_mode)
        for x, sign, k in rows:
            beats = [(int(xi), int(si), 0) for xi, si in zip(x, sign)] or [(0, 0, 1)]
            for i, (xi, si, null) in enumerate(beats):
                ctx.set(pe.beat, {"valid": 1, "sign": si, "last": i == len(beats) - 1, "null": null})
                ctx.set(pe.x, xi)
                await ctx.tick()
            ctx.set(pe.beat, {"valid": 0, "sign": 0, "last": 0, "null": 0})
            ctx.set(pe.k, k)
            await ctx.delay(1e-9)
            got.append((ctx.get(pe.score), ctx.get(pe.bit)))
            await ctx.tick()  # an idle cycle between rows must not disturb the accumulator

    sim = Simulator(pe)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    for (x, sign, k), (score, bit) in zip(rows, got):
        w = 1 - 2 * sign
        if bits_mode:
            acc = int(np.sum(x == (1 - sign)))   # XNOR matches: input bit equals weight bit
            want = 2 * acc - k
        else:
            want = int(np.sum(w * x)) - k
        assert score == want
        assert bit == int(want >= 0)
