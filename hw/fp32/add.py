"""IEEE-754 binary32 adder, round to nearest even, pipelined with a configurable latency.

Datapath (one pair of operands enters per cycle; a register may follow any stage, the
first being ``input``, which only passes the operands on)::

    a, b ─► compare ─► unpack ─► align ─► add ─► lzc ─► normalise ─► increment ─► round ─► result
            │          │         │        │      │      │            │             └ specials, pack
            │          │         │        │      │      │            └ round to nearest even
            │          │         │        │      │      └ shift left by min(lzc, exp)
            │          │         │        │      └ leading-zero count, limited to the exponent
            │          │         │        └ 28-bit add or subtract (one carry chain, carry-in)
            │          │         └ shift the smaller significand right by the exponent
            │          │           difference, keeping guard, round and sticky bits
            │          └ order by magnitude so |x| >= |y|, exponent difference
            └ classify, compare the magnitudes

Because ``|x| >= |y|``, the difference of the aligned significands is never negative, so no
result negation or end-around carry is needed, and the result takes x's sign. Three extra
bits (guard, round, sticky) suffice for correct rounding: if the exponents differ by 2 or more,
a subtraction cancels at most one leading bit; if they differ by 0 or 1 no bit is lost in
alignment and the sum is exact before normalisation.

The two shifts are barrel shifters, or with ``dsp_shifts`` multiplications by one-hot powers
of two (one DSP block each) for their fine part and a choice for the rest: the alignment
multiplies y's significand by ``2 ** (15 - diff % 16)`` (``unpack`` decodes it) and picks a
window 0 or 16 places further (or none, from 32 on); the normalisation shifts by 0 or 1 with a
choice and from 2 on multiplies the sum's low 26 bits by ``2 ** (shift % 16)``, moving the
product up 16 more from 16 on.

Special cases are decided in ``compare`` and travel beside the datapath; an exact zero sum is
detected in ``lzc``. Signed zeros follow IEEE 754 round-to-nearest: ``x + (-x) = +0``,
``(-0) + (-0) = -0``. Subnormal inputs and results are handled in full (no flush to zero).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring

from ..errors import refuse

from .common import (
    EXP_BITS, SIG_BITS, Operand, Pipeline, Special, binary_op_signature,
    increment_stage, leading_zeros, pack_stage, shift_right_sticky, unpack,
)


__all__ = ["FP32Add", "ADD_REGISTERS", "ADD_REGISTERS_DSP", "ADD_DEFAULT_LATENCY"]


#: Which stages are followed by a pipeline register, for each supported latency.
#: The output is always registered first; further registers split the heaviest remaining
#: logic: normalise (LZC + min + shifter) and round (31-bit increment + compare) first, then
#: the magnitude compare/swap, then the alignment shifter. From 6 on, the compare and the
#: leading-zero count get registers of their own, from 7 on the operands too (``input``: a
#: PE's operand multiplexers get a cycle of their own), so that no stage of the adder or of
#: the float PE is deeper than 8 LUT levels on xcu (cost.synth reports each latency's depth).
ADD_REGISTERS = {
    0: (),                                               # combinational
    1: ("round",),
    2: ("add", "round"),
    3: ("add", "normalise", "round"),
    4: ("unpack", "add", "normalise", "round"),
    5: ("unpack", "align", "add", "normalise", "round"),
    6: ("compare", "align", "add", "lzc", "normalise", "round"),
    7: ("input", "compare", "align", "add", "lzc", "normalise", "round"),
    8: ("input", "compare", "unpack", "align", "add", "lzc", "normalise", "round"),
}
#: With ``dsp_shifts``, latencies 6 and 7 register the unpack stage instead of the alignment:
#: in front of the alignment's multiplier, as a DSP block's input registers.
ADD_REGISTERS_DSP = {**ADD_REGISTERS,
                     6: ("compare", "unpack", "add", "lzc", "normalise", "round"),
                     7: ("input", "compare", "unpack", "add", "lzc", "normalise", "round")}

ADD_DEFAULT_LATENCY = 3

_EXT = 3                                # guard, round and sticky bits below the significand
_ALIGNED_BITS = SIG_BITS + _EXT         # 27
_SUM_BITS = _ALIGNED_BITS + 1           # 28: room for the carry out of an addition


class Tag(data.Struct):
    """What every stage carries besides the significands."""
    sign: 1             # sign of the larger-magnitude operand, and of a nonzero result
    zero_sign: 1        # sign of an exactly zero sum: negative only for (-a) + (-b)
    special: Special
    exp: EXP_BITS       # effective exponent of the larger operand


class Ordered(data.Struct):
    tag: Tag
    sub: 1              # effective subtraction: the operand signs differ
    diff: EXP_BITS      # exponent difference, x.exp - y.exp >= 0
    scale: 16           # 2 ** (15 - diff % 16), one-hot: the DSP alignment's fine shift
    x_sig: SIG_BITS     # significand of the larger-magnitude operand
    y_sig: SIG_BITS     # significand of the smaller one


class Aligned(data.Struct):
    tag: Tag
    sub: 1
    x_sig: SIG_BITS
    y_sig: _ALIGNED_BITS    # y shifted to x's exponent: 24 bits, guard, round, sticky


class Summed(data.Struct):
    tag: Tag
    sum: _SUM_BITS          # carry, 24 bits, guard, round, sticky; x's hidden bit is bit 26


class Normalised(data.Struct):
    sign: 1
    special: Special
    exp: EXP_BITS + 1       # effective exponent of sig's top bit: 1..255
    sig: _SUM_BITS          # 24 bits, guard, 3 sticky bits; top bit clear only if exp == 1


class Compared(data.Struct):
    a: Operand
    b: Operand
    swap: 1             # |b| > |a|: b is the larger-magnitude operand
    special: Special    # NAN, INF or NONE (a zero sum is found in ``lzc``)


def compare_stage(m: Module, a_bits, b_bits) -> Compared:
    """Compare the magnitudes and classify the special cases."""
    a = unpack(m, a_bits, "a")
    b = unpack(m, b_bits, "b")
    o = Signal(Compared, name="compared")
    # binary32 magnitudes order like the unsigned integers formed by bits 30..0.
    m.d.comb += [o.a.eq(a), o.b.eq(b), o.swap.eq(b_bits[:31] > a_bits[:31])]
    # An infinity is always x (the larger magnitude), so x's sign is the infinity's sign.
    with m.If(a.is_nan | b.is_nan | (a.is_inf & b.is_inf & (a.sign ^ b.sign))):
        m.d.comb += o.special.eq(Special.NAN)
    with m.Elif(a.is_inf | b.is_inf):
        m.d.comb += o.special.eq(Special.INF)
    with m.Else():
        m.d.comb += o.special.eq(Special.NONE)
    return o


def unpack_stage(m: Module, c: Compared) -> Ordered:
    """Order the operands by magnitude (``|x| >= |y|``); the exponent difference and the
    DSP alignment's fine shift, ``scale = 2 ** (15 - diff % 16)`` (unused by LUT shifts)."""
    x = Signal(Operand, name="x")
    y = Signal(Operand, name="y")
    m.d.comb += [x.eq(Mux(c.swap, c.b, c.a)), y.eq(Mux(c.swap, c.a, c.b))]
    o = Signal(Ordered, name="ordered")
    diff = Signal(EXP_BITS, name="diff")
    m.d.comb += diff.eq(x.exp - y.exp)
    m.d.comb += [
        o.tag.sign.eq(x.sign),
        o.tag.zero_sign.eq(c.a.sign & c.b.sign),
        o.tag.special.eq(c.special),
        o.tag.exp.eq(x.exp),
        o.sub.eq(c.a.sign ^ c.b.sign),
        o.diff.eq(diff),
        o.scale.eq(Const(1 << 15, 16) >> diff[:4]),
        o.x_sig.eq(x.sig),
        o.y_sig.eq(y.sig),
    ]
    return o


