"""cocotb testbench driver for the engine (either kind) inside its clocked wrapper.

It only drives and records; ``sim.validate`` compares with the golden model.
The clock runs inside the simulator (``sim.wrapper``); Python wakes once per
input word, once per result word, and once per run (``RisingEdge(done)``),
never per compute cycle.

Environment:

* ``TB_INPUTS``: ``.npy`` uint8 ``[N, n_in]`` pixels.
* ``TB_FIRST``: the run's index of the first of them (default 0; the test hooks
  below name images by this index).
* ``TB_REUSE``: R.
* ``TB_N_OUT``: outputs per image.
* ``TB_GAPS``: probability of an idle cycle between host transactions (0: none).
* ``TB_SEED``: seed for the gaps.
* ``TB_ACT_WIDTH``: bits of one hidden activation (1: binary, 32: float).
* ``TB_OUT``: ``.npy`` uint32 ``[N, n_out]`` written with the RTL's output words
  (int32 or binary32 bit patterns; ``sim.validate`` views them by kind).
* ``TB_REPORT``: JSON with ``cycles`` per batch and timings.
* ``TB_PROGRESS``: optional file, rewritten with the number of images done
  after every batch (``sim.validate``'s progress bar).
* ``TB_STOP_AFTER``: ``k >= 1`` ends each run after layer ``k-1`` and records
  that layer's activations (uint32 words, ``[N, n]``, ``n`` = ``TB_N_OUT``) instead of
  the scores (debugging a mismatch layer by layer).
* ``TNN_TB_FLIP_OUTPUT``: ``image,output``; a test hook that flips bit 0 of that
  output as read back, to exercise the mismatch path of ``sim.validate``.
* ``TNN_TB_FAIL_IMAGE``: ``image``; a test hook that fails the test (no outputs
  written) when ``image`` is among the inputs, to exercise a failed slice.
"""

from __future__ import annotations

import json
import os
import random
import time

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hw.binary_engine import LOAD_CYCLES
from hw.engine import pack_input_words

from .handles import bind


class EngineDriver:
    def __init__(self, dut, reuse: int, n_out: int, gaps: float, seed: int, stop_after: int = 0,
                 act_width: int = 1):
        self.dut, self.reuse, self.n_out, self.act_width = dut, reuse, n_out, act_width
        self.stop_after = stop_after
        self.load = bind(dut, "load", ("en", "addr", "data"))
        self.result = bind(dut, "result", ("addr", "image", "data"))
        self.gaps = gaps
        self.rng = random.Random(seed)
        # The binary engine's loader takes LOAD_CYCLES cycles per word (it has load_ready).
        self.load_cycles = LOAD_CYCLES if hasattr(dut, "load_ready") else 1
        load, read = os.environ.get("TB_LOAD_ADDRS"), os.environ.get("TB_READ_ADDRS")
        self.load_addresses = np.load(load) if load else None
        self.read_addresses = np.load(read) if read else None
        self.compute_seconds = 0.0

    async def gap(self):
        while self.gaps and self.rng.random() < self.gaps:
            await RisingEdge(self.dut.clk)

    async def reset(self):
        self.dut.start.value = 0
        self.load.en.value = 0
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def run_batch(self, pixels: np.ndarray) -> tuple[np.ndarray, int]:
        """Load, run and read one batch. Adds the wall time spent while the engine
        computes to ``self.compute_seconds``."""
        dut, clk = self.dut, self.dut.clk
        for i, word in enumerate(pack_input_words(pixels, self.reuse)):
            await self.gap()
            addr = i if self.load_addresses is None else int(self.load_addresses[i])
            self.load.en.value, self.load.addr.value, self.load.data.value = 1, addr, word
            await RisingEdge(clk)
            self.load.en.value = 0
            if self.load_cycles > 1:
                await ClockCycles(clk, self.load_cycles - 1)
        await self.gap()
        if hasattr(dut, "stop_after"):
            dut.stop_after.value = self.stop_after
        dut.start.value = 1
        await RisingEdge(clk)
        dut.start.value = 0
        t0 = time.perf_counter()
        await RisingEdge(dut.done)
        self.compute_seconds += time.perf_counter() - t0
        await ReadOnly()
        cycles = int(dut.cycles.value)
        await RisingEdge(clk)
        if self.stop_after:
            return await self.read_hidden(len(pixels)), cycles
        out = np.zeros((len(pixels), self.n_out), dtype=np.uint32)
        for r in range(len(pixels)):
            for j in range(self.n_out):
                await self.gap()
                self.result.addr.value, self.result.image.value = j, r
                await RisingEdge(clk)
                await ReadOnly()
                out[r, j] = int(self.result.data.value)
                await RisingEdge(clk)
        return out, cycles


    async def read_hidden(self, n_images: int) -> np.ndarray:
        clk = self.dut.clk
        hidden = bind(self.dut, "hidden", ("addr", "data"))
        w = self.act_width
        acts = np.zeros((n_images, self.n_out), dtype=np.uint32)
        for j in range(self.n_out):
            hidden.addr.value = j if self.read_addresses is None else int(self.read_addresses[j])
            await RisingEdge(clk)
            await ReadOnly()
            word = int(hidden.data.value)
            acts[:, j] = [(word >> (w * r)) & ((1 << w) - 1) for r in range(n_images)]
            await RisingEdge(clk)
        return acts


@cocotb.test()
async def run_inputs(dut):
    pixels = np.load(os.environ["TB_INPUTS"])
    reuse, n_out = int(os.environ["TB_REUSE"]), int(os.environ["TB_N_OUT"])
    driver = EngineDriver(dut, reuse, n_out, float(os.environ.get("TB_GAPS", 0)),
                          int(os.environ.get("TB_SEED", 0)), int(os.environ.get("TB_STOP_AFTER", 0)),
                          int(os.environ.get("TB_ACT_WIDTH", 1)))
    await driver.reset()
    outputs, cycles = [], []
    progress = os.environ.get("TB_PROGRESS")
    t0 = time.perf_counter()
    for first in range(0, len(pixels), reuse):
        out, c = await driver.run_batch(pixels[first:first + reuse])
        outputs.append(out)
        cycles.append(c)
        if progress:
            with open(progress, "w") as fh:
                fh.write(f"{first + len(out)}\n")
    wall = time.perf_counter() - t0
    result = np.concatenate(outputs) if outputs else np.zeros((0, n_out), np.uint32)
    first = int(os.environ.get("TB_FIRST", 0))
    fail = os.environ.get("TNN_TB_FAIL_IMAGE")
    assert not fail or not 0 <= int(fail) - first < len(result), f"TNN_TB_FAIL_IMAGE={fail}"
    flip = os.environ.get("TNN_TB_FLIP_OUTPUT")
    if flip:
        image, output = map(int, flip.split(","))
        if 0 <= image - first < len(result):
            result[image - first, output] ^= 1
    np.save(os.environ["TB_OUT"], result)
    with open(os.environ["TB_REPORT"], "w") as fh:
        json.dump({"batch_cycles": cycles, "sim_seconds": wall,
                   "compute_seconds": driver.compute_seconds,
                   "simulated_cycles": int(get_sim_time("ns")) // 10}, fh)
