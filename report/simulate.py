"""One network's RTL run for a report: :mod:`sim.validate` on its test split."""

from __future__ import annotations

from pathlib import Path

from cost.inputs import read_json
from sw.data import DataError, Dataset, load_dataset
from sw.errors import InputError
from sw.files import save_npy

__all__ = ["load_data", "simulate_model"]


def load_data(name: str) -> Dataset:
    """:func:`sw.data.load_dataset`; a missing or malformed data set is an InputError
    (``data: ...``)."""
    try:
        return load_dataset(name)
    except DataError as exc:
        raise InputError(f"data: {str(exc).removeprefix('data: ')}") from exc


def simulate_model(name: str, npz: Path, data: Dataset, *, images: int | None, reuse: int,
                   sim: str, cluster: str, out: Path, log, pixels: int = 1) -> dict:
    """``sim.validate`` of model ``npz`` over the first ``images`` test images of ``data``
    (all with None), on the Dask cluster whose scheduler is at ``cluster`` (the
    command's :class:`sim.cluster.Session`); returns its summary, which it also
    writes to ``<out>/<name>-validate.json``. Work files go to ``<out>/work/<name>/``."""
    from sim import validate
    n = len(data.test_x) if images is None else min(images, len(data.test_x))
    work = out / "work" / name
    save_npy(work / "test-x.npy", data.test_x[:n])
    save_npy(work / "test-y.npy", data.test_y[:n])
    log(f"bench: {name}: {n} test images, R = {reuse} (P = {pixels}), {sim}, Dask cluster at {cluster}")
    summary_path = out / f"{name}-validate.json"
    code = validate.main(["--model", str(npz), "--inputs", str(work / "test-x.npy"),
                          "--labels", str(work / "test-y.npy"), "--reuse", str(reuse),
                          "--pixels", str(pixels), "--sim", sim, "--cluster", cluster, "--progress",
                          "--build", str(work / "validate"), "--summary", str(summary_path)])
    if code == 2 or not summary_path.exists():
        raise RuntimeError(f"sim.validate refused {name} (exit {code})")
    return read_json(summary_path, "summary")
