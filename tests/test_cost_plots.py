"""Fig. 7-style plots (cost/plots.py)."""

import os

import pytest

from cost.gamma import LayerSparsity
from cost.plots import plot_all
from cost.throughput import DEVICES
from cost_fixtures import fake_summary, placed_blocks


def test_plots_are_written_honouring_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        paths = plot_all(DEVICES["ku115"], fake_summary(), None, tmp_path)
    finally:
        os.umask(old)
    assert sorted(p.name for p in paths) == [
        "fig7a_float.png", "fig7b_binary.png", "trained_model_gamma.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert all(p.stat().st_mode & 0o777 == 0o640 for p in paths)


def test_without_a_summary_only_the_paper_panels_and_given_layers(tmp_path):
    layers = [LayerSparsity("w0", 5, 100)]
    paths = plot_all(DEVICES["ku115"], None, layers, tmp_path)
    assert [p.name for p in paths] == ["fig7b_binary.png", "fig7a_float.png",
                                       "trained_model_gamma.png"]
    assert plot_all(DEVICES["ku115"], None, None, tmp_path / "b")[-1].name == "fig7a_float.png"


def test_binary_figures_carry_the_paper_and_the_measured_dense_lines(tmp_path, monkeypatch):
    from cost import plots
    seen = []
    real = plots._dense_lines
    monkeypatch.setattr(plots, "_dense_lines",
                        lambda ax, device, mac, dense: seen.append(dense) or real(ax, device, mac, dense))
    plot_all(DEVICES["ku115"], fake_summary(placed_blocks()), None, tmp_path)
    binary = [d for d in seen if d is not None]
    assert len(binary) == 4 and None in seen  # fig 7b and the gamma plot, two panels each
    labels = [label for label, _, _ in binary[0]]
    assert labels == ["dense BNN, paper (5 LUT/MAC, γ = 1, no decoder)",
                      "dense BNN, measured (FINN-style unit, 2.5 LUT/MAC)"]
    assert [cost.luts for _, cost, _ in binary[0]] == [5, pytest.approx(2.5)]
