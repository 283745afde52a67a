"""Registry of weight quantisation methods.

A method is a pair of callables with the same signature ``f(w, **params)``:
``quantize`` (pure, no gradient) and ``quantize_ste`` (differentiable, the
straight-through version used in training). An unknown name raises
:class:`~sw.errors.InputError` listing the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import Tensor

from ..errors import InputError

__all__ = ["QuantMethod", "QUANTIZERS", "register", "ternarize", "ternarize_ste"]


@dataclass(frozen=True)
class QuantMethod:
    """One registered quantiser: ``quantize`` and its straight-through twin."""

    name: str
    quantize: Callable[..., Tensor]
    quantize_ste: Callable[..., Tensor]


#: Registered methods by name.
QUANTIZERS: dict[str, QuantMethod] = {}


def register(method: QuantMethod) -> QuantMethod:
    """Add ``method`` to :data:`QUANTIZERS`; a name can be registered once."""
    if method.name in QUANTIZERS:
        raise InputError(f"quantizer: {method.name!r} is already registered")
    QUANTIZERS[method.name] = method
    return method


def _lookup(method: str) -> QuantMethod:
    try:
        return QUANTIZERS[method]
    except KeyError:
        known = ", ".join(sorted(QUANTIZERS))
        raise InputError(f"quantizer: unknown {method!r} (known: {known})") from None


def ternarize(w: Tensor, method: str = "threshold", **params) -> Tensor:
    """Quantise ``w`` with the named method (no gradient)."""
    return _lookup(method).quantize(w, **params)


def ternarize_ste(w: Tensor, method: str = "threshold", **params) -> Tensor:
    """Quantise ``w`` with the named method; gradients pass straight through."""
    return _lookup(method).quantize_ste(w, **params)
