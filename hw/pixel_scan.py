"""The engines' output-pixel scan for convolution layers (:mod:`hw.conv_plan`).

Visits a layer's walks of a row: pool window by pool window (``dx`` fastest,
then ``dy`` inside a ``ph x pw`` window, then the window group's ``qx``, then
``qy``), where each walk serves a group of ``group`` (P) windows side by side
along x, slot ``p`` at ``p * pe_step`` from slot 0 (:mod:`hw.conv_plan`,
"Mapping"). For the current walk it gives slot 0's address offset of its taps
(``pix_base = oy*sy*Wp + ox*sx``), each slot's border-class offset into the row
constants, which slots have a window (``mask``: a row of windows may end in a
short group), whether the walk opens or closes its windows, and slot 0's
output address (slot ``p`` writes at ``out_addr + p``). A dense layer is one
walk per row.

Ports
-----
geometry : In(:data:`scan_layout`)
    The layer's constants, stable from the cycle of ``start`` until the layer's
    last walk (the scan registers comparisons with them); ``ycls_base``/``xcls_base``
    index the class tables given at construction.
start : In(1)
    The first walk of the layer's first row comes next (takes priority).
advance : In(1)
    The current walk is done: the next, or the next row's first.
pix_base, cls_off, out_addr : Out
    Of the current walk (``cls_off``: one per slot); registers (valid the cycle
    after ``start`` or ``advance``).
mask : Out(group)
    Bit ``p``: slot ``p`` has a pool window in the current group.
window_first, window_last, last_pixel : Out(1)
    The current walk opens / closes its windows / is the row's last.

Refused: class tables whose offsets do not fit ``const_width`` bits.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .errors import refuse

__all__ = ["PixelScan", "scan_layout", "scan_fields", "scan_constants", "count_width", "slot_offsets"]


def scan_layout(addr_width: int, count_width: int, table_width: int, group: int = 1) -> data.StructLayout:
    a, c = unsigned(addr_width), unsigned(count_width)
    return data.StructLayout({
        "last_dx": c, "last_dy": c, "last_qx": c, "last_qy": c,   # pw-1, ph-1, wq-1, hq-1
        "step_x": a, "back_x": a,          # sx, (pw-1)*sx
        "step_y": a, "back_y": a,          # sy*Wp, (ph-1)*sy*Wp
        "ycls_base": unsigned(table_width), "xcls_base": unsigned(table_width),
        "step_q": a,                       # sx + (P-1)*pw*sx: the next group's first pixel
        "ox_step_q": a,                    # 1 + (P-1)*pw
        "pe_ox": a,                        # pw: the column step between slots
        "out_first": a,                    # the first window's output address
        "out_step": a,                     # P: the next group's output address
        "out_row_step": a,                 # last + 2*out_pad_x (last: the last group's windows)
        "out_chan_step": a,                # last + 2*out_pad_x + 2*out_pad_y*out_wp
        "last_mask": unsigned(group),      # (1 << last) - 1
    })


def scan_fields(g, out_base: int, group: int = 1) -> dict:
    """One layer's :func:`scan_layout` fields but the class-table bases: a conv
    layer of geometry ``g`` (:class:`hw.conv_plan.ConvGeometry`) walked in groups
    of ``group`` windows, or a dense layer (``g`` None: one walk per row, slot 0
    only), writing its outputs into the area at ``out_base`` (a conv layer's in
    the consumer's padded layout)."""
    if g is None:
        return dict(last_dx=0, last_dy=0, last_qx=0, last_qy=0, step_x=0, back_x=0, step_y=0, back_y=0,
                    step_q=0, ox_step_q=0, pe_ox=0, out_first=out_base, out_step=group, out_row_step=1,
                    out_chan_step=1, last_mask=1)
    last = g.last_group(group)
    return dict(last_dx=g.pw - 1, last_dy=g.ph - 1, last_qx=g.groups_x(group) - 1, last_qy=g.hq - 1,
                step_x=g.sx, back_x=(g.pw - 1) * g.sx, step_y=g.sy * g.wp,
                back_y=(g.ph - 1) * g.sy * g.wp,
                step_q=g.sx + (group - 1) * g.pe_step, ox_step_q=1 + (group - 1) * g.pw, pe_ox=g.pw,
                out_first=out_base + g.out_pad_y * g.out_wp + g.out_pad_x, out_step=group,
                out_row_step=last + 2 * g.out_pad_x,
                out_chan_step=last + 2 * g.out_pad_x + 2 * g.out_pad_y * g.out_wp,
                last_mask=(1 << last) - 1)


def count_width(values) -> int:
    """The ``count_width`` for every layer's fields ``values``."""
    return max(1, max(max(v[k] for v in values) for k in ("last_dx", "last_dy", "last_qx", "last_qy"))
               .bit_length())


def scan_constants(values, layer) -> dict:
    """Per field of ``values`` (one dict per layer), the current ``layer``'s value."""
    from .datapath import select  # the datapath module imports this one's users
    tab = lambda vals, shape: select([Const(v, shape) for v in vals], layer)  # noqa: E731
    return {k: tab([v[k] for v in values], unsigned(max(1, max(v[k] for v in values).bit_length())))
            for k in values[0]}


def slot_offsets(layers, group: int, layer, addr_width: int) -> list:
    """Per slot ``p`` of ``group`` (P), the current ``layer``'s address offset of that
    slot, ``p * pe_step`` (0 in dense layers): what slot ``p`` adds to slot 0's address."""
    from .datapath import select  # the datapath module imports this one's users
    steps = [lp.conv.pe_step if lp.conv else 0 for lp in layers]
    return [select([Const(p * v, unsigned(addr_width)) for v in steps], layer) for p in range(group)]


class PixelScan(wiring.Component):
    """See the module docstring. ``y_classes``/``x_classes``: the class-offset
    tables (all layers' entries, each layer's from its ``*_base``); empty when
    every layer has one class (``cls_off`` is then 0)."""

    def __init__(self, *, addr_width: int, count_width: int, y_classes=(), x_classes=(),
                 const_width: int = 1, group: int = 1):
        self.addr_width, self.count_width, self.group = addr_width, count_width, group
        self.y_classes, self.x_classes = [int(v) for v in y_classes], [int(v) for v in x_classes]
        if any(v >= 1 << const_width for v in self.y_classes + self.x_classes):
            refuse(self, f"y_classes: offsets must fit {const_width} bits")
        self.const_width = const_width
        table_width = max(1, (max(len(self.y_classes), len(self.x_classes), 1) - 1).bit_length())
        super().__init__({
            "geometry": In(scan_layout(addr_width, count_width, table_width, group)),
            "start": In(1),
            "advance": In(1),
            "pix_base": Out(addr_width),
            "cls_off": Out(data.ArrayLayout(unsigned(const_width), group)),
            "out_addr": Out(addr_width),
            "mask": Out(group),
            "window_first": Out(1),
            "window_last": Out(1),
            "last_pixel": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry
        dx, dy, qx, qy = (Signal(self.count_width, name=n) for n in ("dx", "dy", "qx", "qy"))
        oy, ox = Signal(self.count_width * 2, name="oy"), Signal(self.count_width * 2, name="ox")
        ybase, xbase = Signal(self.addr_width, name="ybase"), Signal(self.addr_width, name="xbase")
        # Whether each count is at its last value: registers, set with the counts from
        # their next values (the geometry is the layer's from ``start`` on).
        end_dx, end_dy, end_qx, end_qy = (Signal(name=f"end_{k}") for k in ("dx", "dy", "qx", "qy"))
        m.d.comb += [
            self.window_first.eq((dx == 0) & (dy == 0)),
            self.window_last.eq(end_dx & end_dy),
            self.last_pixel.eq(end_dx & end_dy & end_qx & end_qy),
            self.pix_base.eq(ybase + xbase),
            self.mask.eq(Mux(end_qx, g.last_mask, (1 << self.group) - 1)),
        ]
        # The next pixel's position: (dx, dy, qx, qy) counts up in that order.
        regs = dict(dx=dx, dy=dy, qx=qx, qy=qy, oy=oy, ox=ox, ybase=ybase, xbase=xbase)
        n = SimpleNamespace(**{k: Signal.like(s, name=f"{k}_next") for k, s in regs.items()})
        m.d.comb += [getattr(n, k).eq(s) for k, s in regs.items()]
        with m.If(self.start | self.last_pixel):
            m.d.comb += [getattr(n, k).eq(0) for k in regs]
        with m.Elif(~end_dx):
            m.d.comb += [n.dx.eq(dx + 1), n.ox.eq(ox + 1), n.xbase.eq(xbase + g.step_x)]
        with m.Else():
            m.d.comb += [n.dx.eq(0), n.ox.eq(ox - g.last_dx), n.xbase.eq(xbase - g.back_x)]
            with m.If(~end_dy):
                m.d.comb += [n.dy.eq(dy + 1), n.oy.eq(oy + 1), n.ybase.eq(ybase + g.step_y)]
            with m.Else():
                m.d.comb += [n.dy.eq(0), n.oy.eq(oy - g.last_dy), n.ybase.eq(ybase - g.back_y)]
                with m.If(~end_qx):   # the next group in this row of windows
                    m.d.comb += [n.qx.eq(qx + 1), n.ox.eq(ox + g.ox_step_q), n.xbase.eq(xbase + g.step_q)]
                with m.Else():        # the first window of the next row of windows
                    m.d.comb += [n.qx.eq(0), n.ox.eq(0), n.xbase.eq(0),
                                 n.qy.eq(qy + 1), n.oy.eq(oy + 1), n.ybase.eq(ybase + g.step_y)]
        step = self.start | self.advance
        with m.If(step):
            m.d.sync += [s.eq(getattr(n, k)) for k, s in regs.items()]
            m.d.sync += [end_dx.eq(n.dx == g.last_dx), end_dy.eq(n.dy == g.last_dy),
                         end_qx.eq(n.qx == g.last_qx), end_qy.eq(n.qy == g.last_qy)]

        with m.If(self.start):
            m.d.sync += self.out_addr.eq(g.out_first)
        with m.Elif(self.advance & self.window_last):
            m.d.sync += self.out_addr.eq(self.out_addr + Mux(
                end_qx & end_qy, g.out_chan_step, Mux(end_qx, g.out_row_step, g.out_step)))

        if self.y_classes:
            m.submodules.y_classes = ym = memory.Memory(
                shape=unsigned(self.const_width), depth=len(self.y_classes), init=self.y_classes)
            m.submodules.x_classes = xm = memory.Memory(
                shape=unsigned(self.const_width), depth=len(self.x_classes), init=self.x_classes)
            y_rd = ym.read_port(domain="comb")
            m.d.comb += y_rd.addr.eq(g.ycls_base + n.oy)
            for p in range(self.group):  # slot p's column: ox + p*pw
                x_rd = xm.read_port(domain="comb")
                m.d.comb += x_rd.addr.eq(g.xcls_base + n.ox + p * g.pe_ox)
                with m.If(step):
                    m.d.sync += self.cls_off[p].eq(y_rd.data + x_rd.data)
        return m
