"""Fig. 7-style plots of the effective-throughput model (matplotlib, Agg backend).

Each figure has two panels: the paper's constants and, given a synthesis summary, the
measured ones. The binary figures' dense BNN lines are the paper's (5 LUTs per MAC) and,
given a summary with dense units, the measured FINN-style dense unit's, in both panels.
Written with :func:`sw.files.save_figure` (atomic, umask-honouring).
"""

from __future__ import annotations

from pathlib import Path

from .gamma import LayerSparsity
from .measured import measured_costs
from .summary import SynthSummary
from .throughput import PAPER, Cost, Device, effective_tops, peak_tops

__all__ = ["PLOT_GAMMAS", "PLOT_REUSE", "plot_reuse", "plot_trained", "plot_all"]

PLOT_GAMMAS = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
PLOT_REUSE = (1, 8, 32, 256)

Pair = tuple[Cost, Cost]   # (MAC, decoder)
Dense = list[tuple[str, Cost, dict]]   # horizontal dense lines: (label, MAC, line style)
DENSE_LABEL = "dense BNN, MLP and CNN (γ = 1, no decoder)"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _dense_lines(ax, device: Device, mac: Cost, dense: Dense | None) -> None:
    """The dense lines: ``dense``, else the panel's own MAC at gamma = 1, no decoder."""
    for label, cost, style in dense or [(DENSE_LABEL, mac, {"color": "k", "ls": "--"})]:
        ax.axhline(peak_tops(device, cost), label=label, **style)


def _curve_panel(ax, device: Device, mac: Cost, decoder: Cost, title: str,
                 dense: Dense | None = None) -> None:
    """Effective TOPs against R (log2 axis) for :data:`PLOT_GAMMAS`, plus the dense lines."""
    import numpy as np
    rs = np.logspace(0, 10, 200, base=2)
    for g in PLOT_GAMMAS:
        ax.plot(rs, [effective_tops(device, mac, decoder, g, r) for r in rs],
                label=f"TNN, γ = {g:g}")
    _dense_lines(ax, device, mac, dense)
    ax.set(xscale="log", yscale="log", xlabel="data reuse R", title=title)
    ax.set_xscale("log", base=2)
    ax.grid(True, which="both", alpha=0.3)


def _cost_label(pair: Pair) -> str:
    mac, dec = pair
    parts = [f"{mac.luts:.3g} LUT" if mac.luts else "", f"{mac.dsps:g} DSP" if mac.dsps else ""]
    return f"MAC {' + '.join(p for p in parts if p)}, decoder {dec.luts:.0f} LUT"


def plot_reuse(device: Device, paper_pair: Pair, measured_pair: Pair | None, what: str,
               path, dense: Dense | None = None) -> Path:
    """Effective TOPs against R for several gamma (Fig. 7a/7b); ``dense``: the horizontal
    dense lines of both panels (default: each panel's MAC at gamma = 1, no decoder)."""
    from sw.files import save_figure
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharey=True, layout="constrained")
    _curve_panel(axes[0], device, *paper_pair, f"paper constants ({_cost_label(paper_pair)})",
                 dense)
    if measured_pair is not None:
        _curve_panel(axes[1], device, *measured_pair,
                     f"measured, yosys ({_cost_label(measured_pair)})", dense)
    else:
        axes[1].text(0.5, 0.5, "no synthesis summary\n(python -m cost.synth)", ha="center",
                     va="center", transform=axes[1].transAxes)
    axes[0].set_ylabel(f"effective TOPs, {what}, {device.part} @ {device.clock_hz / 1e6:g} MHz")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    return save_figure(fig, path)


