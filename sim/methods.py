"""``make methods``: the seed papers' ternarisation methods side by side on Fashion-MNIST.

    python -m sim.methods [--methods threshold,twn,...] [--activations float,binary]
        [--images 1000] [--reuse 8] [--jobs 2] [--out build/methods] [--models build]

For each method and activation kind, the training config ``fmnist-mlp-<kind>``
(paper 002's threshold method) or ``fmnist-mlp-<kind>-<method>`` is trained
(or reused, as in ``make bench``), its exported model file validated on the
first ``--images`` (float networks: ``--float-images``) test images in RTL
(Verilator), and the results collected:
test accuracy of the PyTorch network and of the exported model file (the
golden model; they differ where the export approximates, e.g. weighted binary
layers), zero fraction, RLE and Huffman bits per weight, effective TOPs on a
KU115 at R (paper constants and, after ``make synth``, measured costs; a
weighted binary network's PEs carry a multiplier, and its measured cost says
so), and whether every image was bit-exact. A network the model file cannot
hold is reported with the exporter's reason and no RTL run.

Writes ``<out>/report.json`` and ``<out>/methods.md``; ``python -m sim.readme``
copies the table into README.md. ``--cached-only`` runs no new simulation
(networks without a stored run are reported as not run). Exit code 0 iff every
exported network ran and was bit-exact on every image; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from sw.configs import UnknownConfig, get_config
from sw.data import DataError
from sw.model_file import load_model
from sw.files import atomic_write_bytes, write_json

from .bench import roofline_for, simulate_model, ensure_model

METHODS = ("threshold", "twn", "ttq-threshold", "ttq-sparsity", "prox-single", "prox-dual", "sq",
           "incremental")
ACTIVATIONS = ("float", "binary")


#: Config families: the name of the threshold method's config per activation kind;
#: other methods append ``-<method>``.
FAMILIES = {
    "fmnist-mlp": {"float": "fmnist-mlp-float", "binary": "fmnist-mlp-binary"},
    "tiny": {"float": "tiny-float", "binary": "tiny"},     # 8x8 digits, for tests
}


def config_name(method: str, activation: str, family: str = "fmnist-mlp") -> str:
    base = FAMILIES[family][activation]
    return base if method == "threshold" else f"{base}-{method}"


def run_one(method, activation, args, synth_summary, log) -> dict:
    name = config_name(method, activation, args.family)
    cfg = get_config(name)
    npz, report, _ = ensure_model(name, args.models, log)
    totals = report["totals"]
    exported = bool(report["export"].get("path"))
    two_scales = exported and load_model(npz).asymmetric  # sn{l} (float) or kp{l}/kn{l} (binary)
    weighted = two_scales and activation == "binary"
    entry = {
        "method": method, "activation": activation, "config": name,
        "test_acc": report["final"]["test_acc"],
        "golden_test_acc": report["export"].get("golden_accuracy"),
        "zero_fraction": totals["zero_fraction"],
        "rle_bits_per_weight": totals["rle_bits"] / totals["n_weights"],
        "huffman_bits_per_weight": totals["huffman_bits"] / totals["n_weights"],
        "train_seconds": report["timing"]["train_seconds"],
        "roofline": roofline_for(report, activation, args.reuse, synth_summary, weighted=weighted),
        "exported": exported,
        "weighted": weighted,
        "asymmetric": two_scales,
        "export_reason": report["export"].get("reason"),
        # PyTorch vs the exported file on the test set (exact for ordinary binary layers)
        "export_agreement": report["export"].get("prediction_agreement"),
        "hidden_bit_mismatches": sum(report["export"].get("hidden_bit_mismatches", [])) or None,
        # SQ: 1 (binary) or 2 (ternary) bits per weight of each layer
        "layer_bits": [layer.get("bits_per_weight") for layer in
                       report["stages"][list(report["stages"])[-1]]["layers"]],
    }
    if entry["exported"]:
        images = args.float_images if activation == "float" and args.float_images else args.images
        key = {"model_sha256": hashlib.sha256(Path(npz).read_bytes()).hexdigest(), "images": images,
               "reuse": args.reuse, "simulator": args.sim}
        done = args.out / f"{name}-validate.json"
        previous = json.loads(done.read_text()) if done.exists() else None
        if previous is not None and previous.get("key") == key:
            log(f"methods: {name}: reusing the RTL run in {done} (same model file and settings)")
            summary = previous
        elif args.cached_only:
            log(f"methods: {name}: no RTL run in {done} with these settings; --cached-only: not run")
            return {**entry, "rtl_run": False}
        else:
            summary = simulate_model(name, npz, cfg, argparse.Namespace(**{**vars(args), "images": images}),
                                     args.out, log)
            write_json(done, {**summary, "key": key})
        entry.update(rtl_run=True, images=summary["images"], bit_exact=summary["bit_exact"],
                     hw_accuracy=summary.get("hw_accuracy"), sw_accuracy=summary.get("sw_accuracy"),
                     asymmetric_layers=summary.get("asymmetric_layers", 0))
    return entry


def render_table(entries: list[dict]) -> str:
    reuse = entries[0]["roofline"]["reuse"] if entries else 8
    rows = ["| method | activations | test accuracy: PyTorch / model file | zero weights "
            f"| bits/weight RLE / Huffman | eff. TOPs KU115, R = {reuse}: paper / measured "
            "| RTL bit-exact (test images) | train s |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for e in entries:
        golden = e.get("golden_test_acc")
        acc = f"{100 * e['test_acc']:.2f} % / " + (f"{100 * golden:.2f} %" if golden is not None else "-")
        t = e["roofline"]["effective_tops"]
        tops = f"{t['paper']:.1f} / " + (f"{t['measured']:.2f}" if "measured" in t else "-")
        if e["exported"] and not e.get("rtl_run", True):
            rtl = "not run (--cached-only)"
        elif e["exported"]:
            rtl = (f"{'yes' if e['bit_exact'] == e['images'] else 'NO'}: {e['bit_exact']:,} / "
                   f"{e['images']:,}, hw acc = sw acc: {e['hw_accuracy'] == e['sw_accuracy']}")
        else:
            rtl = f"not exportable: {e['export_reason'].split(';')[0]}"
        kind = e["activation"] + (" (weighted)" if e.get("weighted") else
                                  " (asymmetric)" if e.get("asymmetric") else "")
        bits = [b for b in e.get("layer_bits", []) if b is not None]
        method = e["method"] + (f" (bits per layer: {', '.join(map(str, bits))})" if bits else "")
        rows.append(f"| {method} | {kind} | {acc} "
                    f"| {100 * e['zero_fraction']:.1f} % | {e['rle_bits_per_weight']:.3f} / "
                    f"{e['huffman_bits_per_weight']:.3f} | {tops} | {rtl} | {e['train_seconds']:.0f} |")
    return "\n".join(rows)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m sim.methods", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default="fmnist-mlp", choices=sorted(FAMILIES),
                   help="config family (default %(default)s; tiny: 8x8 digits, for tests)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--activations", default=",".join(ACTIVATIONS))
    p.add_argument("--images", type=int, default=1000, help="test images in RTL (default %(default)s)")
    p.add_argument("--float-images", type=int,
                   help="test images in RTL for float networks (default: --images); the float "
                        "engine simulates ~8x slower than the binary one, and dense networks "
                        "(TTQ: ~3%% zeros) take ~17x the cycles of paper 002's: 1,000 images of "
                        "such a network take 15-25 minutes on two cores")
    p.add_argument("--reuse", type=int, default=8)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    p.add_argument("--out", type=Path, default=Path("build/methods"))
    p.add_argument("--models", type=Path, default=Path("build"))
    p.add_argument("--cached-only", action="store_true",
                   help="run no new RTL simulation: networks without a stored run for these "
                        "settings are reported as not run (and fail the exit code)")
    p.add_argument("--synth", type=Path, default=Path("build/synth/summary.json"),
                   help="hw.synth summary for the measured costs (default %(default)s; "
                        "missing: paper constants only)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    methods = [m for m in args.methods.split(",") if m]
    activations = [a for a in args.activations.split(",") if a]
    try:
        for m in methods:
            if m not in METHODS:
                raise ValueError(f"methods: unknown {m!r} (known: {', '.join(METHODS)})")
        for a in activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"activations: unknown {a!r} (known: {', '.join(ACTIVATIONS)})")
        for name, value in (("images", args.images), ("reuse", args.reuse), ("jobs", args.jobs),
                            ("float-images", args.float_images or 1)):
            if value < 1:
                raise ValueError(f"{name}: must be >= 1, got {value}")
        for m in methods:
            for a in activations:
                get_config(config_name(m, a, args.family))
    except (ValueError, UnknownConfig) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from hw.roofline import load_summary
    synth_summary = load_summary(args.synth)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        entries = [run_one(m, a, args, synth_summary, log) for a in activations for m in methods]
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = {"format": "sparse-tnn-methods-v1", "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "settings": {"images": args.images, "float_images": args.float_images or args.images,
                           "reuse": args.reuse, "simulator": args.sim,
                           "synth_summary": str(args.synth) if synth_summary else None,
                           "synth_model": (synth_summary or {}).get("model", {}).get("path")},
              "seconds": time.perf_counter() - t0, "entries": entries}
    write_json(args.out / "report.json", report)
    table = render_table(entries)
    atomic_write_bytes(args.out / "methods.md", (table + "\n").encode())
    print(table)
    ok = all(e.get("rtl_run", False) and e["bit_exact"] == e["images"]
             and e["hw_accuracy"] == e["sw_accuracy"] for e in entries if e["exported"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
