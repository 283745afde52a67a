"""The float engine's datapath: R float-accumulate PEs behind one decompressor.

Per layer, for each row ``j`` and image ``r`` (bit-exact to
:func:`sw.golden.float_forward` with ``lanes = L``, the adder latency)::

    acc = float_accumulate(x, w_j, lanes=L)       # hw.float_pe: L partial sums
    y   = fl(fl(s_j * acc) + b_j)                  # output unit, shared by the R PEs
    hidden layers write relu(y) (sign bit set -> +0.0), the last layer writes y

Layer 0's inputs are ``x_table[pixel]`` (:func:`hw.plan.plan_float`: the golden
model's ``fl(fl(pixel * x_scale) + x_offset)`` for all 256 pixel values), converted
as the host loads the pixels (:mod:`hw.input_converter`): the datapath reads them
as binary32 words (``inputs``), like the hidden layers' activations.

Pipeline
--------
::

    A: beat (the decompressor's, through a stream register; accepted when ready);
       activations read at beat.addr
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

Convolution layers (:mod:`hw.float_conv`; built only for plans with them): each
walk of a row is one output pixel, a row as above to the pipeline; the
``pixel`` port's tag (output address, pool-window flags) rides with the walk
through the tail and the output unit, the row counter steps at a row's last
pixel, and the output unit's write is pooled (:func:`hw.float_conv.pooled_write`):
one write per pool window, at the window's output address. Padding cells read
+0.0 (:mod:`hw.float_conv`).

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

from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring

from .datapath import datapath_signature, delay_line, select, split
from .errors import refuse
from .float_conv import conv_state, pooled_write
from .float_pe import POSITIVE_ZERO, FloatAccumulatePE
from .fp32 import FP32Add, FP32Mul
from .plan import FloatPlan

__all__ = ["FloatDatapath"]


class FloatDatapath(wiring.Component):
    """Float datapath for a :class:`hw.plan.FloatPlan`; any other plan is a
    programming error (``TypeError``). ``elaborate`` builds the parts in the
    order of the pipeline above: the tail's decoded cycle (:func:`_tail_decode`),
    stage A (:func:`_stage_a`), stage B (:func:`_stage_b`), the tail
    (:func:`_tail`), the PEs (:func:`_pes`) and the output unit
    (:func:`_output_unit`), all sharing :func:`_control_state`."""

    @staticmethod
    def acc_ready(plan, asymmetric: bool = False) -> int:
        """Cycles from a row's end in stage B to the capture of its (last) sum."""
        L = plan.add_latency
        return 1 + L * L + int(asymmetric)

    @classmethod
    def layer_overhead(cls, plan) -> int:
        """Cycles per layer beyond the RLE words and reduction slots: 6 for the
        command, the decompressor's start (:data:`hw.decompressor.Decompressor.STARTUP_CYCLES`:
        the memory's read, then the word register) and the pipeline, one for the stream register
        between the decompressor and stage A (:class:`hw.stream_register.StreamRegister`),
        the last row's tail, the output unit's R issue cycles and its multiplier and
        adder latencies (one adder more in engines with asymmetric layers).
        Asymmetric layers take one cycle more (their second sum's capture)."""
        extra = plan.add_latency + 1 if plan.asymmetric else 0
        return 6 + cls.acc_ready(plan) + plan.reuse + plan.mul_latency + plan.add_latency + extra

    @staticmethod
    def row_overhead(plan) -> int:
        """Reserved adder slots per row (the lane reduction; asymmetric layers
        reduce two sums, but :meth:`cycle_budget` counts ordinary layers)."""
        return plan.add_latency - 1

    def __init__(self, plan: FloatPlan, col_addr_width: int):
        if not isinstance(plan, FloatPlan):
            refuse(self, f"plan: the float datapath needs a FloatPlan, got {type(plan).__name__}", TypeError)
        self.plan = plan
        super().__init__(datapath_signature(plan, col_addr_width))

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        m.submodules.consts = consts = memory.Memory(
            shape=unsigned(plan.const_width), depth=len(plan.row_consts),
            init=[int(c) for c in plan.row_consts])
        const_rd = consts.read_port()
        c = _control_state(self, m)
        _tail_decode(self, m, c)
        _stage_a(self, m, c)
        _stage_b(self, m, c)
        _tail(self, m, c)
        pes = _pes(self, m, c)
        _output_unit(self, m, c, const_rd, pes)
        return m