def _trained_panel(ax, device, mac, decoder, gammas, model_gamma, title, dense=None) -> None:
    import numpy as np
    gs = np.logspace(-2, 0, 200)
    for r in PLOT_REUSE:
        ax.plot(gs, [effective_tops(device, mac, decoder, g, r) for g in gs], label=f"R = {r}")
    _dense_lines(ax, device, mac,
                 dense or [("dense BNN (γ = 1)", mac, {"color": "k", "ls": "--"})])
    for name, g in gammas:
        ax.axvline(g, color="tab:gray", ls=":", lw=1)
        ax.text(g, 0.02, f" {name} {100 * g:.1f}%", rotation=90, fontsize=7, va="bottom",
                transform=ax.get_xaxis_transform())
    if model_gamma is not None:
        ax.axvline(model_gamma, color="k", lw=1.2, label=f"whole model γ = {100 * model_gamma:.2f}%")
    ax.set(xscale="log", yscale="log", xlabel="γ (fraction of nonzero weights)", title=title)
    ax.grid(True, which="both", alpha=0.3)


def plot_trained(device: Device, paper_pair: Pair, measured_pair: Pair | None,
                 gammas: list[tuple[str, float]], model_gamma: float | None, path,
                 dense: Dense | None = None) -> Path:
    """Effective TOPs against gamma for several R, the trained model's layers marked."""
    from sw.files import save_figure
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharey=True, layout="constrained")
    _trained_panel(axes[0], device, *paper_pair, gammas, model_gamma, "paper constants", dense)
    if measured_pair is not None:
        _trained_panel(axes[1], device, *measured_pair, gammas, model_gamma, "measured, yosys",
                       dense)
    axes[0].set_ylabel(f"effective TOPs, binary activations, {device.part}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=6, fontsize=8)
    return save_figure(fig, path)


def plot_all(device: Device, summary: SynthSummary | None, layers: list[LayerSparsity] | None,
             out_dir) -> list[Path]:
    """Write the PNGs: Fig. 7(b)-style binary (type 1), Fig. 7(a)-style float (type 2),
    each with paper-constant and measured panels, and, given the model's ``layers`` (else
    the summary's model), the trained model's gammas."""
    out_dir = Path(out_dir)
    costs = measured_costs(summary) if summary is not None else None
    binary = (costs.binary, costs.decoder) if costs and costs.binary else None
    float_ = (costs.float_mac, costs.decoder) if costs else None
    dense = _binary_dense_lines(costs)
    paths = [
        plot_reuse(device, (PAPER.xnor_mac, PAPER.decoder), binary,
                   "type 1 (binary activations)", out_dir / "fig7b_binary.png", dense),
        plot_reuse(device, (PAPER.float_mac, PAPER.decoder), float_,
                   "type 2 (float activations)", out_dir / "fig7a_float.png"),
    ]
    gammas = [(layer.name, layer.gamma) for layer in layers] if layers is not None else None
    if gammas is None and summary is not None:
        gammas = [(f"w{i}", layer.gamma) for i, layer in enumerate(summary.model.layers)]
    if gammas:
        model_gamma = summary.model.gamma if summary is not None else None
        paths.append(plot_trained(device, (PAPER.xnor_mac, PAPER.decoder), binary,
                                  gammas, model_gamma, out_dir / "trained_model_gamma.png",
                                  dense))
    return paths


def _binary_dense_lines(costs) -> Dense:
    """The binary figures' dense BNN lines: the paper's (FINN's 5 LUTs per MAC) and, when
    measured, the FINN-style dense unit's (:class:`hw.dense_mvu.DenseMVU`)."""
    lines = [(f"dense BNN, paper ({PAPER.xnor_mac.luts:g} LUT/MAC, γ = 1, no decoder)",
              PAPER.xnor_mac, {"color": "k", "ls": "--"})]
    if costs is not None and costs.dense_bnn is not None:
        lines.append((f"dense BNN, measured (FINN-style unit, {costs.dense_bnn.luts:.3g} LUT/MAC)",
                      costs.dense_bnn, {"color": "k", "ls": "-.", "lw": 1.2}))
    return lines
