"""``make interop-tfc``: FINN's TFC_1W1A (the QONNX model zoo, ``../shared``) through
this flow, and the claim that the RTL predicts as qonnx's reference executor.

1. ``import-qonnx``: TFC_1W1A -> ``OUT/tfc-1w1a.npz`` (:mod:`sw.interop`).
2. qonnx's executor and the golden model on the first ``--images`` Fashion-MNIST
   test images (default all 10,000; :func:`sw.interop.check.check`).
3. ``sim.validate`` on the same images: the RTL, bit-exact against the golden model.
4. The RTL's int32 scores through the graph's own output nodes against the
   executor's outputs, and both predictions.

Writes ``OUT/report.json`` (default ``build/interop-tfc``) and prints it; exit 0
iff every hidden bit and output agrees and the RTL is bit-exact, 1 otherwise, 2
on bad input.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sw.data import load_dataset
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import save_npy, write_json
from sw.golden import predict
from sw.interop.check import check, executor_forward, mapped_scores
from sw.interop.qonnx_import import import_qonnx
from sw.model_file import save_model

TFC = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "qonnx-zoo-tfc" / "TFC_1W1A.onnx"


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m report.interop_tfc", description=__doc__)
    p.add_argument("--onnx", type=Path, default=TFC, help="the QONNX model (default: ../shared's TFC_1W1A)")
    p.add_argument("--images", type=int, default=10000, help="Fashion-MNIST test images (default all 10,000)")
    p.add_argument("--reuse", type=int, default=8, help="R (default %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="simulation processes (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path("build/interop-tfc"))
    return p.parse_args(argv)


def run(args) -> int:
    for name in ("images", "reuse", "jobs"):
        if getattr(args, name) < 1:
            raise InputError(f"{name}: must be >= 1, got {getattr(args, name)}")
    t0 = time.perf_counter()
    imported = import_qonnx(args.onnx)
    model = imported.model
    data = load_dataset("fmnist")
    pixels = data.test_x[: args.images]
    model_path = save_model(args.out / "tfc-1w1a.npz", model)
    software = check(imported, pixels, progress=sys.stderr.isatty())
    t1 = time.perf_counter()
    save_npy(args.out / "test-x.npy", pixels)
    proc = subprocess.run([sys.executable, "-m", "sim.validate", "--model", str(model_path),
                           "--inputs", str(args.out / "test-x.npy"), "--reuse", str(args.reuse),
                           "--jobs", str(args.jobs), "--build", str(args.out / "work"),
                           "--out", str(args.out / "rtl-out.npy"), "--summary", str(args.out / "rtl.json")]
                          + (["--progress"] if sys.stderr.isatty() else []))
    rtl_summary = json.loads((args.out / "rtl.json").read_text()) if (args.out / "rtl.json").exists() else {}
    report = {"onnx": str(args.onnx), "images": int(len(pixels)), "model": str(model_path),
              "layers": [list(w.shape) for w in model.weights], "input_threshold": model.input_threshold,
              "executor_vs_golden": software,
              "rtl": {k: rtl_summary.get(k) for k in ("simulator", "reuse", "bit_exact", "mismatches", "cycles",
                                                       "sim_seconds", "sim_processes")}}
    ok = software["agree"] and proc.returncode == 0
    if (args.out / "rtl-out.npy").exists() and proc.returncode == 0:
        rtl = np.load(args.out / "rtl-out.npy")
        executor, _ = executor_forward(imported, pixels)
        same_out = np.all(mapped_scores(imported, rtl) == executor, axis=1)
        same_pred = predict(rtl) == predict(executor)
        report["rtl_vs_executor"] = {"predictions_equal": int(same_pred.sum()),
                                     "outputs_equal": int(same_out.sum()),
                                     "executor_accuracy": float(np.mean(predict(executor) == data.test_y[: len(pixels)]))}
        ok = ok and bool(same_pred.all() and same_out.all())
    report["agree"] = bool(ok)
    report["seconds"] = {"import_and_check": round(t1 - t0, 1), "total": round(time.perf_counter() - t0, 1)}
    write_json(args.out / "report.json", report)
    print(json.dumps(report))
    return 0 if ok else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
