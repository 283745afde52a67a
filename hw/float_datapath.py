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

Asymmetric layers (``sn{l}`` in the model file; the hardware for them is built
only when the model has such a layer): the -1 weights' terms go unnegated to a
second partial-sum set (its own lane counter), whose combining steps run one
cycle after the first set's (t = L+2, 2L+2, ...; 2(L-1) reserved slots per
row) and whose sum is captured at t = L*L+2 into ``acc_n``. The output unit
then computes ``fl(fl(fl(s * acc) - fl(sn * acc_n)) + b)`` with a second
multiplier and a subtracting adder (ordinary layers of such an engine feed
+0.0 to the second multiplier; ``x - (+0.0) = x`` exactly).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
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
    def acc_ready(plan, asymmetric: bool = False) -> int:
        """Cycles from a row's end in stage B to the capture of its (last) sum."""
        L = plan.add_latency
        return 1 + L * L + int(asymmetric)

    @classmethod
    def layer_overhead(cls, plan) -> int:
        """Cycles per layer beyond the RLE words and reduction slots: the binary
        engine's 5 (command, memory latency, pipeline), the last row's tail, the
        output unit's R issue cycles and its multiplier and adder latencies (one
        adder more in engines with asymmetric layers). Asymmetric layers take one
        cycle more (their second sum's capture)."""
        extra = plan.add_latency + 1 if plan.asymmetric else 0
        return 4 + cls.acc_ready(plan) + plan.reuse + plan.mul_latency + plan.add_latency + extra

    @staticmethod
    def row_overhead(plan) -> int:
        """Reserved adder slots per row (the lane reduction; asymmetric layers
        reduce two sums, but :meth:`cycle_budget` counts ordinary layers)."""
        return plan.add_latency - 1

    def __init__(self, plan, col_addr_width: int):
        assert plan.kind == "float"
        self.plan = plan
        super().__init__(datapath_signature(plan, col_addr_width))

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        R, L, Lm = plan.reuse, plan.add_latency, plan.mul_latency
        ASYM = plan.asymmetric            # generation time: a second partial-sum set exists
        SETS = 2 if ASYM else 1
        ACC_FIRST = self.acc_ready(plan)  # first capture after a row end (set 0)
        ACC_LAST = self.acc_ready(plan, ASYM)
        beat = self.beat.payload
        n_rows = max(lp.n_out for lp in plan.layers)

        m.submodules.consts = consts = memory.Memory(
            shape=unsigned(plan.const_width), depth=len(plan.row_consts),
            init=[int(c) for c in plan.row_consts])
        const_rd = consts.read_port()
        m.submodules.x_table = x_table = memory.Memory(
            shape=unsigned(32), depth=len(plan.x_table), init=[int(v) for v in plan.x_table])

        # This layer keeps separate sums for its +1 and -1 weights.
        asym = Signal()
        if ASYM:
            m.d.comb += asym.eq(select([Const(int(lp.asymmetric), 1) for lp in plan.layers], self.layer))
        acc_last = Mux(asym, ACC_LAST, ACC_FIRST)
        # tail cycle -> (set, combining step); set 1's steps follow set 0's by one cycle
        slots = {(1 + k * L): (0, k) for k in range(1, L)}
        asym_slots = {(2 + k * L): (1, k) for k in range(1, L)} if ASYM else {}

        # ---- control state
        b_valid, b_sign, b_last, b_null = Signal(), Signal(), Signal(), Signal()
        row = Signal(range(n_rows + 1))
        bank = Signal()
        lanes = [Signal(range(L), name=f"lane{t}") for t in range(SETS)]
        counts = [Signal(range(L + 1), name=f"count{t}") for t in range(SETS)]  # saturating at L
        tail_active = Signal()
        tail_t = Signal(range(ACC_LAST + 1))
        tail_bank = Signal()
        tail_asym = Signal()
        tail_terms = [Signal(range(L + 1), name=f"tail_terms{t}") for t in range(SETS)]
        tail_row = Signal.like(row)
        out_left = Signal(range(R + 1))       # output-unit issues still to make

        # ---- stage A: accept a beat unless a reserved slot or a tail conflict is ahead
        reserved_next = Signal()
        with m.If(tail_active):
            with m.Switch(tail_t + 1):
                for t in slots:
                    with m.Case(t):
                        m.d.comb += reserved_next.eq(1)
                for t in asym_slots:
                    with m.Case(t):
                        m.d.comb += reserved_next.eq(tail_asym)
        tail_end = Mux(tail_asym, ACC_LAST, ACC_FIRST)
        tail_busy_next = (tail_active & (tail_t != tail_end)) | (b_valid & b_last)
        capturing = tail_active & (tail_t == tail_end)   # the row's last capture
        # The next row's first capture (ACC_FIRST after its end) must not overwrite
        # sums the output unit has still to read.
        out_conflict = (out_left > ACC_FIRST + 2)
        if R > ACC_FIRST + 1:
            out_conflict = out_conflict | capturing
        row_end_blocked = beat.last & (tail_busy_next | out_conflict)
        m.d.comb += self.beat.ready.eq(~reserved_next & ~row_end_blocked)
        accept = self.beat.valid & self.beat.ready
        m.d.sync += [b_valid.eq(accept), b_sign.eq(beat.sign), b_last.eq(beat.last),
                     b_null.eq(beat.null)]

        # ---- stage B: terms into the PEs; row bookkeeping
        issue = b_valid & ~b_null
        term_set = Signal()               # asymmetric layers: -1 weights go to set 1
        m.d.comb += term_set.eq(asym & b_sign)
        lane = select(lanes, term_set) if ASYM else lanes[0]
        count = select(counts, term_set) if ASYM else counts[0]
        with m.If(self.start):
            m.d.sync += [row.eq(0)] + [x.eq(0) for x in lanes + counts]
        with m.Elif(b_valid):
            with m.If(b_last):
                m.d.sync += [row.eq(row + 1), bank.eq(~bank)] + [x.eq(0) for x in lanes + counts]
            with m.Elif(issue):
                for t in range(SETS):
                    with m.If(term_set == t):
                        m.d.sync += [lanes[t].eq(Mux(lanes[t] == L - 1, 0, lanes[t] + 1)),
                                     counts[t].eq(Mux(counts[t] == L, L, counts[t] + 1))]

        # Writeback tags: which partial each adder result belongs to (L cycles later).
        tag_width = 3 + len(lanes[0])
        tags = [Signal(tag_width, name=f"tag{i}") for i in range(L)]
        m.d.sync += tags[0].eq(Cat(issue, bank, term_set, lane))
        for i in range(1, L):
            m.d.sync += tags[i].eq(tags[i - 1])
        wb_valid, wb_bank, wb_set, wb_lane = split(tags[-1], 1, 1, 1, len(lanes[0]))

        # ---- tail: combine the finished row's partials, capture its sum(s)
        with m.If(tail_active):
            m.d.sync += tail_t.eq(tail_t + 1)
            with m.If(capturing):
                m.d.sync += tail_active.eq(0)
        with m.If(b_valid & b_last):
            m.d.sync += [tail_active.eq(1), tail_t.eq(1), tail_bank.eq(bank), tail_row.eq(row),
                         tail_asym.eq(asym)]
            for t in range(SETS):
                adds_one = issue & (term_set == t) & (counts[t] != L)
                m.d.sync += tail_terms[t].eq(Mux(adds_one, counts[t] + 1, counts[t]))
        reducing, red_set = Signal(), Signal()
        step = Signal(range(L))
        with m.If(tail_active):
            with m.Switch(tail_t):
                for t, (set_, k) in {**slots, **asym_slots}.items():
                    with m.Case(t):
                        m.d.comb += [reducing.eq(1 if set_ == 0 else tail_asym), red_set.eq(set_),
                                     step.eq(k)]
        cap_set = Signal()
        capture = Signal()
        m.d.comb += [
            capture.eq(tail_active & ((tail_t == ACC_FIRST) | (tail_asym & (tail_t == ACC_LAST)))),
            cap_set.eq(tail_t == ACC_LAST if ASYM else 0),
        ]
        red_terms = select(tail_terms, red_set) if ASYM else tail_terms[0]
        cap_terms = select(tail_terms, cap_set) if ASYM else tail_terms[0]

        pes = []
        for i in range(R):
            pe = FloatAccumulatePE(lanes=L, sets=SETS)
            m.submodules[f"pe{i}"] = pe
            pes.append(pe)
            pixel = self.pixels[i * PIXEL_BITS:(i + 1) * PIXEL_BITS]
            x_rd = x_table.read_port(domain="comb")
            m.d.comb += [
                x_rd.addr.eq(pixel),
                pe.x.eq(Mux(self.first, x_rd.data, self.acts[i * 32:(i + 1) * 32])),
                pe.ctl.term.eq(issue),
                pe.ctl.fresh.eq(count != L),
                pe.ctl.negate.eq(b_sign & ~asym),
                pe.ctl.reduce.eq(reducing),
                pe.ctl.first.eq(step == 1),
                pe.ctl.a_zero.eq(red_terms == 0),
                pe.ctl.b_zero.eq(red_terms <= step),
                pe.ctl.bank.eq(Mux(reducing, tail_bank, bank)),
                pe.ctl.set.eq(Mux(reducing, red_set, term_set)),
                pe.ctl.lane.eq(Mux(reducing, step, lane)),
                pe.ctl.wb.eq(wb_valid),
                pe.ctl.wb_bank.eq(wb_bank),
                pe.ctl.wb_set.eq(wb_set),
                pe.ctl.wb_lane.eq(wb_lane),
                pe.ctl.capture.eq(capture),
                pe.ctl.cap_bank.eq(tail_bank),
                pe.ctl.cap_set.eq(cap_set),
                pe.ctl.cap_zero.eq(cap_terms == 0),
            ]

        # ---- output unit: y = fl(fl(s * acc) + b), or for asymmetric layers
        #      y = fl(fl(fl(s * acc) - fl(sn * acc_n)) + b); one image per cycle
        m.d.comb += const_rd.addr.eq(self.const_base + tail_row)
        scale, bias, out_row = Signal(32), Signal(32), Signal.like(row)
        neg_scale, out_asym = Signal(32), Signal()
        with m.If(capturing):
            m.d.sync += [scale.eq(const_rd.data[:32]), bias.eq(const_rd.data[32:64]),
                         out_row.eq(tail_row), out_left.eq(R), out_asym.eq(tail_asym)]
            if ASYM:
                m.d.sync += neg_scale.eq(const_rd.data[64:96])
        with m.Elif(out_left != 0):
            m.d.sync += out_left.eq(out_left - 1)
        image = Signal(range(R))
        m.d.comb += image.eq(R - out_left)
        issuing = out_left != 0

        m.submodules.mul = mul = FP32Mul(latency=Lm)
        m.d.comb += [mul.a.eq(select([pe.acc for pe in pes], image)), mul.b.eq(scale),
                     mul.in_valid.eq(issuing)]
        # Side band beside the multiplier (valid, image, row, bias) and each adder
        # (valid, image, row[, bias]): their valid bits also tell whether anything is in flight.
        side_bits = 1 + len(image) + len(row) + 32
        mul_side = delay_line(m, Cat(issuing, image, out_row, bias), Lm, "mul_side")
        m_valid, m_image, m_row, m_bias = split(mul_side[-1], 1, len(image), len(row), 32)
        in_flight = [side[0] for side in mul_side]
        product = mul.result
        if ASYM:
            # Second product in parallel; ordinary layers multiply +0.0 by sn = 0,
            # and x + (-(+0.0)) = x exactly (signed zeros included).
            m.submodules.mul_n = mul_n = FP32Mul(latency=Lm)
            m.submodules.sub = sub = FP32Add(latency=L)
            acc_n = Mux(out_asym, select([pe.acc_n for pe in pes], image), POSITIVE_ZERO)
            m.d.comb += [mul_n.a.eq(acc_n), mul_n.b.eq(neg_scale), mul_n.in_valid.eq(issuing),
                         sub.a.eq(mul.result), sub.b.eq(mul_n.result ^ (1 << 31)),
                         sub.in_valid.eq(m_valid)]
            sub_side = delay_line(m, Cat(m_valid, m_image, m_row, m_bias), L, "sub_side")
            in_flight += [side[0] for side in sub_side]
            m_valid, m_image, m_row, m_bias = split(sub_side[-1], 1, len(image), len(row), 32)
            product = sub.result
        assert side_bits == len(mul_side[0])
        m.submodules.add = add = FP32Add(latency=L)
        m.d.comb += [add.a.eq(product), add.b.eq(m_bias), add.in_valid.eq(m_valid)]
        add_side = delay_line(m, Cat(m_valid, m_image, m_row), L, "add_side")
        in_flight += [side[0] for side in add_side]
        a_valid, a_image, a_row = split(add_side[-1], 1, len(image), len(row))

        y = add.result
        relu_y = Mux(y[31], POSITIVE_ZERO, y)
        m.d.comb += [
            self.write.valid.eq(a_valid),
            self.write.addr.eq(a_row),
            self.write.lanes.eq(1 << a_image),
            self.write.act.eq(Cat(relu_y for _ in range(R))),
            self.write.out.eq(Cat(y for _ in range(R))),
            self.idle.eq(~b_valid & ~tail_active & ~issuing & ~Cat(in_flight).any()),
        ]
        return m


def delay_line(m, value, length: int, name: str) -> list:
    """``length`` registers in a row after ``value``; the last is ``value`` delayed
    by ``length`` cycles."""
    regs = [Signal(len(value), name=f"{name}{i}") for i in range(length)]
    m.d.sync += regs[0].eq(value)
    for i in range(1, length):
        m.d.sync += regs[i].eq(regs[i - 1])
    return regs


def split(value, *widths):
    """``value`` cut into consecutive fields of ``widths`` bits, LSB first."""
    fields, pos = [], 0
    for w in widths:
        fields.append(value[pos:pos + w])
        pos += w
    return fields
