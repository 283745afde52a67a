"""The smallest clocked block the tool-flow tests (yosys, nextpnr) synthesise."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out


class Counter(wiring.Component):
    """An 8-bit counter: one adder, eight flip-flops, one clock."""

    count: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m
