"""The engine's RTL (binary and float) on Verilator and Icarus against the golden model (cocotb)."""

import re
import zlib

import numpy as np
import pytest

from hw.engine import cycle_budget
from hw.plan import plan_engine
from sim.tools import icarus_available
from sim.validate import as_words, generate, simulate_local
from sw import golden
from sw.synthetic import conv_preset, random_binary_model, random_float_model

ICARUS = pytest.mark.skipif(not icarus_available(), reason="iverilog not installed")


def extreme_model(rng):
    """Dense all-+1 / all--1 rows at layer 0 (accumulator at both ends with pixels
    0 and 255), an empty row, a single nonzero in the last column, width-1 layer."""
    model = random_binary_model(rng, [40, 6, 1, 5], [0.3, 0.5, 1.0])
    w0 = model.weights[0]
    w0[0, :], w0[1, :], w0[2, :] = 1, -1, 0
    w0[3, :] = 0
    w0[3, -1] = -1
    lo = -255 * (w0 < 0).sum(axis=1)
    model.thresholds[0][:] = np.clip(model.thresholds[0], lo, 255 * (w0 > 0).sum(axis=1) + 1)
    return model


CASES = {
    # name: (model factory, R, images, gaps[, binary engine lanes K[, P]]); K is the plan's choice
    # unless given (None), P (output pixels per weight fetch, conv layers) 1 unless given
    "three-layers-R3-gaps": (lambda rng: random_binary_model(rng, [50, 17, 9, 6], [0.2, 0.4, 0.5]), 3, 13, 0.3),
    "R1-width1": (lambda rng: random_binary_model(rng, [24, 1, 4], 0.5), 1, 5, 0.0),
    "extremes-R5": (extreme_model, 5, 12, 0.1),
    "sparse-skips-R8": (lambda rng: random_binary_model(rng, [300, 20, 10], 0.02), 8, 16, 0.0),
    "lanes-R3-K5-gaps": (lambda rng: random_binary_model(rng, [61, 13, 7], [0.3, 0.1]), 3, 7, 0.2, 5),
    "lanes-R1-K1": (lambda rng: random_binary_model(rng, [33, 9, 3], 0.3), 1, 3, 0.0, 1),
    "weighted-R3-gaps": (lambda rng: random_binary_model(rng, [50, 17, 9, 6], 0.4, weighted=(0, 2)), 3, 10, 0.2),
    "conv-R3-K2-gaps": (lambda rng: conv_preset("odd", "binary", seed=3), 3, 7, 0.2, 2),
    "conv-stride2-R2": (lambda rng: conv_preset("stride2", "binary", seed=4), 2, 5, 0.0),
    "conv-R6-K2-P3-gaps": (lambda rng: conv_preset("odd", "binary", seed=3), 6, 5, 0.2, 2, 3),
    "float-conv-R4-P2-gaps": (lambda rng: conv_preset("stride2", "float", seed=4), 4, 5, 0.1, None, 2),
    "float-three-layers-R3-gaps": (lambda rng: random_float_model(rng, [50, 17, 9, 6], [0.2, 0.4, 0.5]), 3, 13, 0.3),
    "float-sparse-R8": (lambda rng: random_float_model(rng, [300, 20, 10], 0.03), 8, 16, 0.0),
    "float-asymmetric-R4": (lambda rng: random_float_model(rng, [50, 17, 9, 6], 0.3, asymmetric=(0, 2)),
                            4, 9, 0.1),
}


def vpi_signals(build_dir):
    """The signals a Verilator build lets VPI (cocotb) see: the names its symbol
    table registers. Only the wrapper's ports: every public signal would be
    re-evaluated on each eval(), several times slower."""
    text = "".join(p.read_text() for p in build_dir.glob("Vtop__Syms*.cpp"))
    return set(re.findall(r'varInsert\("([^"]+)"', text))


