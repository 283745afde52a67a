"""Effective TOPs of sparse TNN accelerators: the paper's model (:mod:`cost.throughput`)
with the paper's constants and with the measured ones (:mod:`cost.measured`).

    python -m cost.roofline [--device ku115] [--gamma G] [--reuse R] [--json]
                            [--summary build/synth/summary.json] [--synth] [--model M.npz]
                            [--plots] [--plot-dir build/roofline] [--markdown]

Prints the paper's peaks and the effective TOPs at (gamma, R) as text or one JSON object
(:func:`report`); ``--markdown`` prints the README's tables (:mod:`cost.markdown`),
``--plots`` writes Fig. 7-style PNGs (:mod:`cost.plots`). Without a synthesis summary at
the default path the measured values are null (a note says so); a ``--summary`` or
``--model`` given explicitly must be readable. Fmax on the device is not measured: the
measured curves assume the paper's 250 MHz too; blocks placed and routed on a Lattice ECP5
(:mod:`cost.nextpnr`) report that part's Fmax under ``measured`` (``binary_engine``,
``dense_bnn``, ``ecp5``), an ECP5 figure, not a KU115 one.

Exit code: 0; 1 when ``--synth`` fails in yosys or nextpnr; 2 on bad input, before
anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from sw.errors import ArgumentParser, InputError, run_cli

from . import gamma as gamma_
from .gamma import LayerSparsity
from .measured import measured_costs, measured_section
from .summary import SynthSummary, load_summary
from .throughput import (DEVICES, OPS_PER_MAC, PAPER, Device, breakeven_gamma, check_gamma,
                         check_reuse, effective_tops, paper_printed, peak_tops)

__all__ = ["DEFAULT_SUMMARY", "DEFAULT_MODEL", "report", "model_roofline", "main"]

DEFAULT_SUMMARY = "build/synth/summary.json"
DEFAULT_MODEL = "build/models/fmnist-mlp-binary.npz"
DEFAULT_PLOT_DIR = "build/roofline"


def report(device: Device, gamma: float, reuse: float, summary: SynthSummary | None) -> dict:
    """The CLI's JSON object: paper peaks, measured constants, effective TOPs at (gamma, R).

    ``effective_tops.measured_sparse`` is the measured binary engine at (gamma, R) (the same
    figure as ``effective_tops.measured.binary``), ``measured_dense_bnn_peak`` the dense
    BNN unit's peak on the device (gamma = 1, no decoder); both None without the
    measurement."""
    gamma, reuse = check_gamma(gamma), check_reuse(reuse)
    paper_macs = {"binary": PAPER.xnor_mac, "float": PAPER.float_mac}
    peaks = {k: peak_tops(device, c) for k, c in paper_macs.items()}
    out = {
        "device": asdict(device) | {"usable_luts": device.usable_luts,
                                    "usable_dsps": device.usable_dsps},
        "gamma": gamma,
        "reuse": reuse,
        "ops_per_mac": OPS_PER_MAC,
        "paper_constants": {"xnor_mac": asdict(PAPER.xnor_mac),
                            "float_mac": asdict(PAPER.float_mac),
                            "decoder": asdict(PAPER.decoder)},
        "peak_tops": peaks,
        "peak_tops_printed": {k: paper_printed(v) for k, v in peaks.items()},
        "effective_tops": {"paper": {
            k: effective_tops(device, c, PAPER.decoder, gamma, reuse)
            for k, c in paper_macs.items()}},
        "breakeven_gamma": {"paper": {
            k: breakeven_gamma(device, c, PAPER.decoder, reuse) for k, c in paper_macs.items()}},
        "measured": None,
        "fmax_measured": False,
    }
    sparse = dense = None
    if summary is not None:
        costs = measured_costs(summary)
        macs = costs.macs()
        out["measured"] = measured_section(summary)
        out["measured_peak_tops"] = {k: peak_tops(device, c) for k, c in macs.items()}
        out["effective_tops"]["measured"] = {
            k: effective_tops(device, c, costs.decoder, gamma, reuse) for k, c in macs.items()}
        out["breakeven_gamma"]["measured"] = {
            k: breakeven_gamma(device, c, costs.decoder, reuse) for k, c in macs.items()}
        if costs.binary is not None:
            sparse = effective_tops(device, costs.binary, costs.decoder, gamma, reuse)
        if costs.dense_bnn is not None:
            dense = peak_tops(device, costs.dense_bnn)
    out["effective_tops"] |= {"measured_sparse": sparse, "measured_dense_bnn_peak": dense}
    return out


def model_roofline(layers: list[LayerSparsity], activation: str, reuse: int,
                   summary: SynthSummary | None, weighted: bool = False,
                   device: Device = DEVICES["ku115"], pixels: int = 1) -> dict:
    """Effective TOPs of one network on ``device`` at R = ``reuse`` for its own gamma,
    overall and per layer (:mod:`cost.gamma`), from the paper's constants and, given a
    synthesis summary, the measured ones. A binary network's measured MAC is the engine
    slope (the XNOR PE without one); ``weighted`` (binary layers with integer weights)
    takes the weighted PE's cost instead, none if the summary lacks it. A layer without
    nonzeros is costed as one nonzero. Each layer also names its ``pixels`` (output
    pixels per weight and image, :mod:`cost.gamma`) and its reuse ``R = B x P``: an
    engine of R PEs with P = ``pixels`` output pixels per weight fetch runs B = R / P
    images, so a convolution gets ``R = B x P`` and a dense layer ``R = B`` (its other
    PEs repeat slot 0's work, :mod:`hw.conv_plan`); each layer's effective TOPs are
    taken at its own R."""
    batch = reuse // pixels
    binary = activation == "binary"
    paper_mac = PAPER.xnor_mac if binary else PAPER.float_mac
    costs = measured_costs(summary) if summary is not None else None
    measured_mac = None
    if costs is not None:
        measured_mac = (costs.binary or costs.xnor) if binary else costs.float_mac
        if binary and weighted:
            measured_mac = costs.binary_weighted

    def tops(g: float, r: int = reuse) -> dict:
        entry = {"paper": effective_tops(device, paper_mac, PAPER.decoder, g, r)}
        if measured_mac is not None:
            entry["measured"] = effective_tops(device, measured_mac, costs.decoder, g, r)
        return entry

    def layer_reuse(layer) -> dict:
        p = pixels if layer.pixels > 1 else 1
        return {"R": batch * p, "B": batch, "P": p}

    g = gamma_.overall(layers)
    return {
        "device": device.key, "reuse": reuse, "pixels": pixels, "batch": batch, "gamma": g,
        "paper_mac": asdict(paper_mac),
        "measured_mac": asdict(measured_mac) if measured_mac else None,
        "measured_decoder": asdict(costs.decoder) if costs else None,
        "effective_tops": tops(g),
        "layers": [{"name": layer.name, "gamma": layer.gamma, "pixels": layer.pixels, "reuse": r,
                    "effective_tops": tops(max(layer.nonzeros, 1) / layer.n_weights, r["R"])}
                   for layer, r in ((layer, layer_reuse(layer)) for layer in layers)],
    }


# ---------------------------------------------------------------------------------------------
# Command line

def _gamma_arg(text: str) -> float:
    try:
        return check_gamma(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")


def _reuse_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    p = ArgumentParser(prog="python -m cost.roofline", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=str.lower, choices=sorted(DEVICES), default="ku115",
                   help="target FPGA (default %(default)s)")
    p.add_argument("--gamma", type=_gamma_arg, default=1.0,
                   help="fraction of nonzero weights, in (0, 1] (default %(default)s)")
    p.add_argument("--reuse", type=_reuse_arg, default=8,
                   help="R, PEs per decoder, >= 1 (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--summary", help="synthesis summary from python -m cost.synth "
                   f"(default {DEFAULT_SUMMARY}; measured values null if it is missing)")
    p.add_argument("--synth", action="store_true",
                   help="run or refresh the synthesis cache first (python -m cost.synth)")
    p.add_argument("--model", help="model whose layer gammas the plots mark "
                   f"(default {DEFAULT_MODEL}, else its training report .json, else the summary's)")
    p.add_argument("--plots", action="store_true", help="write PNGs into --plot-dir")
    p.add_argument("--plot-dir", default=DEFAULT_PLOT_DIR, help="(default %(default)s)")
    p.add_argument("--markdown", action="store_true",
                   help="print the measured-cost tables as markdown (for the README)")
    return p.parse_args(argv)


def _print_text(rep: dict) -> None:
    d = rep["device"]
    print(f"{d['part']} ({d['family']}): {d['usable_luts']:,.0f} usable LUTs, "
          f"{d['usable_dsps']:,.0f} DSPs, {d['clock_hz'] / 1e6:g} MHz")
    print(f"paper peaks: binary {rep['peak_tops']['binary']:.3f} TOPs, "
          f"float {rep['peak_tops']['float']:.3f} TOPs")
    print(f"gamma = {rep['gamma']:g}, R = {rep['reuse']:g}:")
    for source, values in rep["effective_tops"].items():
        if isinstance(values, dict):
            text = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
            print(f"  {source:8s} effective TOPs: {text}")
    for key, label in (("measured_sparse", "measured sparse binary engine"),
                       ("measured_dense_bnn_peak", "measured dense BNN peak")):
        if rep["effective_tops"][key] is not None:
            print(f"  {label}: {rep['effective_tops'][key]:.3f} TOPs")
    if rep["measured"] is None:
        print("  (no synthesis summary: python -m cost.synth)")


def _summary(args) -> SynthSummary | None:
    """The explicit ``--summary`` (must be readable), else the default one if it exists."""
    if args.summary is not None:
        return load_summary(args.summary, "summary")
    if Path(DEFAULT_SUMMARY).exists():
        return load_summary(DEFAULT_SUMMARY, "summary")
    print(f"note: no synthesis summary at {DEFAULT_SUMMARY}; measured values are null "
          "(run python -m cost.synth)", file=sys.stderr)
    return None


def _layers(args) -> list[LayerSparsity] | None:
    """Layer gammas for the plots: the explicit ``--model`` must be readable."""
    if args.model is not None:
        layers = gamma_.of_model_file(args.model, "model")
        if layers is None:
            raise InputError(f"model: cannot read {args.model}: No such file or directory")
        return layers
    return gamma_.of_model_file(DEFAULT_MODEL, "model")


def _run(args: argparse.Namespace) -> int:
    device = DEVICES[args.device]
    layers = _layers(args) if args.plots else None
    if args.synth:
        from .synth import run_all
        from .yosys import SynthError
        try:
            run_all(args.model or DEFAULT_MODEL,
                    log=lambda s: print(s, file=sys.stderr, flush=True))
        except SynthError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    summary = _summary(args)
    if args.markdown and summary is None:
        raise InputError(f"summary: --markdown needs one; there is none at {DEFAULT_SUMMARY} "
                         "(run python -m cost.synth)")
    if args.markdown:
        from .markdown import render_markdown
        sys.stdout.write(render_markdown(summary, device))
    if args.plots:
        from .plots import plot_all
        for path in plot_all(device, summary, layers, args.plot_dir):
            print(f"wrote {path}", file=sys.stderr)
    if not args.markdown:
        rep = report(device, args.gamma, args.reuse, summary)
        if args.json:
            print(json.dumps(rep, indent=1))
        else:
            _print_text(rep)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
