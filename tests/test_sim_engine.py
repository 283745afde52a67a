"""The engine's RTL (binary and float) on Verilator and Icarus against the golden model (cocotb)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hw.engine import layer_overhead
from hw.plan import plan_engine
from sim.runner import fst_available
from sim.tools import icarus_available
from sim.validate import as_words, generate, simulate
from sw import golden
from sw.model_file import save_model
from sw.synthetic import random_binary_model, random_float_model

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
    # name: (model factory, R, images, gaps)
    "three-layers-R3-gaps": (lambda rng: random_binary_model(rng, [50, 17, 9, 6], [0.2, 0.4, 0.5]), 3, 13, 0.3),
    "R1-width1": (lambda rng: random_binary_model(rng, [24, 1, 4], 0.5), 1, 5, 0.0),
    "extremes-R5": (extreme_model, 5, 12, 0.1),
    "sparse-skips-R8": (lambda rng: random_binary_model(rng, [300, 20, 10], 0.02), 8, 16, 0.0),
    "weighted-R3-gaps": (lambda rng: random_binary_model(rng, [50, 17, 9, 6], 0.4, weighted=(0, 2)), 3, 10, 0.2),
    "float-three-layers-R3-gaps": (lambda rng: random_float_model(rng, [50, 17, 9, 6], [0.2, 0.4, 0.5]), 3, 13, 0.3),
    "float-sparse-R8": (lambda rng: random_float_model(rng, [300, 20, 10], 0.03), 8, 16, 0.0),
    "float-asymmetric-R4": (lambda rng: random_float_model(rng, [50, 17, 9, 6], 0.3, asymmetric=(0, 2)),
                            4, 9, 0.1),
}


def run_case(name, sim, tmp_path):
    factory, reuse, n_images, gaps = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    model = factory(rng)
    pixels = rng.integers(0, 256, size=(n_images, model.n_inputs), dtype=np.uint8)
    pixels[0] = 255
    pixels[1] = 0
    plan = plan_engine(model, reuse)
    sources = generate(plan, tmp_path)
    rtl, report, _ = simulate(sources, pixels, plan, sim, tmp_path, gaps=gaps)
    want, _ = golden.forward(model, pixels, lanes=plan.add_latency if plan.kind == "float" else 1)
    np.testing.assert_array_equal(rtl, as_words(want))  # every bit
    batches = -(-n_images // reuse)
    if plan.kind == "binary":
        expected = sum(lp.word_count for lp in plan.layers) + layer_overhead(plan) * len(plan.layers)
        assert report["batch_cycles"] == [expected] * batches
    else:  # the schedule depends on the weights only, never on the data
        assert report["batch_cycles"] == report["batch_cycles"][:1] * batches


@pytest.mark.parametrize("name", list(CASES))
def test_engine_verilator(name, tmp_path):
    run_case(name, "verilator", tmp_path)


@ICARUS
@pytest.mark.parametrize("name", ["three-layers-R3-gaps", "extremes-R5", "weighted-R3-gaps",
                                  "float-three-layers-R3-gaps"])
def test_engine_icarus(name, tmp_path):
    run_case(name, "icarus", tmp_path)


def validate_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "sim.validate", *map(str, args)],
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_validate_reports_a_mismatch_and_keeps_waves(tmp_path, monkeypatch):
    """A fault injected in the testbench's read-back (not the RTL) must give exit 1,
    name the image and output, and leave an FST of the failing batch."""
    rng = np.random.default_rng(4)
    model = random_binary_model(rng, [16, 5, 3], 0.5)
    save_model(tmp_path / "m.npz", model)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (6, 16), dtype=np.uint8))
    monkeypatch.setenv("TNN_TB_FLIP_OUTPUT", "4,2")
    rc, out, err = validate_cli("--model", tmp_path / "m.npz", "--inputs", tmp_path / "x.npy",
                                "--reuse", 2, "--build", tmp_path / "work",
                                "--out", tmp_path / "out.npy")
    assert rc == 1, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["mismatches"] == 1 and summary["bit_exact"] == 5
    assert summary["first_mismatch"]["image"] == 4 and summary["first_mismatch"]["output"] == 2
    # The fault is in the read-back of the scores: every hidden layer matches, so
    # the layer named is the last one.
    assert summary["first_mismatch"]["layer"] == 1
    # FST where liblz4-dev is installed (make setup installs it), else VCD (sim.runner).
    assert summary["first_mismatch"]["waves"].endswith(".fst" if fst_available() else ".vcd")
    assert "image 4 layer 1 output 2" in err


def test_validate_float_model_reports_bits_and_float64_error(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    model = random_float_model(rng, [16, 5, 3], 0.5)
    save_model(tmp_path / "m.npz", model)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (4, 16), dtype=np.uint8))
    args = ("--model", tmp_path / "m.npz", "--inputs", tmp_path / "x.npy", "--reuse", 2,
            "--build", tmp_path / "work", "--out", tmp_path / "out.npy")
    rc, out, err = validate_cli(*args)
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["activation"] == "float" and summary["bit_exact"] == 4
    assert 0 <= summary["max_abs_diff_vs_float64"] < 1e-3
    assert np.load(tmp_path / "out.npy").dtype == np.float32
    monkeypatch.setenv("TNN_TB_FLIP_OUTPUT", "3,1")
    rc, out, err = validate_cli(*args)
    assert rc == 1, err
    mismatch = json.loads(out.strip().splitlines()[-1])["first_mismatch"]
    assert (mismatch["image"], mismatch["output"], mismatch["layer"]) == (3, 1, 1)
    assert int(mismatch["rtl_bits"], 16) ^ int(mismatch["golden_bits"], 16) == 1


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(inputs=np.zeros((3, 15), np.uint8)), "inputs: expected shape"),
    (lambda d: d.update(inputs=np.zeros((3, 16), np.float32)), "inputs: expected uint8"),
    (lambda d: d.update(labels=np.zeros(2, np.int64)), "labels"),
    (lambda d: d.update(model=b"not a model"), "not a readable .npz"),
])
def test_validate_refuses_bad_input(tmp_path, mutate, field):
    rng = np.random.default_rng(5)
    d = {"model": None, "inputs": rng.integers(0, 256, (3, 16), dtype=np.uint8),
         "labels": np.zeros(3, np.int64)}
    mutate(d)
    if d["model"] is None:
        save_model(tmp_path / "m.npz", random_binary_model(rng, [16, 4, 2], 0.5))
    else:
        (tmp_path / "m.npz").write_bytes(d["model"])
    np.save(tmp_path / "x.npy", d["inputs"])
    np.save(tmp_path / "y.npy", d["labels"])
    rc, out, err = validate_cli("--model", tmp_path / "m.npz", "--inputs", tmp_path / "x.npy",
                                "--labels", tmp_path / "y.npy", "--build", tmp_path / "work",
                                "--out", tmp_path / "out.npy")
    assert rc == 2
    assert field in err
    assert not (tmp_path / "out.npy").exists()


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
