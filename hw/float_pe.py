"""Float-accumulate processing element: ``L`` interleaved binary32 partial sums per row.

Paper 002's type-2 MAC: "an XNOR operation on the sign bit of a floating point
value, followed by a floating point accumulate". The weight's sign flips the
activation's sign bit (exact); the accumulate is an IEEE-754 binary32 addition
in a pipelined :class:`hw.fp32.FP32Add` of latency ``L``.

Why ``L`` partial sums
----------------------
A sum that depends on the previous sum cannot take a new term every cycle
through an ``L``-stage adder. Nonzero weight ``n`` (0-based) of a row goes to
partial sum ``n mod L`` instead, so consecutive terms never wait on each other;
at the row end the partials combine left to right, ``((p0 + p1) + p2) + ...``,
using the same adder. This is exactly :func:`sw.golden.float_accumulate` with
``lanes = L`` (partials start at +0.0; an empty partial is +0.0).

Two banks of ``L`` partials let the next row accumulate while the previous
row's partials are being combined. The partials live in one small memory with one
write port and asynchronous read ports (two; three at ``L = 1``), which synthesis
maps to distributed RAM (LUTRAM) instead of registers and wide multiplexers.

Asymmetric layers (``sets = 2``; model files with ``sn{l}``, see
:mod:`sw.model_file`) keep a second set of partials per bank for the terms of
the -1 weights (added unnegated): the ``set`` field picks the set of a term,
a combining step, a writeback or a capture, and the second set's row sum is
captured into ``acc_n``.

The PE is pure datapath: :class:`hw.float_datapath.FloatDatapath` drives the
``ctl`` port of all R PEs with the same control word every cycle (they work in
lockstep on R images). Control fields (:func:`float_pe_control_layout`):

``term``
    Add the activation ``x`` (sign bit flipped if ``negate``) to partial
    ``(bank, lane)``, or to +0.0 if ``fresh`` (the lane's first term of the row).
``reduce``
    One combining step: ``a + b`` where ``a`` is partial ``(bank, 0)`` (+0.0 if
    ``a_zero``) on the ``first`` step, else the adder's result (the previous
    step's sum, arriving just then), and ``b`` is partial ``(bank, lane)`` (+0.0
    if ``b_zero``). Never in the same cycle as ``term``.
``wb``, ``wb_bank``, ``wb_lane``
    The adder's result this cycle is a term's sum: write it to that partial. A
    read of the same partial in the same cycle sees the new value (bypass).
``capture``, ``cap_bank``, ``cap_zero``
    Latch the row's sum into ``acc`` (``acc_n`` if ``cap_set``): the adder's
    result (the last combining step's) when ``L > 1``; for ``L = 1`` partial
    ``(cap_bank, 0)`` (+0.0 if ``cap_zero``).

Ports: ``ctl`` In(control), ``x`` In(32) the activation at stage B, ``acc`` Out(32)
the last captured row sum (stable until the next capture); with ``sets = 2``
also ``acc_n`` Out(32), the sum over the -1 weights.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .errors import refuse
from .fp32 import FP32Add

__all__ = ["FloatAccumulatePE", "float_pe_control_layout", "POSITIVE_ZERO"]

POSITIVE_ZERO = Const(0, 32)
SIGN_BIT = 1 << 31


class _A(enum.Enum, shape=2):
    """Where the adder's operand ``a`` comes from (one multiplexer level per bit)."""
    ZERO = 0
    RESULT = 1      # the adder's result: a combining chain, or the lane's partial written now
    FIRST = 2       # partial 0 of the bank (the first combining step)
    LANE = 3        # the lane's partial


class _B(enum.Enum, shape=2):
    """Where the adder's operand ``b`` comes from."""
    ZERO = 0
    RESULT = 1      # the lane's partial, written this cycle
    TERM = 2        # the activation, sign flipped for a -1 weight
    LANE = 3        # the lane's partial


def _choose(source, values: dict):
    """``values[source]`` (keys: every member of ``source``'s enum) as one multiplexer."""
    return Array(values[member] for member in sorted(values, key=lambda v: v.value))[source]


def float_pe_control_layout(lanes: int) -> data.StructLayout:
    return data.StructLayout({
        "term": 1, "fresh": 1, "negate": 1,
        "reduce": 1, "first": 1, "a_zero": 1, "b_zero": 1,
        "bank": 1, "set": 1, "lane": range(lanes),
        "wb": 1, "wb_bank": 1, "wb_set": 1, "wb_lane": range(lanes),
        "capture": 1, "cap_bank": 1, "cap_set": 1, "cap_zero": 1,
    })


