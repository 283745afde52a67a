"""``make sim-decompressor``: encode a random sparse ternary matrix, generate the decompressor
with that matrix in its memory, simulate it, check every beat against the
Python decoder, and print a one-line JSON summary (also written to
``build/sim-decompressor/summary.json``).

Exit code 0 iff the RTL matched the decoder beat for beat.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from hw.decompressor import Decompressor
from hw.verilog import write_verilog
from sw import rle

from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_json

from .runner import run_cocotb
from .tools import SIMULATORS, use_simulator


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m sim.decompressor_demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sim", default="verilator", choices=SIMULATORS)
    p.add_argument("--rows", type=int, default=256)
    p.add_argument("--cols", type=int, default=784)
    p.add_argument("--density", type=float, default=0.1, help="fraction of nonzero weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="build/sim-decompressor", help="folder for the design and the summary")
    return p.parse_args(argv)


def check_args(args) -> None:
    for name in ("rows", "cols"):
        if getattr(args, name) < 1:
            raise InputError(f"{name}: must be >= 1, got {getattr(args, name)}")
    if not 0.0 <= args.density <= 1.0:
        raise InputError(f"density: must be in [0, 1], got {args.density}")


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: run(args))


def run(args) -> int:
    check_args(args)
    use_simulator(args.sim)  # a missing simulator is refused before anything is written
    rng = np.random.default_rng(args.seed)
    shape = (args.rows, args.cols)
    w = ((rng.random(shape) < args.density) * rng.choice(np.array([-1, 1]), shape)).astype(np.int8)
    g = rle.best_field_width(w)
    code = rle.encode(w, g)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "matrix.npz", w=w, field_width=g)
    dut = Decompressor(field_width=g, n_cols=args.cols, depth=len(code.words), init=code.words)
    src = write_verilog(dut, "decompressor", out / "verilog")

    report = out / "tb_report.json"
    report.unlink(missing_ok=True)
    t0 = time.perf_counter()
    tests, failures, _ = run_cocotb(
        toplevel="decompressor", sources=[src], test_module="sim.tb_decompressor",
        testcase="preloaded_matrix", sim=args.sim,
        env={"TB_MATRIX": (out / "matrix.npz").resolve(), "TB_REPORT": report.resolve()})
    wall = time.perf_counter() - t0
    ok = tests == 1 and failures == 0 and report.exists()
    stats = json.loads(report.read_text()) if report.exists() else {}
    nonzeros = int(np.count_nonzero(w))
    summary = {
        "design": "decompressor",
        "simulator": args.sim,
        "shape": list(shape),
        "nonzeros": nonzeros,
        "field_width": g,
        "encoded_bits": code.n_bits,
        "words": len(code.words),
        "skip_words": code.n_skips,
        "empty_rows": int(np.count_nonzero(~w.any(axis=1))),
        "cycles": stats.get("cycles"),
        "cycles_per_nonzero": round(stats["cycles"] / nonzeros, 4) if stats and nonzeros else None,
        # The measure: skip and empty-row words excepted (and counted above).
        "cycles_per_nonzero_excl_skips": (
            round((stats["cycles"] - code.n_skips - int(np.count_nonzero(~w.any(axis=1))))
                  / nonzeros, 4) if stats and nonzeros else None),
        "bit_exact": ok,
        "wall_seconds": round(wall, 2),
    }
    write_json(out / "summary.json", summary)
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
