"""``make sim``: the main job. A trained sparse ternary network, generated as RTL,
validated bit-exactly against the golden model on Fashion-MNIST test images.

1. The model: ``--model``, else ``build/models/fmnist-mlp-binary.npz`` when
   ``make train`` has produced it, else the small model shipped in
   ``sw/pretrained/`` (trained by this project's ``sw.train``; its config and
   report sit beside it).
2. The first ``--images`` test images of Fashion-MNIST (``TNN_DATA`` or the
   Debian package ``dataset-fashion-mnist``).
3. ``sim.validate``: generate the engine, simulate, compare every output word.

The last line printed is validate's JSON summary, also written to
``build/sim/summary.json``. Exit code as ``sim.validate``'s.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sw.data import DataError, load_dataset

from . import validate
from .tools import SIMULATORS

TRAINED = Path("build/models/fmnist-mlp-binary.npz")
SHIPPED = Path(__file__).resolve().parent.parent / "sw" / "pretrained" / "fmnist-mlp-binary-small.npz"


def default_model() -> Path:
    return TRAINED if TRAINED.exists() else SHIPPED


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.main", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sim", default="verilator", choices=SIMULATORS)
    p.add_argument("--model", type=Path, help="tnn-model-v1 .npz (default: see above)")
    p.add_argument("--images", type=int, default=300, help="test images (default %(default)s)")
    p.add_argument("--reuse", type=int, default=8, help="R (default %(default)s)")
    p.add_argument("--jobs", type=int, default=1, help="simulation processes (default %(default)s)")
    p.add_argument("--add-latency", type=int, help="float models: the adder latency (default 3)")
    p.add_argument("--out", type=Path, default=Path("build/sim"))
    args = p.parse_args(argv)
    model = args.model or default_model()
    if not model.exists():
        print(f"error: model: {model} not found (run `make train` or pass --model)", file=sys.stderr)
        return 2
    try:
        data = load_dataset("fmnist")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    x, y = args.out / "test-x.npy", args.out / "test-y.npy"
    np.save(x, data.test_x[: args.images])
    np.save(y, data.test_y[: args.images])
    print(f"sim: model {model}, {args.images} Fashion-MNIST test images, R = {args.reuse}, "
          f"{args.sim}", file=sys.stderr)
    extra = ["--add-latency", str(args.add_latency)] if args.add_latency is not None else []
    code = validate.main(["--model", str(model), "--inputs", str(x), "--labels", str(y),
                          "--reuse", str(args.reuse), "--sim", args.sim, *extra,
                          "--jobs", str(args.jobs), "--progress",
                          "--out", str(args.out / "rtl-out.npy"),
                          "--build", str(args.out / "work"),
                          "--summary", str(args.out / "summary.json")])
    return code


if __name__ == "__main__":
    sys.exit(main())
