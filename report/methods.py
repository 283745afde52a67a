"""``make methods``: the seed papers' ternarisation methods side by side on Fashion-MNIST.

    python -m report.methods [--methods threshold,twn,...] [--activations float,binary]
        [--images 1000] [--float-images N] [--reuse 8] [--jobs 2 | --cluster tcp://HOST:PORT]
        [--out build/methods]
        [--models build] [--synth build/synth/summary.json] [--cached-only]

For each method and activation kind, the training config ``fmnist-mlp-<kind>``
(paper 002's threshold method) or ``fmnist-mlp-<kind>-<method>`` is trained
(or reused, as in ``make bench``), its exported model file validated on the
first ``--images`` (float networks: ``--float-images``) test images in RTL
(Verilator, on one Dask cluster for all networks: ``--cluster``, else
``$TNN_DASK_CLUSTER``, else a LocalCluster of ``--jobs`` worker processes,
started when the first network needs it), and the results collected:
test accuracy of the PyTorch network and of the exported model file (the
golden model; they differ where the export approximates, e.g. weighted binary
layers), zero fraction, RLE and Huffman bits per weight, effective TOPs on a
KU115 at R (paper constants and, after ``make synth``, measured costs; a
weighted binary network's PEs carry a multiplier, and its measured cost says
so), and whether every image was bit-exact. A network the model file cannot
hold is reported with the exporter's reason and no RTL run.

Writes ``<out>/report.json`` and ``<out>/methods.md``; ``python -m report.readme``
copies the table into README.md. ``--cached-only`` runs no new simulation
(networks without a stored run are reported as not run). Without a synthesis
summary at the default ``--synth`` path the table has paper constants only; a
``--synth`` given explicitly must be readable. Exit code 0 iff every exported
network ran and was bit-exact on every image; 1 otherwise; 2 on bad input
(arguments, an unreadable summary or stored model, a missing data set, an
unreachable ``--cluster``), before anything is written.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from cost import gamma
from cost.inputs import load_model_file, read_json
from cost.roofline import model_roofline
from cost.summary import load_summary
from sim.cluster import Session
from sim.cluster import add_arguments as add_cluster_arguments
from sw.configs import get_config
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_json, write_text

from .methods_table import render_table
from .models import check_config_names, ensure_model, stored_model
from .simulate import load_data, simulate_model

__all__ = ["METHODS", "ACTIVATIONS", "FAMILIES", "config_name", "run_one", "main"]

METHODS = ("threshold", "twn", "ttq-threshold", "ttq-sparsity", "prox-single", "prox-dual", "sq",
           "incremental")
ACTIVATIONS = ("float", "binary")
DEFAULT_SYNTH = Path("build/synth/summary.json")

#: Config families: the name of the threshold method's config per activation kind;
#: other methods append ``-<method>``.
FAMILIES = {
    "fmnist-mlp": {"float": "fmnist-mlp-float", "binary": "fmnist-mlp-binary"},
    "tiny": {"float": "tiny-float", "binary": "tiny"},     # 8x8 digits, for tests
}


def config_name(method: str, activation: str, family: str = "fmnist-mlp") -> str:
    base = FAMILIES[family][activation]
    return base if method == "threshold" else f"{base}-{method}"


def _entry(method, activation, name, report, model, args, synth_summary) -> dict:
    totals = report["totals"]
    weighted = model is not None and activation == "binary" and model.weighted
    asymmetric = model is not None and activation == "float" and model.asymmetric
    return {
        "method": method, "activation": activation, "config": name,
        "test_acc": report["final"]["test_acc"],
        "golden_test_acc": report["export"].get("golden_accuracy"),
        "zero_fraction": totals["zero_fraction"],
        "rle_bits_per_weight": totals["rle_bits"] / totals["n_weights"],
        "huffman_bits_per_weight": totals["huffman_bits"] / totals["n_weights"],
        "train_seconds": report["timing"]["train_seconds"],
        "roofline": model_roofline(gamma.of_report(report), activation, args.reuse,
                                   synth_summary, weighted=weighted),
        "exported": model is not None,
        "weighted": weighted,      # binary: integer weights kp{l}/kn{l}
        "asymmetric": asymmetric,  # float: separate scales sn{l}
        "export_reason": report["export"].get("reason"),
        # PyTorch vs the exported file on the test set (exact for ordinary binary layers)
        "export_agreement": report["export"].get("prediction_agreement"),
        "hidden_bit_mismatches": sum(report["export"].get("hidden_bit_mismatches", [])) or None,
        # SQ: 1 (binary) or 2 (ternary) bits per weight of each layer
        "layer_bits": [layer.get("bits_per_weight") for layer in
                       report["stages"][list(report["stages"])[-1]]["layers"]],
    }


def _previous_run(path: Path, key: dict) -> dict | None:
    """The stored RTL run in ``path`` if it was made with ``key``; an unreadable one is
    treated as absent (it is this tool's own cache)."""
    if not path.exists():
        return None
    try:
        previous = read_json(path, "out")
    except InputError:
        return None
    return previous if isinstance(previous, dict) and previous.get("key") == key else None


def run_one(method, activation, args, synth_summary, data, log, session: Session) -> dict:
    """Train or reuse one network, run it in RTL on ``session``'s cluster (or reuse the
    stored run), its entry."""
    name = config_name(method, activation, args.family)
    cfg = get_config(name)
    trained = ensure_model(name, args.models, log)
    report, npz = trained.report, trained.npz
    model = load_model_file(npz, "models") if report["export"].get("path") else None
    entry = _entry(method, activation, name, report, model, args, synth_summary)
    if model is None:
        return entry
    images = args.float_images if activation == "float" and args.float_images else args.images
    key = {"model_sha256": hashlib.sha256(Path(npz).read_bytes()).hexdigest(), "images": images,
           "reuse": args.reuse, "simulator": args.sim}
    done = args.out / f"{name}-validate.json"
    summary = _previous_run(done, key)
    if summary is not None:
        log(f"methods: {name}: reusing the RTL run in {done} (same model file and settings)")
    elif args.cached_only:
        log(f"methods: {name}: no RTL run in {done} with these settings; --cached-only: not run")
        return {**entry, "rtl_run": False}
    else:
        summary = simulate_model(name, npz, data[cfg.dataset], images=images, reuse=args.reuse,
                                 sim=args.sim, cluster=session.address, out=args.out, log=log)
        write_json(done, {**summary, "key": key})
    entry.update(rtl_run=True, images=summary["images"], bit_exact=summary["bit_exact"],
                 hw_accuracy=summary.get("hw_accuracy"), sw_accuracy=summary.get("sw_accuracy"))
    if activation == "binary":
        entry["weighted_layers"] = summary.get("weighted_layers", 0)
    else:
        entry["asymmetric_layers"] = summary.get("asymmetric_layers", 0)
    return entry


def parse_args(argv=None) -> argparse.Namespace:
    p = ArgumentParser(prog="python -m report.methods", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default="fmnist-mlp", choices=sorted(FAMILIES),
                   help="config family (default %(default)s; tiny: 8x8 digits, for tests)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--activations", default=",".join(ACTIVATIONS))
    p.add_argument("--images", type=int, default=1000, help="test images in RTL (default %(default)s)")
    p.add_argument("--float-images", type=int,
                   help="test images in RTL for float networks (default: --images); a float "
                        "network simulates slower than a binary one, and a dense one (few zero "
                        "weights) takes far more cycles per image than paper 002's sparse ones")
    p.add_argument("--reuse", type=int, default=8)
    add_cluster_arguments(p, default_jobs=2)
    p.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    p.add_argument("--out", type=Path, default=Path("build/methods"))
    p.add_argument("--models", type=Path, default=Path("build"))
    p.add_argument("--cached-only", action="store_true",
                   help="run no new RTL simulation: networks without a stored run for these "
                        "settings are reported as not run (and fail the exit code)")
    p.add_argument("--synth", type=Path,
                   help=f"cost.synth summary for the measured costs (default {DEFAULT_SYNTH}; "
                        "missing there: paper constants only)")
    return p.parse_args(argv)


def check_args(args) -> tuple[list[str], list[str]]:
    """``(methods, activations)``; InputError for a bad argument or unreadable stored model."""
    methods = [m for m in args.methods.split(",") if m]
    activations = [a for a in args.activations.split(",") if a]
    for m in methods:
        if m not in METHODS:
            raise InputError(f"methods: unknown {m!r} (known: {', '.join(METHODS)})")
    for a in activations:
        if a not in ACTIVATIONS:
            raise InputError(f"activations: unknown {a!r} (known: {', '.join(ACTIVATIONS)})")
    for name, value in (("images", args.images), ("reuse", args.reuse), ("jobs", args.jobs),
                        ("float-images", args.float_images)):
        if value is not None and value < 1:
            raise InputError(f"{name}: must be >= 1, got {value}")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"out: not a folder: {args.out}")
    names = [config_name(m, a, args.family) for m in methods for a in activations]
    check_config_names(names, "methods")
    for name in names:
        stored_model(name, args.models)
    if not args.cached_only:
        Session(args.cluster, args.jobs).check()
    return methods, activations