def align_stage(m: Module, s: Ordered, dsp: bool) -> Aligned:
    """Shift y's significand right by the exponent difference; shifted-out bits become sticky.

    With ``dsp``, the fine part of the shift (0..15) is a multiplication by ``s.scale``
    (a DSP block): ``p = y * scale`` is y shifted right by ``diff % 16`` with 15 fraction
    bits kept. The coarse part picks a 27-bit window of ``p``: shifted by 0 or 16 more, or
    nothing left (a difference of 32 or more); every bit below the window joins the sticky
    bit. Without, a barrel shifter does it all.
    """
    shifted = Signal(_ALIGNED_BITS, name="align_shifted")
    if dsp:
        p = Signal(SIG_BITS + 15, name="align_product")
        m.d.comb += p.eq(s.y_sig * s.scale)
        low = p[:15 - _EXT].any()                       # below the window at coarse 0
        mid = p[15 - _EXT:31 - _EXT].any()              # further bits lost at coarse 1
        with m.Switch(s.diff[4:]):
            with m.Case(0):
                m.d.comb += shifted.eq(Cat(p[15 - _EXT] | low, p[16 - _EXT:]))
            with m.Case(1):
                m.d.comb += shifted.eq(Cat(p[31 - _EXT] | low | mid, p[32 - _EXT:]))
            with m.Default():
                m.d.comb += shifted.eq(s.y_sig.any())
    else:
        m.d.comb += shifted.eq(shift_right_sticky(Cat(Const(0, _EXT), s.y_sig), s.diff))
    o = Signal(Aligned, name="aligned")
    m.d.comb += [
        o.tag.eq(s.tag),
        o.sub.eq(s.sub),
        o.x_sig.eq(s.x_sig),
        o.y_sig.eq(shifted),
    ]
    return o


