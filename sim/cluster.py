"""Simulation work on a Dask cluster (``dask.distributed``).

Which cluster: ``--cluster ADDRESS`` (a running Dask scheduler, e.g.
``tcp://host:8786``), else the environment variable :data:`ENV_VAR`, else a
``LocalCluster`` of ``jobs`` worker processes with one thread each, started for
the command and closed after it (:class:`Session`). An address no scheduler
answers on within :data:`CONNECT_TIMEOUT` seconds is bad input
(``cluster: cannot connect to ADDRESS: ...``).

A run is cut into slices of whole batches (:func:`slice_count`), each one Dask
task (:func:`sim.slices.work_slice`) that builds the design on its worker's
host (once per design) and simulates its images. Dask re-runs the slices of a
worker lost mid-run on the others (up to the scheduler's
``distributed.scheduler.allowed-failures``); a slice that fails is reported
with its images (:class:`RunResult`), never dropped. One progress bar counts
images over all workers, from the progress events the slices publish.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from sw.errors import InputError

from .slices import Design, Slice, SliceFailed, image_range, work_slice

__all__ = ["ENV_VAR", "CONNECT_TIMEOUT", "add_arguments", "cluster_address", "check_address", "Session",
           "slice_count", "batch_slices", "RunResult", "SliceRun"]

#: The environment variable naming a cluster's scheduler when ``--cluster`` is not given.
ENV_VAR = "TNN_DASK_CLUSTER"
#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT = 10
#: A slice should take at least this long (estimated), so its process start-up is small.
SLICE_SECONDS = 60
#: At most this many slices per simulation process.
MAX_SLICES_PER_PROCESS = 4
#: Seconds between two looks at the slices' state.
POLL_SECONDS = 0.25


def add_arguments(parser, default_jobs: int) -> None:
    """The command-line options that pick the cluster: ``--jobs`` and ``--cluster``."""
    parser.add_argument("--jobs", type=int, default=default_jobs,
                        help="worker processes of the LocalCluster started when no cluster "
                             f"is given (default {default_jobs})")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help=f"a running Dask scheduler, e.g. tcp://host:8786 (default: "
                             f"${ENV_VAR}, else a LocalCluster of --jobs processes)")


def cluster_address(given: str | None) -> str | None:
    """The scheduler to use: ``given``, else ``$TNN_DASK_CLUSTER``, else None (a LocalCluster)."""
    return given or os.environ.get(ENV_VAR) or None


def check_address(address: str) -> None:
    """:class:`InputError` (``cluster: ...``) unless a Dask scheduler answers at ``address``."""
    from distributed.comm import connect

    async def probe():
        comm = await connect(address, timeout=CONNECT_TIMEOUT)
        await comm.close()

    try:
        asyncio.run(probe())
    except ValueError as exc:
        raise InputError(f"cluster: cannot connect to {address}: bad address: {exc}") from exc
    except OSError as exc:
        reason = (f"no scheduler answered within {CONNECT_TIMEOUT} s"
                  if "Timed out" in str(exc) else str(exc))
        raise InputError(f"cluster: cannot connect to {address}: {reason}") from exc


class Session:
    """The cluster one command uses: :meth:`check` refuses an unreachable address
    (before anything is written); :meth:`start` connects, or starts the
    LocalCluster, in the background; :attr:`client` waits for it (starting it
    first if needed); leaving the ``with`` block closes the client and whatever
    the session started."""

    def __init__(self, address: str | None, workers: int):
        self.given = cluster_address(address)
        self.workers = workers
        self._cluster = None
        self._client = None
        self._starting: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def local(self) -> bool:
        """True when the session starts its own LocalCluster."""
        return self.given is None

    def check(self) -> "Session":
        if self.given is not None:
            check_address(self.given)
        return self

    def _connect(self) -> None:
        from distributed import Client, LocalCluster
        try:
            self._connect_to(Client, LocalCluster)
        except BaseException as exc:  # raised again by the ``client`` property
            self._error = exc

    def _connect_to(self, Client, LocalCluster) -> None:  # noqa: N803 (classes)
        if self.given is None:
            self._cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                # the scheduler always serves HTTP (metrics); port 0 avoids 8787, which
                # another cluster on this host (a parallel test, a user's own) may hold
                host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
            self._client = Client(self._cluster, set_as_default=False)
        else:
            self._client = Client(self.given, timeout=CONNECT_TIMEOUT, set_as_default=False)

    def start(self) -> "Session":
        """Connect (or start the LocalCluster) in a background thread."""
        if self._client is None and self._starting is None:
            self._starting = threading.Thread(target=self._connect, daemon=True)
            self._starting.start()
        return self

    @property
    def client(self):
        if self._client is None:
            self.start()
            self._starting.join()
            if self._error is not None:
                raise self._error
        return self._client

    @property
    def address(self) -> str:
        """The scheduler's address (starting the LocalCluster if needed)."""
        return self.client.scheduler.address

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()  # a start in progress, whatever its outcome
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = self._starting = self._error = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def slice_count(batches: int, processes: int, batch_seconds: float) -> int:
    """Slices for ``batches`` batches on ``processes`` parallel processes: one per
    process, more (a multiple of ``processes``, at most
    :data:`MAX_SLICES_PER_PROCESS` each) when the estimated work
    (``batch_seconds`` per batch) fills slices of :data:`SLICE_SECONDS`; never
    more than ``batches``."""
    want = math.ceil(batches * batch_seconds / SLICE_SECONDS)
    count = min(max(want, processes), MAX_SLICES_PER_PROCESS * processes)
    count = -(-count // processes) * processes
    return max(1, min(count, batches))


def batch_slices(n_images: int, reuse: int, count: int) -> list[slice]:
    """``count`` contiguous slices of whole batches of ``reuse`` (sizes differing by at
    most one batch; the last batch may be short); fewer when there are fewer batches."""
    batches = -(-n_images // reuse)
    count = max(1, min(count, batches))
    bounds = [round(k * batches / count) * reuse for k in range(count + 1)]
    return [slice(a, min(b, n_images)) for a, b in zip(bounds, bounds[1:])]


@dataclass
class RunResult:
    """A run's outputs. ``words``: uint32 ``[N, n_out]``, zero where ``simulated`` is
    False; ``failures``: ``"images A..B: reason"`` per failed slice; ``report``:
    ``batch_cycles`` (simulated batches, in order), ``sim_seconds`` (from the first
    slice's start to the last one's end, builds excluded), ``simulated_cycles``,
    ``compute_seconds`` (summed over slices), ``processes`` (slices run side by
    side: the smaller of slices and worker threads), ``workers`` (Dask workers
    whose slices count), ``slices``."""

    words: np.ndarray
    simulated: np.ndarray
    failures: list = field(default_factory=list)
    report: dict = field(default_factory=dict)


def _failure(job: Slice, future) -> str:
    if future.status == "cancelled":
        return f"images {image_range(job.first, len(job.pixels))}: cancelled"
    exc = future.exception()
    if isinstance(exc, SliceFailed):
        return str(exc)
    return f"images {image_range(job.first, len(job.pixels))}: {type(exc).__name__}: {exc}"


class SliceRun:
    """The slices of one run, submitted to ``client`` at construction; :meth:`collect`
    waits for them. ``batch_seconds`` (an estimate) sizes the slices."""

    def __init__(self, client, design: Design, pixels: np.ndarray, *, reuse: int, n_out: int,
                 act_width: int, gaps: float = 0.0, batch_seconds: float = 0.0, load_addresses=None):
        self.client, self.n_images, self.n_out = client, len(pixels), n_out
        threads = max(1, sum(client.nthreads().values()))
        batches = -(-len(pixels) // reuse)
        slices = batch_slices(len(pixels), reuse, slice_count(batches, threads, batch_seconds))
        self.processes = min(len(slices), threads)
        run = uuid.uuid4().hex[:12]
        self.topic = f"tnn-progress-{run}"
        self.counts: dict[int, int] = {}
        self.results: dict[int, dict] = {}
        client.subscribe_topic(self.topic, self._on_progress)
        self.jobs = [Slice(s.start, pixels[s], reuse, n_out, act_width, gaps, 0, self.topic, k,
                           load_addresses)
                     for k, s in enumerate(slices)]
        self.futures = [
            client.submit(work_slice, design, job, retries=0,  # a failed testbench fails again
                          key=f"tnn-slice-{run}-{image_range(job.first, len(job.pixels))}")
            for job in self.jobs]

    def _on_progress(self, event) -> None:
        index, done = event[1]
        self.counts[index] = max(self.counts.get(index, 0), int(done))

    def _images_done(self) -> int:
        return sum(len(job.pixels) if k in self.results
                   else min(self.counts.get(k, 0), len(job.pixels))
                   for k, job in enumerate(self.jobs))

    def _fetch(self) -> bool:
        """Move the results of finished slices here (a worker lost later costs nothing);
        True while some slice has neither a result nor an error."""
        waiting = False
        for k, future in enumerate(self.futures):
            if k in self.results or future.status in ("error", "cancelled"):
                continue
            if future.status == "finished":
                self.results[k] = future.result()
            else:  # pending, or lost with its worker and being computed again
                waiting = True
        return waiting

    def collect(self, *, progress: bool = False, desc: str = "") -> RunResult:
        """Wait for every slice (a bar over images with ``progress``); the result."""
        try:
            with tqdm(total=self.n_images, unit="image", desc=desc, file=sys.stderr,
                      disable=not progress) as bar:
                while True:
                    waiting = self._fetch()
                    done = self._images_done()
                    if done > bar.n:
                        bar.update(done - bar.n)
                    if not waiting:
                        break
                    time.sleep(POLL_SECONDS)
            return self._result()
        finally:
            self.client.unsubscribe_topic(self.topic)
            self.client.cancel(self.futures)

    def _result(self) -> RunResult:
        words = np.zeros((self.n_images, self.n_out), np.uint32)
        simulated = np.zeros(self.n_images, bool)
        failures, done = [], []
        for k, (job, future) in enumerate(zip(self.jobs, self.futures)):
            if k not in self.results:
                failures.append(_failure(job, future))
                continue
            r = self.results[k]
            rows = slice(job.first, job.first + len(job.pixels))
            words[rows] = r["words"]
            simulated[rows] = True
            done.append(r)
        report = {
            "batch_cycles": [c for r in done for c in r["batch_cycles"]],
            "sim_seconds": (max(r["end"] for r in done) - min(r["start"] for r in done)
                            if done else 0.0),
            "simulated_cycles": sum(r["simulated_cycles"] for r in done),
            "compute_seconds": sum(r["compute_seconds"] for r in done),
            "processes": self.processes,
            "workers": len({r["worker"] for r in done}),
            "slices": len(self.jobs),
        }
        return RunResult(words, simulated, failures, report)
