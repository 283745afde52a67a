"""Decompressor in the Amaranth simulator against the Python decoder (sw.rle)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.decompressor import Decompressor
from hw.errors import ParameterError
from sw import rle
from sw.errors import InputError
from streams import stream_collect, stream_put


def random_ternary(rng, rows, cols, density):
    nz = rng.random((rows, cols)) < density
    return (nz * rng.choice(np.array([-1, 1], dtype=np.int8), (rows, cols))).astype(np.int8)


def repeat_rows(entries, passes):
    """Decoded entries with every row's entries repeated ``passes`` times in a row."""
    rows, row = [], []
    for e in entries:
        row.append(e)
        if e[3]:  # last
            rows.append(row)
            row = []
    return [e for row in rows for _ in range(passes) for e in row]


def run_walks(dut, walks, ready_prob=1.0, seed=0):
    """Run each ``(base, code[, passes])`` walk through ``dut``; return per-walk (beats, cycles)."""
    results = []
    rng = np.random.default_rng(seed)

    async def testbench(ctx):
        for base, code, *passes in walks:
            expected = repeat_rows(rle.decode_entries(code), passes[0] if passes else 1)
            cmd = {"base": base, "count": len(code.words)} | ({"passes": passes[0]} if passes else {})
            await stream_put(ctx, dut.cmd, cmd)
            beats, cycles = await stream_collect(ctx, dut.o, len(expected), ready_prob, rng)
            got = [(b.addr, b.sign, b.last, b.null) for b in beats]
            results.append((got, expected, cycles, code))
            while ctx.get(dut.busy):
                await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return results


@pytest.mark.parametrize("g, density, ready_prob", [
    (2, 0.05, 1.0),   # long gaps: many skip words
    (4, 0.3, 1.0),
    (3, 0.5, 0.6),    # back-pressure
    (5, 1.0, 0.3),
    (4, 0.0, 0.5),    # all rows empty
])
def test_matches_python_decoder(g, density, ready_prob):
    rng = np.random.default_rng(g * 100 + int(density * 10))
    w = random_ternary(rng, 9, 37, density)
    w[0, :] = 0            # an empty row
    w[1, -1] = 1           # a nonzero in the last column
    code = rle.encode(w, g)
    dut = Decompressor(field_width=g, n_cols=37, depth=len(code.words), init=code.words)
    [(got, expected, cycles, _)] = run_walks(dut, [(0, code)], ready_prob)
    assert got == [e[1:] for e in expected]
    if ready_prob == 1.0:
        # One word per cycle after the read latency: each skip word one bubble.
        assert cycles == Decompressor.STARTUP_CYCLES + len(expected) + code.n_skips


def test_two_matrices_in_one_memory():
    rng = np.random.default_rng(7)
    a = rle.encode(random_ternary(rng, 4, 20, 0.3), 3)
    b = rle.encode(random_ternary(rng, 6, 33, 0.1), 3)
    words = np.concatenate([a.words, b.words])
    dut = Decompressor(field_width=3, n_cols=33, depth=len(words), init=words)
    results = run_walks(dut, [(len(a.words), b), (0, a), (len(a.words), b)])
    for got, expected, _, _ in results:
        assert got == [e[1:] for e in expected]


@pytest.mark.parametrize("passes, ready_prob", [(1, 1.0), (3, 1.0), (4, 0.5), (7, 0.8)])
def test_rows_walked_several_times(passes, ready_prob):
    """``max_passes > 1``: each row again right after itself (conv layers' output
    pixels), empty rows and skip words included, no bubble at the rewind; two
    matrices in one memory with different pass counts."""
    rng = np.random.default_rng(passes)
    w = random_ternary(rng, 7, 40, 0.15)
    w[0, :], w[3, :] = 0, 0
    w[4, :] = 0
    w[4, 0] = -1           # a row of one word
    a, b = rle.encode(w, 2), rle.encode(random_ternary(rng, 3, 11, 0.5), 2)
    words = np.concatenate([a.words, b.words])
    dut = Decompressor(field_width=2, n_cols=40, depth=len(words), init=words, max_passes=7)
    results = run_walks(dut, [(0, a, passes), (len(a.words), b, 1), (len(a.words), b, passes)],
                        ready_prob, seed=passes)
    for got, expected, cycles, code in results:
        assert got == [e[1:] for e in expected]
    if ready_prob == 1.0:
        # One word per cycle, and a bubble at each row's first rewind (its end was not
        # known before its last word reached the word register).
        _, expected, cycles, code = results[0]
        rows = sum(e[3] for e in rle.decode_entries(code))
        assert cycles == (Decompressor.STARTUP_CYCLES + len(expected) + passes * code.n_skips
                          + (rows if passes > 1 else 0))


