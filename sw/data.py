"""Data sets as uint8 pixels: Fashion-MNIST/MNIST IDX files, or scikit-learn's 8x8 digits.

Everything downstream sees the same contract, :class:`Dataset`: images as uint8
``[N, H*W]`` (pixels 0..255, row-major), labels as int64 ``[N]``. Nothing is
downloaded:

* ``"fmnist"`` (also ``"mnist"``, same loader): the four IDX files from the
  directory in ``$TNN_DATA``, else from the Debian package
  ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``). Names may be
  ``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``, optionally ``.gz``,
  so real MNIST files work the same way.
* ``"digits"``: scikit-learn's bundled 8x8 digits (1797 images, pixels 0..16
  scaled by 16 and clipped to 255), split 80/20 with a fixed seed. Tiny, for tests.

A missing, unreadable or malformed file and an unknown name raise
:class:`DataError` (an :class:`~sw.errors.InputError`): ``data: <file>: <why>``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["Dataset", "DataError", "load_dataset", "load_idx", "idx_dir", "DEFAULT_IDX_DIR"]

DEFAULT_IDX_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(InputError):
    """A data set is missing or malformed: ``data: <file or folder>: <why>``."""


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 ``[N, H*W]``, labels as int64 ``[N]``."""

    name: str
    source: str
    image_shape: tuple[int, int]
    n_classes: int
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    @property
    def n_features(self) -> int:
        return self.image_shape[0] * self.image_shape[1]


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a numpy array of its stored type;
    :class:`DataError` if it cannot be read or is not an IDX file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip's BadGzipFile is an OSError
        raise DataError(f"data: {path}: {getattr(e, 'strerror', None) or e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"data: {path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"data: {path}: {len(raw)} bytes, the header {dims} implies {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def idx_dir() -> Path:
    """``$TNN_DATA`` if set, else the Debian package's directory."""
    env = os.environ.get("TNN_DATA")
    return Path(env) if env else DEFAULT_IDX_DIR


def _find(directory: Path, stem: str) -> Path:
    base, kind = stem.split("|")  # e.g. "train-images|idx3-ubyte"
    for sep in ("-", "."):
        for suffix in ("", ".gz"):
            p = directory / f"{base}{sep}{kind}{suffix}"
            if p.is_file():
                return p
    raise DataError(
        f"data: {directory}: no {base}-{kind}[.gz] (set TNN_DATA to a directory with the IDX files, "
        f"or install the Debian package dataset-fashion-mnist)"
    )


def _load_idx_set(name: str, directory: Path) -> Dataset:
    def images(stem):
        path = _find(directory, stem)
        a = load_idx(path)
        if a.ndim != 3 or a.dtype != np.uint8:
            raise DataError(f"data: {path}: expected uint8 [N, H, W], got {a.dtype} {a.shape}")
        return a

    def labels(stem, n):
        path = _find(directory, stem)
        a = load_idx(path)
        if a.shape != (n,):
            raise DataError(f"data: {path}: expected {n} labels, got shape {a.shape}")
        return a.astype(np.int64)

    tr = images("train-images|idx3-ubyte")
    te = images("t10k-images|idx3-ubyte")
    if tr.shape[1:] != te.shape[1:]:
        raise DataError(f"data: {directory}: train images {tr.shape[1:]} and test images {te.shape[1:]} differ")
    tr_y = labels("train-labels|idx1-ubyte", len(tr))
    te_y = labels("t10k-labels|idx1-ubyte", len(te))
    n_classes = int(max(tr_y.max(), te_y.max())) + 1
    return Dataset(name, str(directory), tuple(tr.shape[1:]), n_classes,
                   tr.reshape(len(tr), -1), tr_y, te.reshape(len(te), -1), te_y)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = np.clip(d.data * 16, 0, 255).astype(np.uint8)
    y = d.target.astype(np.int64)
    tr_x, te_x, tr_y, te_y = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return Dataset("digits", "sklearn.datasets.load_digits", (8, 8), 10, tr_x, tr_y, te_x, te_y)


def load_dataset(name: str) -> Dataset:
    """``"fmnist"``/``"mnist"`` (IDX files, see :func:`idx_dir`) or ``"digits"``."""
    if name == "digits":
        return _load_digits()
    if name in ("fmnist", "mnist"):
        return _load_idx_set(name, idx_dir())
    raise DataError(f"data: unknown data set {name!r} (known: fmnist, mnist, digits)")
