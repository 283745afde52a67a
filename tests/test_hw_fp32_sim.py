"""Amaranth-simulator tests of the whole binary32 adder and multiplier.

Directed sets (every pairing of the special classes plus boundary cases) and a few thousand
seeded random pairs against numpy float32, every supported latency, in_valid/out_valid timing
with bubbles, and reset. The million-pair runs are in test_hw_fp32_rtl.py (Verilator).
"""

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hw.errors import ParameterError
from hw.fp32 import (ADD_REGISTERS, MUL_REGISTERS, FP32Add, FP32Mul,
                     verilog_fp32_add, verilog_fp32_mul)
from sim.fp32_operands import compare, directed_pairs, random_pairs

UNITS = {"add": (FP32Add, ADD_REGISTERS), "mul": (FP32Mul, MUL_REGISTERS)}


def simulate(dut, a, b, *, bubble_every=0):
    """Feed the pairs one per cycle (in_valid low every ``bubble_every``-th cycle, with garbage
    operands); return the results seen with out_valid, and whether out_valid was exactly
    in_valid delayed by ``dut.latency`` on every cycle."""
    results, ins, outs = [], [], []
    garbage = iter(np.random.default_rng(99).integers(0, 1 << 32, 10 * len(a) + 100))

    async def tb(ctx):
        pairs, cycle = list(zip(a.tolist(), b.tolist())), 0
        while pairs or len(results) < len(a):
            bubble = not pairs or (bubble_every and cycle % bubble_every == bubble_every - 1)
            x, y = (int(next(garbage)), int(next(garbage))) if bubble else pairs.pop(0)
            ctx.set(dut.a, x)
            ctx.set(dut.b, y)
            ctx.set(dut.in_valid, not bubble)
            ins.append(not bubble)
            outs.append(bool(ctx.get(dut.out_valid)))
            if outs[-1]:
                results.append(ctx.get(dut.result))
            cycle += 1
            assert cycle < 4 * len(a) + 20, "results missing"
            if dut.latency:
                await ctx.tick()

    sim = Simulator(dut)
    if dut.latency:
        sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    delayed = [False] * dut.latency + ins[:len(ins) - dut.latency]
    return np.array(results, dtype=np.uint32), outs == delayed


def assert_exact(op, a, b, got):
    report = compare(op, a, b, got)
    assert report["mismatches"] == 0, report
    assert report["non_canonical_nan"] == 0, report


@pytest.mark.parametrize("op", UNITS)
def test_directed(op):
    """Every pairing of the special classes, cancellation, binade round-ups, overflow,
    subnormal results; combinational (latency 0)."""
    cls, _ = UNITS[op]
    a, b = directed_pairs(op)
    got, valid_ok = simulate(cls(latency=0), a, b)
    assert valid_ok
    assert_exact(op, a, b, got)


@pytest.mark.parametrize("op", UNITS)
def test_random(op):
    cls, _ = UNITS[op]
    a, b = random_pairs(op, 2000, seed=7)
    got, _ = simulate(cls(latency=0), a, b)
    assert_exact(op, a, b, got)


@pytest.mark.parametrize("op,latency", [(op, lat) for op, (_, regs) in UNITS.items()
                                        for lat in regs if lat > 0])
def test_pipelined(op, latency):
    """Every latency: results stay in order and exact, out_valid = in_valid delayed."""
    cls, _ = UNITS[op]
    a, b = random_pairs(op, 150, seed=latency)
    da, db = directed_pairs(op)
    a, b = np.concatenate([a, da[::5]]), np.concatenate([b, db[::5]])
    got, valid_ok = simulate(cls(latency=latency), a, b, bubble_every=7)
    assert valid_ok, "out_valid is not in_valid delayed by the latency"
    assert_exact(op, a, b, got)


@pytest.mark.parametrize("latency", [0, 3, 7])
def test_adder_with_dsp_shifts(latency):
    """The adder's DSP-shift variant (``dsp_shifts=True``): directed and random pairs."""
    a, b = random_pairs("add", 400 if latency else 2000, seed=11 + latency)
    da, db = directed_pairs("add")
    a, b = np.concatenate([da if latency == 0 else da[::5], a]), np.concatenate([db if latency == 0 else db[::5], b])
    got, valid_ok = simulate(FP32Add(latency=latency, dsp_shifts=True), a, b, bubble_every=7)
    assert valid_ok
    assert_exact("add", a, b, got)


def test_bad_dsp_shifts():
    with pytest.raises(ParameterError, match=r"^dsp_shifts: must be True or False, got 1$"):
        FP32Add(dsp_shifts=1)


@pytest.mark.parametrize("op", UNITS)
def test_reset_clears_valid(op):
    cls, regs = UNITS[op]
    latency = max(regs)
    dut = cls(latency=latency)
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut
    seen = []

    async def tb(ctx):
        ctx.set(dut.in_valid, 1)
        for _ in range(latency - 1):
            await ctx.tick()
        ctx.set(dut.in_valid, 0)
        ctx.set(cd.rst, 1)                      # the pipeline is full of valid operations
        await ctx.tick()
        ctx.set(cd.rst, 0)
        for _ in range(latency + 1):
            seen.append(ctx.get(dut.out_valid))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert seen == [0] * (latency + 1)


@pytest.mark.parametrize("cls,bad,top", [(FP32Add, -1, 8), (FP32Add, 9, 8), (FP32Mul, 8, 7), (FP32Add, 2.0, 8)])
def test_bad_latency(cls, bad, top):
    with pytest.raises(ParameterError, match=rf"^latency: must be in 0\.\.{top}, got {bad!r}$"):
        cls(latency=bad)


@pytest.mark.parametrize("fn,name", [(verilog_fp32_add, "fp32_add"), (verilog_fp32_mul, "fp32_mul")])
def test_verilog_top_ports(fn, name):
    text = fn(latency=2)
    header = text[text.index(f"module {name}("):].split(";")[0]
    ports = set(header[header.index("(") + 1:header.index(")")].replace(" ", "").split(","))
    assert ports == {"clk", "rst", "a", "b", "in_valid", "result", "out_valid"}
    for decl in ("input [31:0] a;", "input [31:0] b;", "output [31:0] result;",
                 "input in_valid;", "output out_valid;", "input clk;", "input rst;"):
        assert decl in text
    top = 8 if name == "fp32_add" else 7
    for bad in (0, top + 1):
        with pytest.raises(ParameterError, match=rf"^latency: must be in 1\.\.{top}, got {bad}$"):
            fn(latency=bad)
