"""hw.lane_walker: K lanes walked side by side, rows repeated, against hw.lanes' encoding."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.lane_walker import LaneWalker, pack_words
from hw.lanes import encode_lanes
from hw.binary_plan import lane_field_width


def expected_beats(w, lanes, passes):
    """(addrs or None per lane, signs, last) per beat: row by row, each row ``passes`` times."""
    beats = []
    for row in w:
        cols = np.flatnonzero(row)
        m = max(1, -(-len(cols) // lanes))
        walk = []
        for j in range(m):
            mine = [cols[k::lanes] for k in range(lanes)]
            addrs = [int(c[j]) if j < len(c) else None for c in mine]
            signs = [int(row[a] < 0) if a is not None else 0 for a in addrs]
            walk.append((addrs, signs, j == m - 1))
        beats += walk * passes
    return beats


@pytest.mark.parametrize("lanes, passes, density", [(1, 1, 0.3), (3, 8, 0.2), (4, 2, 0.6), (5, 3, 0.05)])
def test_walks_match_the_lane_encoding(lanes, passes, density):
    rng = np.random.default_rng(lanes * 10 + passes)
    w = ((rng.random((9, 37)) < density) * rng.choice(np.array([-1, 1], np.int8), (9, 37))).astype(np.int8)
    w[0, :] = 0            # an empty first row (one word)
    w[3, :] = 0
    w[4, :2] = 1           # a short row
    g = lane_field_width([w], lanes)
    code = encode_lanes(w, lanes, g)
    words = pack_words(code.lanes, g)
    dut = LaneWalker(field_width=g, lanes=lanes, n_cols=37, words=words, row_lengths=code.row_beats,
                     max_passes=8)
    want = expected_beats(w, lanes, passes)
    got, cycles = [], []

    async def testbench(ctx):
        ctx.set(dut.cmd.valid, 1)
        ctx.set(dut.cmd.payload, {"base": 0, "count": len(words), "passes": passes, "row": 0,
                                  "len0": int(code.row_beats[0]), "len1": int(code.row_beats[1])})
        await ctx.tick()
        ctx.set(dut.cmd.valid, 0)
        n = 0
        while ctx.get(dut.busy):
            n += 1
            if ctx.get(dut.valid):
                o = ctx.get(dut.o)
                addrs = [None if (o.null >> k) & 1 else int(o.addr[k]) for k in range(lanes)]
                got.append((addrs, [(o.sign >> k) & 1 for k in range(lanes)], bool(o.last)))
            await ctx.tick()
        cycles.append(n)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert got == want
    assert cycles == [LaneWalker.STARTUP_CYCLES + len(want) + 1]  # busy until the cycle after the last beat
