"""Ternary-weight processing element of the binary engine.

One PE serves one image of the batch. It is parameterised by mode at run time:
``bits_mode = 0`` adds or subtracts an 8-bit pixel (layer 0), ``bits_mode = 1``
counts XNOR matches of an input bit with the weight (XNOR-popcount, the 1-bit
case). See :mod:`hw.plan` for the arithmetic and the folded row constants.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["TernaryPE", "pe_beat_layout"]

#: A decoded weight as the PEs see it, one cycle after the decompressor beat.
pe_beat_layout = data.StructLayout({
    "valid": unsigned(1),  # a beat is present this cycle
    "sign": unsigned(1),   # weight -1
    "last": unsigned(1),   # row ends with this beat
    "null": unsigned(1),   # empty row: no weight
})


class TernaryPE(wiring.Component):
    """Accumulate ``w * x`` over a row's nonzero weights; score the row at its end.

    Parameters
    ----------
    acc_width, const_width, score_width : int
        Signed widths from :class:`hw.plan.EnginePlan` (never overflow).
    input_width : int
        Pixel width (8).

    Ports
    -----
    beat : In(pe_beat_layout)
        Stage B: the weight of this cycle.
    x : In(input_width)
        Stage B: this PE's activation at the weight's address (a bit in ``x[0]``
        in bits mode).
    bits_mode : In(1)
        0: ``acc += +-x``; 1: ``acc += (x[0] XNOR w)``. Constant during a layer.
    k : In(signed(const_width))
        Stage C: the finished row's constant ``K``.
    score : Out(signed(score_width))
        Stage C: ``(row_value << bits_mode) - k``.
    bit : Out(1)
        Stage C: ``score >= 0``.

    Timing: a row's last beat in stage B at cycle t gives ``score``/``bit`` for
    that row during cycle t+1 (valid until the next row end). One beat per cycle.
    """

    def __init__(self, *, acc_width: int, const_width: int, score_width: int, input_width: int = 8):
        self.acc_width = acc_width
        self.score_width = score_width
        super().__init__({
            "beat": In(pe_beat_layout),
            "x": In(input_width),
            "bits_mode": In(1),
            "k": In(signed(const_width)),
            "score": Out(signed(score_width)),
            "bit": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        acc = Signal(signed(self.acc_width))
        row_value = Signal(signed(self.acc_width))
        beat = self.beat

        match = self.x[0] ^ beat.sign  # input bit equals weight bit (1: +1)
        pixel = self.x  # unsigned; -pixel widens to signed
        term = Signal(signed(max(self.acc_width, len(self.x) + 1)))
        with m.If(beat.null):
            m.d.comb += term.eq(0)
        with m.Elif(self.bits_mode):
            m.d.comb += term.eq(match)
        with m.Else():
            m.d.comb += term.eq(Mux(beat.sign, -pixel, pixel))

        total = acc + term
        with m.If(beat.valid):
            with m.If(beat.last):
                m.d.sync += [row_value.eq(total), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)

        shifted = Mux(self.bits_mode, row_value << 1, row_value)
        m.d.comb += [
            self.score.eq(shifted - self.k),
            self.bit.eq(self.score >= 0),
        ]
        return m
