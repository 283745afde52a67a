"""The binary engine's host side: the loader that writes ``load`` words as bit planes,
and the output buffer with the result port's scorer (:mod:`hw.binary_engine`, "Host
interface")."""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Mux, Signal, signed, unsigned
from amaranth.lib import memory

from .binary_conv import plane_offset
from .datapath import PIXEL_BITS, select

__all__ = ["bit_plane_loader", "output_buffer"]


def bit_plane_loader(engine, m) -> SimpleNamespace:
    """``load`` words into bit planes: plane 0 (bit 0 of every pixel byte) is
    written in the cycle the word is taken, planes 1..7 in the next 7 cycles
    from the held word (bit ``b`` of each byte chosen by the plane counter)."""
    R = engine.plan.batch
    plane_of = lambda word, b: Cat(word.word_select(i, PIXEL_BITS).bit_select(b, 1)  # noqa: E731
                                   for i in range(R))
    held = Signal(R * PIXEL_BITS)
    addr = Signal.like(engine.load.addr)
    plane = Signal(range(PIXEL_BITS + 1), init=PIXEL_BITS)  # PIXEL_BITS: idle
    m.d.comb += engine.load_ready.eq(plane == PIXEL_BITS)
    take = engine.load.en & engine.load_ready
    with m.If(take):
        m.d.sync += [held.eq(engine.load.data), addr.eq(engine.load.addr), plane.eq(1)]
    with m.Elif(~engine.load_ready):
        m.d.sync += plane.eq(plane + 1)
    if engine.plan.conv:  # plane b's area starts at b * plane_size
        first, later = engine.load.addr, addr + plane_offset(engine.plan, plane[:3])
    else:
        first = engine.region_address(m, 0, engine.load.addr, "load_first")
        later = engine.region_address(m, plane[:3], addr, "load")
    return SimpleNamespace(
        en=take | ~engine.load_ready,
        addr=Mux(take, first, later),
        data=Mux(take, plane_of(engine.load.data, 0), plane_of(held, plane[:3])))



def output_buffer(engine, m, d, t):
    """The output buffer (the last layer's accumulators, B per row: slot 0's PEs)
    and the host result port, which turns an accumulator into the model's score."""
    plan = engine.plan
    R, w = plan.batch, plan.out_width
    m.submodules.outputs = outputs = memory.Memory(  # block RAM: LUTRAM would grow with R
        shape=unsigned(R * w), depth=plan.n_outputs, init=[], attrs={"ram_style": "block"})
    wr, rd = outputs.write_port(), outputs.read_port()
    m.d.comb += [wr.addr.eq(d.row), wr.data.eq(Cat(pe.acc[:w] for pe in d.pes[:R])),
                 wr.en.eq(d.valid & t.is_last)]
    m.submodules.out_consts = out_consts = memory.Memory(
        shape=signed(plan.out_const_width), depth=plan.n_outputs,
        init=[int(v) for v in plan.out_consts])
    k_rd = out_consts.read_port()
    image_q = Signal.like(engine.result.image)
    m.d.sync += image_q.eq(engine.result.image)
    m.d.comb += [rd.addr.eq(engine.result.addr), k_rd.addr.eq(engine.result.addr)]
    accs = [rd.data[i * w:(i + 1) * w].as_signed() for i in range(R)]
    m.d.comb += engine.result.data.eq((select(accs, image_q) << plan.out_shift) - k_rd.data)