def run_case(name, sim, tmp_path):
    factory, reuse, n_images, gaps, *rest = CASES[name]
    lanes = rest[0] if rest else None
    group = rest[1] if len(rest) > 1 else 1
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # hash() changes with PYTHONHASHSEED
    model = factory(rng)
    pixels = rng.integers(0, 256, size=(n_images, model.n_inputs), dtype=np.uint8)
    pixels[0] = 255
    pixels[1] = 0
    plan = plan_engine(model, reuse, lanes=lanes, pixel_group=group)
    if lanes:
        assert plan.lanes == lanes
    sources = generate(plan, tmp_path)
    rtl, report, build_dir = simulate_local(sources, pixels, plan, sim, tmp_path, gaps=gaps)
    if sim == "verilator":
        wrapper = next(p for p in sources if p.name.endswith("_tb.v")).read_text()
        ports = re.findall(r"^    (?:input|output) wire (?:\[\d+:0\] )?(\w+)", wrapper, re.M)
        assert "done" in ports and vpi_signals(build_dir) == {"clk", *ports}
    want, _ = golden.forward(model, pixels, lanes=plan.golden_lanes)
    np.testing.assert_array_equal(rtl, as_words(want))  # every bit
    batches = -(-n_images // plan.batch)
    if plan.kind == "binary":  # exactly the plan's cycles, every batch
        assert report["batch_cycles"] == [sum(cycle_budget(plan).values())] * batches
    else:  # the schedule depends on the weights only, never on the data
        assert report["batch_cycles"] == report["batch_cycles"][:1] * batches


@pytest.mark.parametrize("name", list(CASES))
def test_engine_verilator(name, tmp_path):
    run_case(name, "verilator", tmp_path)


@ICARUS
@pytest.mark.parametrize("name", ["three-layers-R3-gaps", "extremes-R5", "weighted-R3-gaps",
                                  "lanes-R3-K5-gaps", "conv-R3-K2-gaps", "conv-R6-K2-P3-gaps",
                                  "float-three-layers-R3-gaps", "float-conv-R4-P2-gaps"])
def test_engine_icarus(name, tmp_path):
    run_case(name, "icarus", tmp_path)


@pytest.mark.parametrize("factory", [
    random_binary_model, random_float_model,
    lambda rng, sizes, density: random_float_model(rng, sizes, density, asymmetric=(1,))])
def test_generated_engine_is_lint_clean(tmp_path, factory):
    from sim.lint import lint
    rng = np.random.default_rng(8)
    model = factory(rng, [40, 12, 7, 5], 0.3)
    sources = generate(plan_engine(model, 5), tmp_path)
    clean, messages = lint(sources[0])
    assert clean, messages


def test_float_conv_engine_verilator(tmp_path):
    """A float conv network through the Verilator runner (the engine's load and
    hidden addresses from the plan): padding, a 2x2 pool with leftovers, a 1x3
    kernel, empty, dense and one-corner-tap channels, R = 3, idle gaps; outputs and
    the first conv layer's pooled activations bit-exact; the generated Verilog is
    lint-clean."""
    from sim.lint import lint
    from sw.synthetic import conv_preset
    model = conv_preset("odd", "float", seed=5)
    plan = plan_engine(model, 3)
    assert plan.conv
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, size=(7, model.n_inputs), dtype=np.uint8)
    pixels[0], pixels[1] = 255, 0
    sources = generate(plan, tmp_path)
    clean, messages = lint(sources[0])
    assert clean, messages
    want, hidden = golden.forward(model, pixels, lanes=plan.golden_lanes)
    rtl, report, _ = simulate_local(sources, pixels, plan, "verilator", tmp_path, gaps=0.2)
    np.testing.assert_array_equal(rtl, as_words(want))
    assert report["batch_cycles"] == report["batch_cycles"][:1] * 3
    acts, _, _ = simulate_local(sources, pixels[:3], plan, "verilator", tmp_path, stop_after=1)
    np.testing.assert_array_equal(acts, as_words(hidden[0][:3]))
