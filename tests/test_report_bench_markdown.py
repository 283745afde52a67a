"""The benchmark's Markdown (report/bench_markdown.py) on a hand-made report."""

from report.bench_markdown import glance_table, render_markdown


def _model(activation, measured=None):
    tops = {"paper": 12.345} | ({"measured": measured} if measured is not None else {})
    return {
        "activation": activation, "bit_exact": 10000, "images": 10000,
        "hw_accuracy": 0.8844, "sw_accuracy": 0.8844,
        "sizes": {"zero_fraction": 0.965, "rle_bits_per_weight": 0.3509,
                  "huffman_bits_per_weight": 0.2612},
        "cycles_per_batch": {"measured": 4200.0, "ideal": 4000.0, "ratio": 1.05,
                             "budget": {"compute": 4000, "drain": 200}},
        "sim_seconds": 61.2, "sim_cycles_per_second": 123456,
        "roofline": {"effective_tops": tops,
                     "layers": [{"gamma": 0.04, "effective_tops": tops,
                                 "reuse": {"R": 8, "B": 2, "P": 4}}]},
        "training": {"stages": {"train": 0.88}, "baselines": {}},
        "layers": [{"name": "fc0", "shape": [512, 784], "zero_fraction": 0.96}],
        "validation": {"max_abs_diff_vs_float64": 1e-6, "argmax_agreement_vs_float64": 1.0,
                       "add_latency": 3},
    }


REPORT = {
    "settings": {"reuse": 8, "simulator": "verilator", "jobs": 2},  # a report from before R per config
    "git": {"commit": "0123456789abcdef", "dirty": True}, "date": "2025-01-01 00:00:00 UTC",
    "models": {"a": {**_model("binary", 3.21), "reuse": 32}, "b": {**_model("float"), "pixels": 4}},  # b: before "reuse"
    "plots": ["build/bench/sparsity.png"], "phases": {"train": 1.0, "simulate": 2.0},
    "versions": {"python": "3.11"},
}


def test_glance_table():
    assert glance_table(REPORT).splitlines() == [
        "| | `a` | `b` |",
        "| --- | ---: | ---: |",
        "| activations | binary | float |",
        "| test images bit-exact in RTL | 10,000 / 10,000 | 10,000 / 10,000 |",
        "| accuracy: RTL / golden model | 88.44 % / 88.44 % | 88.44 % / 88.44 % |",
        "| zero weights | 96.50 % | 96.50 % |",
        "| weight bits per weight: RLE / Huffman (2-bit dense: 2) | 0.351 / 0.261 | 0.351 / 0.261 |",
        "| R = B x P (images per batch x output pixels per weight fetch) | 32 = 32 x 1 | 8 = 2 x 4 |",
        "| cycles per batch: measured / ideal | 4,200 / 4,000 (1.050) | 4,200 / 4,000 (1.050) |",
        "| simulation: wall s / simulated cycles per s | 61 / 123,456 | 61 / 123,456 |",
        "| effective TOPs on KU115 at this gamma and R: paper constants / measured "
        "| 12.35 / 3.21 | 12.35 / not synthesised |",
    ]


def test_report_markdown_sections():
    md = render_markdown(REPORT)
    lines = md.splitlines()
    assert lines[:3] == ["# Benchmark report", "",
                         "Commit `0123456789ab` (uncommitted changes), 2025-01-01 00:00:00 UTC; "
                         "verilator, R = 8, 2 simulation processes."]
    assert lines[4] == "| | `a` | `b` |"
    assert "![sparsity](sparsity.png)" in lines
    assert "| fc0 | 512x784 | 96.00 % | 0.0400 | 8 = 2 x 4 | 12.35 | 3.21 |" in lines
    assert "| fc0 | 512x784 | 96.00 % | 0.0400 | 8 = 2 x 4 | 12.35 | - |" in lines
    assert "Cycles per batch by cause (model): compute 4,000, drain 200; measured 4,200." in lines
    assert sum(line.startswith("Largest difference of any output") for line in lines) == 1
    assert md.endswith("the TOPs figures assume the paper's 250 MHz.\n")


def test_markdown_names_r_per_config():
    report = {**REPORT, "settings": {**REPORT["settings"], "reuse": {"a": 32, "b": 8}}}
    assert render_markdown(report).splitlines()[2].endswith("verilator, R = 32 (a), 8 (b), 2 simulation processes.")
