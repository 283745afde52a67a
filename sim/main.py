"""``make sim``: the main job. A trained sparse ternary network, generated as RTL,
validated bit-exactly against the golden model on Fashion-MNIST test images.

1. The model: ``--model``, else ``build/models/fmnist-mlp-binary.npz`` when
   ``make train`` has produced it, else the small model shipped in
   ``sw/pretrained/`` (trained by this project's ``sw.train``; its config and
   report sit beside it).
2. The first ``--images`` test images of Fashion-MNIST (``TNN_DATA`` or the
   Debian package ``dataset-fashion-mnist``).
3. ``sim.validate``: generate the engine, simulate (on a Dask cluster:
   ``--cluster``, else ``$TNN_DASK_CLUSTER``, else a LocalCluster of ``--jobs``
   processes), compare every output word.

The last line printed is validate's JSON summary, also written to
``build/sim/summary.json``. Exit code as ``sim.validate``'s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sw.data import load_dataset
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import save_npy
from sw.model_file import load_model

from . import validate
from .cluster import add_arguments as add_cluster_arguments
from .cluster import check_address, cluster_address
from .tools import SIMULATORS

TRAINED = Path("build/models/fmnist-mlp-binary.npz")
SHIPPED = Path(__file__).resolve().parent.parent / "sw" / "pretrained" / "fmnist-mlp-binary-small.npz"


def default_model() -> Path:
    return TRAINED if TRAINED.exists() else SHIPPED


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m sim.main", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sim", default="verilator", choices=SIMULATORS)
    p.add_argument("--model", type=Path, help="tnn-model-v1 .npz (default: see above)")
    p.add_argument("--images", type=int, default=300, help="test images (default %(default)s)")
    p.add_argument("--reuse", type=int, default=8, help="R (default %(default)s)")
    p.add_argument("--pixels", type=int, default=1,
                   help="CNNs: P, output pixels per weight fetch, R = B x P (default %(default)s)")
    p.add_argument("--lanes", type=int, help="binary models: K, nonzeros per PE per cycle (default: the plan's)")
    add_cluster_arguments(p, default_jobs=1)
    p.add_argument("--add-latency", type=int, help="float models: the adder latency (default 3)")
    p.add_argument("--out", type=Path, default=Path("build/sim"))
    return p.parse_args(argv)


def run(args) -> int:
    """Write the test images, then hand over to ``sim.validate`` (its exit code)."""
    model = args.model or default_model()
    if not model.exists():
        raise InputError(f"model: {model} not found (run `make train` or pass --model)")
    for name in ("images", "reuse", "pixels", "jobs"):
        if getattr(args, name) < 1:
            raise InputError(f"{name}: must be >= 1, got {getattr(args, name)}")
    load_model(model)  # refused here, before anything is written
    address = cluster_address(args.cluster)
    if address:
        check_address(address)
    data = load_dataset("fmnist")
    x, y = args.out / "test-x.npy", args.out / "test-y.npy"
    save_npy(x, data.test_x[: args.images])
    save_npy(y, data.test_y[: args.images])
    print(f"sim: model {model}, {args.images} Fashion-MNIST test images, R = {args.reuse}, "
          f"P = {args.pixels}, {args.sim}", file=sys.stderr)
    extra = ["--add-latency", str(args.add_latency)] if args.add_latency is not None else []
    if args.lanes is not None:
        extra += ["--lanes", str(args.lanes)]
    if args.cluster:
        extra += ["--cluster", args.cluster]
    return validate.main(["--model", str(model), "--inputs", str(x), "--labels", str(y),
                          "--reuse", str(args.reuse), "--pixels", str(args.pixels), "--sim", args.sim, *extra,
                          "--jobs", str(args.jobs), "--progress",
                          "--out", str(args.out / "rtl-out.npy"),
                          "--build", str(args.out / "work"),
                          "--summary", str(args.out / "summary.json")])


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
