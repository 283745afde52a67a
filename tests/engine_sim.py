"""Run the engine (either kind) in the Amaranth simulator: load, start, read back."""

import numpy as np
from amaranth.sim import Simulator

from hw.engine import build_engine, load_cycles, pack_input_words


async def load_batch(ctx, dut, pixels, plan):
    addresses = plan.input_addresses
    for i, word in enumerate(pack_input_words(pixels, plan.batch)):
        ctx.set(dut.load.en, 1)
        ctx.set(dut.load.addr, int(addresses[i]))
        ctx.set(dut.load.data, word)
        await ctx.tick()
        ctx.set(dut.load.en, 0)
        for _ in range(load_cycles(plan) - 1):  # the binary engine's loader writes bit planes
            await ctx.tick()


def run_engine_raw(plan, pixels, *, stop_after=0):
    """Batches of ``plan.batch`` images (B = R / P) through the plan's engine. Returns
    ``(words, cycles)``: uint32 ``[N, n]`` result words (or, with ``stop_after =
    k``, layer ``k-1``'s hidden activations as ``act_width``-bit words) and the
    cycles of each batch."""
    reuse = plan.batch
    dut = build_engine(plan)
    n_out = plan.layers[stop_after - 1].outputs if stop_after else plan.n_outputs
    read = plan.hidden_addresses(stop_after - 1) if stop_after else None
    w = plan.act_width
    outputs, cycles = [], []

    async def testbench(ctx):
        for first in range(0, len(pixels), reuse):
            batch = pixels[first:first + reuse]
            await load_batch(ctx, dut, batch, plan)
            if stop_after:
                ctx.set(dut.stop_after, stop_after)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            await ctx.tick().until(dut.done)
            cycles.append(ctx.get(dut.cycles))
            out = np.zeros((len(batch), n_out), dtype=np.uint64)
            for j in range(n_out):
                for r in range(len(batch)):
                    if stop_after:
                        ctx.set(dut.hidden.addr, int(read[j]))
                        await ctx.tick()
                        out[r, j] = (ctx.get(dut.hidden.data) >> (w * r)) & ((1 << w) - 1)
                    else:
                        ctx.set(dut.result.addr, j)
                        ctx.set(dut.result.image, r)
                        await ctx.tick()
                        out[r, j] = ctx.get(dut.result.data) & 0xFFFFFFFF
            outputs.append(out)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return np.concatenate(outputs).astype(np.uint32), cycles
