"""cocotb testbench of the decompressor (sim/tb_decompressor.py) on both simulators."""

import json

import numpy as np
import pytest

from hw.decompressor import Decompressor
from hw.verilog import write_verilog
from sim.lint import lint
from sim.runner import run_cocotb
from sim.tools import icarus_available
from sw import rle

SIMS = [
    "verilator",
    pytest.param("icarus", marks=pytest.mark.skipif(not icarus_available(),
                                                     reason="iverilog not installed")),
]


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("field_width", [2, 5])
def test_random_matrices_with_back_pressure(sim, field_width, tmp_path):
    n_cols, depth = 80, 1024
    dut = Decompressor(field_width=field_width, n_cols=n_cols, depth=depth, writable=True)
    src = write_verilog(dut, "decompressor", tmp_path)
    report = tmp_path / "report.json"
    tests, failures, _ = run_cocotb(
        toplevel="decompressor", sources=[src], test_module="sim.tb_decompressor",
        testcase="random_matrices", sim=sim,
        env={"TB_SEED": 10 + field_width, "TB_CASES": 12 if sim == "icarus" else 30,
             "TB_FIELD_WIDTH": field_width, "TB_N_COLS": n_cols, "TB_DEPTH": depth,
             "TB_REPORT": report})
    assert (tests, failures) == (1, 0)
    stats = json.loads(report.read_text())
    assert stats["cycles"] == stats["beats"] + stats["skips"]
    assert stats["nonzeros"] > 100


@pytest.mark.parametrize("sim", SIMS)
def test_preloaded_matrix_one_cycle_per_nonzero(sim, tmp_path):
    rng = np.random.default_rng(3)
    w = ((rng.random((32, 60)) < 0.3) * rng.choice(np.array([-1, 1]), (32, 60))).astype(np.int8)
    w[w.sum(axis=1) == 0, 0] = 1  # no empty rows: every beat is a nonzero
    code = rle.encode(w, 6)       # 6-bit runs cover 60 columns: no skip words
    np.savez(tmp_path / "m.npz", w=w, field_width=6)
    dut = Decompressor(field_width=6, n_cols=60, depth=len(code.words), init=code.words)
    src = write_verilog(dut, "decompressor", tmp_path)
    report = tmp_path / "report.json"
    tests, failures, _ = run_cocotb(
        toplevel="decompressor", sources=[src], test_module="sim.tb_decompressor",
        testcase="preloaded_matrix", sim=sim,
        env={"TB_MATRIX": tmp_path / "m.npz", "TB_REPORT": report})
    assert (tests, failures) == (1, 0)
    stats = json.loads(report.read_text())
    assert stats["skips"] == 0
    assert stats["cycles"] / stats["nonzeros"] == 1.0


def test_generated_verilog_is_lint_clean(tmp_path):
    dut = Decompressor(field_width=4, n_cols=1024, depth=4096, writable=True)
    clean, messages = lint(write_verilog(dut, "decompressor", tmp_path))
    assert clean, messages