def _transfers(dut, cmd, low=frozenset(), cycles=60):
    """Cycle numbers and payloads of the beats taken, ``o.ready`` low in the cycles ``low``."""
    taken = []

    async def testbench(ctx):
        await stream_put(ctx, dut.cmd, cmd)
        for cycle in range(cycles):
            ctx.set(dut.o.ready, cycle not in low)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid and cycle not in low:
                taken.append((cycle, (payload.addr, payload.sign, payload.last, payload.null)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return taken


def test_first_rewind_bubble_only_when_the_last_word_is_taken_at_once():
    """A row's end is known from its second pass on: after the first pass's last beat
    the row's first beat comes one cycle late if that last beat was taken as soon as
    it was offered, and right after it if it waited for ``o.ready``; later rewinds
    never leave a gap (hw.float_schedule models exactly this)."""
    w = np.array([[1, 0, -1, 0, 1], [0, 1, 0, 0, 0]], dtype=np.int8)
    code = rle.encode(w, 3)
    dut = lambda: Decompressor(field_width=3, n_cols=5, depth=len(code.words), init=code.words,  # noqa: E731
                               max_passes=3)
    cmd = {"base": 0, "count": len(code.words), "passes": 3}
    at_once = _transfers(dut(), cmd)
    assert [beat for _, beat in at_once] == [e[1:] for e in repeat_rows(rle.decode_entries(code), 3)]
    cycles = [c for c, _ in at_once]
    assert cycles[3] - cycles[2] == 2                        # row 0: first rewind, a bubble
    assert cycles[6] - cycles[5] == 1 and cycles[9] - cycles[8] == 1    # second rewind; next row
    assert cycles[10] - cycles[9] == 2                       # row 1 (one beat): first rewind
    held = _transfers(dut(), cmd, low={cycles[2]})           # the last beat waits a cycle
    assert [c for c, _ in held][2:4] == [cycles[2] + 1, cycles[3]]      # no bubble after it


def test_loaded_weights_walked_several_times():
    """``writable`` with ``max_passes > 1``: words loaded through ``load`` (over
    different initial contents) are walked with their rows repeated, the rewinds
    following the loaded words' ``last`` bits."""
    rng = np.random.default_rng(11)
    code = rle.encode(random_ternary(rng, 6, 19, 0.3), 3)
    other = rle.encode(random_ternary(rng, 2, 19, 0.9), 3)      # different row ends
    dut = Decompressor(field_width=3, n_cols=19, depth=len(code.words), init=other.words,
                       writable=True, max_passes=4)
    expected = repeat_rows(rle.decode_entries(code), 3)
    finished = []

    async def testbench(ctx):
        for addr, word in enumerate(code.words):
            ctx.set(dut.load.en, 1)
            ctx.set(dut.load.addr, addr)
            ctx.set(dut.load.data, int(word))
            await ctx.tick()
        ctx.set(dut.load.en, 0)
        await stream_put(ctx, dut.cmd, {"base": 0, "count": len(code.words), "passes": 3})
        beats, _ = await stream_collect(ctx, dut.o, len(expected), 0.7, np.random.default_rng(1))
        assert [(b.addr, b.sign, b.last, b.null) for b in beats] == [e[1:] for e in expected]
        finished.append(True)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run_until(1e-8 * 20 * (len(code.words) + len(expected)))  # a wrong walk may never end
    assert finished, "the walk did not give the expected number of beats"


def test_refuses_bad_parameters():
    with pytest.raises(ParameterError, match=r"^depth: 2 words cannot hold the 3 initial words$"):
        Decompressor(field_width=3, n_cols=8, depth=2, init=[1, 2, 3])
    with pytest.raises(ParameterError, match=r"^field_width: must be >= 1, got 0$"):
        Decompressor(field_width=0, n_cols=8, depth=4)
    with pytest.raises(ParameterError, match=r"^n_cols: must be >= 1, got 0$"):
        Decompressor(field_width=3, n_cols=0, depth=4)
    with pytest.raises(ParameterError, match=r"^max_passes: must be >= 1, got 0$"):
        Decompressor(field_width=3, n_cols=8, depth=4, max_passes=0)
    assert issubclass(ParameterError, InputError) and issubclass(ParameterError, ValueError)
