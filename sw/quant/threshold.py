"""Paper 002, eq. (1): deterministic ternarisation with a threshold ``eta``.

    w_q = +1  if w_r >  eta
           0  if -eta <= w_r <= eta
          -1  if w_r < -eta

``eta = 0`` gives binary weights (only an exact 0.0 maps to 0).

:class:`ThresholdQuantizer` is the method's layer quantiser
(:mod:`sw.quant.quantizer`): values and codes are eq. (1) at the layer's
``eta``, unscaled; eq. (5)'s L2 acts on the codes; the stage transition is
paper 002's pruning (eqs. 6-8). It holds no state, so a layer using it has the
same ``state_dict`` as a plain weight layer with a mask.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import InputError
from .quantizer import LayerQuantizer
from .registry import QuantMethod, register

__all__ = ["check_eta", "ternarize_threshold", "ternarize_threshold_ste", "TernarizeThreshold",
           "ThresholdQuantizer"]


def check_eta(eta: float) -> float:
    """``eta`` as a float; :class:`~sw.errors.InputError` unless ``0 <= eta < 1``."""
    eta = float(eta)
    if not 0.0 <= eta < 1.0:
        raise InputError(f"eta: expected 0 <= eta < 1 (w_r lives in [-1, 1]), got {eta}")
    return eta


def ternarize_threshold(w: Tensor, eta: float) -> Tensor:
    """Eq. (1): values in {-1, 0, +1}, same shape and dtype as ``w``.

    Computed as ``sign(w - clamp(w, -eta, eta))``: the sign of how far ``w``
    lies beyond the threshold (exact: the difference of two distinct floats is
    never zero). ``eta`` is rounded to ``w``'s dtype first, as in a comparison
    ``w > eta``.
    """
    eta = check_eta(eta)
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
    return TernarizeThreshold.apply(w, check_eta(eta))


register(QuantMethod("threshold", ternarize_threshold, ternarize_threshold_ste))


class ThresholdQuantizer(LayerQuantizer):
    """Paper 002's method for one layer: eq. (1) at the layer's ``eta``; see the module docstring."""

    PARAMS = ()
    PARAMS_NOTE = "eta is the layer's"
    USES_LAYER_ETA = True

    def __init__(self, name: str, w: Tensor, *, eta: float):
        super().__init__()
        self.name, self.eta = name, check_eta(eta)

    def values(self, w):
        return ternarize_threshold_ste(w, self.eta)

    def codes(self, w):
        return ternarize_threshold(w, self.eta)

    def scales(self, w):
        return None

    @torch.no_grad()
    def prune(self, w, mask, sigma=None):
        """Eqs. (6)-(8): ``mask *= |w| > sigma`` (default ``sigma = eta``), ``w *= mask``.

        Already-pruned weights stay pruned. Returns how many weights this call
        pruned that were nonzero codes (0 when ``sigma <= eta``).
        """
        sigma = self.eta if sigma is None else float(sigma)
        before = self.codes(w) * mask != 0
        mask.mul_((w.abs() > sigma).to(mask.dtype))
        w.mul_(mask)
        return int((before & (self.codes(w) * mask == 0)).sum())

    def report(self):
        """Nothing: the report's ``eta`` and ``lam`` describe this method."""
        return {}
