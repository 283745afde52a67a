"""Training checkpoints: ``{"config", "stage", "state_dict"}`` in one torch file per stage.

:func:`save_checkpoint` writes atomically (:func:`sw.files.atomic_write_bytes`:
a temporary file renamed into place, the umask's mode); :func:`load_checkpoint`
reads tensors only (``weights_only=True``) and names the file and the field
when it cannot.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch
from torch import nn

from .configs import Config
from .errors import InputError
from .files import atomic_write_bytes

__all__ = ["save_checkpoint", "load_checkpoint", "checkpoint_path"]

_KEYS = ("config", "stage", "state_dict")


def checkpoint_path(out: str | os.PathLike, name: str, stage: str) -> Path:
    """``<out>/checkpoints/<name>/<stage>.pt``."""
    return Path(out) / "checkpoints" / name / f"{stage}.pt"


def save_checkpoint(path: str | os.PathLike, model: nn.Module, cfg: Config, stage: str) -> Path:
    """Write ``model``'s state after ``stage`` of the run of ``cfg`` to ``path``."""
    buffer = io.BytesIO()
    torch.save({"config": cfg.to_dict(), "stage": stage, "state_dict": model.state_dict()}, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, field: str = "checkpoint") -> dict:
    """The checkpoint at ``path``; :class:`~sw.errors.InputError` (message starting with
    ``field``) if it is missing, unreadable or not a checkpoint."""
    try:
        state = torch.load(path, weights_only=True)
    except OSError as e:
        raise InputError(f"{field}: {path}: {e.strerror or e}") from None
    except Exception:  # torch.load fails on a malformed file in many ways (pickle, zip, struct, keys)
        raise InputError(f"{field}: {path}: not a torch checkpoint") from None
    if not isinstance(state, dict) or any(k not in state for k in _KEYS):
        raise InputError(f"{field}: {path}: not a training checkpoint (expected the keys {', '.join(_KEYS)})")
    return state
