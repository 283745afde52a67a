"""Fig. 7-style plots (cost/plots.py)."""

import os

from cost.gamma import LayerSparsity
from cost.plots import plot_all
from cost.throughput import DEVICES
from cost_fixtures import fake_summary


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
