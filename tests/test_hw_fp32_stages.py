"""Amaranth-simulator unit tests of the binary32 building blocks and adder stages (fast).

Each test elaborates one combinational piece on its own and checks it against a small Python
model, so a failure points at a stage rather than at "the adder".
"""

import math

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hw.fp32 import add
from hw.fp32.common import (Special, leading_zeros, round_pack, round_stage,
                             shift_right_sticky)
from sim.fp32_operands import MAX_FINITE, MIN_NORMAL, MIN_SUB, ONE, SIGN, reference, special_values


def run_comb(m, body):
    """Run ``async body(ctx)`` as a testbench on the combinational module ``m``."""
    sim = Simulator(m)
    sim.add_testbench(body)
    sim.run()


# --- building blocks -------------------------------------------------------------------------

@pytest.mark.parametrize("width", [1, 2, 5, 24, 28, 32])
def test_leading_zeros(width):
    m = Module()
    value = Signal(width)
    count = Signal(8)
    m.d.comb += count.eq(leading_zeros(m, value))
    rng = np.random.default_rng(width)
    values = {0, (1 << width) - 1} | {1 << i for i in range(width)}
    values |= {int(v) >> int(s) for v, s in zip(rng.integers(0, 1 << width, 60, dtype=np.uint64),
                                                 rng.integers(0, width, 60))}

    async def body(ctx):
        for v in sorted(values):
            ctx.set(value, v)
            assert ctx.get(count) == width - v.bit_length(), f"lzc({v:#x})"
    run_comb(m, body)


def test_shift_right_sticky():
    width = 27
    m = Module()
    value, amount, out = Signal(width), Signal(8), Signal(width)
    m.d.comb += out.eq(shift_right_sticky(value, amount))
    rng = np.random.default_rng(1)
    cases = [(int(v), int(k)) for v, k in zip(rng.integers(0, 1 << width, 300),
                                              rng.integers(0, 40, 300))]
    cases += [(1 << 26, k) for k in range(0, 32)] + [(0, 200), (1, 255), (5, 2), (4, 2)]

    async def body(ctx):
        for v, k in cases:
            ctx.set(value, v)
            ctx.set(amount, k)
            lost = v & ((1 << min(k, width)) - 1)
            assert ctx.get(out) == (v >> k) | (lost != 0), (hex(v), k)
    run_comb(m, body)


def _round_model(sig, exp, low):
    """binary32 magnitude bits of sig * 2**(exp - 150 - low), rounded to nearest even by numpy."""
    with np.errstate(over="ignore"):
        return int(np.float32(math.ldexp(sig, exp - 150 - low)).view(np.uint32))


@pytest.mark.parametrize("width", [26, 28])
def test_round_pack(width):
    low = width - 24
    m = Module()
    sig, exp = Signal(width), Signal(9)
    magnitude, overflow = Signal(31), Signal()
    mag_v, ovf_v = round_pack(sig, exp)
    m.d.comb += [magnitude.eq(mag_v), overflow.eq(ovf_v)]

    rng = np.random.default_rng(width)
    cases = []
    for _ in range(400):
        e = int(rng.choice([1, 1, 2, 127, 253, 254, 255, int(rng.integers(1, 256))]))
        top = 1 if e > 1 else int(rng.integers(0, 2))              # hidden bit clear only at exp 1
        body_bits = int(rng.integers(0, 1 << (width - 1)))
        if rng.integers(0, 3) == 0:                                 # exact tie / all-ones tails
            body_bits = (body_bits >> low << low) | (1 << (low - 1))
        elif rng.integers(0, 3) == 0:
            body_bits |= (1 << (width - 1)) - 1
        cases.append(((top << (width - 1)) | body_bits, e))

    async def body(ctx):
        for s, e in cases:
            ctx.set(sig, s)
            ctx.set(exp, e)
            want = _round_model(s, e, low)
            got = ctx.get(magnitude)
            if want >= 0x7F80_0000:
                assert ctx.get(overflow), (hex(s), e)
            else:
                assert not ctx.get(overflow) and got == want, (hex(s), e, hex(got), hex(want))
    run_comb(m, body)


# --- adder stages ----------------------------------------------------------------------------

def _abs(x):
    return x & 0x7FFF_FFFF


def _eff(bits):
    """(effective exponent, significand with hidden bit) of a finite binary32 pattern."""
    e, f = (bits >> 23) & 0xFF, bits & 0x7F_FFFF
    return (e, f | 1 << 23) if e else (1, f)


