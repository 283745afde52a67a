"""The binary engine: K lanes of RLE weights feeding R PEs that take K nonzeros per cycle each.

Paper 002, Fig. 6, widened: a layer's weight rows are split over K lanes
(nonzero ``n`` of a row in lane ``n mod K``, :mod:`hw.lanes`); one walker
(:mod:`hw.lane_walker`) decodes the K lanes side by side and broadcasts K
(input address, sign) pairs per cycle to R processing elements
(:class:`hw.pe.LanePE`); PE ``r`` works on image ``r`` of the batch, so R is
the data reuse factor (R = B for fully connected layers; convolution layers
may also share each weight between P output pixels, R = B x P, PE ``r`` then
on image ``r mod B``: :mod:`hw.conv_plan`). Every lane has its
own copy of the activation memory, so the K inputs of a cycle are read at K
addresses at once: the copies are the price of lanes, in block RAM.

Activation memory (one copy per lane; R memories of 1 bit, one per PE)
-----------------------------------------------------------------------
One bit wide each, a copy maps to R block RAMs without read multiplexers.
Address ``region << C | column`` with ``C`` bits for the widest layer input or
hidden layer: regions 0..7 hold bit plane ``b`` of the input pixels (written
by the loader), regions 8 and 9 the ping-pong buffers of hidden activations,
and the last region is never written: null beats (a lane without a weight)
read a 0 there, and their sign is 0, so no PE masks them.

Arithmetic (constants folded by :func:`hw.binary_plan.plan_binary`)
-------------------------------------------------------------------
Layers >= 1 (XNOR-popcount): the PE counts ``p``, the nonzero weights whose
sign agrees with the input bit, K per cycle; the model's sum is ``2p - nnz``.
Layer 0 takes 8-bit pixels bit-serially: each row is walked 8 times, over
pixel bit planes 7..0, and the accumulator doubles between passes, so it ends
at ``S = sum_b 2^b p_b = dot + 255 * n_minus``. No PE carries an 8-bit adder.
A first layer with binary inputs (``input_threshold``) is walked once, over
bit plane 0 of the bits the host writes as pixels, like layers >= 1.

* hidden rows: the accumulator starts at ``A`` and the carry bits ``E`` are
  added one per pass, chosen so that ``acc >= 0`` exactly when the model's
  sum reaches its threshold (layer 0: ``128 A + E = -(t + 255 n_minus)``;
  bits: ``A = -ceil((t + nnz) / 2)``); the PE's bit is the accumulator's sign.
* last layer: ``A = 0``; the output buffer holds the accumulators and the
  host port returns ``(acc << shift) - K_j`` (``shift`` = 1 and ``K_j = nnz``
  for bits layers; 0 and ``255 n_minus`` for a one-layer network): one
  scorer for all PEs, at the host port.

Weighted engines (a model with ``kp{l}``/``kn{l}``): each term is ``c * x``
with ``c = +kp`` or ``-kn`` (the row's integer weights) and ``x`` the input
bit, so ``acc = sum c`` over the inputs at 1 (or over a pixel bit plane); the
model's sum is ``2 acc - sum c`` (bits) or ``acc`` (pixels).

Pipeline (no stalls: every lane has a beat in every cycle of a walk)::

    A:  the lanes' beats from the walker; pass and row counters
    A1: registered: the activation memories' and row constants' read addresses
    B:  the memories' data
    B2: registered inputs; the PEs' terms and adder trees
    C:  the PEs accumulate
    D:  (row end) bits written to the hidden buffer, or accumulators to the output buffer

Convolution layers (a plan with ``conv``): stage A also counts output pixels
and the memory has one flat layout instead of regions; :mod:`hw.binary_conv`
(layout and arithmetic: :mod:`hw.conv_plan`). Dense plans get exactly the
engine described here.

A batch takes :meth:`hw.plan.BinaryPlan.cycle_budget` cycles exactly,
``LAYER_OVERHEAD`` per layer beyond the beats.

Host interface
--------------
``load`` (write port, ``data`` B x 8 bits, B = R / P): pixel ``addr`` of all B
    images, image ``b`` in bits ``[8b+7:8b]``. Accepted while ``load_ready``; the loader
    writes the word's 8 bit planes in that cycle and the next 7, with
    ``load_ready`` low for those 7: one word per ``LOAD_CYCLES`` cycles.
    Write only while not ``busy``; ``start`` only while ``load_ready``.
``start``, ``busy``, ``done``, ``cycles``, ``result``, ``stop_after``, ``hidden``:
    as :mod:`hw.engine` (``result.data``: the int32 score).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import Out

from .datapath import PIXEL_BITS, bits_for, select
from .errors import refuse
from .lane_walker import LaneWalker, pack_words
from .pe import LanePE, pe_control_layout
from .binary_host import bit_plane_loader, output_buffer
from .binary_conv import conv_lane_address, conv_stage_a, conv_tables, conv_write
from .binary_plan import PIXEL_PASSES
from .plan import BinaryPlan
from .sequencer import sequence_layers

__all__ = ["BinaryEngine", "binary_engine_signature", "LAYER_OVERHEAD", "LOAD_CYCLES",
           "HIDDEN_REGION"]

#: Cycles per layer beyond its beats: the command (1), the walker's start (2),
#: stages A1, B, B2, C, D (5), the sequencer's step (1).
LAYER_OVERHEAD = 9
#: Cycles the loader takes per ``load`` word (one per pixel bit plane).
LOAD_CYCLES = PIXEL_BITS
#: First activation-memory region of the hidden ping-pong buffers.
HIDDEN_REGION = PIXEL_PASSES


def binary_engine_signature(plan: BinaryPlan) -> dict:
    """The engine's ports (module docstring, "Host interface")."""
    from .engine import engine_signature
    return {**engine_signature(plan), "load_ready": Out(1)}