def _control_state(dp, m) -> SimpleNamespace:
    """Generation-time constants and the control registers the parts share."""
    plan = dp.plan
    c = SimpleNamespace(R=plan.reuse, L=plan.add_latency, Lm=plan.mul_latency)
    L = c.L
    c.ASYM = plan.asymmetric              # generation time: a second partial-sum set exists
    c.SETS = 2 if c.ASYM else 1
    c.ACC_FIRST = dp.acc_ready(plan)      # first capture after a row end (set 0)
    c.ACC_LAST = dp.acc_ready(plan, c.ASYM)
    n_rows = max(lp.n_out for lp in plan.layers)

    # This layer keeps separate sums for its +1 and -1 weights.
    asym = Signal()
    if c.ASYM:
        m.d.comb += asym.eq(select([Const(int(lp.asymmetric), 1) for lp in plan.layers], dp.layer))
    c.asym = asym
    # tail cycle -> (set, combining step); set 1's steps follow set 0's by one cycle
    c.slots = {(1 + k * L): (0, k) for k in range(1, L)}
    c.asym_slots = {(2 + k * L): (1, k) for k in range(1, L)} if c.ASYM else {}

    # Locals first: Amaranth names each signal after the variable it is assigned to.
    b_valid, b_sign, b_last, b_null = Signal(), Signal(), Signal(), Signal()
    row = Signal(range(n_rows + 1))
    bank = Signal()
    lanes = [Signal(range(L), name=f"lane{t}") for t in range(c.SETS)]
    counts = [Signal(range(L + 1), name=f"count{t}") for t in range(c.SETS)]  # saturating at L
    tail_active = Signal()
    tail_t = Signal(range(c.ACC_LAST + 1))
    tail_bank = Signal()
    tail_asym = Signal()
    tail_terms = [Signal(range(L + 1), name=f"tail_terms{t}") for t in range(c.SETS)]
    tail_row = Signal.like(row)
    out_left = Signal(range(c.R + 1))     # output-unit issues still to make
    conv_state(c, plan)                   # conv plans: the pixel tags (hw.float_conv)
    vars(c).update(
        b_valid=b_valid, b_sign=b_sign, b_last=b_last, b_null=b_null, row=row, bank=bank,
        lanes=lanes, counts=counts, tail_active=tail_active, tail_t=tail_t, tail_bank=tail_bank,
        tail_asym=tail_asym, tail_terms=tail_terms, tail_row=tail_row, out_left=out_left)
    return c


