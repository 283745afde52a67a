"""Building blocks shared by the binary32 adder and multiplier.

Everything here but :class:`Pipeline` builds combinational logic and returns it; the units in :mod:`.add` and
:mod:`.mul` string these pieces into stages and let :class:`Pipeline` put registers between
them.

Conventions used throughout
---------------------------

* A *significand* (``sig``) always carries its hidden bit explicitly: ``1.f`` for normal
  numbers, ``0.f`` for subnormals and zeros.
* An *effective exponent* (``exp``) is the biased exponent of the significand's hidden-bit
  position, with subnormals given exponent 1 (not 0), so that
  ``value == sig * 2**(exp - BIAS - FRAC_BITS)`` holds for every finite operand.
* Results leave the datapath as ``(sign, special, exp, sig)``, where ``sig`` has the 24
  significand bits on top followed by a guard bit and at least one sticky bit; see
  :func:`round_stage`.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for, ceil_log2


__all__ = [
    "FRAC_BITS", "SIG_BITS", "EXP_BITS", "BIAS", "INF_MAG", "QNAN",
    "Special", "Operand", "binary_op_signature",
    "unpack", "leading_zeros", "shift_right_sticky", "round_pack", "Rounded", "increment_stage",
    "pack_stage", "round_stage",
    "Pipeline",
]


FRAC_BITS = 23                      #: stored fraction bits
SIG_BITS = FRAC_BITS + 1            #: significand bits, hidden bit included
EXP_BITS = 8                        #: stored exponent bits
BIAS = 127
INF_MAG = 0x7F80_0000               #: magnitude (bits 30..0) of infinity
QNAN = 0x7FC0_0000                  #: the canonical quiet NaN every NaN result becomes


class Special(enum.Enum, shape=2):
    """Result class decided outside the rounding datapath."""
    NONE = 0    #: finite, nonzero: the datapath's rounded result (may still overflow)
    ZERO = 1    #: a zero of the carried sign
    INF = 2     #: an infinity of the carried sign
    NAN = 3     #: the canonical quiet NaN


class Operand(data.Struct):
    """An unpacked binary32 operand."""
    sign: 1
    exp: EXP_BITS       # effective exponent: 1..254 for finite operands, 255 for inf/NaN
    sig: SIG_BITS       # significand with explicit hidden bit
    is_zero: 1
    is_inf: 1
    is_nan: 1


def binary_op_signature():
    """Ports of a two-operand binary32 unit: ``a``, ``b``, ``in_valid`` -> ``result``, ``out_valid``."""
    return wiring.Signature({
        "a":         In(32),
        "b":         In(32),
        "in_valid":  In(1),
        "result":    Out(32),
        "out_valid": Out(1),
    })


def unpack(m: Module, bits: Value, name: str) -> Operand:
    """Split a binary32 word into sign, effective exponent and significand, and classify it."""
    exp, frac = bits[FRAC_BITS:31], bits[:FRAC_BITS]
    normal = exp != 0
    exp_max = exp == (1 << EXP_BITS) - 1
    frac_zero = Signal(name=f"{name}_frac_zero")
    op = Signal(Operand, name=name)
    m.d.comb += [
        frac_zero.eq(frac == 0),
        op.sign.eq(bits[31]),
        op.exp.eq(Mux(normal, exp, 1)),
        op.sig.eq(Cat(frac, normal)),
        op.is_zero.eq(~normal & frac_zero),
        op.is_inf.eq(exp_max & frac_zero),
        op.is_nan.eq(exp_max & ~frac_zero),
    ]
    return op


def leading_zeros(m: Module, value: Value, name: str = "lzc") -> Value:
    """Number of leading (most significant) zero bits of ``value``; ``len(value)`` if it is zero.

    Combinational, ``bits_for(len(value))`` bits wide. A log-depth tree: each node merges two
    halves as ``(hi_zero, hi_zero ? lo_count : hi_count)`` with ``hi_zero`` becoming the new top
    count bit, one 2:1 mux level per tree level. The input is padded at the bottom with ones up
    to a power of two (at least one pad bit), which caps the count at ``len(value)`` and removes
    the need for an all-zero flag at the root.

    Every node's two outputs are signals driven in ``m.d.comb`` (named ``<name>_<lsb>_<width>``),
    so each is emitted once in the netlist however often its parents read it (no copy of a
    node's all-zero flag per reader in the generated Verilog).
    """
    width = len(value)
    padded = 1 << ceil_log2(width + 1)
    bits = Cat(Const((1 << (padded - width)) - 1, padded - width), value)

    def node(v, lsb):
        # Returns (all zero, leading zero count) of a power-of-two-wide slice.
        zero = Signal(name=f"{name}_{lsb}_{len(v)}_zero")
        count = Signal(ceil_log2(len(v)), name=f"{name}_{lsb}_{len(v)}_count")
        if len(v) == 2:
            m.d.comb += [zero.eq(~v[1] & ~v[0]), count.eq(~v[1])]
            return zero, count
        half = len(v) // 2
        lo_zero, lo_count = node(v[:half], lsb)
        hi_zero, hi_count = node(v[half:], lsb + half)
        m.d.comb += [zero.eq(hi_zero & lo_zero),
                     count.eq(Cat(Mux(hi_zero, lo_count, hi_count), hi_zero))]
        return zero, count

    _, count = node(bits, 0)
    return count[:bits_for(width)]


def shift_right_sticky(value: Value, amount: Value) -> Value:
    """``value >> amount`` with every bit shifted out ORed into bit 0 (the sticky bit).

    ``amount`` is unsigned and may exceed ``len(value)``. The barrel shifter uses only the
    ``bits_for(len(value))`` low bits of ``amount``; beside it, ``amount >= len(value)``
    (everything shifted out) is decided on the whole of ``amount``, and the sticky bit is the
    OR of ``value`` under a thermometer mask decoded from the low bits, so that the three
    run in parallel and meet only in the final merge.
    """
    width = len(value)
    low = amount[:bits_for(width)]
    out = amount >= width
    shifted = value >> low
    lost_mask = ~(Const((1 << width) - 1, width) << low)
    lost = (value & lost_mask[:width]).any()
    return Mux(out, 0, shifted) | (lost | (out & value.any()))


def round_pack(sig: Value, exp: Value):
    """Round to nearest even and pack magnitude bits 30..0.

    ``sig`` holds the 24 significand bits on top, then a guard bit, then one or more sticky bits.
    ``exp`` is the effective exponent of ``sig``'s top bit, at least 1; the top (hidden) bit must
    be set unless ``exp == 1`` (subnormal). Returns ``(magnitude, overflow)``.

    The exponent field is ``exp``, or 0 for a subnormal (hidden bit clear), placed above the
    23 fraction bits; then the rounding increment is added to the whole word. A carry out of
    the fraction bumps the exponent, which is exactly right: into the next binade, from the
    largest subnormal to the smallest normal, from the largest finite number to infinity. One
    incrementer does rounding, renormalisation and packing. Exponents of 255 and more (before
    or after rounding) are reported as ``overflow``.
    """
    low = len(sig) - SIG_BITS
    if low < 2:
        raise ValueError(f"sig: needs a guard and a sticky bit below the {SIG_BITS} significand bits, "
                         f"got {len(sig)} bits")
    kept, guard, sticky = sig[low:], sig[low - 1], sig[:low - 1].any()
    round_up = guard & (sticky | kept[0])
    hidden = kept[-1]
    packed = Cat(kept[:FRAC_BITS], Mux(hidden, exp, 0)) + round_up
    overflow = packed >= INF_MAG
    return packed[:31], overflow


class Rounded(data.Struct):
    """A result rounded and packed, before the special cases are merged in."""
    sign: 1
    special: Special
    magnitude: 31       # bits 30..0 of a finite result
    overflow: 1         # the finite result rounded to infinity or beyond


def increment_stage(m: Module, n) -> Rounded:
    """Round ``n.sig`` at ``n.exp`` (:func:`round_pack`); sign and special class ride along.

    ``n`` is a view with fields ``sign``, ``special`` (:class:`Special`), ``exp`` and ``sig``
    (as :func:`round_pack` expects them).
    """
    magnitude, overflow = round_pack(n.sig, n.exp)
    o = Signal(Rounded, name="rounded")
    m.d.comb += [o.sign.eq(n.sign), o.special.eq(n.special), o.magnitude.eq(magnitude),
                 o.overflow.eq(overflow)]
    return o


def pack_stage(m: Module, r: Rounded) -> Value:
    """Merge the special cases into a binary32 word. Overflow of a finite result gives
    infinity (round to nearest never saturates to the largest finite number)."""
    result = Signal(32, name="result_comb")
    with m.Switch(r.special):
        with m.Case(Special.NAN):
            m.d.comb += result.eq(QNAN)
        with m.Case(Special.INF):
            m.d.comb += result.eq(Cat(Const(INF_MAG, 31), r.sign))
        with m.Case(Special.ZERO):
            m.d.comb += result.eq(Cat(Const(0, 31), r.sign))
        with m.Default():
            m.d.comb += result.eq(Cat(Mux(r.overflow, INF_MAG, r.magnitude), r.sign))
    return result


def round_stage(m: Module, n) -> Value:
    """:func:`increment_stage` then :func:`pack_stage`, with no register between them."""
    return pack_stage(m, increment_stage(m, n))


class Pipeline:
    """Puts registers at the named stage boundaries of a chain of combinational stages.

    ``stage(name, value)`` is called with the output of each stage, in order. If ``name`` is
    one of ``registered`` it returns a register (named ``<name>_q``, no reset) loaded from
    ``value`` every cycle, and delays :attr:`valid` by one cycle alongside; otherwise it returns
    ``value`` unchanged. :attr:`valid` starts as the unit's ``in_valid``; after the last stage it
    is the unit's ``out_valid``, and :attr:`latency` counts the registers placed.

    Only the valid chain is reset: the data registers are free-running, which keeps reset off
    the wide datapath (no reset fan-out, no mux in front of each flop).
    """

    def __init__(self, m: Module, registered, valid: Value):
        self._m = m
        self._registered = set(registered)
        self._seen = set()
        self.valid = valid
        self.latency = 0

    def stage(self, name: str, value):
        if name in self._seen:
            raise ValueError(f"stage: {name!r} used twice")
        self._seen.add(name)
        if name not in self._registered:
            return value
        reg = Signal(value.shape(), name=f"{name}_q", reset_less=True)
        valid = Signal(name=f"{name}_valid")
        self._m.d.sync += [reg.eq(value), valid.eq(self.valid)]
        self.valid = valid
        self.latency += 1
        return reg

    def check(self, latency: int):
        """Check that every requested boundary exists and that ``latency`` registers were
        placed; a unit whose stage map disagrees with its stages is a programming error
        (``ValueError``)."""
        unknown = self._registered - self._seen
        if unknown:
            raise ValueError(f"registered: no such stage boundaries: {sorted(unknown)}")
        if self.latency != latency:
            raise ValueError(f"latency: {self.latency} registers placed, {latency} requested")
