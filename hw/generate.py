"""Generate the project's Verilog.

    python -m hw.generate [--model M.npz --reuse R] --out DIR

Always writes the standalone blocks:

* ``decompressor.v``: module ``decompressor``, the RLE decompressor
  (:class:`hw.decompressor.Decompressor`) with a run-time ``load`` write port,
  run field ``--field-width`` bits, rows up to ``--n-cols`` wide, ``--depth``
  words of weight memory.
* ``fp32_add.v`` / ``fp32_mul.v``: IEEE-754 binary32 adder and multiplier tops
  (ports ``clk, rst, a, b, in_valid, result, out_valid``), latency 3 by default.

With ``--model`` also the whole engine for that ``tnn-model-v1`` network:

* ``tnn_engine.v``: module ``tnn_engine`` (:class:`hw.engine.Engine`, binary or
  float datapath by the model's activation), R = ``--reuse`` PEs, weights and
  row constants in its on-chip memories; float engines use ``--add-latency``
  and ``--mul-latency`` for their floating-point units.
* ``tnn_engine.json``: the plan it was built from (widths, per-layer words,
  nonzeros, ideal cycles per batch).

Exit code 2 with a message naming the field for a bad model or parameter.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from sw.model_file import ModelFileError, load_model

from .decompressor import Decompressor
from .engine import Engine, cycle_budget
from .fp32 import ADD_DEFAULT_LATENCY, MUL_DEFAULT_LATENCY, FP32Add, FP32Mul
from .plan import PlanError, plan_engine
from .verilog import write_verilog


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m hw.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="build/verilog", help="output folder (default %(default)s)")
    p.add_argument("--model", help="tnn-model-v1 .npz: also write the whole engine")
    p.add_argument("--reuse", type=int, default=8, help="R, PEs per decompressor (default %(default)s)")
    p.add_argument("--field-width", type=int, default=4, help="decompressor.v: run field G (default %(default)s)")
    p.add_argument("--n-cols", type=int, default=1024, help="decompressor.v: widest row (default %(default)s)")
    p.add_argument("--depth", type=int, default=4096, help="decompressor.v: memory words (default %(default)s)")
    p.add_argument("--add-latency", type=int, default=ADD_DEFAULT_LATENCY, help="fp32_add.v latency")
    p.add_argument("--mul-latency", type=int, default=MUL_DEFAULT_LATENCY, help="fp32_mul.v latency")
    args = p.parse_args(argv)
    for name in ("field_width", "n_cols", "depth", "reuse", "add_latency", "mul_latency"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")
    return args


def plan_summary(plan) -> dict:
    summary = {
        "activation": plan.kind, "reuse": plan.reuse, "field_width": plan.field_width,
        "weight_words": len(plan.words), "ideal_cycles_per_batch": plan.ideal_cycles,
        "cycles_per_batch": cycle_budget(plan),
        "layers": [asdict(lp) for lp in plan.layers],
    }
    if plan.kind == "binary":
        summary.update(acc_width=plan.acc_width, score_width=plan.score_width,
                       const_width=plan.const_width)
    else:
        summary.update(add_latency=plan.add_latency, mul_latency=plan.mul_latency)
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    engine = None
    if args.model:
        try:
            model = load_model(args.model)
            options = ({"add_latency": args.add_latency, "mul_latency": args.mul_latency}
                       if model.activation == "float" else {})
            plan = plan_engine(model, args.reuse, **options)
        except (ModelFileError, PlanError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        engine = Engine(plan)
    written = [
        write_verilog(Decompressor(field_width=args.field_width, n_cols=args.n_cols,
                                   depth=args.depth, writable=True), "decompressor", args.out),
        write_verilog(FP32Add(latency=args.add_latency), "fp32_add", args.out),
        write_verilog(FP32Mul(latency=args.mul_latency), "fp32_mul", args.out),
    ]
    if engine is not None:
        written.append(write_verilog(engine, "tnn_engine", args.out))
        summary = Path(args.out) / "tnn_engine.json"
        summary.write_text(json.dumps(plan_summary(engine.plan), indent=2) + "\n")
        written.append(summary)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
