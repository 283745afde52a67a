"""The binary engine's convolution mode: stage A, addresses and pooled writes for a plan
with convolution layers (:attr:`hw.plan.BinaryPlan.conv`; layout and arithmetic in
:mod:`hw.conv_plan`).

Stage A counts pixel bit planes within an output pixel, output pixels within a
row (:class:`hw.pixel_scan.PixelScan`) and rows; a lane's activation address is
``in_base + plane * plane_size + pix_base + column`` (null beats: the zero
cell). Every pixel's bits reach stage D; a PE ORs them over the pool window
and writes one bit per window at the scan's output address. Dense layers are
one pixel per row, written at ``out_base + row``.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Const, Mux, Signal, unsigned

from .datapath import bits_for, select
from .pixel_scan import PixelScan, count_width, scan_constants, scan_fields
from .plan import BinaryPlan

__all__ = ["conv_tables", "conv_stage_a", "conv_lane_address", "conv_write", "plane_offset"]


def _scan_values(plan: BinaryPlan):
    """Per layer the :func:`hw.pixel_scan.scan_layout` fields, and the class tables."""
    lay = plan.layout
    values, ys, xs = [], [], []
    for l, lp in enumerate(plan.layers):
        g = lp.conv
        v = scan_fields(g, lay.out_base[l])
        if g is None:
            y_rows, x_rows = [0], [0]
        else:
            y_rows = list(lp.class_rows_y) or [0] * (g.hq * g.ph)
            x_rows = list(lp.class_rows_x) or [0] * (g.wq * g.pw)
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
    addr = bits_for(plan.layout.depth)
    values, ys, xs = _scan_values(plan)
    tab = lambda vals, shape: select([Const(v, shape) for v in vals], layer)  # noqa: E731
    scan = scan_constants(values, layer)
    return SimpleNamespace(
        scan=scan, scan_tables=(ys, xs), count_width=count_width(values), addr_width=addr,
        in_base=tab(plan.layout.in_base, unsigned(addr)),
        out_base=tab(plan.layout.out_base, unsigned(addr)),
        planes=tab([lp.planes for lp in plan.layers], range(9)))


def conv_stage_a(engine, m, walker, advance, strobe, t) -> SimpleNamespace:
    """Stage A of a conv plan: plane, pixel and row counters of the lanes' beats;
    stage A1: the beats registered with the row constants' address, the pixel's
    pool-window flags and output address. ``a1.final``: the beat ends an
    output pixel (its bits reach stage D); ``a1.plane_a``: the beat's plane (stage A)."""
    plan = engine.plan
    c = t.conv
    head = walker.o
    pass_idx = Signal(range(9))
    row = Signal(range(max(lp.n_out for lp in plan.layers) + 1))
    at_row_start = Signal(init=1)   # the beat starts an output pixel
    at_pass_start = Signal()
    m.submodules.scan = scan = PixelScan(
        addr_width=c.addr_width, count_width=c.count_width, y_classes=c.scan_tables[0],
        x_classes=c.scan_tables[1], const_width=bits_for(len(plan.row_consts) + 1))
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
                         window_first=Signal(), window_last=Signal(), out_addr=Signal(c.addr_width))
    m.d.sync += [
        a1.valid.eq(advance), a1.final.eq(pixel_done), a1.row_start.eq(at_row_start),
        a1.pass_start.eq(at_pass_start), a1.row.eq(row), a1.plane.eq(plane),
        a1.sign.eq(head.sign), a1.const_addr.eq(t.const_base + scan.cls_off + row),
        a1.window_first.eq(scan.window_first), a1.window_last.eq(scan.window_last),
        a1.out_addr.eq(scan.out_addr),
    ]
    a1.plane_a = plane
    a1.rbase = Signal(c.addr_width)  # stage A: the beat's address without its column
    m.d.comb += a1.rbase.eq(c.in_base + plane_offset(plan, plane) + scan.pix_base)
    return a1


def conv_lane_address(engine, walker, a1, k: int):
    """Lane ``k``'s activation address for the beat in stage A (registered by the caller)."""
    zero = engine.plan.layout.zero
    return Mux(walker.o.null[k], zero, a1.rbase + walker.o.addr[k])


def conv_write(engine, m, d, t):
    """Stage D of a hidden layer in a conv plan: each output pixel's R bits ORed
    into the PEs' window registers; the window's last pixel writes them."""
    pooled = []
    for r, pe in enumerate(d.pes):
        held = Signal(name=f"pool{r}")
        bit = Signal(name=f"pooled{r}")
        m.d.comb += bit.eq(pe.bit | (held & ~d.window_first))
        with m.If(d.valid):
            m.d.sync += held.eq(bit)
        pooled.append(bit)
    return SimpleNamespace(addr=d.out_addr, data=Cat(*pooled), en=d.valid & d.window_last & ~t.is_last)
