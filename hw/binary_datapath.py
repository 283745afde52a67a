"""The binary engine's datapath: R XNOR-popcount PEs behind one decompressor.

Pipeline per weight (no stalls: ``beat.ready`` is always 1)::

    A: decompressor beat; the engine reads the activation memories at beat.addr
    B: PEs accumulate; row-constant memory read at the beat's row
    C: (row end only) PEs score the row; bits or scores written

so a layer's rows leave stage C three cycles after their last beat.
A weighted engine (:attr:`hw.plan.BinaryPlan.weighted`) also reads the row's
integer weights ``kp | kn`` in stage A, for the PEs' multipliers in stage B.
Ports: :mod:`hw.datapath`; the PE: :mod:`hw.pe`.

Arithmetic (model file: ``sw/model_file.py``; constants folded by :func:`hw.plan.plan_binary`)
----------------------------------------------------------------------------------------
Every layer is walked row by row; the PE accumulates only over the row's
nonzero weights (zero weights cost no cycle):

* layer 0, ``pixels`` mode: ``acc = sum w_i * x_i`` over 8-bit pixels (signed).
* layers >= 1, ``bits`` mode (XNOR-popcount): ``acc = p``, the number of
  nonzero weights whose sign agrees with the input bit (``a_i XNOR w_i``).
  The model's dot product is then ``2p - nnz_row``.

At each row end the output stage forms ``score = (acc << shift) - K_row`` with
``shift = 0`` (pixels) or ``1`` (bits) and a per-row constant ``K``:

* hidden layer: ``K = t`` (pixels) or ``K = t + nnz_row`` (bits), and the
  output bit is ``score >= 0``, i.e. ``acc >= t`` or ``2p - nnz_row >= t``:
  the row's nonzero count is folded into the constant, not ``N``.
* last layer: ``K = 0`` (pixels) or ``K = nnz_row`` (bits), and ``score`` is
  the layer's int32 output.

Weighted engines (a model with ``kp{l}``/``kn{l}``; :attr:`hw.plan.BinaryPlan.weighted`):
each weight carries an integer ``c = +kp_row`` (weight +1) or ``c = -kn_row``
(weight -1), read from a second per-row memory (ordinary layers of such a
model get ``kp = kn = 1``), and every layer uses

* pixels: ``acc = sum c_i * x_i`` (one 8-bit x ``k_width + 1``-bit multiplier
  per PE), ``K = t`` or 0 as above;
* bits: ``acc = sum of c_i over the inputs whose bit is 1``; the model's sum
  ``sum c_i * (2 a_i - 1)`` is ``2 acc - sum c_i``, so ``K = t + sum c_i``
  (hidden) or ``K = sum c_i`` (last), ``sum c_i = kp * n_plus - kn * n_minus``.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import memory, wiring

from .datapath import PIXEL_BITS, datapath_signature
from .errors import refuse
from .pe import TernaryPE, pe_beat_layout
from .plan import BinaryPlan

__all__ = ["BinaryDatapath"]


class BinaryDatapath(wiring.Component):
    """Binary datapath for a :class:`hw.plan.BinaryPlan`; any other plan is a
    programming error (``TypeError``)."""

    #: All R images of a row are written at once (``write.lanes`` is all ones).
    WRITES_ONE_IMAGE_AT_A_TIME = False

    @staticmethod
    def layer_overhead(plan) -> int:
        """Cycles per layer beyond one per RLE word: issuing the command (1), the
        decompressor's read latency (1), and draining stages B and C (3)."""
        return 5

    @staticmethod
    def row_overhead(plan) -> int:
        """Cycles per row beyond its RLE words: none."""
        return 0

    def __init__(self, plan: BinaryPlan, col_addr_width: int):
        if not isinstance(plan, BinaryPlan):
            refuse(self, f"plan: the binary datapath needs a BinaryPlan, got {type(plan).__name__}", TypeError)
        self.plan = plan
        super().__init__(datapath_signature(plan, col_addr_width))

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        R = plan.reuse
        beat = self.beat.payload

        m.submodules.consts = consts = memory.Memory(
            shape=signed(plan.const_width), depth=len(plan.row_consts),
            init=[int(k) for k in plan.row_consts])
        const_rd = consts.read_port()
        if plan.weighted:
            kw = plan.k_width
            m.submodules.row_k = row_k = memory.Memory(
                shape=2 * kw, depth=len(plan.row_k), init=[int(k) for k in plan.row_k])
            k_rd = row_k.read_port()

        # ---- stage A: count rows
        row = Signal(range(max(lp.n_out for lp in plan.layers) + 1))
        m.d.comb += self.beat.ready.eq(1)
        with m.If(self.start):
            m.d.sync += row.eq(0)
        with m.Elif(self.beat.valid & beat.last):
            m.d.sync += row.eq(row + 1)
        if plan.weighted:  # the beat's row: kp | kn arrive with the beat in stage B
            m.d.comb += k_rd.addr.eq(self.const_base + row)

        # ---- stage B: PEs accumulate; row constant read
        b = Signal(pe_beat_layout)
        b_row = Signal.like(row)
        m.d.sync += [
            b.valid.eq(self.beat.valid), b.sign.eq(beat.sign),
            b.last.eq(beat.last), b.null.eq(beat.null), b_row.eq(row),
        ]
        m.d.comb += const_rd.addr.eq(self.const_base + b_row)

        # ---- stage C: score the finished row
        c_valid = Signal()
        c_row = Signal.like(row)
        m.d.sync += [c_valid.eq(b.valid & b.last), c_row.eq(b_row)]

        bits_mode = Signal()  # layers >= 1: XNOR-popcount over input bits
        m.d.comb += bits_mode.eq(~self.first)
        pes = []
        for i in range(R):
            pe = TernaryPE(acc_width=plan.acc_width, const_width=plan.const_width,
                           score_width=plan.score_width, input_width=PIXEL_BITS,
                           k_width=plan.k_width)
            m.submodules[f"pe{i}"] = pe
            pes.append(pe)
            m.d.comb += [
                pe.beat.eq(b),
                pe.bits_mode.eq(bits_mode),
                pe.x.eq(Mux(bits_mode, self.acts[i], self.pixels[i * PIXEL_BITS:(i + 1) * PIXEL_BITS])),
                pe.k.eq(const_rd.data),
            ]
            if plan.weighted:
                m.d.comb += [pe.kp.eq(k_rd.data[:kw]), pe.kn.eq(k_rd.data[kw:])]
        m.d.comb += [
            self.write.valid.eq(c_valid),
            self.write.addr.eq(c_row),
            self.write.lanes.eq(-1),
            self.write.act.eq(Cat(pe.bit for pe in pes)),
            self.write.out.eq(Cat(pe.score for pe in pes)),
            self.idle.eq(~b.valid & ~c_valid),
        ]
        return m
