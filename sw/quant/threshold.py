"""Paper 002, eq. (1): deterministic ternarisation with a threshold ``eta``.

    w_q = +1  if w_r >  eta
           0  if -eta <= w_r <= eta
          -1  if w_r < -eta

``eta = 0`` gives binary weights (only an exact 0.0 maps to 0).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .registry import QuantMethod, register

__all__ = ["ternarize_threshold", "ternarize_threshold_ste", "TernarizeThreshold"]


def _check_eta(eta: float) -> float:
    eta = float(eta)
    if not 0.0 <= eta < 1.0:
        raise ValueError(f"eta: expected 0 <= eta < 1 (w_r lives in [-1, 1]), got {eta}")
    return eta


def ternarize_threshold(w: Tensor, eta: float) -> Tensor:
    """Eq. (1): values in {-1, 0, +1}, same shape and dtype as ``w``.

    Computed as ``sign(w - clamp(w, -eta, eta))``: the sign of how far ``w``
    lies beyond the threshold (exact: the difference of two distinct floats is
    never zero), several times faster than two comparisons and casts. ``eta``
    is rounded to ``w``'s dtype first, as in a comparison ``w > eta``.
    """
    eta = _check_eta(eta)
    return torch.sign(w - w.clamp(-eta, eta))


class TernarizeThreshold(torch.autograd.Function):
    """Forward: eq. (1). Backward: straight-through estimator, ``dL/dw_r = dL/dw_q``.

    The identity STE needs no clipping of its own: the layers keep ``w_r`` in
    [-1, 1] after every update.
    """

    @staticmethod
    def forward(ctx, w: Tensor, eta: float) -> Tensor:
        return ternarize_threshold(w, eta)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        return grad_out, None


def ternarize_threshold_ste(w: Tensor, eta: float) -> Tensor:
    """Differentiable :func:`ternarize_threshold` (straight-through gradient)."""
    return TernarizeThreshold.apply(w, _check_eta(eta))


register(QuantMethod("threshold", ternarize_threshold, ternarize_threshold_ste))