class FloatAccumulatePE(wiring.Component):
    """One image's float accumulation; ``lanes`` = the adder's latency ``L`` (>= 1);
    ``dsp_shifts``: the adder's (:class:`hw.fp32.FP32Add`)."""

    def __init__(self, lanes: int, sets: int = 1, dsp_shifts: bool = False):
        if lanes < 1:
            refuse(self, f"lanes: must be >= 1 (the adder's latency), got {lanes!r}")
        if sets not in (1, 2):
            refuse(self, f"sets: must be 1 or 2 partial-sum sets, got {sets!r}")
        self.lanes, self.sets, self.dsp_shifts = lanes, sets, dsp_shifts
        members = {"ctl": In(float_pe_control_layout(lanes)), "x": In(32), "acc": Out(32)}
        if sets == 2:
            members["acc_n"] = Out(32)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        L, ctl = self.lanes, self.ctl
        m.submodules.add = add = FP32Add(latency=L, dsp_shifts=self.dsp_shifts)
        one_set = self.sets == 1
        # The partials, one per (bank, set, lane), in one memory with asynchronous reads
        # (distributed RAM): address = Cat(lane, set, bank); with one set the set fields
        # are ignored.
        lane_bits = (L - 1).bit_length()
        m.submodules.partials = partials = Memory(
            shape=32, depth=2 ** (lane_bits + (0 if one_set else 1) + 1), init=[])

        def address(bank, set_, lane):
            lane = Const(lane, lane_bits) if isinstance(lane, int) else lane
            return Cat(lane, bank) if one_set else Cat(lane, set_, bank)

        write = partials.write_port()
        m.d.comb += [write.en.eq(ctl.wb), write.addr.eq(address(ctl.wb_bank, ctl.wb_set, ctl.wb_lane)),
                     write.data.eq(add.result)]

        def stored(bank, set_, lane):
            port = partials.read_port(domain="comb")
            m.d.comb += port.addr.eq(address(bank, set_, lane))
            return port.data

        def same_set(a, b):
            return 1 if one_set else a == b

        def written(bank, set_, lane):
            """The adder's result is being written to this partial this cycle (bypass)."""
            return ctl.wb & (ctl.wb_bank == bank) & same_set(ctl.wb_set, set_) & (ctl.wb_lane == lane)

        def read(bank, set_, lane):
            return Mux(written(bank, set_, lane), add.result, stored(bank, set_, lane))

        # Each adder operand is one 4-way choice per bit, the bypass folded into the choice.
        a_src, b_src = Signal(_A, name="a_src"), Signal(_B, name="b_src")
        lane_hit, first_hit = written(ctl.bank, ctl.set, ctl.lane), written(ctl.bank, ctl.set, 0)
        with m.If(ctl.reduce):
            with m.If(~ctl.first):
                m.d.comb += a_src.eq(_A.RESULT)
            with m.Elif(ctl.a_zero):
                m.d.comb += a_src.eq(_A.ZERO)
            with m.Else():
                m.d.comb += a_src.eq(Mux(first_hit, _A.RESULT, _A.FIRST))
            with m.If(ctl.b_zero):
                m.d.comb += b_src.eq(_B.ZERO)
            with m.Else():
                m.d.comb += b_src.eq(Mux(lane_hit, _B.RESULT, _B.LANE))
        with m.Else():
            with m.If(ctl.fresh):
                m.d.comb += a_src.eq(_A.ZERO)
            with m.Else():
                m.d.comb += a_src.eq(Mux(lane_hit, _A.RESULT, _A.LANE))
            m.d.comb += b_src.eq(_B.TERM)
        lane_partial = stored(ctl.bank, ctl.set, ctl.lane)
        first_partial = stored(ctl.bank, ctl.set, 0)
        term = self.x ^ Mux(ctl.negate, SIGN_BIT, 0)
        m.d.comb += [
            add.in_valid.eq(ctl.term | ctl.reduce),
            add.a.eq(_choose(a_src, {_A.ZERO: POSITIVE_ZERO, _A.RESULT: add.result,
                                     _A.FIRST: first_partial, _A.LANE: lane_partial})),
            add.b.eq(_choose(b_src, {_B.ZERO: POSITIVE_ZERO, _B.RESULT: add.result,
                                     _B.TERM: term, _B.LANE: lane_partial})),
        ]
        if L == 1:
            row_sum = Mux(ctl.cap_zero, POSITIVE_ZERO, read(ctl.cap_bank, ctl.cap_set, 0))
        else:
            row_sum = add.result
        with m.If(ctl.capture):
            if one_set:
                m.d.sync += self.acc.eq(row_sum)
            else:
                with m.If(ctl.cap_set):
                    m.d.sync += self.acc_n.eq(row_sum)
                with m.Else():
                    m.d.sync += self.acc.eq(row_sum)
        return m
