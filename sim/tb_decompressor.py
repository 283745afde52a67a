"""cocotb testbench: the RLE decompressor against the Python decoder (sw.rle).

Environment (set by the pytest functions or ``sim.main``):

* ``TB_MODE``: ``random`` (DUT built ``writable``; seeded random matrices are
  loaded through the ``load`` port) or ``preloaded`` (the matrix in
  ``TB_MATRIX``, an ``.npz`` with ``w`` and ``field_width``, is in the memory's
  initial contents).
* ``TB_SEED``, ``TB_CASES``, ``TB_FIELD_WIDTH``, ``TB_N_COLS``, ``TB_DEPTH``.
* ``TB_REPORT``: a JSON file the testbench writes its measurements to.

Scoreboard: every emitted beat is compared with :func:`sw.rle.decode_entries`.
With no back-pressure the walk must take exactly one cycle per word
(beats + skip words) after the fixed read latency, i.e. 1.0 cycle per nonzero
when there are neither skips nor empty rows.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from hw.decompressor import Decompressor, beat_layout, command_layout
from sw import rle

from .cocotb_streams import StreamSink, StreamSource
from .handles import bind, pack, unpack


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def random_matrix(rng, max_rows, n_cols):
    rows = int(rng.integers(1, max_rows + 1))
    cols = int(rng.integers(1, n_cols + 1))
    density = float(rng.choice([0.0, 0.01, 0.05, 0.2, 0.6, 1.0]))
    w = (rng.random((rows, cols)) < density) * rng.choice(np.array([-1, 1]), (rows, cols))
    w = w.astype(np.int8)
    if rows > 2 and rng.random() < 0.5:
        w[int(rng.integers(rows))] = 0                       # an empty row
        w[int(rng.integers(rows)), cols - 1] = rng.choice([-1, 1])  # last column
    return w


class DecompressorBench:
    def __init__(self, dut, field_width, n_cols, depth, ready_prob, seed):
        self.dut = dut
        self.beat = beat_layout(max(1, (n_cols - 1).bit_length()))
        self.cmd_layout = command_layout(max(1, (depth - 1).bit_length()))
        self.field_width = field_width
        self.cmd = StreamSource(dut, "cmd", dut.clk)
        self.out = StreamSink(dut, "o", dut.clk, ready_prob, seed)

    async def reset(self):
        Clock(self.dut.clk, 10, unit="ns").start()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0

    async def load(self, words, base=0):
        load = bind(self.dut, "load", ("en", "addr", "data"))
        for i, word in enumerate(words):
            load.en.value, load.addr.value, load.data.value = 1, base + i, int(word)
            await RisingEdge(self.dut.clk)
        load.en.value = 0

    async def walk(self, code: rle.RleCode, base=0):
        """Run one walk; check every beat; return the cycles from the command
        transfer to the last beat, less the fixed read latency."""
        expected = list(rle.decode_entries(code))
        await self.cmd.send(pack(self.cmd_layout, base=base, count=len(code.words)))
        beats, cycles = await self.out.receive(len(expected))
        for i, (raw, exp) in enumerate(zip(beats, expected)):
            got = unpack(self.beat, raw)
            want = dict(zip(("addr", "sign", "last", "null"), exp[1:]))
            assert got == want, f"beat {i} (row {exp[0]}): got {got}, expected {want}"
        while int(self.dut.busy.value):
            await RisingEdge(self.dut.clk)
        return cycles - Decompressor.STARTUP_CYCLES


@cocotb.test()
async def random_matrices(dut):
    """Seeded random matrices loaded through the write port, random back-pressure,
    then the same matrices with no back-pressure for the throughput check."""
    seed = env_int("TB_SEED", 1)
    g, n_cols, depth = env_int("TB_FIELD_WIDTH", 3), env_int("TB_N_COLS", 64), env_int("TB_DEPTH", 1024)
    rng = np.random.default_rng(seed)
    codes = []
    while len(codes) < env_int("TB_CASES", 20):
        code = rle.encode(random_matrix(rng, 12, n_cols), g)
        if len(code.words) <= depth:
            codes.append(code)
    stats = {"cases": len(codes), "beats": 0, "nonzeros": 0, "skips": 0, "cycles": 0}
    for ready_prob in (0.5, 1.0):
        bench = DecompressorBench(dut, g, n_cols, depth, ready_prob, seed)
        if ready_prob == 0.5:
            await bench.reset()
        for code in codes:
            base = int(rng.integers(0, depth - len(code.words) + 1))
            await bench.load(code.words, base)
            cycles = await bench.walk(code, base)
            if ready_prob == 1.0:
                n_beats = len(list(rle.decode_entries(code)))
                assert cycles == n_beats + code.n_skips, (
                    f"{cycles} cycles for {n_beats} beats + {code.n_skips} skips")
                stats["beats"] += n_beats
                stats["skips"] += code.n_skips
                stats["nonzeros"] += int(np.count_nonzero(rle.decode(code)))
                stats["cycles"] += cycles
    write_report(stats)


@cocotb.test()
async def preloaded_matrix(dut):
    """The matrix baked into the memory's initial contents, no back-pressure."""
    f = np.load(os.environ["TB_MATRIX"])
    code = rle.encode(f["w"], int(f["field_width"]))
    bench = DecompressorBench(dut, code.field_width, code.shape[1], len(code.words), 1.0, 0)
    await bench.reset()
    cycles = await bench.walk(code)
    n_beats = len(list(rle.decode_entries(code)))
    assert cycles == n_beats + code.n_skips
    write_report({"beats": n_beats, "nonzeros": int(np.count_nonzero(f["w"])),
                  "skips": code.n_skips, "cycles": cycles, "words": len(code.words)})


def write_report(stats):
    path = os.environ.get("TB_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump(stats, fh)