def add_stage(m: Module, s: Aligned) -> Summed:
    """Add or subtract the aligned significands.

    Written as ``x + (y ^ sub...) + sub`` so that synthesis builds a single carry chain with
    a carry-in rather than an adder, a subtractor and a mux. Since ``x >= y`` the 28-bit
    difference is the true (non-negative) difference.
    """
    x = Cat(Const(0, _EXT), s.x_sig, Const(0, 1))
    y = Cat(s.y_sig, Const(0, 1))
    o = Signal(Summed, name="summed")
    m.d.comb += [
        o.tag.eq(s.tag),
        o.sum.eq(x + (y ^ s.sub.replicate(_SUM_BITS)) + s.sub),
    ]
    return o


class Counted(data.Struct):
    tag: Tag
    sum: _SUM_BITS
    shift: 5            # min(leading zeros of ``sum``, exp): the normalising left shift
    zero: 1             # ``sum`` is zero


def lzc_stage(m: Module, s: Summed) -> Counted:
    """Count the sum's leading zeros; the normalising shift stops at exponent 1.

    The sum's top bit (the carry position) has effective exponent ``exp + 1``. Shifting left by
    ``min(lzc, exp)`` either puts the leading one on top (normal result) or stops at exponent 1
    with the top bit clear (subnormal result). An addition carry is the ``lzc == 0`` case, so
    there is no separate right-shift path.
    """
    lzc = leading_zeros(m, s.sum)
    o = Signal(Counted, name="counted")
    m.d.comb += [
        o.tag.eq(s.tag),
        o.sum.eq(s.sum),
        o.shift.eq(Mux(lzc > s.tag.exp, s.tag.exp, lzc)),
        o.zero.eq(lzc == _SUM_BITS),
    ]
    return o


