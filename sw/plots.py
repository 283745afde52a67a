"""PNG plots in the style of paper 002's figures (matplotlib, Agg backend).

* :func:`weight_histograms` -- distribution of ``w_r`` (Fig. 1b: with and without L2);
* :func:`layer_nonzeros` -- nonzero percentage per layer (Fig. 4b);
* :func:`accuracy_vs_sparsity` -- accuracy against sparsity over an eta sweep (Fig. 4a).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .files import save_figure  # noqa: E402

__all__ = ["weight_histograms", "layer_nonzeros", "accuracy_vs_sparsity"]


def weight_histograms(runs: dict[str, dict[str, np.ndarray]], eta: float, path, *,
                      title: str = "", bins: int = 100) -> Path:
    """One panel per run (e.g. "with L2", "without L2"), one histogram line per layer.

    ``runs`` maps a label to ``{layer name: w_r array}``; dashed lines mark +-eta.
    """
    fig, axes = plt.subplots(len(runs), 1, figsize=(7, 2.6 * len(runs) + 0.4), squeeze=False,
                             sharex=True, layout="constrained")
    edges = np.linspace(-1, 1, bins + 1)
    for ax, (label, layers) in zip(axes[:, 0], runs.items()):
        for name, w in layers.items():
            counts, _ = np.histogram(np.asarray(w).ravel(), bins=edges)
            ax.stairs(counts / max(1, counts.sum()), edges, label=name, lw=1)
        for x in (-eta, eta):
            ax.axvline(x, color="k", ls="--", lw=0.8)
        ax.set_ylabel("fraction")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=7, loc="upper center")
    axes[-1, 0].set_xlabel("w_r")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def layer_nonzeros(layers: list[str], series: dict[str, list[float]], path, *,
                   title: str = "") -> Path:
    """Grouped bars: nonzero fraction (as %) of each layer, one bar per series."""
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(layers) + 2), 3.5), layout="constrained")
    width = 0.8 / max(1, len(series))
    x = np.arange(len(layers))
    for k, (label, values) in enumerate(series.items()):
        bars = ax.bar(x + (k - (len(series) - 1) / 2) * width, 100 * np.asarray(values), width,
                      label=label)
        if len(series) <= 3:
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(x, layers, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("nonzero weights (%)")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def accuracy_vs_sparsity(series: dict[str, list[tuple[float, float, float]]], path, *,
                         title: str = "") -> Path:
    """One line per series of ``(zero fraction, accuracy, eta)`` points, labelled with eta."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for label, points in series.items():
        pts = sorted(points)
        zs, accs = [100 * p[0] for p in pts], [100 * p[1] for p in pts]
        ax.plot(zs, accs, marker="o", label=label)
        for z, a, (_, _, eta) in zip(zs, accs, pts):
            ax.annotate(f"{eta:g}", (z, a), textcoords="offset points", xytext=(3, 3), fontsize=7)
    ax.set_xlabel("zero weights (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="points labelled with eta", title_fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
