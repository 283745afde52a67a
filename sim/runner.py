"""Build and run a cocotb testbench with ``cocotb_tools.runner``.

One function, :func:`run_cocotb`, used by the pytest functions in ``tests/``
and by the command-line tools in ``sim/``. Both simulators are built with a
1ns/1ps timescale (cocotb's ``Clock`` needs one).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cocotb_tools.runner import get_results, get_runner

from .tools import use_simulator

BUILD_ROOT = Path(os.environ.get("TNN_BUILD", "build"))

#: Verilator options: optimise the model, no per-signal tracing unless asked.
VERILATOR_ARGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal"]


def source_digest(sources) -> str:
    """Short hash of the source files' contents: a build folder per distinct design."""
    h = hashlib.sha256()
    for src in sorted(str(s) for s in sources):
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:12]


def run_cocotb(*, toplevel: str, sources, test_module: str, sim: str = "verilator",
               env: dict | None = None, testcase=None, waves: bool = False,
               build_dir: Path | None = None, seed: int = 1) -> tuple[int, int, Path]:
    """Build ``sources`` (Verilog) with ``sim`` and run cocotb module ``test_module``.

    ``env`` is passed to the testbench's environment (strings only). Returns
    ``(tests, failures, results_xml)``. Waves, when asked for, are FST on
    Verilator and VCD-in-FST (``-fst`` dumper) on Icarus, in the build folder.
    """
    use_simulator(sim)
    sources = [Path(s).resolve() for s in sources]
    if build_dir is None:
        build_dir = BUILD_ROOT / "sim" / f"{toplevel}-{sim}-{source_digest(sources)}"
        if waves:
            build_dir = build_dir.with_name(build_dir.name + "-waves")
    build_dir = Path(build_dir).resolve()
    runner = get_runner(sim)
    build_args = list(VERILATOR_ARGS) if sim == "verilator" else []
    if sim == "verilator" and waves:
        build_args += ["--trace-fst", "--trace-structs"]
    runner.build(
        sources=sources,
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        build_args=build_args,
        timescale=("1ns", "1ps"),
        waves=waves and sim == "icarus",
    )
    results = runner.test(
        hdl_toplevel=toplevel,
        test_module=test_module,
        testcase=testcase,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={k: str(v) for k, v in (env or {}).items()},
        waves=waves,
        seed=seed,
        timescale=("1ns", "1ps"),
    )
    tests, failures = get_results(results)
    return tests, failures, build_dir
