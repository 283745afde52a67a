"""The benchmark's own plot: sparsity per layer of each benchmarked model."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_sparsity"]


def plot_sparsity(report: dict, path: Path) -> Path:
    """Grouped bars of each layer's zero weights (%), one series per model."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from sw.files import save_figure
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
