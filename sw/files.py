"""Writing output files atomically: a temporary file in the target folder,
renamed into place, so a reader never sees half a file and an interrupted
write leaves nothing behind. Files get the mode the umask gives a new file
(``tempfile.mkstemp`` alone would leave them ``0600``). No torch, no
matplotlib at import.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "write_text", "write_json", "save_npy", "save_figure"]


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` (parents created) through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write ``text`` (UTF-8)."""
    return atomic_write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """Atomically write ``obj`` as indented JSON with a final newline."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=indent) + "\n").encode())


def save_npy(path: str | os.PathLike, array) -> Path:
    """Atomically write one array in ``.npy`` format (the name is kept as given)."""
    import numpy as np
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return atomic_write_bytes(path, buffer.getvalue())


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Atomically write a matplotlib figure as PNG and close it."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
