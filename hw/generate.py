"""Generate the project's Verilog.

    python -m hw.generate [--model M.npz --reuse R] --out DIR

Always writes the standalone blocks:

* ``decompressor.v``: module ``decompressor``, the RLE decompressor
  (:class:`hw.decompressor.Decompressor`) with a run-time ``load`` write port,
  run field ``--field-width`` bits, rows up to ``--n-cols`` wide, ``--depth``
  words of weight memory.
* ``fp32_add.v`` / ``fp32_mul.v``: IEEE-754 binary32 adder and multiplier tops
  (ports ``clk, rst, a, b, in_valid, result, out_valid``), latency 3 by default; the
  adder's shifters are barrel shifters unless ``--dsp-shifts``.

With ``--model`` also the whole engine for that ``tnn-model-v1`` network:

* ``tnn_engine.v``: module ``tnn_engine`` (:class:`hw.engine.Engine`, binary or
  float datapath by the model's activation), R = ``--reuse`` PEs, weights and
  row constants in its on-chip memories; float engines use ``--add-latency``,
  ``--mul-latency`` and ``--dsp-shifts`` for their floating-point units.
* ``tnn_engine.json``: the plan it was built from (widths, per-layer words,
  nonzeros, ideal cycles per batch).

Exit code 2 with a message naming the field for a bad model or parameter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_json
from sw.model_file import load_model

from .decompressor import Decompressor
from .engine import build_engine, cycle_budget
from .errors import build_all
from .fp32 import (ADD_DEFAULT_LATENCY, ADD_REGISTERS, MUL_DEFAULT_LATENCY, MUL_REGISTERS,
                   fp32_add_top, fp32_mul_top)
from .plan import plan_engine
from .verilog import write_verilog


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m hw.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="build/verilog", help="output folder (default %(default)s)")
    p.add_argument("--model", help="tnn-model-v1 .npz: also write the whole engine")
    p.add_argument("--reuse", type=int, default=8, help="R, PEs per decompressor (default %(default)s)")
    p.add_argument("--lanes", type=int, help="binary models: K, nonzeros per PE per cycle (default: the plan's)")
    p.add_argument("--field-width", type=int, default=4, help="decompressor.v: run field G (default %(default)s)")
    p.add_argument("--n-cols", type=int, default=1024, help="decompressor.v: widest row (default %(default)s)")
    p.add_argument("--depth", type=int, default=4096, help="decompressor.v: memory words (default %(default)s)")
    p.add_argument("--add-latency", type=int, default=ADD_DEFAULT_LATENCY, help="fp32_add.v latency")
    p.add_argument("--mul-latency", type=int, default=MUL_DEFAULT_LATENCY, help="fp32_mul.v latency")
    p.add_argument("--dsp-shifts", action="store_true",
                   help="fp32 adders: shifts as multiplications (DSP blocks) instead of "
                        "barrel shifters in LUTs")
    return p.parse_args(argv)


def check_args(args) -> None:
    for name in ("field_width", "n_cols", "depth", "reuse"):
        if getattr(args, name) < 1:
            raise InputError(f"{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")
    for name, registers in (("add_latency", ADD_REGISTERS), ("mul_latency", MUL_REGISTERS)):
        if not 1 <= getattr(args, name) <= max(registers):
            raise InputError(f"{name.replace('_', '-')}: must be in 1..{max(registers)}, "
                             f"got {getattr(args, name)}")


def plan_summary(plan) -> dict:
    """``tnn_engine.json``: the plan's own summary (:meth:`hw.plan.EnginePlan.summary`)
    and the predicted cycles per batch by cause."""
    return {**plan.summary(), "cycles_per_batch": cycle_budget(plan)}


def generate(args) -> int:
    """Build every block first (a refused model or parameter writes nothing), then write."""
    check_args(args)
    builders = [
        lambda: Decompressor(field_width=args.field_width, n_cols=args.n_cols, depth=args.depth,
                             writable=True),
        lambda: fp32_add_top(args.add_latency, dsp_shifts=args.dsp_shifts),
        lambda: fp32_mul_top(args.mul_latency),
    ]
    names = ["decompressor", "fp32_add", "fp32_mul"]
    if args.model:
        model = load_model(args.model)
        options = ({"add_latency": args.add_latency, "mul_latency": args.mul_latency,
                    "dsp_shifts": args.dsp_shifts} if model.activation == "float" else {})
        if args.lanes is not None:
            options["lanes"] = args.lanes
        plan = plan_engine(model, args.reuse, **options)
        builders.append(lambda: build_engine(plan))
        names.append("tnn_engine")
    blocks = list(zip(build_all(builders), names))
    engine = blocks[-1][0] if args.model else None
    written = [write_verilog(block, name, args.out) for block, name in blocks]
    if engine is not None:
        written.append(write_json(Path(args.out) / "tnn_engine.json", plan_summary(engine.plan)))
    for path in written:
        print(path)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: generate(args))


if __name__ == "__main__":
    sys.exit(main())
