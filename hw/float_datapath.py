"""The float engine's datapath: R float-accumulate PEs behind one decompressor.

Per layer, for each row ``j`` and image ``r`` (bit-exact to
:func:`sw.golden.float_forward` with ``lanes = L``, the adder latency)::

    acc = float_accumulate(x, w_j, lanes=L)       # hw.float_pe: L partial sums
    y   = fl(fl(s_j * acc) + b_j)                  # output unit, shared by the R PEs
    hidden layers write relu(y) (sign bit set -> +0.0), the last layer writes y

Layer 0's inputs are ``x_table[pixel]`` (:func:`hw.plan.plan_float`: the golden
model's ``fl(fl(pixel * x_scale) + x_offset)`` for all 256 pixel values).

Pipeline
--------
::

    A: decompressor beat (accepted when ready); activations read at beat.addr
    B: R PEs add the term x or -x to partial sum n mod L of the row's bank
    tail (one row at a time, overlapping the next row's stage B):
       t = L+1, 2L+1, ..., (L-1)L+1 cycles after the row end: a combining step
                                      (the adder slot is reserved: no beat then)
       t = L*L+1: the row sum is captured into each PE's acc
    output unit: R cycles, one image per cycle: fp32 multiply by s_j (latency
       Lm), fp32 add of b_j (latency L), ReLU, write of that image's slot

Stalls (``beat.ready`` low):

* the cycle before each reserved combining slot: ``L - 1`` per row while the
  decompressor has beats waiting;
* a row end while the previous row's tail is still running (rows with fewer
  than about ``L*L + 1`` RLE words), or while the output unit would not be done
  reading the previous row's sums before the next capture (``R > L*L + 1``).

So a batch takes the RLE words, about ``L - 1`` cycles per row, the stalls of
short rows, and :meth:`FloatDatapath.layer_overhead` per layer.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring

from .datapath import PIXEL_BITS, datapath_signature, select
from .float_pe import POSITIVE_ZERO, FloatAccumulatePE
from .fp32 import FP32Add, FP32Mul

__all__ = ["FloatDatapath"]


class FloatDatapath(wiring.Component):
    """Float datapath for an :class:`hw.plan.EnginePlan` of kind ``"float"``."""

    #: The output unit writes one image per cycle (``write.lanes`` one-hot).
    WRITES_ONE_IMAGE_AT_A_TIME = True

    @staticmethod
    def acc_ready(plan) -> int:
        """Cycles from a row's end in stage B to the capture of its sum."""
        L = plan.add_latency
        return 1 + L * L

    @classmethod
    def layer_overhead(cls, plan) -> int:
        """Cycles per layer beyond the RLE words and reduction slots: the binary
        engine's 5 (command, memory latency, pipeline), the last row's tail, the
        output unit's R issue cycles and its multiplier and adder latencies."""
        return 4 + cls.acc_ready(plan) + plan.reuse + plan.mul_latency + plan.add_latency

    @staticmethod
    def row_overhead(plan) -> int:
        """Reserved adder slots per row (the lane reduction)."""
        return plan.add_latency - 1

    def __init__(self, plan, col_addr_width: int):
        assert plan.kind == "float"
        self.plan = plan
        super().__init__(datapath_signature(plan, col_addr_width))

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        R, L, Lm = plan.reuse, plan.add_latency, plan.mul_latency
        ACC_READY = self.acc_ready(plan)
        reduce_slots = {1 + k * L: k for k in range(1, L)}  # tail cycle -> combining step
        beat = self.beat.payload
        n_rows = max(lp.n_out for lp in plan.layers)

        m.submodules.consts = consts = memory.Memory(
            shape=unsigned(64), depth=len(plan.row_consts), init=[int(c) for c in plan.row_consts])
        const_rd = consts.read_port()
        m.submodules.x_table = x_table = memory.Memory(
            shape=unsigned(32), depth=len(plan.x_table), init=[int(v) for v in plan.x_table])

        # ---- control state
        b_valid, b_sign, b_last, b_null = Signal(), Signal(), Signal(), Signal()
        row = Signal(range(n_rows + 1))
        bank = Signal()
        lane = Signal(range(L))
        count = Signal(range(L + 1))          # terms so far in the row, saturating at L
        tail_active = Signal()
        tail_t = Signal(range(ACC_READY + 1))
        tail_bank = Signal()
        tail_terms = Signal(range(L + 1))
        tail_row = Signal.like(row)
        out_left = Signal(range(R + 1))       # output-unit issues still to make

        # ---- stage A: accept a beat unless a reserved slot or a tail conflict is ahead
        reserved_next = Signal()
        with m.If(tail_active):
            with m.Switch(tail_t + 1):
                for t in reduce_slots:
                    with m.Case(t):
                        m.d.comb += reserved_next.eq(1)
        tail_busy_next = (tail_active & (tail_t != ACC_READY)) | (b_valid & b_last)
        capturing = tail_active & (tail_t == ACC_READY)
        out_conflict = (out_left > ACC_READY + 2)
        if R > ACC_READY + 1:
            out_conflict = out_conflict | capturing
        row_end_blocked = beat.last & (tail_busy_next | out_conflict)
        m.d.comb += self.beat.ready.eq(~reserved_next & ~row_end_blocked)
        accept = self.beat.valid & self.beat.ready
        m.d.sync += [b_valid.eq(accept), b_sign.eq(beat.sign), b_last.eq(beat.last),
                     b_null.eq(beat.null)]

        # ---- stage B: terms into the PEs; row bookkeeping
        issue = b_valid & ~b_null
        with m.If(self.start):
            m.d.sync += [row.eq(0), lane.eq(0), count.eq(0)]
        with m.Elif(b_valid):
            with m.If(b_last):
                m.d.sync += [row.eq(row + 1), lane.eq(0), count.eq(0), bank.eq(~bank)]
            with m.Elif(issue):
                m.d.sync += [lane.eq(Mux(lane == L - 1, 0, lane + 1)),
                             count.eq(Mux(count == L, L, count + 1))]

        # Writeback tags: which partial each adder result belongs to (L cycles later).
        tags = [Signal(2 + len(lane), name=f"tag{i}") for i in range(L)]
        m.d.sync += tags[0].eq(Cat(issue, bank, lane))
        for i in range(1, L):
            m.d.sync += tags[i].eq(tags[i - 1])
        wb_valid, wb_bank, wb_lane = tags[-1][0], tags[-1][1], tags[-1][2:2 + len(lane)]

        # ---- tail: combine the finished row's partials, capture its sum
        with m.If(tail_active):
            m.d.sync += tail_t.eq(tail_t + 1)
            with m.If(capturing):
                m.d.sync += tail_active.eq(0)
        with m.If(b_valid & b_last):
            m.d.sync += [tail_active.eq(1), tail_t.eq(1), tail_bank.eq(bank), tail_row.eq(row),
                         tail_terms.eq(Mux(issue & (count != L), count + 1, count))]
        reducing = Signal()
        step = Signal(range(L))
        with m.If(tail_active):
            with m.Switch(tail_t):
                for t, k in reduce_slots.items():
                    with m.Case(t):
                        m.d.comb += [reducing.eq(1), step.eq(k)]

        pes = []
        for i in range(R):
            pe = FloatAccumulatePE(lanes=L)
            m.submodules[f"pe{i}"] = pe
            pes.append(pe)
            pixel = self.pixels[i * PIXEL_BITS:(i + 1) * PIXEL_BITS]
            x_rd = x_table.read_port(domain="comb")
            m.d.comb += [
                x_rd.addr.eq(pixel),
                pe.x.eq(Mux(self.first, x_rd.data, self.acts[i * 32:(i + 1) * 32])),
                pe.ctl.term.eq(issue),
                pe.ctl.fresh.eq(count != L),
                pe.ctl.negate.eq(b_sign),
                pe.ctl.reduce.eq(reducing),
                pe.ctl.first.eq(step == 1),
                pe.ctl.a_zero.eq(tail_terms == 0),
                pe.ctl.b_zero.eq(tail_terms <= step),
                pe.ctl.bank.eq(Mux(reducing, tail_bank, bank)),
                pe.ctl.lane.eq(Mux(reducing, step, lane)),
                pe.ctl.wb.eq(wb_valid),
                pe.ctl.wb_bank.eq(wb_bank),
                pe.ctl.wb_lane.eq(wb_lane),
                pe.ctl.capture.eq(capturing),
                pe.ctl.cap_bank.eq(tail_bank),
                pe.ctl.cap_zero.eq(tail_terms == 0),
            ]

        # ---- output unit: y = fl(fl(s * acc) + b), one image per cycle
        m.d.comb += const_rd.addr.eq(self.const_base + tail_row)
        scale, bias, out_row = Signal(32), Signal(32), Signal.like(row)
        with m.If(capturing):
            m.d.sync += [scale.eq(const_rd.data[:32]), bias.eq(const_rd.data[32:]),
                         out_row.eq(tail_row), out_left.eq(R)]
        with m.Elif(out_left != 0):
            m.d.sync += out_left.eq(out_left - 1)
        image = Signal(range(R))
        m.d.comb += image.eq(R - out_left)

        m.submodules.mul = mul = FP32Mul(latency=Lm)
        m.submodules.add = add = FP32Add(latency=L)
        m.d.comb += [mul.a.eq(select([pe.acc for pe in pes], image)), mul.b.eq(scale),
                     mul.in_valid.eq(out_left != 0)]
        # Side band beside the multiplier (valid, image, row, bias) and the adder
        # (valid, image, row): their valid bits also tell whether anything is in flight.
        mul_side = [Signal(1 + len(image) + len(row) + 32, name=f"mul_side{i}") for i in range(Lm)]
        m.d.sync += mul_side[0].eq(Cat(out_left != 0, image, out_row, bias))
        for i in range(1, Lm):
            m.d.sync += mul_side[i].eq(mul_side[i - 1])
        m_valid, m_image, m_row, m_bias = split(mul_side[-1], 1, len(image), len(row), 32)
        m.d.comb += [add.a.eq(mul.result), add.b.eq(m_bias), add.in_valid.eq(m_valid)]
        add_side = [Signal(1 + len(image) + len(row), name=f"add_side{i}") for i in range(L)]
        m.d.sync += add_side[0].eq(Cat(m_valid, m_image, m_row))
        for i in range(1, L):
            m.d.sync += add_side[i].eq(add_side[i - 1])
        a_valid, a_image, a_row = split(add_side[-1], 1, len(image), len(row))
        in_flight = Cat(side[0] for side in mul_side + add_side).any()

        y = add.result
        relu_y = Mux(y[31], POSITIVE_ZERO, y)
        m.d.comb += [
            self.write.valid.eq(a_valid),
            self.write.addr.eq(a_row),
            self.write.lanes.eq(1 << a_image),
            self.write.act.eq(Cat(relu_y for _ in range(R))),
            self.write.out.eq(Cat(y for _ in range(R))),
            self.idle.eq(~b_valid & ~tail_active & (out_left == 0) & ~in_flight),
        ]
        return m


def split(value, *widths):
    """``value`` cut into consecutive fields of ``widths`` bits, LSB first."""
    fields, pos = [], 0
    for w in widths:
        fields.append(value[pos:pos + w])
        pos += w
    return fields
