"""RTL-simulator tests of the generated fp32_add / fp32_mul Verilog (Verilator).

* ``verilator --lint-only -Wall`` (project waivers, see sim/lint.py) at every latency;
* 1,000,000 seeded random pairs per unit plus the directed set, bit-exact against numpy
  float32, through the hand-written harness sim/harness/fp32_tb.sv (one build for both units,
  cached under build/fp32_tb/);
* the checks themselves: a wrong latency must produce out_valid errors, a wrong result bit
  must produce mismatches.
"""

import numpy as np
import pytest

from hw.fp32 import (ADD_DEFAULT_LATENCY, ADD_REGISTERS, MUL_DEFAULT_LATENCY, MUL_REGISTERS,
                     verilog_fp32_add, verilog_fp32_mul)
from sim import fp32_check, fp32_operands
from sim.tools import SimulatorMissing, use_verilator

try:
    use_verilator()
except SimulatorMissing as exc:                                  # pragma: no cover
    pytest.skip(f"Verilator unavailable: {exc}", allow_module_level=True)


@pytest.mark.parametrize("name,latency", [("fp32_add", lat) for lat in ADD_REGISTERS if lat] +
                                         [("fp32_mul", lat) for lat in MUL_REGISTERS if lat])
def test_lint(tmp_path, name, latency):
    from sim.lint import lint
    text = (verilog_fp32_add if name == "fp32_add" else verilog_fp32_mul)(latency)
    path = tmp_path / f"{name}.v"
    path.write_text(text)
    clean, messages = lint(path)
    assert clean, messages


@pytest.mark.parametrize("op, dsp_shifts", [("add", False), ("add", True), ("mul", False)])
def test_million_pairs(op, dsp_shifts):
    r = fp32_check.check_fp32(op, n=1_000_000, seed=0, dsp_shifts=dsp_shifts)
    assert r["n"] == r["received"] == 1_000_000 + r["n_directed"]
    assert r["n_directed"] > 300
    assert r["mismatches"] == 0, r
    assert r["non_canonical_nan"] == 0, r
    assert r["valid_errors"] == 0, r


def test_checks_can_fail():
    a, b = fp32_operands.random_pairs("add", 2000, seed=1)
    latency = ADD_DEFAULT_LATENCY
    exe = fp32_check.build_harness(latency, MUL_DEFAULT_LATENCY)     # the million tests' build
    got, summary = fp32_check.run_harness(exe, "add", a, b, latency=latency, bubble_shift=2)
    assert summary["valid_errors"] == 0 and fp32_operands.compare("add", a, b, got)["mismatches"] == 0
    # Claiming the wrong latency must trip the per-cycle out_valid check (bubbles make the
    # valid pattern irregular enough).
    _, summary = fp32_check.run_harness(exe, "add", a, b, latency=latency - 1, bubble_shift=2)
    assert summary["valid_errors"] > 0
    # One flipped result bit, or a NaN where a number was due, must count as a mismatch.
    finite = np.flatnonzero(~fp32_operands.is_nan(got))
    bad = got.copy()
    bad[finite[0]] ^= 1
    bad[finite[1]] = 0x7FC0_0000
    assert fp32_operands.compare("add", a, b, bad)["mismatches"] == 2
