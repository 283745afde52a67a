"""Convolution layers in the float engine (:class:`hw.engine.Engine` with
:class:`hw.float_datapath.FloatDatapath`), for a :class:`hw.plan.FloatPlan` with
``conv`` (geometry and layout: :mod:`hw.conv_plan`). Dense-only plans build none
of this: their RTL is unchanged.

Mapping (R = B x P)
    As the binary engine's (:mod:`hw.conv_plan`): PE ``r = p*B + b`` works on
    image ``b`` at pixel slot ``p``, the slots of a walk one pool window apart
    along x; they share every control word. Each row (output channel) is
    walked once per group of P pool windows and pixel of the window (the
    decompressor's ``passes``, no bubble between walks); walks come pool window
    by pool window (:class:`hw.pixel_scan.PixelScan`) and pixels a floor pool
    drops are not computed. Dense layers after the convolutions are one walk
    per row; their slots repeat slot 0 and only slot 0 writes.

Memories
    The input memory holds layer 0's input padded, ``(C, H + 2 pad_y, W + 2
    pad_x)`` row-major, as binary32 (B x 32 bits a word: the host's pixels,
    loaded at :attr:`hw.plan.EnginePlan.input_addresses`, converted by
    :mod:`hw.input_converter` on the way in). One activation memory (B x 32
    bits a word, one write enable per image) holds every hidden layer's output
    in its own area, in the consumer's padded layout (no ping-pong), from
    :attr:`hw.plan.FloatPlan.act_base` of the layout; the last layer writes
    the output buffer (B images a word) by row. The input and activation
    memories exist once per slot, each read at its slot's address
    and all written alike (``group_overrun`` deeper: a short group's missing
    slots read past the area). The ``hidden`` debug port reads slot 0's copy
    of the area of the last layer run (:meth:`hw.plan.EnginePlan.hidden_addresses`).

Writes
    The output unit delivers one PE per cycle; PE ``r``'s value goes to
    ``out_addr + r // B`` in image ``r mod B``'s slot of every copy, and a
    slot the scan's mask marks as past the row's last window writes nothing.

Addresses
    A beat's activation address is ``in_base + pix_base + column``: the tap
    column of :func:`hw.conv_plan.tap_columns` plus the pixel's offset, one
    adder after the decompressor's (combinational, the datapath contract's
    one-cycle read); slot ``p`` adds ``p * pe_step``.

Padding (a tap outside the input leaves its partial sum unchanged)
    A padded tap still takes its lane slot (it is a beat like any other) and
    adds +0.0 or -0.0 (the weight's sign on +0.0). That leaves every partial
    sum unchanged: a partial starts at +0.0 and is never -0.0 (x + y is -0.0
    only for -0.0 + -0.0), ``p + (+-0.0) = p`` for every other ``p`` (inf
    included), and a NaN partial stays the adder's canonical NaN. Padding
    cells (and the overrun words) are never written, layer 0's as well as the
    hidden layers' (the host's loads write real pixels only), so they read
    +0.0, the memories' initial contents; the engine never clears them.

Pooling (float max pool = the largest binary32 bit pattern after ReLU)
    The output unit delivers each walk's R values one PE per cycle, in PE
    order, walk after walk; an R-entry shift register of 32-bit words holds
    each PE's running maximum, so PE ``r``'s value meets PE ``r``'s maximum
    at the register's head: ``pooled = v`` at the window's
    first pixel, else the larger as an unsigned 32-bit number; the window's
    last pixel writes it. Cost: ``32 R`` flip-flops, one 32-bit comparator
    and multiplexer; built only when some layer pools.

Cycle budget
    Every walk of a row is a dense row to the datapath: its RLE words, its
    ``add_latency - 1`` reduction slots, and the stalls of a row shorter than
    the lane reduction (:mod:`hw.float_datapath`); the decompressor's rewinds
    and the scan add none. :meth:`hw.plan.EnginePlan.cycle_budget` counts a
    conv layer's words, skip words, empty rows and reduction slots once per
    walk; it is exact when every walk is long enough (at least ``L*L + 2``
    words and no skip word on a reduction slot), short walks stall.

Refused (by :func:`hw.plan.plan_float`, the message starting with the field):
two-scale (``sn{l}``) convolution layers.
"""

from __future__ import annotations

import functools
import operator
from types import SimpleNamespace

from amaranth import Cat, Const, Mux, Signal, unsigned
from amaranth.lib import memory, wiring

