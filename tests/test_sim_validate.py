"""sim.validate: the command line's summary, mismatch report and waves, and its refusals
(exit 2, one line naming the field, nothing written)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cli_fixtures import cli_files, refused  # noqa: F401 (fixture)
from sim import validate
from sim.runner import fst_available
from sw.model_file import save_model
from sw.synthetic import random_binary_model, random_float_model


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
    (lambda d: d.update(model=b"not a model"), "model: cannot read"),
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


def test_validate_refuses_missing_and_unreadable_files_and_bad_arguments(cli_files, capsys):
    d, out = cli_files
    good = ["--model", d / "m.npz", "--inputs", d / "x.npy", "--build", out / "work",
            "--out", out / "rtl.npy", "--summary", out / "summary.json"]
    cases = [
        (["--model", d / "missing.npz", *good[2:]],
         f"model: cannot read {d / 'missing.npz'}: No such file or directory"),
        (["--model", d / "garbage", *good[2:]],
         f"model: cannot read {d / 'garbage'}: not a .npz archive"),
        ([*good[:2], "--inputs", d / "missing.npy", *good[4:]],
         f"inputs: cannot read {d / 'missing.npy'}: No such file or directory"),
        ([*good[:2], "--inputs", d / "garbage", *good[4:]],
         f"inputs: cannot read {d / 'garbage'}: not a numeric .npy array"),
        ([*good, "--labels", d / "garbage"],
         f"labels: cannot read {d / 'garbage'}: not a numeric .npy array"),
        ([*good, "--reuse", 0], "reuse: must be >= 1, got 0"),
        ([*good, "--reuse", "eight"], "reuse: invalid int value: 'eight'"),
        ([*good, "--jobs", 0], "jobs: must be >= 1, got 0"),
        ([*good, "--gaps", 1.5], "gaps: must be in [0, 1), got 1.5"),
        ([*good, "--add-latency", 3], "add-latency: only float models have an adder latency"),
        (good[2:], "model: required"),
    ]
    for argv, message in cases:
        refused(capsys, validate.main, argv, message, out)


def test_validate_binary_inputs_and_constant_bits_bit_exact(tmp_path):
    """Binary inputs (input_threshold; the host writes their bits) and thresholds beyond
    the accumulator range (clamped by the plan) run bit-exactly, weighted layer 0 too."""
    rng = np.random.default_rng(7)
    model = random_binary_model(rng, [40, 9, 7, 3], 0.5, weighted=(0,), k_max=40, input_threshold=100)
    model.thresholds[0][:2] = [-1000, 5000]
    model.thresholds[1][2] = 2**31 - 1
    save_model(tmp_path / "m.npz", model)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (8, 40), dtype=np.uint8))
    rc, out, err = validate_cli("--model", tmp_path / "m.npz", "--inputs", tmp_path / "x.npy",
                                "--reuse", 4, "--build", tmp_path / "work")
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["bit_exact"] == 8 and summary["mismatches"] == 0