def _run(args) -> int:
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    methods, activations = check_args(args)
    synth_path = args.synth if args.synth is not None else DEFAULT_SYNTH
    synth_summary = (load_summary(synth_path, "synth")
                     if args.synth is not None or DEFAULT_SYNTH.exists() else None)
    datasets = {get_config(config_name(m, a, args.family)).dataset
                for m in methods for a in activations}
    data = {d: load_data(d) for d in sorted(datasets)}
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Session(args.cluster, args.jobs) as session:
        entries = [run_one(m, a, args, synth_summary, data, log, session)
                   for a in activations for m in methods]
    report = {"format": "sparse-tnn-methods-v1", "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "settings": {"images": args.images, "float_images": args.float_images or args.images,
                           "reuse": args.reuse, "simulator": args.sim,
                           "synth_summary": str(synth_path) if synth_summary else None,
                           "synth_model": synth_summary.model.path if synth_summary else None},
              "seconds": time.perf_counter() - t0, "entries": entries}
    write_json(args.out / "report.json", report)
    table = render_table(entries)
    write_text(args.out / "methods.md", table + "\n")
    print(table)
    ok = all(e.get("rtl_run", False) and e["bit_exact"] == e["images"]
             and e["hw_accuracy"] == e["sw_accuracy"] for e in entries if e["exported"])
    return 0 if ok else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