def _tail_decode(dp, m, c):
    """The tail's cycle decoded one cycle ahead into registers, so that no decoder of
    ``tail_t`` sits in front of the PEs' operand choice or the beat's ``ready``.

    Each register holds, in the cycle where the tail is at ``t``, what the tail's
    position ``t`` means (``reserved_next``: what ``t + 1`` means); it is loaded from
    ``tail_t = t - 1`` (``t - 2``). A tail starts at ``t = 1``, where nothing is decoded
    (the first slot is ``L + 1 >= 3``, the first capture ``L*L + 1 >= 2``), and runs on
    without a gap until its last capture, so the decode ahead never misses a cycle."""
    L = c.L
    c.reserved_next = reserved_next = Signal()  # the next cycle is a reserved combining slot
    reducing, red_set = Signal(), Signal()       # a combining step now, and of which set
    step = Signal(range(L))
    capture, cap_set = Signal(), Signal()        # a capture now (into acc_n if cap_set)
    capturing = Signal()                         # the row's last capture now
    c.tail_end = Mux(c.tail_asym, c.ACC_LAST, c.ACC_FIRST)  # the tail's last capture
    m.d.sync += [reserved_next.eq(0), reducing.eq(0), capture.eq(0),
                 capturing.eq(c.tail_active & (c.tail_t == c.tail_end - 1)),
                 cap_set.eq(c.tail_t == c.ACC_LAST - 1 if c.ASYM else 0)]
    with m.If(c.tail_active):
        m.d.sync += capture.eq((c.tail_t == c.ACC_FIRST - 1) | (c.tail_asym & (c.tail_t == c.ACC_LAST - 1)))
        with m.Switch(c.tail_t):
            for t in c.slots:
                with m.Case(t - 2):
                    m.d.sync += reserved_next.eq(1)
            for t in c.asym_slots:
                with m.Case(t - 2):
                    m.d.sync += reserved_next.eq(c.tail_asym)
        with m.Switch(c.tail_t):
            for t, (set_, k) in {**c.slots, **c.asym_slots}.items():
                with m.Case(t - 1):
                    m.d.sync += [reducing.eq(1 if set_ == 0 else c.tail_asym), red_set.eq(set_),
                                 step.eq(k)]
    vars(c).update(reducing=reducing, red_set=red_set, step=step, cap_set=cap_set, capture=capture,
                   capturing=capturing)


def _stage_a(dp, m, c):
    """Accept a beat unless a reserved slot or a tail conflict is ahead."""
    beat = dp.beat.payload
    tail_busy_next = (c.tail_active & (c.tail_t != c.tail_end)) | (c.b_valid & c.b_last)
    # The next row's first capture (ACC_FIRST after its end) must not overwrite
    # sums the output unit has still to read.
    out_conflict = (c.out_left > c.ACC_FIRST + 2)
    if c.R > c.ACC_FIRST + 1:
        out_conflict = out_conflict | c.capturing
    row_end_blocked = beat.last & (tail_busy_next | out_conflict)
    m.d.comb += dp.beat.ready.eq(~c.reserved_next & ~row_end_blocked)
    accept = dp.beat.valid & dp.beat.ready
    m.d.sync += [c.b_valid.eq(accept), c.b_sign.eq(beat.sign), c.b_last.eq(beat.last),
                 c.b_null.eq(beat.null)]
    if c.CONV:  # the beat's output pixel, beside it
        px = dp.pixel
        mask = [px.mask] if c.GROUP > 1 else []
        m.d.sync += [c.b_tag.eq(Cat(px.out_addr, px.window_first, px.window_last, *mask)),
                     c.b_last_pixel.eq(px.last_pixel)]


def _stage_b(dp, m, c):
    """Terms into the PEs (lane and set of each), row bookkeeping, and the
    writeback tags: which partial each adder result belongs to, L cycles later."""
    L, lanes, counts = c.L, c.lanes, c.counts
    c.issue = issue = c.b_valid & ~c.b_null
    term_set = Signal()               # asymmetric layers: -1 weights go to set 1
    m.d.comb += term_set.eq(c.asym & c.b_sign)
    c.term_set = term_set
    c.lane = select(lanes, term_set) if c.ASYM else lanes[0]
    c.count = select(counts, term_set) if c.ASYM else counts[0]
    with m.If(dp.start):
        m.d.sync += [c.row.eq(0)] + [x.eq(0) for x in lanes + counts]
    with m.Elif(c.b_valid):
        with m.If(c.b_last):
            # conv plans: a row (channel) ends with its last pixel's walk
            m.d.sync += [c.row.eq(c.row + (c.b_last_pixel if c.CONV else 1)),
                         c.bank.eq(~c.bank)] + [x.eq(0) for x in lanes + counts]
        with m.Elif(issue):
            for t in range(c.SETS):
                with m.If(term_set == t):
                    m.d.sync += [lanes[t].eq(Mux(lanes[t] == L - 1, 0, lanes[t] + 1)),
                                 counts[t].eq(Mux(counts[t] == L, L, counts[t] + 1))]
    tags = delay_line(m, Cat(issue, c.bank, term_set, c.lane), L, "tag")
    c.wb_valid, c.wb_bank, c.wb_set, c.wb_lane = split(tags[-1], 1, 1, 1, len(lanes[0]))


