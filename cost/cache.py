"""The result cache of the tool runs (yosys, nextpnr): one folder per block and key.

``<cache>/<name>-<key>/result.json`` holds a finished run. A run works in a
private temporary folder beside it (:func:`new_entry`) that replaces the entry
only when the run completes, so an interrupted or failed run leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["entry_path", "new_entry", "umask_dir_mode"]


def umask_dir_mode() -> int:
    """The mode a new folder gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def entry_path(cache_dir, name: str, key: str) -> Path:
    """The cache folder of block ``name`` at ``key``."""
    return Path(cache_dir) / f"{name}-{key}"


@contextmanager
def new_entry(cache_dir, name: str, key: str):
    """A temporary work folder (yielded) that becomes :func:`entry_path` when the block
    ends normally (replacing an older entry; mode from the umask) and is removed if
    it raises."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{name}-"))
    try:
        yield work
        entry = entry_path(cache_dir, name, key)
        if entry.exists():
            shutil.rmtree(entry)
        work.chmod(umask_dir_mode())  # mkdtemp made it private
        work.rename(entry)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
