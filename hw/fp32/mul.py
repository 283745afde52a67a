"""IEEE-754 binary32 multiplier, round to nearest even, pipelined with a configurable latency.

Datapath (one pair of operands enters per cycle; a register may follow any stage, the
first being ``input``, which only passes the operands on)::

    a, b ─► classify ─► unpack ─► multiply ─► window ─► normalise ─► increment ─► round ─► result
            │           │         │           │         │            │             └ specials, pack
            │           │         │           │         │            └ round to nearest even
            │           │         │           │         └ below the normal range shift right
            │           │         │           │           to exponent 1 (sticky)
            │           │         │           └ pick the 26-bit window under the leading one;
            │           │         │             the right shift of a result below 2**-126
            │           │         └ 24 x 24 -> 48-bit significand product (DSP blocks)
            │           └ normalise a subnormal operand (shift left), exponent sum
            └ classify; pick the operand to normalise, count its leading zeros

Only one operand needs normalising: if both are subnormal (or zero) the exact product is
below 2**-252 and must round to zero, which the right-shift in ``normalise`` does anyway
(everything ends up in the sticky bit). So ``unpack`` routes a subnormal operand, if there
is one, through a single 24-bit normaliser; after that the product of the significands is
in ``[2**46, 2**48)`` whenever the result can be nonzero, and ``normalise`` only chooses
between two windows and, for tiny results, shifts right.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring

from ..errors import refuse

from .common import (
    BIAS, SIG_BITS, Operand, Pipeline, Special, binary_op_signature,
    increment_stage, leading_zeros, pack_stage, shift_right_sticky, unpack,
)


__all__ = ["FP32Mul", "MUL_REGISTERS", "MUL_DEFAULT_LATENCY"]


#: Which stages are followed by a pipeline register, for each supported latency. After the
#: output register, the product register comes next (DSP output register), then the operand
#: register in front of the multiplier (DSP input registers), then the one before rounding.
#: At 7 the operands are registered too (``input``: a multiplexer in front of the unit gets
#: a cycle of its own, as the adder's at 7 and 8), so that with the two windows' shifts
#: decided in ``window`` no stage is deeper than 8 LUT levels on xcu.
MUL_REGISTERS = {
    0: (),                                               # combinational
    1: ("round",),
    2: ("multiply", "round"),
    3: ("unpack", "multiply", "round"),
    4: ("unpack", "multiply", "normalise", "round"),
    5: ("classify", "unpack", "multiply", "normalise", "round"),
    6: ("classify", "unpack", "multiply", "window", "normalise", "round"),
    7: ("input", "classify", "unpack", "multiply", "window", "normalise", "round"),
}

MUL_DEFAULT_LATENCY = 3

_EXP = signed(10)            # exponents reach -149 .. 382 between unpack and round
_WINDOW_BITS = SIG_BITS + 2  # 24 bits, guard, sticky


class Unpacked(data.Struct):
    sign: 1
    special: Special
    exp: _EXP               # effective exponent of bit 46 of the significand product
    a_sig: SIG_BITS         # normalised unless both operands are subnormal
    b_sig: SIG_BITS


class Product(data.Struct):
    sign: 1
    special: Special
    exp: _EXP
    product: 2 * SIG_BITS


class Normalised(data.Struct):
    sign: 1
    special: Special
    exp: _EXP               # effective exponent of sig's top bit, >= 1
    sig: _WINDOW_BITS       # top bit clear only if exp == 1


class Classified(data.Struct):
    sign: 1
    special: Special
    n: Operand              # the operand to normalise (see :func:`classify_stage`)
    k: Operand              # the other one
    lzc: 5                  # leading zeros of n's significand


def classify_stage(m: Module, a_bits, b_bits) -> Classified:
    """Classify both operands; pick the one to normalise and count its leading zeros."""
    a = unpack(m, a_bits, "a")
    b = unpack(m, b_bits, "b")

    # n is the operand that gets normalised: b if it is subnormal or zero, else a (which is
    # then either normal already, or the only subnormal operand). k is the other one.
    swap = ~b.sig[-1]
    n = Signal(Operand, name="n")
    k = Signal(Operand, name="k")
    m.d.comb += [n.eq(Mux(swap, b, a)), k.eq(Mux(swap, a, b))]

    o = Signal(Classified, name="classified")
    # Both counts in parallel, then the choice: the count does not wait for ``swap``.
    m.d.comb += [o.sign.eq(a.sign ^ b.sign), o.n.eq(n), o.k.eq(k),
                 o.lzc.eq(Mux(swap, leading_zeros(m, b.sig, "lzc_b"), leading_zeros(m, a.sig, "lzc_a")))]
    with m.If(a.is_nan | b.is_nan | (a.is_inf & b.is_zero) | (a.is_zero & b.is_inf)):
        m.d.comb += o.special.eq(Special.NAN)
    with m.Elif(a.is_inf | b.is_inf):
        m.d.comb += o.special.eq(Special.INF)
    with m.Elif(a.is_zero | b.is_zero):
        m.d.comb += o.special.eq(Special.ZERO)
    with m.Else():
        m.d.comb += o.special.eq(Special.NONE)
    return o


def unpack_stage(m: Module, c: Classified) -> Unpacked:
    """Normalise n's significand (shift out its leading zeros); add the exponents."""
    o = Signal(Unpacked, name="unpacked")
    m.d.comb += [
        o.sign.eq(c.sign),
        o.special.eq(c.special),
        o.exp.eq(c.n.exp - c.lzc + c.k.exp - BIAS),
        o.a_sig.eq(c.n.sig << c.lzc),
        o.b_sig.eq(c.k.sig),
    ]
    return o


