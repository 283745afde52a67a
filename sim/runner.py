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
#: Testbenches see the top level's ports only: ``--no-public-flat-rw`` takes back
#: the ``--public-flat-rw`` that cocotb's runner adds. A signal that VPI may write
#: makes Verilator re-evaluate the logic it feeds on every ``eval()`` (twice a
#: clock cycle), which for the engines is nearly all of it.
VERILATOR_ARGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                  "--no-public-flat-rw", "--public-depth", "1"]


#: Icarus options. Amaranth's Verilog (from yosys) makes every ``always @*`` block
#: run at time 0 by reading a dummy ``reg ... = 0``; that works only where a
#: declaration initialiser is an event, as in Verilog-2005. Under cocotb's
#: default ``-g2012`` it is not, and a block whose inputs never change (a
#: per-layer table while layer 0 runs) would stay X. The later flag wins.
ICARUS_ARGS = ["-g2005"]


def simulator_options(sim: str) -> list[str]:
    """The options every build on ``sim`` gets (:data:`VERILATOR_ARGS` or
    :data:`ICARUS_ARGS`); builds are keyed by them."""
    return list(VERILATOR_ARGS if sim == "verilator" else ICARUS_ARGS)


def fst_available() -> bool:
    """Verilator's FST writer compiles against the system's ``lz4.h`` (liblz4-dev)."""
    return Path("/usr/include/lz4.h").exists()


def source_digest(sources, options: str = "") -> str:
    """Short hash of the source files' contents (and of ``options``, the
    simulator's): a build folder per distinct design."""
    h = hashlib.sha256(options.encode())
    for src in sorted(str(s) for s in sources):
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:12]


def default_build_dir(toplevel: str, sources, sim: str, *, timing=False, waves=False) -> Path:
    options = " ".join(simulator_options(sim))
    name = f"{toplevel}-{sim}-{source_digest(sources, options)}{'-t' if timing else ''}{'-waves' if waves else ''}"
    return BUILD_ROOT / "sim" / name


def build_cocotb(*, toplevel: str, sources, sim: str = "verilator", waves: bool = False,
                 build_dir: Path | None = None, timing: bool = False) -> Path:
    """Build ``sources`` (Verilog) with ``sim`` into ``build_dir``; returns the folder.

    ``timing`` builds Verilator with ``--timing`` (for wrappers that run the
    clock inside the simulator, :mod:`sim.wrapper`). Waves, when asked for, are
    written into the test folder at run time: ``dump.fst`` on Verilator
    (``dump.vcd`` where liblz4-dev is missing), ``<toplevel>.fst`` on Icarus.
    """
    use_simulator(sim)
    sources = [Path(s).resolve() for s in sources]
    if build_dir is None:
        build_dir = default_build_dir(toplevel, sources, sim, timing=timing, waves=waves)
    build_dir = Path(build_dir).resolve()
    build_args = simulator_options(sim)
    if sim == "verilator" and waves:
        # a waves build simulates one batch to debug it: compiling the C++ (its trace
        # code above all) unoptimised takes about half as long, and the run is short
        build_args += ["-CFLAGS", "-O0"]
    if sim == "verilator" and waves and fst_available():
        build_args += ["--trace-fst"]  # else the runner's --trace: VCD
    if sim == "verilator" and timing:
        build_args += ["--timing"]
    get_runner(sim).build(
        sources=sources,
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        build_args=build_args,
        timescale=("1ns", "1ps"),
        waves=waves,
    )
    return build_dir


def run_built(*, toplevel: str, build_dir: Path, test_module: str, sim: str = "verilator",
                env: dict | None = None, testcase=None, waves: bool = False, seed: int = 1,
                test_dir: Path | None = None) -> tuple[int, int]:
    """Run cocotb module ``test_module`` on a design :func:`build_cocotb` built.
    Several runs may share one build folder at the same time if each has its own
    ``test_dir`` (default: the build folder). ``env`` is passed to the testbench's
    environment (strings). Returns ``(tests, failures)``."""
    use_simulator(sim)
    build_dir = Path(build_dir).resolve()
    test_dir = Path(test_dir).resolve() if test_dir else build_dir
    test_dir.mkdir(parents=True, exist_ok=True)
    results = get_runner(sim).test(
        hdl_toplevel=toplevel,
        hdl_toplevel_lang="verilog",  # a fresh runner object does not know the build's sources
        test_module=test_module,
        testcase=testcase,
        build_dir=build_dir,
        test_dir=test_dir,
        extra_env={k: str(v) for k, v in (env or {}).items()},
        waves=waves,
        seed=seed,
        timescale=("1ns", "1ps"),
    )
    return get_results(results)


def run_cocotb(*, toplevel: str, sources, test_module: str, sim: str = "verilator",
               env: dict | None = None, testcase=None, waves: bool = False,
               build_dir: Path | None = None, seed: int = 1,
               timing: bool = False) -> tuple[int, int, Path]:
    """:func:`build_cocotb` then :func:`run_built` in the build folder. Returns
    ``(tests, failures, build_dir)``."""
    build_dir = build_cocotb(toplevel=toplevel, sources=sources, sim=sim, waves=waves,
                             build_dir=build_dir, timing=timing)
    tests, failures = run_built(toplevel=toplevel, build_dir=build_dir, test_module=test_module,
                                  sim=sim, env=env, testcase=testcase, waves=waves, seed=seed)
    return tests, failures, build_dir