def normalise_stage(m: Module, s: Counted, dsp: bool) -> Normalised:
    """Shift the sum left by ``s.shift``; a zero sum becomes a signed zero.

    With ``dsp``: shifts of 0 and 1 are a choice. From 2 on, the sum's top two bits are
    zero (the shift never exceeds its leading zeros), so its low 26 bits times
    ``2 ** (shift % 16)`` (a DSP block), moved up 16 more for shifts from 16 on, give the
    shifted sum. Without, a barrel shifter.
    """
    if dsp:
        scale = Signal(16, name="normalise_scale")
        product = Signal(_SUM_BITS - 2 + 16, name="normalise_product")
        m.d.comb += [scale.eq(Const(1, 16) << s.shift[:4]), product.eq(s.sum[:_SUM_BITS - 2] * scale)]
        small = Mux(s.shift[0], s.sum << 1, s.sum)
        large = Mux(s.shift[4], product << 16, product)
        shifted = Mux(s.shift[1:].any(), large[:_SUM_BITS], small[:_SUM_BITS])
    else:
        shifted = s.sum << s.shift
    o = Signal(Normalised, name="normalised")
    m.d.comb += [
        o.sign.eq(s.tag.sign),
        o.exp.eq(s.tag.exp + 1 - s.shift),
        o.sig.eq(shifted),
    ]
    with m.If((s.tag.special == Special.NONE) & s.zero):
        m.d.comb += [o.special.eq(Special.ZERO), o.sign.eq(s.tag.zero_sign)]
    with m.Else():
        m.d.comb += o.special.eq(s.tag.special)
    return o


class FP32Add(wiring.Component):
    """Pipelined IEEE-754 binary32 adder: ``result = fl(a + b)``, round to nearest even.

    Ports (clock and reset come from the ``sync`` domain)
        ``a``, ``b``: In(32)       operands, binary32 bit patterns
        ``in_valid``: In(1)        qualifies ``a`` and ``b``
        ``result``: Out(32)        ``fl(a + b)``, for the operands given ``latency`` cycles earlier
        ``out_valid``: Out(1)      ``in_valid`` delayed by ``latency`` cycles (reset to 0)

    Throughput is one addition per cycle, with no stall input: the datapath registers load
    every cycle whatever ``in_valid`` is, and ``result`` is only meaningful with ``out_valid``.
    Latency ``L`` in 0..8 places registers after the stages listed in :data:`ADD_REGISTERS`
    (:data:`ADD_REGISTERS_DSP` with ``dsp_shifts``);
    for ``L >= 1`` the result comes straight from a register. ``L = 0`` is combinational.
    ``dsp_shifts`` makes the alignment and normalisation shifts multiplications by powers
    of two, one DSP block each on parts whose multipliers take a 24 x 16 product (Xilinx
    DSP48E2); the default (False) builds them as barrel shifters in LUTs. Both give the same
    results. (Which costs less depends on the part and the cost model: the README's roofline
    table has both, the ``_dsp`` rows being the DSP shifts.)

    Results match IEEE 754 (and numpy float32) bit for bit, subnormals included, with every
    NaN result being the quiet NaN ``0x7FC00000``.
    """

    def __init__(self, latency: int = ADD_DEFAULT_LATENCY, dsp_shifts: bool = False):
        if type(latency) is not int or latency not in ADD_REGISTERS:
            refuse(self, f"latency: must be in {min(ADD_REGISTERS)}..{max(ADD_REGISTERS)}, got {latency!r}")
        if type(dsp_shifts) is not bool:
            refuse(self, f"dsp_shifts: must be True or False, got {dsp_shifts!r}")
        self.latency, self.dsp_shifts = latency, dsp_shifts
        super().__init__(binary_op_signature())

    def elaborate(self, platform):
        m = Module()
        registers = ADD_REGISTERS_DSP if self.dsp_shifts else ADD_REGISTERS
        pipe = Pipeline(m, registers[self.latency], self.in_valid)
        operands = pipe.stage("input", Cat(self.a, self.b))
        s = pipe.stage("compare", compare_stage(m, operands[:32], operands[32:]))
        s = pipe.stage("unpack", unpack_stage(m, s))
        s = pipe.stage("align", align_stage(m, s, self.dsp_shifts))
        s = pipe.stage("add", add_stage(m, s))
        s = pipe.stage("lzc", lzc_stage(m, s))
        s = pipe.stage("normalise", normalise_stage(m, s, self.dsp_shifts))
        s = pipe.stage("increment", increment_stage(m, s))
        s = pipe.stage("round", pack_stage(m, s))
        pipe.check(self.latency)
        m.d.comb += [self.result.eq(s), self.out_valid.eq(pipe.valid)]
        return m
