"""Processing element of the binary engine: K nonzero weights per cycle into one accumulator.

One PE serves one image of the batch. Each cycle it takes K lanes, each a
nonzero weight's ``sign`` and this image's input bit ``x`` at the weight's column, sums the lanes' terms in an adder tree and adds
the sum to its accumulator. A term is

* ``x XNOR w`` (1 when the input bit agrees with the weight's sign), in
  ordinary engines: the tree is an XNOR-popcount;
* ``c * x`` with ``c = +kp`` (weight +1) or ``-kn`` (weight -1), the row's
  integer weights, in weighted engines (``k_width > 0``).

A lane without a weight must come with ``x = 0`` and ``sign = 0`` (its term
is then 0; the engine reads such lanes from an all-zero memory region). Rows end with the same beat in every lane; a row may be
walked several times (the first layer, once per pixel bit, most significant
first): at the first beat of each later pass the accumulator doubles first
(Horner's rule). The row's start value replaces the accumulator at the row's
first beat, and a carry bit may be added with the first beat of each pass, so
a hidden row's output bit is simply ``acc >= 0`` (the plan folds thresholds
into the start value and carries: :func:`hw.binary_plan.plan_binary`).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["LanePE", "pe_control_layout", "adder_tree"]

#: What every PE is told about the beat in its accumulate stage (one cycle after its lane inputs).
pe_control_layout = data.StructLayout({
    "valid": unsigned(1),       # a beat is present
    "row_start": unsigned(1),   # the row's first beat: acc = start + sum + carry
    "pass_start": unsigned(1),  # first beat of a later pass: acc = 2 acc + sum + carry
    "carry": unsigned(1),       # added with this beat
})


def adder_tree(m, terms, name: str):
    """The sum of ``terms`` (Amaranth values) as a balanced tree of two-input
    adders; each node is a named ``comb`` signal as wide as its sum needs."""
    level = list(terms)
    depth = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            a, b = level[i], level[i + 1]
            s = Signal(signed(max(len(a), len(b)) + 1) if a.shape().signed or b.shape().signed
                       else unsigned(max(len(a), len(b)) + 1), name=f"{name}_l{depth}_{i // 2}")
            m.d.comb += s.eq(a + b)
            nxt.append(s)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    return level[0]


class LanePE(wiring.Component):
    """Accumulate K lanes' terms per cycle; the accumulator's value is the row's result.

    Parameters
    ----------
    lanes : int
        K.
    acc_width, start_width : int
        Signed widths of the accumulator and of the row start value, from
        :class:`hw.plan.BinaryPlan` (they never overflow).
    k_width : int
        0: weights are +-1 (the ports ``kp``, ``kn`` do not exist). Else the
        unsigned width of the row's integer weights ``kp``, ``kn``.

    Ports
    -----
    x, sign : In(K)
        Stage B: per lane, this image's input bit and the weight's sign (1: -1).
    kp, kn : In(unsigned(k_width))
        Weighted only, stage B: the row's integer weights.
    ctl : In(pe_control_layout)
        Stage C: the beat whose lanes were in stage B one cycle earlier.
    start : In(signed(start_width))
        Stage C: the row's start value (used with ``ctl.row_start``).
    acc : Out(signed(acc_width))
        The accumulator: after a row's last beat in stage C at cycle t, the
        row's value during cycle t+1.
    bit : Out(1)
        ``acc >= 0``.

    One beat per cycle, no stalls; latency from stage B to ``acc``: 2 cycles.
    """

    def __init__(self, *, lanes: int, acc_width: int, start_width: int, k_width: int = 0):
        self.lanes = lanes
        self.acc_width = acc_width
        self.k_width = k_width
        ports = {
            "x": In(lanes),
            "sign": In(lanes),
            "ctl": In(pe_control_layout),
            "start": In(signed(start_width)),
            "acc": Out(signed(acc_width)),
            "bit": Out(1),
        }
        if k_width:
            ports |= {"kp": In(unsigned(k_width)), "kn": In(unsigned(k_width))}
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        terms = []
        for k in range(self.lanes):
            if self.k_width:
                term = Signal(signed(self.k_width + 1), name=f"term{k}")
                m.d.comb += term.eq(Mux(self.x[k], Mux(self.sign[k], -self.kn, self.kp), 0))
            else:
                term = Signal(name=f"term{k}")
                m.d.comb += term.eq(self.x[k] ^ self.sign[k])  # sign 1: weight -1
            terms.append(term)
        total = adder_tree(m, terms, "sum")
        count = Signal.like(total)  # stage C: the beat's sum
        m.d.sync += count.eq(total)

        acc, ctl = self.acc, self.ctl
        base = Mux(ctl.row_start, self.start, Mux(ctl.pass_start, acc << 1, acc))
        with m.If(ctl.valid):
            m.d.sync += acc.eq(base + count + ctl.carry)
        m.d.comb += self.bit.eq(~acc[-1])
        return m
