"""The binary engine's convolution mode: stage A, addresses and pooled writes for a plan
with convolution layers (:attr:`hw.plan.BinaryPlan.conv`; layout, mapping and arithmetic
in :mod:`hw.conv_plan`).

Stage A counts pixel bit planes within a walk, walks within a row
(:class:`hw.pixel_scan.PixelScan`) and rows; slot ``p``'s activation address
is ``in_base + plane * plane_size + pix_base + p * pe_step + column`` (null
beats: the zero cell), its row constant the one of its own border class.
Every walk's bits reach stage D; a PE ORs them over its pool window. With one
slot (P = 1) the window's last pixel writes the R bits at the scan's output
address. With P > 1 the window's bits are held and written slot by slot in
the next cycles (slot ``p``'s B bits at ``out_addr + p``, into the B memories
of each slot), one write per cycle; the plan pads rows so that a walk group
takes at least P cycles (:func:`hw.binary_plan.plan_binary`), so the writes of
one group end before the next group's start. Dense layers are one walk per
row, written at ``out_base + row`` by slot 0.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Const, Mux, Signal, unsigned

from .datapath import bits_for, select
from .pixel_scan import PixelScan, count_width, scan_constants, scan_fields, slot_offsets
from .plan import BinaryPlan

__all__ = ["conv_tables", "conv_stage_a", "conv_lane_address", "conv_write", "plane_offset"]


def _scan_values(plan: BinaryPlan):
    """Per layer the :func:`hw.pixel_scan.scan_layout` fields, and the class tables."""
    lay = plan.layout
    values, ys, xs = [], [], []
    for l, lp in enumerate(plan.layers):
        g = lp.conv
        v = scan_fields(g, lay.out_base[l], plan.pixel_group)
        if g is None:
            y_rows, x_rows = [0], [0]
        else:  # the short group's missing slots read columns past the last window: any class
            y_rows = list(lp.class_rows_y) or [0] * (g.hq * g.ph)
            x_rows = list(lp.class_rows_x) or [0] * (g.wq * g.pw)
            x_rows += [0] * (g.groups_x(plan.pixel_group) * plan.pixel_group * g.pw - len(x_rows))
        v |= dict(ycls_base=len(ys), xcls_base=len(xs))
        ys += y_rows
        xs += x_rows
        values.append(v)
    if all(lp.classes == 1 for lp in plan.layers):
        ys, xs = [], []
    return values, ys, xs


def plane_offset(plan: BinaryPlan, plane):
    """``plane * plane_size``: bit plane ``plane``'s area (a value in 0..7)."""
    return select([Const(b * plan.layout.plane_size, bits_for(plan.layout.depth)) for b in range(8)], plane)


def conv_tables(plan: BinaryPlan, layer) -> SimpleNamespace:
    """The per-layer constants of the convolution mode, indexed by ``layer``: the
    pixel scan's fields and class tables, the input and output areas, the planes."""
    addr = bits_for(plan.layout.depth + plan.group_overrun)
    values, ys, xs = _scan_values(plan)
    tab = lambda vals, shape: select([Const(v, shape) for v in vals], layer)  # noqa: E731
    scan = scan_constants(values, layer)
    return SimpleNamespace(
        scan=scan, scan_tables=(ys, xs), count_width=count_width(values), addr_width=addr,
        pe_offset=slot_offsets(plan.layers, plan.pixel_group, layer, addr),
        in_base=tab(plan.layout.in_base, unsigned(addr)),
        out_base=tab(plan.layout.out_base, unsigned(addr)),
        planes=tab([lp.planes for lp in plan.layers], range(9)))