from .datapath import bits_for, select, split
from .input_converter import input_converter
from .pixel_scan import PixelScan, count_width, scan_constants, scan_fields, slot_offsets

__all__ = ["decompressor_args", "conv_state", "pooled_write", "conv_engine"]


def decompressor_args(plan) -> dict:
    """The decompressor's walk parameters: the widest row walked (a conv layer's
    padded input, its tap columns) and, for conv plans, the most walks per row."""
    if not plan.conv:
        return dict(n_cols=max(lp.n_in for lp in plan.layers))
    return dict(n_cols=max(lp.conv.columns if lp.conv else lp.n_in for lp in plan.layers),
                max_passes=max(lp.passes for lp in plan.layers))


# --------------------------------------------------------------------------- datapath side


def conv_state(c, plan) -> None:
    """The datapath's generation-time conv flags and, for conv plans, its pixel
    tags: ``b_tag`` (stage B), ``tail_tag`` (the row in its tail), each
    ``Cat(out_addr, window_first, window_last)``, and ``b_last_pixel``."""
    c.CONV = plan.conv
    c.GROUP, c.B = plan.pixel_group, plan.batch
    c.POOL = plan.conv and any(lp.conv is not None and lp.conv.ph * lp.conv.pw > 1 for lp in plan.layers)
    if not c.CONV:
        return
    c.addr_width = bits_for(plan.address_span)
    tag_width = c.addr_width + 2 + (c.GROUP if c.GROUP > 1 else 0)   # + the slot mask
    b_tag, tail_tag = Signal(tag_width), Signal(tag_width)
    b_last_pixel = Signal()
    vars(c).update(b_tag=b_tag, tail_tag=tail_tag, b_last_pixel=b_last_pixel)


