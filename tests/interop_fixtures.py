"""Shared by the interop tests: the QONNX model zoo's TFC networks in ../shared, and
running a model file through the RTL (sim.validate) to get its outputs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

#: The QONNX model zoo's TFC networks (BSD-3), beside the repository, never inside it.
TFC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "qonnx-zoo-tfc"


def tfc(name: str) -> Path:
    path = TFC_DIR / f"{name}.onnx"
    if not path.exists():
        pytest.skip(f"{path} is not there (the QONNX model zoo's TFC networks live in ../shared)")
    return path


def rtl_outputs(model_path, pixels: np.ndarray, work: Path, reuse: int = 2) -> np.ndarray:
    """``sim.validate`` on ``pixels`` at R = ``reuse`` (small R: the engine's memories,
    R per lane, dominate the Verilator build): asserts every image bit-exact against
    the golden model and returns the RTL's outputs."""
    np.save(work / "x.npy", pixels)
    proc = subprocess.run([sys.executable, "-m", "sim.validate", "--model", str(model_path),
                           "--inputs", str(work / "x.npy"), "--reuse", str(reuse),
                           "--build", str(work / "rtl"), "--out", str(work / "rtl-out.npy")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["bit_exact"] == len(pixels) and summary["mismatches"] == 0
    return np.load(work / "rtl-out.npy")