def conv_stage_a(engine, m, walker, advance, strobe, t) -> SimpleNamespace:
    """Stage A of a conv plan: plane, walk and row counters of the lanes' beats;
    stage A1: the beats registered with the row constants' addresses (one per
    slot: ``a1.const_addrs``; ``a1.const_addr`` is slot 0's), the walk's
    pool-window flags, slot mask and output address. ``a1.final``: the beat
    ends a walk (its bits reach stage D); ``a1.plane_a``: the beat's plane (stage A)."""
    plan = engine.plan
    c = t.conv
    head = walker.o
    pass_idx = Signal(range(9))
    row = Signal(range(max(lp.n_out for lp in plan.layers) + 1))
    at_row_start = Signal(init=1)   # the beat starts an output pixel
    at_pass_start = Signal()
    m.submodules.scan = scan = PixelScan(
        addr_width=c.addr_width, count_width=c.count_width, y_classes=c.scan_tables[0],
        x_classes=c.scan_tables[1], const_width=bits_for(len(plan.row_consts) + 1),
        group=plan.pixel_group)
    m.d.comb += [getattr(scan.geometry, k).eq(v) for k, v in c.scan.items()]
    pixel_done = Signal()
    m.d.comb += [pixel_done.eq(head.last & (pass_idx == c.planes - 1)),
                 scan.start.eq(strobe), scan.advance.eq(advance & pixel_done)]
    with m.If(strobe):
        m.d.sync += [row.eq(0), pass_idx.eq(0), at_row_start.eq(1), at_pass_start.eq(0)]
    with m.Elif(advance):
        m.d.sync += [at_row_start.eq(0), at_pass_start.eq(0)]
        with m.If(pixel_done):
            m.d.sync += [pass_idx.eq(0), at_row_start.eq(1)]
            with m.If(scan.last_pixel):
                m.d.sync += row.eq(row + 1)
        with m.Elif(head.last):
            m.d.sync += [pass_idx.eq(pass_idx + 1), at_pass_start.eq(1)]
    plane = Signal(range(8))
    m.d.comb += plane.eq(c.planes - 1 - pass_idx)  # most significant bit first

    a1 = SimpleNamespace(valid=Signal(), final=Signal(), row_start=Signal(), pass_start=Signal(),
                         row=Signal.like(row), plane=Signal.like(plane), sign=Signal(plan.lanes),
                         const_addr=Signal(range(len(plan.row_consts) + 1)),
                         window_first=Signal(), window_last=Signal(), out_addr=Signal(c.addr_width),
                         mask=Signal(plan.pixel_group))
    # one row-constant address per slot where the slots' border classes can differ
    a1.const_addrs = [a1.const_addr] + [Signal.like(a1.const_addr, name=f"const_addr{p}")
                                        for p in range(1, plan.pixel_group if any(c.scan_tables) else 1)]
    m.d.sync += [a.eq(t.const_base + scan.cls_off[p] + row) for p, a in enumerate(a1.const_addrs)]
    m.d.sync += [
        a1.valid.eq(advance), a1.final.eq(pixel_done), a1.row_start.eq(at_row_start),
        a1.pass_start.eq(at_pass_start), a1.row.eq(row), a1.plane.eq(plane),
        a1.sign.eq(head.sign),
        a1.window_first.eq(scan.window_first), a1.window_last.eq(scan.window_last),
        a1.out_addr.eq(scan.out_addr), a1.mask.eq(scan.mask),
    ]
    a1.plane_a = plane
    a1.rbase = Signal(c.addr_width)  # stage A: the beat's address without its column
    m.d.comb += a1.rbase.eq(c.in_base + plane_offset(plan, plane) + scan.pix_base)
    return a1


def conv_lane_address(engine, walker, a1, k: int, p: int, t):
    """Lane ``k``'s activation address for slot ``p`` for the beat in stage A
    (registered by the caller)."""
    zero = engine.plan.layout.zero
    offset = a1.rbase + t.conv.pe_offset[p] if p else a1.rbase
    return Mux(walker.o.null[k], zero, offset + walker.o.addr[k])


def conv_write(engine, m, d, t):
    """Stage D of a hidden layer in a conv plan: each walk's R bits ORed into the
    PEs' window registers; the window's last walk writes them (module
    docstring). Returns the write (``addr``, ``data``: one bit per memory
    copy ``r``, ``en``) and ``busy`` (P > 1: writes still queued)."""
    plan = engine.plan
    B, P = plan.batch, plan.pixel_group
    pooled = []
    for r, pe in enumerate(d.pes):
        held = Signal(name=f"pool{r}")
        bit = Signal(name=f"pooled{r}")
        m.d.comb += bit.eq(pe.bit | (held & ~d.window_first))
        with m.If(d.valid):
            m.d.sync += held.eq(bit)
        pooled.append(bit)
    closes = d.valid & d.window_last & ~t.is_last
    if P == 1:
        return SimpleNamespace(addr=d.out_addr, data=Cat(*pooled), en=closes, busy=Const(0))
    # P > 1: the group's bits held, then slot after slot: slot p's B bits to every copy at out_addr + p
    queued = Signal(len(pooled), name="queued_bits")
    queued_addr = Signal.like(d.out_addr, name="queued_addr")
    queued_mask = Signal(P, name="queued_mask")     # slots still to write; slot 0 first
    slot = Signal(range(P), name="queued_slot")
    with m.If(closes):
        m.d.sync += [queued.eq(Cat(*pooled)), queued_addr.eq(d.out_addr), queued_mask.eq(d.mask),
                     slot.eq(0)]
    with m.Elif(queued_mask.any()):
        m.d.sync += [queued_mask.eq(queued_mask >> 1), slot.eq(slot + 1)]
    bits = queued.word_select(slot, B)
    return SimpleNamespace(addr=queued_addr + slot, data=Cat(*(bits for _ in range(P))),
                           en=queued_mask[0], busy=queued_mask.any())
