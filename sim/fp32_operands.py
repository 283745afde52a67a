"""binary32 test operands and their reference results (numpy float32), shared by the RTL
check (:mod:`sim.fp32_check`) and the Amaranth-simulator tests of :mod:`hw.fp32`.

:func:`directed_pairs` covers every pairing of the special classes, cancellation, rounding
into the next binade, overflow and subnormal results; :func:`random_pairs` draws seeded pairs
spread over all exponent ranges. Reference: numpy float32 ``a + b`` / ``a * b``, round to
nearest even, subnormals kept (numpy does not flush to zero; :func:`reference` asserts it).
:func:`compare` counts mismatches, NaN results comparing as "is NaN", and NaNs that are not
the canonical ``0x7FC00000``.
"""

from __future__ import annotations

import numpy as np

OPS = ("add", "mul")

MIN_SUB, MAX_SUB, MIN_NORMAL = 0x0000_0001, 0x007F_FFFF, 0x0080_0000
ONE, MAX_FINITE, INF, QNAN = 0x3F80_0000, 0x7F7F_FFFF, 0x7F80_0000, 0x7FC0_0000
SIGN = 0x8000_0000


# --- reference and comparison ----------------------------------------------------------------

def _f32(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def _assert_gradual_underflow():
    tiny = _f32([MIN_NORMAL, MIN_SUB])
    with np.errstate(all="ignore"):
        diff = (tiny[:1] - tiny[1:]).view(np.uint32)[0]
        prod = (tiny[1:] * np.float32(1.0)).view(np.uint32)[0]
    if diff != MAX_SUB or prod != MIN_SUB:
        raise RuntimeError("numpy float32 flushes subnormals to zero (FTZ/DAZ set in this process?)")


def reference(op: str, a, b) -> np.ndarray:
    """numpy float32 ``a + b`` or ``a * b`` of binary32 bit patterns, as bit patterns."""
    _assert_gradual_underflow()
    fa, fb = _f32(a), _f32(b)
    with np.errstate(all="ignore"):
        r = fa + fb if op == "add" else fa * fb
    return r.view(np.uint32)


def is_nan(bits) -> np.ndarray:
    bits = np.asarray(bits, dtype=np.uint32)
    return ((bits & 0x7F80_0000) == 0x7F80_0000) & ((bits & 0x007F_FFFF) != 0)


def compare(op: str, a, b, got, *, max_examples: int = 10) -> dict:
    """Compare RTL results ``got`` with numpy; NaN compares as 'is NaN'.

    Returns counts: ``n``, ``mismatches`` (wrong result, NaN-ness included),
    ``non_canonical_nan`` (NaN results other than 0x7FC00000), and up to ``max_examples``
    mismatching ``(a, b, got, want)`` hex tuples.
    """
    a, b, got = (np.asarray(x, dtype=np.uint32) for x in (a, b, got))
    want = reference(op, a, b)
    want_nan, got_nan = is_nan(want), is_nan(got)
    bad = (want_nan != got_nan) | (~want_nan & (want != got))
    idx = np.flatnonzero(bad)[:max_examples]
    return {
        "op": op,
        "n": int(len(a)),
        "mismatches": int(bad.sum()),
        "nan_results": int(want_nan.sum()),
        "non_canonical_nan": int((got_nan & (got != QNAN)).sum()),
        "examples": [tuple(f"{int(x[i]):08x}" for x in (a, b, got, want)) for i in idx],
    }


# --- operands --------------------------------------------------------------------------------

def special_values() -> np.ndarray:
    """Both signs of 0, min/max subnormal, min normal, 1, 1+ulp, 2-ulp, max finite, inf; and
    four NaNs (quiet, negative quiet, signalling, all-ones payload)."""
    mags = [0, MIN_SUB, MAX_SUB, MIN_NORMAL, ONE, 0x3F80_0001, 0x3FFF_FFFF, MAX_FINITE, INF]
    nans = [QNAN, QNAN | SIGN, 0x7F80_0001, 0x7FFF_FFFF]
    return np.array([m | s for m in mags for s in (0, SIGN)] + nans, dtype=np.uint32)


def _pairs(rows) -> tuple[np.ndarray, np.ndarray]:
    rows = np.array(rows, dtype=np.uint32).reshape(-1, 2)
    return rows[:, 0].copy(), rows[:, 1].copy()


def directed_pairs(op: str) -> tuple[np.ndarray, np.ndarray]:
    """Every pairing of :func:`special_values`, plus hand-picked boundary cases for ``op``."""
    sv = special_values()
    a, b = np.meshgrid(sv, sv, indexing="ij")
    rows = list(zip(a.ravel().tolist(), b.ravel().tolist()))
    if op == "add":
        for x in [MIN_SUB, MAX_SUB, MIN_NORMAL, 0x0080_0001, ONE, 0x4049_0FDB, MAX_FINITE,
                  0x0123_4567, 0x7012_3456]:
            rows += [(x, x ^ SIGN), (x ^ SIGN, x)]                   # exact cancellation: +0
        rows += [
            (0x3FFF_FFFF, 0x3380_0000),                              # 2-ulp + ulp/2: tie, up to 2
            (0x3FFF_FFFF, 0x3300_0000),                              # 2-ulp + ulp/4: stays
            (0x3F80_0000, 0x3380_0000),                              # 1 + ulp/2: tie, stays even
            (0x3F80_0001, 0x3380_0000),                              # 1+ulp + ulp/2: tie, up
            (0x3F80_0000, 0x3380_0001),                              # just above the tie: up
            (MAX_FINITE, MAX_FINITE), (MAX_FINITE | SIGN, MAX_FINITE | SIGN),   # overflow
            (MAX_FINITE, 0x7300_0000),                               # max + ulp/2: tie -> inf
            (MAX_FINITE, 0x72FF_FFFF),                               # max + <ulp/2: max
            (MIN_NORMAL, MIN_SUB | SIGN),                            # -> max subnormal
            (MIN_NORMAL, MAX_SUB | SIGN),                            # -> min subnormal
            (0x0080_0001, MIN_NORMAL | SIGN),                        # normal - normal -> subnormal
            (0x0100_0000, 0x00FF_FFFF | SIGN),                       # 2**-125 - ... -> subnormal
            (MAX_SUB, MIN_SUB), (MAX_SUB, MAX_SUB),                  # subnormals -> normal
            (ONE, 0x3380_0000 | SIGN),                               # 1 - ulp/2: exact, binade down
            (ONE, 0x3300_0001 | SIGN),                               # 1 - tiny: rounds to 1-ulp/2
            (ONE, MIN_SUB), (ONE, MIN_SUB | SIGN),                   # far-away sticky only
        ]
    else:
        half, quarter3 = 0x3F00_0000, 0x3F40_0000                  # 0.5, 0.75
        rows += [
            (MIN_NORMAL, half),                                      # exact subnormal 2**-127
            (MIN_SUB, half), (MIN_SUB | SIGN, half),                 # 2**-150: tie -> (-)0
            (MIN_SUB, quarter3),                                     # 0.75 min sub -> min sub
            (MIN_SUB, 0x3F00_0001),                                  # just above the tie -> min sub
            (MAX_SUB, 0x3F80_0001),                                  # max sub * (1+ulp): stays sub
            (0x0080_0001, 0x3F7F_FFFF),                              # just below min normal
            (MAX_FINITE, 0x4000_0000), (MAX_FINITE, 0x3F80_0001),   # overflow
            (MAX_FINITE, 0x3F7F_FFFF),                               # below max
            (0x3FFF_FFFF, 0x3F80_0001),                              # (2-ulp)(1+ulp): rounding near 2
            (0x5F80_0000, 0x5F80_0000), (0x5F80_0000, 0x5F7F_FFFF),  # 2**64 squared: inf / near max
            (0x2000_0000, 0x2000_0000),                              # 2**-63 squared: 2**-126 exact
            (0x1F80_0000, 0x2000_0000),                              # 2**-64 * 2**-63: subnormal
            (MAX_SUB, MAX_SUB), (MIN_SUB, MIN_SUB),                  # subnormal squared -> +0
            (MIN_SUB, 0x4B00_0000), (MAX_SUB, 0x4B00_0000),          # subnormal * 2**23
            (MIN_SUB, 0x7F00_0000), (MAX_SUB, MAX_FINITE),           # subnormal * huge
        ]
    return _pairs(rows)


def _bits(sign, exp, frac) -> np.ndarray:
    return ((np.asarray(sign, np.uint32) << 31) | (np.asarray(exp, np.uint32) << 23)
            | np.asarray(frac, np.uint32)).astype(np.uint32)


def _frac(rng, k) -> np.ndarray:
    """Fractions of mixed texture: uniform, few significant bits (ties), near all-ones/zero."""
    frac = rng.integers(0, 1 << 23, k, dtype=np.uint32)
    kind = rng.integers(0, 4, k)
    keep = rng.integers(0, 24, k).astype(np.uint32)              # significant bits kept
    short = frac & ~((np.uint32(1) << (23 - np.minimum(keep, 23))) - 1).astype(np.uint32)
    edge = rng.integers(0, 16, k, dtype=np.uint32)
    frac = np.where(kind == 1, short, frac)
    frac = np.where(kind == 2, (1 << 23) - 1 - edge, frac)
    frac = np.where(kind == 3, edge, frac)
    return frac.astype(np.uint32)


def _uniform_bits(op, rng, k):
    return (rng.integers(0, 1 << 32, k, dtype=np.uint64).astype(np.uint32),
            rng.integers(0, 1 << 32, k, dtype=np.uint64).astype(np.uint32))


def _textured(op, rng, k):
    """Random signs and exponents over the whole range, fractions from :func:`_frac`."""
    return (_bits(rng.integers(0, 2, k), rng.integers(0, 256, k), _frac(rng, k)),
            _bits(rng.integers(0, 2, k), rng.integers(0, 256, k), _frac(rng, k)))


def _exponent_relation(op, rng, k):
    """add: exponents a small distance apart (cancellation, every alignment shift, sticky);
    mul: exponent sums aimed at the subnormal range, the normal range and overflow."""
    if op == "add":
        ea = rng.integers(0, 255, k)
        delta = np.where(rng.integers(0, 2, k) == 0, rng.integers(-3, 4, k), rng.integers(-32, 33, k))
        eb = np.clip(ea + delta, 0, 254)
    else:
        band = rng.integers(0, 3, k)
        er = np.select([band == 0, band == 1], [rng.integers(-40, 4, k), rng.integers(240, 262, k)],
                       rng.integers(-40, 262, k))                # biased exponent of a*b
        lo, hi = np.maximum(0, er + 127 - 254), np.minimum(254, er + 127)
        ea = rng.integers(lo, hi + 1)
        eb = np.clip(er + 127 - ea, 0, 254)
    return (_bits(rng.integers(0, 2, k), ea, _frac(rng, k)),
            _bits(rng.integers(0, 2, k), eb, _frac(rng, k)))


def _targeted(op, rng, k):
    """b chosen so that a (op) b lands within a few ulps of a boundary: binade edges
    (2**e), the normal/subnormal edge, half the smallest subnormal, the overflow threshold,
    and (add) zero."""
    e = rng.integers(-130, 129, k).astype(np.float64)
    t = np.exp2(e)
    which = rng.integers(0, 6, k)
    t = np.select([which == 0, which == 1, which == 2, which == 3],
                  [2.0 ** -126, 2.0 ** -150, 2.0 ** 128 - 2.0 ** 103, 0.0], t)
    t = t * np.where(rng.integers(0, 2, k) == 0, 1.0, -1.0)
    a = _bits(rng.integers(0, 2, k), rng.integers(1, 255, k), _frac(rng, k))
    fa = a.view(np.float32).astype(np.float64)
    if op == "mul":
        a = np.where(which == 1, _bits(0, rng.integers(90, 127, k), _frac(rng, k)), a)
        fa = a.view(np.float32).astype(np.float64)
    with np.errstate(all="ignore"):
        fb = t - fa if op == "add" else t / fa
        b = fb.astype(np.float32).view(np.uint32)
    jitter = rng.integers(-4, 5, k).astype(np.int64)
    b = ((b.astype(np.int64) + jitter) & 0xFFFF_FFFF).astype(np.uint32)
    return a, b


_GENERATORS = (_uniform_bits, _textured, _exponent_relation, _targeted)


def random_pairs(op: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded pairs, a quarter from each generator above, shuffled together."""
    rng = np.random.default_rng([seed, OPS.index(op)])
    sizes = [n // len(_GENERATORS) + (i < n % len(_GENERATORS)) for i in range(len(_GENERATORS))]
    parts = [gen(op, rng, k) for gen, k in zip(_GENERATORS, sizes)]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    order = rng.permutation(n)
    return a[order], b[order]


# --- Verilator harness -----------------------------------------------------------------------