def multiply_stage(m: Module, s: Unpacked) -> Product:
    """The 24 x 24 significand product; nothing else, so that it maps onto DSP blocks."""
    o = Signal(Product, name="product")
    m.d.comb += [
        o.sign.eq(s.sign),
        o.special.eq(s.special),
        o.exp.eq(s.exp),
        o.product.eq(s.a_sig * s.b_sig),
    ]
    return o


class Windowed(data.Struct):
    sign: 1
    special: Special
    exp: _EXP               # effective exponent of window's top bit
    window: _WINDOW_BITS    # the 24 bits under the product's leading one, guard, sticky
    tiny: 1                 # exp < 1: the result is below the normal range
    shift: _EXP.width       # 1 - exp if tiny, else 0: the right shift in ``normalise``


def window_stage(m: Module, s: Product) -> Windowed:
    """Select the window under the product's leading one; decide the right shift of a
    result below the normal range (for both windows in parallel with finding the top)."""
    p = s.product
    top = p[-1]                     # product in [2, 4): one more integer bit
    o = Signal(Windowed, name="windowed")
    m.d.comb += [
        o.sign.eq(s.sign),
        o.special.eq(s.special),
        o.exp.eq(s.exp + top),
        o.window.eq(Mux(top, Cat(p[:23].any(), p[23:48]), Cat(p[:22].any(), p[22:47]))),
        # exp + top < 1, and 1 - (exp + top), as a choice between the two values of top
        o.tiny.eq(Mux(top, s.exp < 0, s.exp < 1)),
        o.shift.eq(Mux(top, Mux(s.exp < 0, -s.exp, 0), Mux(s.exp < 1, 1 - s.exp, 0))),
    ]
    return o


def normalise_stage(m: Module, s: Windowed) -> Normalised:
    """Below exponent 1 the result is subnormal (or rounds to zero, or up to the smallest
    normal): shift right by ``1 - exp``, the shifted-out bits joining the sticky bit."""
    o = Signal(Normalised, name="normalised")
    m.d.comb += [
        o.sign.eq(s.sign),
        o.special.eq(s.special),
        o.exp.eq(Mux(s.tiny, 1, s.exp)),
        o.sig.eq(shift_right_sticky(s.window, s.shift)),
    ]
    return o


class FP32Mul(wiring.Component):
    """Pipelined IEEE-754 binary32 multiplier: ``result = fl(a * b)``, round to nearest even.

    Ports (clock and reset come from the ``sync`` domain)
        ``a``, ``b``: In(32)       operands, binary32 bit patterns
        ``in_valid``: In(1)        qualifies ``a`` and ``b``
        ``result``: Out(32)        ``fl(a * b)``, for the operands given ``latency`` cycles earlier
        ``out_valid``: Out(1)      ``in_valid`` delayed by ``latency`` cycles (reset to 0)

    Throughput is one multiplication per cycle, with no stall input. Latency ``L`` in 0..7
    places registers after the stages listed in :data:`MUL_REGISTERS`; for ``L >= 1`` the
    result comes straight from a register, for ``L >= 2`` the significand product is
    registered, for ``L >= 3`` so are the multiplier's operands. ``L = 0`` is combinational.

    Results match IEEE 754 (and numpy float32) bit for bit, subnormals included, with every
    NaN result being the quiet NaN ``0x7FC00000``; ``0 * inf`` is NaN.
    """

    def __init__(self, latency: int = MUL_DEFAULT_LATENCY):
        if type(latency) is not int or latency not in MUL_REGISTERS:
            refuse(self, f"latency: must be in {min(MUL_REGISTERS)}..{max(MUL_REGISTERS)}, got {latency!r}")
        self.latency = latency
        super().__init__(binary_op_signature())

    def elaborate(self, platform):
        m = Module()
        pipe = Pipeline(m, MUL_REGISTERS[self.latency], self.in_valid)
        operands = pipe.stage("input", Cat(self.a, self.b))
        s = pipe.stage("classify", classify_stage(m, operands[:32], operands[32:]))
        s = pipe.stage("unpack", unpack_stage(m, s))
        s = pipe.stage("multiply", multiply_stage(m, s))
        s = pipe.stage("window", window_stage(m, s))
        s = pipe.stage("normalise", normalise_stage(m, s))
        s = pipe.stage("increment", increment_stage(m, s))
        s = pipe.stage("round", pack_stage(m, s))
        pipe.check(self.latency)
        m.d.comb += [self.result.eq(s), self.out_valid.eq(pipe.valid)]
        return m