def pooled_write(m, c, a_valid, a_tag, relu_y, a_image):
    """The write of a conv plan's output unit for PE ``a_image``: ``(valid, addr,
    act)``. With pools, each PE's running maximum (module docstring) and one
    write per window; with P > 1, at ``out_addr`` plus the PE's slot, none for a
    slot without a window."""
    addr, first, last = split(a_tag, c.addr_width, 1, 1)
    slot_ok = 1
    if c.GROUP > 1:
        mask = a_tag[c.addr_width + 2:]
        slot_ok = select([mask[r // c.B] for r in range(c.R)], a_image)
        addr = addr + select([Const(r // c.B, range(c.GROUP)) for r in range(c.R)], a_image)
    if not c.POOL:
        return a_valid & slot_ok, addr, relu_y
    held = [Signal(32, name=f"pool{i}") for i in range(c.R)]  # held[0]: this image's maximum
    pooled = Signal(32)
    m.d.comb += pooled.eq(Mux(first | (relu_y > held[0]), relu_y, held[0]))
    with m.If(a_valid):
        m.d.sync += [held[i].eq(held[i + 1]) for i in range(c.R - 1)] + [held[-1].eq(pooled)]
    return a_valid & last & slot_ok, addr, pooled


# --------------------------------------------------------------------------- engine side


def _tables(plan, layer) -> SimpleNamespace:
    """Per-layer constants: the scan's fields (outputs into the activation memory,
    the last layer's into the output buffer by row), each layer's input base in
    its memory, its hidden area's base, its walks per row."""
    lay, act_base = plan.layout, plan.act_base
    values = [scan_fields(lp.conv, 0 if lp.last else lay.out_base[l] - act_base, plan.pixel_group)
              for l, lp in enumerate(plan.layers)]
    addr = bits_for(plan.address_span)
    tab = lambda vals, shape: select([Const(v, shape) for v in vals], layer)  # noqa: E731
    return SimpleNamespace(
        scan=scan_constants(values, layer), count_width=count_width(values), addr_width=addr,
        pe_offset=slot_offsets(plan.layers, plan.pixel_group, layer, addr),
        in_base=tab([b - act_base if l else b for l, b in enumerate(lay.in_base)], unsigned(addr)),
        hid_base=tab([0 if lp.last else lay.out_base[l] - act_base for l, lp in enumerate(plan.layers)],
                     unsigned(addr)),
        passes=tab([lp.passes for lp in plan.layers], range(1, max(lp.passes for lp in plan.layers) + 1)))


def _memories(engine, m) -> SimpleNamespace:
    """The input memory written from the host's ``load`` port through the input
    converter, the activation memory and the output buffer (B images a word);
    the input and activation memories once per slot (P copies of B images a
    word, each read at its slot's address, written alike)."""
    plan = engine.plan
    B, P, over = plan.batch, plan.pixel_group, plan.group_overrun
    mem = SimpleNamespace(in_rd=[], act_wr=[], act_rd=[])
    convert = input_converter(engine, m, B)
    for p in range(P):
        sfx = f"{p}" if p else ""
        m.submodules[f"inputs{sfx}"] = inputs = memory.Memory(
            shape=unsigned(B * 32), depth=plan.layout.plane_size + over, init=[])
        in_wr = inputs.write_port()
        m.d.comb += [in_wr.addr.eq(convert.write.addr), in_wr.data.eq(convert.write.data),
                     in_wr.en.eq(convert.write.en)]
        mem.in_rd.append(inputs.read_port())
        m.submodules[f"acts{sfx}"] = acts = memory.Memory(
            shape=unsigned(B * 32), depth=plan.act_depth + over, init=[])
        mem.act_wr.append(acts.write_port(granularity=32))
        mem.act_rd.append(acts.read_port())
    m.submodules.outputs = outputs = memory.Memory(
        shape=unsigned(B * plan.out_width), depth=plan.n_outputs, init=[])
    mem.out_wr = outputs.write_port(granularity=plan.out_width)
    mem.out_rd = outputs.read_port()
    return mem


def conv_engine(engine, m, beats, dp, t, layer) -> SimpleNamespace:
    """A conv plan's memories, pixel scan, activation addresses and writes around
    the decompressor ``dec`` and datapath ``dp`` (``t``: the engine's layer
    tables). Returns the output buffer's read port (``out_rd``) and the current
    layer's walks per row (``passes``, for the decompressor's command)."""
    plan = engine.plan
    B, P = plan.batch, plan.pixel_group
    ct = _tables(plan, layer)
    mem = _memories(engine, m)
    m.submodules.scan = scan = PixelScan(addr_width=ct.addr_width, count_width=ct.count_width, group=P)
    wiring.connect(m, beats, dp.beat)
    beat = beats
    m.d.comb += [getattr(scan.geometry, k).eq(v) for k, v in ct.scan.items()]
    m.d.comb += [scan.start.eq(dp.start), scan.advance.eq(beat.valid & beat.ready & beat.payload.last),
                 dp.pixel.out_addr.eq(scan.out_addr), dp.pixel.window_first.eq(scan.window_first),
                 dp.pixel.window_last.eq(scan.window_last), dp.pixel.last_pixel.eq(scan.last_pixel)]
    if P > 1:
        m.d.comb += dp.pixel.mask.eq(scan.mask)
    addr = Signal(ct.addr_width)  # slot 0's activation address (pixel or activation memory)
    m.d.comb += addr.eq(ct.in_base + scan.pix_base + beat.payload.addr)
    for p in range(P):
        slot_addr = addr + ct.pe_offset[p] if p else addr
        m.d.comb += [mem.in_rd[p].addr.eq(slot_addr), mem.act_rd[p].addr.eq(slot_addr)]
    with m.If(~engine.busy):  # the host's debug port reads slot 0's copy while idle
        m.d.comb += mem.act_rd[0].addr.eq(ct.hid_base + engine.hidden.addr)
    m.d.comb += [
        dp.layer.eq(layer), dp.first.eq(t.is_first), dp.last.eq(t.is_last),
        dp.const_base.eq(t.const_base),
        dp.inputs.eq(Cat(rd.data[:B * 32] for rd in mem.in_rd)),
        dp.acts.eq(Cat(rd.data for rd in mem.act_rd)),
        engine.hidden.data.eq(mem.act_rd[0].data),
    ]
    wr = dp.write
    # PE r = p*B + b writes image b's value: every slot's copy takes it (its slot is in wr.addr)
    images = Signal(B)
    m.d.comb += images.eq(functools.reduce(operator.or_, (wr.lanes[p * B:(p + 1) * B] for p in range(P))))
    for wp in mem.act_wr:
        m.d.comb += [wp.addr.eq(wr.addr), wp.data.eq(wr.act[:B * 32]),
                     wp.en.eq(Mux(wr.valid & ~t.is_last, images, 0))]
    m.d.comb += [
        mem.out_wr.addr.eq(wr.addr), mem.out_wr.data.eq(wr.out[:B * plan.out_width]),
        mem.out_wr.en.eq(Mux(wr.valid & t.is_last, wr.lanes[:B], 0)),
    ]
    return SimpleNamespace(out_rd=mem.out_rd, passes=ct.passes)
