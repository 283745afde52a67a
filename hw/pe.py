"""Ternary-weight processing element of the binary engine.

One PE serves one image of the batch. It is parameterised by mode at run time:
``bits_mode = 0`` adds or subtracts an 8-bit pixel (layer 0), ``bits_mode = 1``
counts XNOR matches of an input bit with the weight (XNOR-popcount, the 1-bit
case). With ``k_width > 0`` (weighted engines) each weight is the row's signed
integer ``c = +kp`` or ``-kn`` instead of +-1: ``acc += c * x`` (pixels) or
``acc += c * x[0]`` (bits), one multiplier per PE. See :mod:`hw.binary_datapath`
for the arithmetic and the folded row constants.
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
        Signed widths from :class:`hw.plan.BinaryPlan` (never overflow).
    input_width : int
        Pixel width (8).
    k_width : int
        0: weights are +-1 (the ports ``kp``, ``kn`` do not exist). Else the
        unsigned width of the row's integer weights ``kp``, ``kn``.

    Ports
    -----
    beat : In(pe_beat_layout)
        Stage B: the weight of this cycle.
    x : In(input_width)
        Stage B: this PE's activation at the weight's address (a bit in ``x[0]``
        in bits mode).
    bits_mode : In(1)
        0: ``acc += +-x``; 1: ``acc += (x[0] XNOR w)``. Constant during a layer.
        Weighted: 0: ``acc += c * x``; 1: ``acc += c * x[0]``.
    kp, kn : In(unsigned(k_width))
        Weighted only, stage B: the row's integer weights of +1 and -1 weights.
    k : In(signed(const_width))
        Stage C: the finished row's constant ``K``.
    score : Out(signed(score_width))
        Stage C: ``(row_value << bits_mode) - k``.
    bit : Out(1)
        Stage C: ``score >= 0``.

    Timing: a row's last beat in stage B at cycle t gives ``score``/``bit`` for
    that row during cycle t+1 (valid until the next row end). One beat per cycle.
    """

    def __init__(self, *, acc_width: int, const_width: int, score_width: int, input_width: int = 8,
                 k_width: int = 0):
        self.acc_width = acc_width
        self.score_width = score_width
        self.k_width = k_width
        ports = {
            "beat": In(pe_beat_layout),
            "x": In(input_width),
            "bits_mode": In(1),
            "k": In(signed(const_width)),
            "score": Out(signed(score_width)),
            "bit": Out(1),
        }
        if k_width:
            ports |= {"kp": In(unsigned(k_width)), "kn": In(unsigned(k_width))}
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        acc = Signal(signed(self.acc_width))
        row_value = Signal(signed(self.acc_width))
        beat = self.beat

        match = self.x[0] ^ beat.sign  # input bit equals weight bit (1: +1)
        pixel = self.x  # unsigned; -pixel widens to signed
        term = Signal(signed(max(self.acc_width, len(self.x) + 1 + (self.k_width + 1 if self.k_width else 0))))
        if self.k_width:
            c = Signal(signed(self.k_width + 1))
            value = Signal(len(self.x))
            m.d.comb += [
                c.eq(Mux(beat.sign, -self.kn, self.kp)),
                value.eq(Mux(self.bits_mode, self.x[0], pixel)),
            ]
        with m.If(beat.null):
            m.d.comb += term.eq(0)
        if self.k_width:
            with m.Else():
                m.d.comb += term.eq(c * value)
        else:
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
