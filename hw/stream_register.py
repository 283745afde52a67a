"""A stream register (skid buffer): one cycle of latency, full throughput, and no
combinational path from output to input.

Ports
-----
``i``: In(stream of ``shape``)
    Taken when ``i.ready``, which is a register: low only while the skid slot is full.
``o``: Out(stream of ``shape``)
    ``o.valid`` and ``o.payload`` come straight from registers (the main slot).

Behaviour, per cycle: if the main slot is full and not taken, a word taken from ``i``
goes to the skid slot (``i.ready`` is then low in the next cycle); otherwise the main
slot loads the skid slot's word if it has one, else the word taken from ``i``, else
empties. So a word offered at ``i`` with ``o.ready`` high every cycle leaves at ``o``
exactly one cycle later; back-pressure at ``o`` reaches ``i`` one cycle late, the skid
slot holding the one word taken meanwhile. Words leave in order, none lost or repeated.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["StreamRegister"]


class StreamRegister(wiring.Component):
    """A one-deep stream register with a skid slot; the contract is the module docstring's."""

    def __init__(self, shape):
        self._shape = shape
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        skid = Signal(self._shape, name="skid")
        skid_valid = Signal()
        m.d.comb += self.i.ready.eq(~skid_valid)
        take_in = self.i.valid & self.i.ready
        with m.If(self.o.valid & ~self.o.ready):      # main slot held: the new word skids
            with m.If(take_in):
                m.d.sync += [skid.eq(self.i.payload), skid_valid.eq(1)]
        with m.Elif(skid_valid):                      # main slot free: the skid slot moves up
            m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
        with m.Else():
            m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(take_in)]
        return m