def test_add_unpack_stage():
    m = Module()
    a, b = Signal(32), Signal(32)
    o = add.unpack_stage(m, add.compare_stage(m, a, b))
    sv = [int(x) for x in special_values()] + [0x4049_0FDB, 0x0000_0100, 0x4B00_0001]

    async def body(ctx):
        for x in sv:
            for y in sv:
                ctx.set(a, x)
                ctx.set(b, y)
                got = ctx.get(o)
                nan = np.isnan(reference("add", [x], [y]).view(np.float32))[0]
                inf = not nan and 0x7F80_0000 in (_abs(x), _abs(y))
                want_special = Special.NAN if nan else Special.INF if inf else Special.NONE
                assert got.tag.special == want_special, (hex(x), hex(y))
                assert got.sub == (x >> 31 != y >> 31)
                assert got.tag.zero_sign == (x >> 31 & y >> 31)
                if want_special != Special.NONE:
                    continue
                big, small = (x, y) if _abs(x) >= _abs(y) else (y, x)
                (ex, mx), (ey, my) = _eff(big), _eff(small)
                d = ex - ey
                assert (got.tag.sign, got.tag.exp, got.x_sig, got.y_sig, got.diff, got.scale) == \
                       (big >> 31, ex, mx, my, d, 1 << (15 - d % 16)), (hex(x), hex(y))
    run_comb(m, body)


@pytest.mark.parametrize("dsp", [True, False])
def test_add_align_and_add_stages(dsp):
    m = Module()
    s = Signal(add.Ordered)
    aligned = add.align_stage(m, s, dsp)
    summed = add.add_stage(m, aligned)
    rng = np.random.default_rng(2)

    async def body(ctx):
        for _ in range(800):
            x_sig = int(rng.integers(1 << 23, 1 << 24))
            y_sig = int(rng.integers(0, 1 << 24))
            diff = int(rng.choice([0, 1, 2, 3, 15, 16, 17, 23, 24, 25, 26, 27, 28, 31, 32, 100, 254,
                                   int(rng.integers(0, 40))]))
            sub = int(rng.integers(0, 2))
            if diff == 0:
                x_sig, y_sig = max(x_sig, y_sig), min(x_sig, y_sig)
            ctx.set(s, {"tag": {"exp": 100, "special": Special.NONE}, "sub": sub,
                        "diff": diff, "scale": 1 << (15 - diff % 16),
                        "x_sig": x_sig, "y_sig": y_sig})
            y = y_sig << 3
            lost = y & ((1 << min(diff, 27)) - 1)
            y_al = (y >> diff) | (lost != 0)
            assert ctx.get(aligned.y_sig) == y_al, (hex(y_sig), diff)
            want = (x_sig << 3) - y_al if sub else (x_sig << 3) + y_al
            assert ctx.get(summed.sum) == want, (hex(x_sig), hex(y_sig), diff, sub)
    run_comb(m, body)


@pytest.mark.parametrize("dsp", [True, False])
def test_add_lzc_and_normalise_stages(dsp):
    m = Module()
    s = Signal(add.Summed)
    n = add.normalise_stage(m, add.lzc_stage(m, s), dsp)
    rng = np.random.default_rng(3)
    cases = [(0, 1), (0, 254), (1 << 27, 254), (1, 1), (1, 30), (1 << 26, 1), (3 << 25, 1)]
    cases += [(int(v) >> int(k), int(e)) for v, k, e in zip(rng.integers(0, 1 << 28, 300),
                                                             rng.integers(0, 29, 300),
                                                             rng.integers(1, 255, 300))]

    async def body(ctx):
        for total, exp in cases:
            ctx.set(s, {"tag": {"sign": 1, "zero_sign": 0, "exp": exp, "special": Special.NONE},
                        "sum": total})
            got = ctx.get(n)
            if total == 0:
                assert (got.special, got.sign) == (Special.ZERO, 0)
                continue
            assert got.special == Special.NONE and got.sign == 1
            # Same value: sig * 2**exp_out == sum * 2**(exp_in + 1), with the leading one on
            # top unless the exponent bottomed out at 1.
            assert got.sig << got.exp == total << (exp + 1), (hex(total), exp)
            assert got.sig >> 27 == 1 or got.exp == 1, (hex(total), exp)
    run_comb(m, body)


def test_add_round_stage_specials():
    """The special class overrides the datapath; overflow becomes a signed infinity."""
    m = Module()
    n = Signal(add.Normalised)
    result = round_stage(m, n)
    full = (1 << 28) - 1

    async def body(ctx):
        for special, sign, exp, sig, want in [
            (Special.NAN, 1, 5, 0, 0x7FC0_0000),
            (Special.INF, 1, 5, 0, 0xFF80_0000),
            (Special.ZERO, 1, 200, full, 0x8000_0000),
            (Special.NONE, 0, 255, 1 << 27, 0x7F80_0000),           # exponent overflow
            (Special.NONE, 1, 254, full, 0xFF80_0000),              # rounds up into infinity
            (Special.NONE, 0, 254, full ^ 0xF, MAX_FINITE),         # below half an ulp: max
            (Special.NONE, 0, 127, 1 << 27, ONE),
            (Special.NONE, 0, 1, (1 << 27) - 1, MIN_NORMAL),        # max subnormal rounds up
            (Special.NONE, 1, 1, 1 << 4, SIGN | MIN_SUB),
        ]:
            ctx.set(n, {"special": special, "sign": sign, "exp": exp, "sig": sig})
            assert ctx.get(result) == want, (special, sign, exp, hex(sig))
    run_comb(m, body)