class BinaryEngine(wiring.Component):
    """The whole binary network in one component (module docstring).

    ``elaborate`` builds the lanes (:meth:`_lanes`), the activation memories
    and loader (:meth:`_activations`), the PEs (:meth:`_pes`), the output
    buffer and host port (:meth:`_outputs`) and the sequencer
    (:meth:`_sequencer`).
    """

    def __init__(self, plan: BinaryPlan):
        if not isinstance(plan, BinaryPlan):
            refuse(self, f"plan: the binary engine needs a BinaryPlan, got {type(plan).__name__}", TypeError)
        self.plan = plan
        self.col_bits = bits_for(max(max(lp.n_in for lp in plan.layers), plan.hidden_width))
        self.hidden_buffers = min(2, len(plan.layers) - 1)
        super().__init__(binary_engine_signature(plan))

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        layer = Signal(range(len(plan.layers)))
        t = self._tables(layer)
        walker, advance = self._lanes(m)
        strobe = Signal()  # a layer's walk starts: stage A's counters reset
        if plan.conv:
            a1 = conv_stage_a(self, m, walker, advance, strobe, t)
        else:
            a1 = self._stage_a(m, walker, advance, strobe, t)
        self._row_constants(m, a1)
        mems = self._activations(m, walker, a1, t)
        d = self._pes(m, a1, mems)
        output_buffer(self, m, d, t)
        self._write_rows(m, d, t)
        self._sequencer(m, walker, strobe, d, t, layer)
        return m

    def region_address(self, m, region, column, name: str):
        """An activation-memory address: ``column`` (zero-extended or cut to the
        column bits) in ``region``."""
        col = Signal(self.col_bits, name=f"{name}_col")
        m.d.comb += col.eq(column)
        return Cat(col, region)

    # ------------------------------------------------------------------ tables
    def _tables(self, layer) -> SimpleNamespace:
        """Per-layer constants, indexed by the current layer."""
        plan = self.plan
        n = len(plan.layers)
        tab = lambda values, shape: select([Const(v, shape) for v in values], layer)  # noqa: E731
        word_bits = bits_for(len(plan.lane_words[0]))
        return SimpleNamespace(
            layer=layer,
            word_base=tab([lp.lane_word_base[0] for lp in plan.layers], unsigned(word_bits)),
            word_count=tab([lp.lane_word_count[0] for lp in plan.layers], unsigned(word_bits + 1)),
            len0=tab([int(plan.row_beats[lp.row_base]) for lp in plan.layers],
                     unsigned(int(plan.row_beats.max()).bit_length())),
            len1=tab([int(plan.row_beats[lp.row_base + min(1, lp.n_out - 1)]) for lp in plan.layers],
                     unsigned(int(plan.row_beats.max()).bit_length())),
            row_base=tab([lp.row_base for lp in plan.layers], range(plan.rows + 1)),
            const_base=tab([lp.const_base for lp in plan.layers], range(len(plan.row_consts) + 1)),
            passes=tab([lp.passes for lp in plan.layers], range(max([PIXEL_PASSES] + [lp.passes for lp in plan.layers]) + 1)),
            is_first=tab([int(l == 0) for l in range(n)], 1),
            is_last=tab([int(lp.last) for lp in plan.layers], 1),
            read_buf=tab([max(0, l - 1) % 2 for l in range(n)], 1),
            write_buf=tab([l % 2 for l in range(n)], 1),
            conv=conv_tables(plan, layer) if plan.conv else None)

    # ------------------------------------------------------------------ stage A
    def _lanes(self, m) -> tuple[LaneWalker, Signal]:
        """One walker over all K lanes (their words side by side): the plan's lane
        streams have no skip words and give the same beats per row, so every
        lane has a beat every cycle of a walk."""
        plan = self.plan
        m.submodules.walker = walker = LaneWalker(
            field_width=plan.field_width, lanes=plan.lanes,
            n_cols=max(lp.conv.columns if lp.conv else lp.n_in for lp in plan.layers),
            words=pack_words(plan.lane_words, plan.field_width), row_lengths=plan.row_beats,
            max_passes=max([PIXEL_PASSES] + [lp.passes for lp in plan.layers]))
        return walker, walker.valid

    def _stage_a(self, m, walker, advance, strobe, t) -> SimpleNamespace:
        """Stage A: pass and row counters of the lanes' beats; stage A1: the beats
        registered, with the addresses the memories are read at (activations,
        row constants)."""
        plan = self.plan
        head = walker.o
        pass_idx = Signal(range(PIXEL_PASSES))
        row = Signal(range(max(lp.n_out for lp in plan.layers) + 1))
        at_row_start = Signal(init=1)
        at_pass_start = Signal()
        final = Signal()  # this beat ends the row's last pass
        m.d.comb += final.eq(head.last & (pass_idx == t.passes - 1))
        with m.If(strobe):
            m.d.sync += [row.eq(0), pass_idx.eq(0), at_row_start.eq(1), at_pass_start.eq(0)]
        with m.Elif(advance):
            m.d.sync += [at_row_start.eq(0), at_pass_start.eq(0)]
            with m.If(final):
                m.d.sync += [row.eq(row + 1), pass_idx.eq(0), at_row_start.eq(1)]
            with m.Elif(head.last):
                m.d.sync += [pass_idx.eq(pass_idx + 1), at_pass_start.eq(1)]
        plane = Signal(range(PIXEL_PASSES))
        m.d.comb += plane.eq(t.passes - 1 - pass_idx)  # most significant bit first

        a1 = SimpleNamespace(valid=Signal(), final=Signal(), row_start=Signal(), pass_start=Signal(),
                             row=Signal.like(row), plane=Signal.like(plane), sign=Signal(plan.lanes),
                             const_addr=Signal(range(plan.rows + 1)))
        m.d.sync += [
            a1.valid.eq(advance), a1.final.eq(final), a1.row_start.eq(at_row_start),
            a1.pass_start.eq(at_pass_start), a1.row.eq(row), a1.plane.eq(plane),
            a1.sign.eq(walker.o.sign),  # 0 in null beats
            a1.const_addr.eq(t.const_base + row),
        ]
        a1.plane_a = plane
        return a1

    def _row_constants(self, m, a1):
        """The row constants (start values, carries; weighted: ``kp``, ``kn``), read
        at the address registered in stage A1."""
        plan = self.plan
        m.submodules.consts = consts = memory.Memory(
            shape=unsigned(plan.const_width + PIXEL_PASSES), depth=len(plan.row_consts),
            init=[(int(a) & ((1 << plan.const_width) - 1)) | (int(e) << plan.const_width)
                  for a, e in zip(plan.row_consts, plan.row_carries)])
        a1.const_rds = []
        for p, addr in enumerate(getattr(a1, "const_addrs", [a1.const_addr])):  # conv: one per slot
            rd = consts.read_port()
            m.d.comb += rd.addr.eq(addr)
            a1.const_rds.append(rd)
        a1.const_rd = a1.const_rds[0]
        if plan.weighted:
            m.submodules.row_k = row_k = memory.Memory(
                shape=2 * plan.k_width, depth=len(plan.row_k), init=[int(k) for k in plan.row_k])
            a1.k_rd = row_k.read_port()
            m.d.comb += a1.k_rd.addr.eq(a1.const_addr)

    # ------------------------------------------------------------------ memories
    def _activations(self, m, walker, a1, t) -> list:
        """One activation memory per lane, read at the address registered in stage
        A1: the lane's beat column in the region of the current layer and pass,
        or the zero region for a null beat; the loader and the row writes go to
        every copy."""
        plan = self.plan
        c = self.col_bits
        regions = PIXEL_PASSES + self.hidden_buffers + 1  # the last is never written: zeros
        zero = regions - 1
        depth = plan.layout.depth + plan.group_overrun if plan.conv else regions << c
        region = Signal(range(regions))
        m.d.comb += region.eq(Mux(t.is_first, a1.plane_a, HIDDEN_REGION + t.read_buf))
        self._write = SimpleNamespace(addr=Signal(range(depth)), data=Signal(plan.reuse), en=Signal())
        mems = []
        B = plan.batch
        for k in range(plan.lanes):
            addrs = []
            for p in range(plan.pixel_group):  # slot p's PEs (conv plans: P > 1) read at their own offset
                suffix = f"_{p}" if p else ""
                lane_addr = Signal(range(depth), name=f"lane{k}_addr{suffix}")  # stage A1
                # A null beat (no weight) reads the zero region: its term is 0 ^ sign 0 = 0.
                if plan.conv:
                    m.d.sync += lane_addr.eq(conv_lane_address(self, walker, a1, k, p, t))
                else:
                    m.d.sync += lane_addr.eq(Mux(walker.o.null[k], zero << c,
                                                 self.region_address(m, region, walker.o.addr[k], f"lane{k}")))
                addr = Signal.like(lane_addr, name=f"lane{k}_read{suffix}")
                m.d.comb += addr.eq(lane_addr)
                if k == 0 and p == 0 and self.hidden_buffers:  # the host's debug port reads lane 0 while idle
                    with m.If(~self.busy):
                        m.d.comb += addr.eq(
                            t.conv.out_base + self.hidden.addr if plan.conv else
                            self.region_address(m, HIDDEN_REGION + t.write_buf, self.hidden.addr, "debug"))
                addrs.append(addr)
            bits = []
            for r in range(plan.reuse):  # one 1-bit memory per PE: block RAM, no read multiplexers
                mem = memory.Memory(shape=1, depth=depth, init=[])
                m.submodules[f"acts{k}_{r}"] = mem
                wr, rd = mem.write_port(), mem.read_port()
                m.d.comb += [wr.addr.eq(self._write.addr), wr.data.eq(self._write.data[r]),
                             wr.en.eq(self._write.en), rd.addr.eq(addrs[r // B])]
                bits.append(rd.data)
            mems.append(SimpleNamespace(data=Cat(*bits)))
        if self.hidden_buffers:
            m.d.comb += self.hidden.data.eq(mems[0].data[:B])
        return mems

    # ------------------------------------------------------------------ stages B..D
    def _pes(self, m, a1, mems) -> SimpleNamespace:
        """Stage B: memory data and row constants arrive; stage B2: the inputs
        registered, the PEs' adder trees; stage C: the PEs accumulate; their
        accumulators hold each finished row in stage D."""
        plan = self.plan
        K, R = plan.lanes, plan.reuse

        def stage(prev, name):
            regs = SimpleNamespace(**{f: Signal.like(v, name=f"{name}_{f}") for f, v in vars(prev).items()})
            m.d.sync += [getattr(regs, f).eq(v) for f, v in vars(prev).items()]
            return regs

        ctl_a1 = SimpleNamespace(valid=a1.valid, final=a1.final, row_start=a1.row_start,
                                 pass_start=a1.pass_start, row=a1.row, plane=a1.plane, sign=a1.sign)
        window = ("window_first", "window_last", "out_addr", "mask") if plan.conv else ()
        for f in window:  # conv plans: the pixel's pool window and output address, to stage D
            setattr(ctl_a1, f, getattr(a1, f))
        b = stage(ctl_a1, "b")
        starts = {f"start{p}": rd.data[:plan.const_width] for p, rd in enumerate(a1.const_rds[1:], 1)}
        b2 = stage(SimpleNamespace(  # the row constants straight from memory into registers
            valid=b.valid, final=b.final, row_start=b.row_start, pass_start=b.pass_start, row=b.row,
            sign=b.sign, plane=b.plane, carries=a1.const_rd.data[plan.const_width:],
            start=a1.const_rd.data[:plan.const_width], **starts, **{f: getattr(b, f) for f in window}), "b2")
        ctl = Signal(pe_control_layout)
        start_c = Signal(signed(plan.const_width))
        starts_c = [start_c] + [Signal(signed(plan.const_width), name=f"start{p}_c") for p in range(1, len(a1.const_rds))]
        m.d.sync += [s.eq(getattr(b2, f"start{p}").as_signed()) for p, s in enumerate(starts_c) if p]
        c_final, c_row = Signal(), Signal.like(a1.row)
        m.d.sync += [
            ctl.valid.eq(b2.valid), ctl.row_start.eq(b2.row_start), ctl.pass_start.eq(b2.pass_start),
            ctl.carry.eq((b2.row_start | b2.pass_start) & b2.carries.bit_select(b2.plane, 1)),
            start_c.eq(b2.start.as_signed()),
            c_final.eq(b2.valid & b2.final), c_row.eq(b2.row),
        ]
        if plan.weighted:
            k_b2 = Signal.like(a1.k_rd.data, name="k_b2")
            m.d.sync += k_b2.eq(a1.k_rd.data)
        pes = []
        for r in range(R):
            pe = LanePE(lanes=K, acc_width=plan.acc_width, start_width=plan.const_width,
                        k_width=plan.k_width)
            m.submodules[f"pe{r}"] = pe
            pes.append(pe)
            x_b2 = Signal(K, name=f"x{r}_b2")  # the memories' outputs, registered
            m.d.sync += x_b2.eq(Cat(mem.data[r] for mem in mems))
            m.d.comb += [pe.x.eq(x_b2), pe.sign.eq(b2.sign), pe.ctl.eq(ctl),
                         pe.start.eq(starts_c[min(r // plan.batch, len(starts_c) - 1)])]
            if plan.weighted:
                kw = plan.k_width
                m.d.comb += [pe.kp.eq(k_b2[:kw]), pe.kn.eq(k_b2[kw:])]
        d_valid, d_row = Signal(), Signal.like(a1.row)
        m.d.sync += [d_valid.eq(c_final), d_row.eq(c_row)]
        d = SimpleNamespace(pes=pes, valid=d_valid, row=d_row,
                            busy=a1.valid | b.valid | b2.valid | ctl.valid | d_valid)
        for f in window:  # stage C then D
            c_f, d_f = Signal.like(getattr(b2, f), name=f"c_{f}"), Signal.like(getattr(b2, f), name=f"d_{f}")
            m.d.sync += [c_f.eq(getattr(b2, f)), d_f.eq(c_f)]
            setattr(d, f, d_f)
        return d

    def _write_rows(self, m, d, t):
        """Stage D of a hidden layer: the row's R bits into the write buffer of
        every lane's memory; the loader writes while the engine is idle."""
        w = self._write
        load = bit_plane_loader(self, m)
        loaded = Cat(*(load.data for _ in range(self.plan.pixel_group)))  # every slot's copy of an image
        if self.plan.conv:
            rows = conv_write(self, m, d, t)
            d.busy = d.busy | rows.busy   # the sequencer waits for queued writes
            with m.If(self.busy):
                m.d.comb += [w.addr.eq(rows.addr), w.data.eq(rows.data), w.en.eq(rows.en)]
            with m.Else():
                m.d.comb += [w.addr.eq(load.addr), w.data.eq(loaded), w.en.eq(load.en)]
            return
        with m.If(self.busy):
            m.d.comb += [
                w.addr.eq(self.region_address(m, HIDDEN_REGION + t.write_buf, d.row, "row")),
                w.data.eq(Cat(pe.bit for pe in d.pes)),
                w.en.eq(d.valid & ~t.is_last),
            ]
        with m.Else():
            m.d.comb += [w.addr.eq(load.addr), w.data.eq(load.data), w.en.eq(load.en)]

    # ------------------------------------------------------------------ sequencer
    def _sequencer(self, m, walker, strobe, d, t, layer):
        """:func:`hw.sequencer.sequence_layers` with the walker's command per layer
        (``strobe`` resets stage A's counters as a walk starts)."""
        def issue(m):
            m.d.comb += [
                walker.cmd.valid.eq(1),
                walker.cmd.payload.base.eq(t.word_base),
                walker.cmd.payload.count.eq(t.word_count),
                walker.cmd.payload.passes.eq(t.passes),
                walker.cmd.payload.row.eq(t.row_base),
                walker.cmd.payload.len0.eq(t.len0),
                walker.cmd.payload.len1.eq(t.len1),
            ]
            m.d.comb += strobe.eq(1)
            return None  # the walker is idle once the previous layer has drained

        sequence_layers(self, m, layer, t.is_last, ~walker.busy & ~d.busy, issue,
                        bool(self.hidden_buffers))