def _tail(dp, m, c):
    """Combine the finished row's partials (reserved slots), capture its sum(s)."""
    L, tail_t, tail_terms = c.L, c.tail_t, c.tail_terms
    with m.If(c.tail_active):
        m.d.sync += tail_t.eq(tail_t + 1)
        with m.If(c.capturing):
            m.d.sync += c.tail_active.eq(0)
    with m.If(c.b_valid & c.b_last):
        m.d.sync += [c.tail_active.eq(1), tail_t.eq(1), c.tail_bank.eq(c.bank), c.tail_row.eq(c.row),
                     c.tail_asym.eq(c.asym)]
        if c.CONV:
            m.d.sync += c.tail_tag.eq(c.b_tag)
        for t in range(c.SETS):
            adds_one = c.issue & (c.term_set == t) & (c.counts[t] != L)
            m.d.sync += tail_terms[t].eq(Mux(adds_one, c.counts[t] + 1, c.counts[t]))
    c.red_terms = select(tail_terms, c.red_set) if c.ASYM else tail_terms[0]
    c.cap_terms = select(tail_terms, c.cap_set) if c.ASYM else tail_terms[0]


def _pes(dp, m, c) -> list:
    """R float-accumulate PEs in lockstep: one control word for all, each its
    own image's activation (layer 0: its input, ``x_table[pixel]``)."""
    pes = []
    for i in range(c.R):
        pe = FloatAccumulatePE(lanes=c.L, sets=c.SETS, dsp_shifts=dp.plan.dsp_shifts)
        m.submodules[f"pe{i}"] = pe
        pes.append(pe)
        x0 = dp.inputs[i * 32:(i + 1) * 32]
        m.d.comb += [
            pe.x.eq(Mux(dp.first, x0, dp.acts[i * 32:(i + 1) * 32])),
            pe.ctl.term.eq(c.issue),
            pe.ctl.fresh.eq(c.count != c.L),
            pe.ctl.negate.eq(c.b_sign & ~c.asym),
            pe.ctl.reduce.eq(c.reducing),
            pe.ctl.first.eq(c.step == 1),
            pe.ctl.a_zero.eq(c.red_terms == 0),
            pe.ctl.b_zero.eq(c.red_terms <= c.step),
            pe.ctl.bank.eq(Mux(c.reducing, c.tail_bank, c.bank)),
            pe.ctl.set.eq(Mux(c.reducing, c.red_set, c.term_set)),
            pe.ctl.lane.eq(Mux(c.reducing, c.step, c.lane)),
            pe.ctl.wb.eq(c.wb_valid),
            pe.ctl.wb_bank.eq(c.wb_bank),
            pe.ctl.wb_set.eq(c.wb_set),
            pe.ctl.wb_lane.eq(c.wb_lane),
            pe.ctl.capture.eq(c.capture),
            pe.ctl.cap_bank.eq(c.tail_bank),
            pe.ctl.cap_set.eq(c.cap_set),
            pe.ctl.cap_zero.eq(c.cap_terms == 0),
        ]
    return pes


