"""The binary engine's PE alone in the Amaranth simulator: rows of K lanes (empty
lanes as x = sign = 0, several passes, start values and carries) against a numpy model of its
contract (hw/pe.py)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.pe import LanePE


def random_rows(rng, lanes, k_width, n_rows=30):
    rows = []
    for _ in range(n_rows):
        passes = int(rng.choice([1, 8]))
        beats = int(rng.integers(1, 4))
        x = rng.integers(0, 2, (passes, beats, lanes))
        sign = rng.integers(0, 2, (beats, lanes))
        null = rng.random((beats, lanes)) < 0.3  # empty lanes: x = 0, sign = 0
        x[:, null] = 0
        sign[null] = 0
        start = int(rng.integers(-500, 500))
        carries = rng.integers(0, 2, passes)
        kp, kn = (int(v) for v in rng.integers(0, 1 << max(k_width, 1), 2))
        rows.append((x, sign, null, start, carries, kp, kn))
    return rows


def row_value(row, weighted):
    x, sign, null, start, carries, kp, kn = row
    acc = start
    for p in range(len(x)):
        if weighted:
            terms = np.where(x[p], np.where(sign, -kn, kp), 0)
        else:
            terms = x[p] ^ sign
        acc = (acc if p == 0 else 2 * acc) + int(terms.sum()) + int(carries[p])
    return acc


@pytest.mark.parametrize("lanes, k_width", [(1, 0), (4, 0), (7, 0), (3, 5)])
def test_rows_accumulate_as_specified(lanes, k_width):
    rng = np.random.default_rng(lanes + k_width)
    pe = LanePE(lanes=lanes, acc_width=24, start_width=12, k_width=k_width)
    rows = random_rows(rng, lanes, k_width)
    got = []
    bits = lambda v: sum(int(b) << i for i, b in enumerate(v))  # noqa: E731

    async def testbench(ctx):
        schedule = []  # (lane inputs, control) per cycle, control applied one cycle later
        for x, sign, null, start, carries, kp, kn in rows:
            for p in range(len(x)):
                for b in range(len(sign)):
                    first = b == 0
                    schedule.append(((bits(x[p, b]), bits(sign[b]), kp, kn),
                                     dict(valid=1, row_start=int(first and p == 0),
                                          pass_start=int(first and p > 0),
                                          carry=int(first) * int(carries[p])), start,
                                     p == len(x) - 1 and b == len(sign) - 1))
        pending = None
        for lane_in, ctl, start, ends in schedule + [(None, None, None, False)] * 2:
            if lane_in is not None:
                x, s, kp, kn = lane_in
                ctx.set(pe.x, x)
                ctx.set(pe.sign, s)
                if k_width:
                    ctx.set(pe.kp, kp)
                    ctx.set(pe.kn, kn)
            if pending is not None:
                ctx.set(pe.ctl, pending[0])
                ctx.set(pe.start, pending[1])
            else:
                ctx.set(pe.ctl, dict(valid=0, row_start=0, pass_start=0, carry=0))
            await ctx.tick()
            if pending is not None and pending[2]:
                got.append((ctx.get(pe.acc), ctx.get(pe.bit)))
            pending = None if lane_in is None else (ctl, start, ends)

    sim = Simulator(pe)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    want = [row_value(row, k_width > 0) for row in rows]
    assert [acc for acc, _ in got] == want
    assert [bit for _, bit in got] == [int(v >= 0) for v in want]