def _output_unit(dp, m, c, const_rd, pes):
    """``y = fl(fl(s * acc) + b)``, or for asymmetric layers
    ``y = fl(fl(fl(s * acc) - fl(sn * acc_n)) + b)``; one image per cycle,
    ReLU on hidden layers, then the write of that image's slot."""
    R, L, Lm = c.R, c.L, c.Lm
    m.d.comb += const_rd.addr.eq(dp.const_base + c.tail_row)
    scale, bias, out_row = Signal(32), Signal(32), Signal.like(c.row)
    neg_scale, out_asym = Signal(32), Signal()
    if c.CONV:  # the write's pixel tag takes the row's place
        out_row = Signal.like(c.tail_tag, name="out_tag")
    with m.If(c.capturing):
        m.d.sync += [scale.eq(const_rd.data[:32]), bias.eq(const_rd.data[32:64]),
                     out_row.eq(c.tail_tag if c.CONV else c.tail_row), c.out_left.eq(R),
                     out_asym.eq(c.tail_asym)]
        if c.ASYM:
            m.d.sync += neg_scale.eq(const_rd.data[64:96])
    with m.Elif(c.out_left != 0):
        m.d.sync += c.out_left.eq(c.out_left - 1)
    image = Signal(range(R))              # R - out_left while issuing, as a counter
    with m.If(c.capturing):
        m.d.sync += image.eq(0)
    with m.Elif(c.out_left != 0):
        m.d.sync += image.eq(image + 1)
    issuing = c.out_left != 0

    m.submodules.mul = mul = FP32Mul(latency=Lm)
    m.d.comb += [mul.a.eq(select([pe.acc for pe in pes], image)), mul.b.eq(scale),
                 mul.in_valid.eq(issuing)]
    # Side band beside the multiplier (valid, image, row, bias) and each adder
    # (valid, image, row[, bias]): their valid bits also tell whether anything is in flight.
    mul_side = delay_line(m, Cat(issuing, image, out_row, bias), Lm, "mul_side")
    m_valid, m_image, m_row, m_bias = split(mul_side[-1], 1, len(image), len(out_row), 32)
    in_flight = [side[0] for side in mul_side]
    product = mul.result
    if c.ASYM:
        # Second product in parallel; ordinary layers multiply +0.0 by sn = 0,
        # and x + (-(+0.0)) = x exactly (signed zeros included).
        m.submodules.mul_n = mul_n = FP32Mul(latency=Lm)
        m.submodules.sub = sub = FP32Add(latency=L, dsp_shifts=dp.plan.dsp_shifts)
        acc_n = Mux(out_asym, select([pe.acc_n for pe in pes], image), POSITIVE_ZERO)
        m.d.comb += [mul_n.a.eq(acc_n), mul_n.b.eq(neg_scale), mul_n.in_valid.eq(issuing),
                     sub.a.eq(mul.result), sub.b.eq(mul_n.result ^ (1 << 31)),
                     sub.in_valid.eq(m_valid)]
        sub_side = delay_line(m, Cat(m_valid, m_image, m_row, m_bias), L, "sub_side")
        in_flight += [side[0] for side in sub_side]
        m_valid, m_image, m_row, m_bias = split(sub_side[-1], 1, len(image), len(out_row), 32)
        product = sub.result
    m.submodules.add = add = FP32Add(latency=L, dsp_shifts=dp.plan.dsp_shifts)
    m.d.comb += [add.a.eq(product), add.b.eq(m_bias), add.in_valid.eq(m_valid)]
    add_side = delay_line(m, Cat(m_valid, m_image, m_row), L, "add_side")
    in_flight += [side[0] for side in add_side]
    a_valid, a_image, a_row = split(add_side[-1], 1, len(image), len(out_row))

    y = add.result
    relu_y = Mux(y[31], POSITIVE_ZERO, y)
    w_valid, w_addr, act = a_valid, a_row, relu_y
    if c.CONV:  # pooled, written at the window's last pixel
        w_valid, w_addr, act = pooled_write(m, c, a_valid, a_row, relu_y, a_image)
    m.d.comb += [
        dp.write.valid.eq(w_valid),
        dp.write.addr.eq(w_addr),
        dp.write.lanes.eq(1 << a_image),
        dp.write.act.eq(Cat(act for _ in range(R))),
        dp.write.out.eq(Cat(y for _ in range(R))),
        dp.idle.eq(~c.b_valid & ~c.tail_active & ~issuing & ~Cat(in_flight).any()),
    ]
