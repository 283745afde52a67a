"""Ternary-weight layers: real weights ``w_r``, a pruning mask, ``eta`` and ``lam``.

The forward pass uses ``w_q = Q(w_r) * mask`` (``Q`` = the registered quantiser,
paper 002 eq. 1). Training keeps three invariants, each a method here so the
training loop stays a plain loop:

* :meth:`TernaryLayer.add_l2_grad` -- eq. (5): after ``backward()``, add
  ``lam * w_q`` to ``w_r.grad``. Weights that quantise to zero get nothing, so
  only nonzero ternary weights are pulled towards zero.
* :meth:`TernaryLayer.constrain_` -- after each optimiser step: clip ``w_r`` to
  [-1, 1] and zero the pruned entries.
* :meth:`TernaryLayer.prune_` -- eqs. (6)-(8): ``mask = |w_r| > sigma``
  (``sigma = eta`` unless given) and ``w_r <- w_r * mask``. Pruned weights then
  stay exactly zero: their gradient is zero (the mask multiplies the STE output)
  and :meth:`constrain_` re-zeroes them after every step.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .registry import QUANTIZERS, ternarize, ternarize_ste

__all__ = ["TernaryLayer", "TernaryLinear", "TernaryConv2d", "ternary_layers"]


class TernaryLayer:
    """Mixin for a weight layer with ternary weights; see the module docstring.

    Subclasses are ``nn.Module`` s with a ``weight`` parameter (this is ``w_r``).
    """

    weight: nn.Parameter
    mask: Tensor

    def _init_ternary(self, eta: float, lam: float, method: str) -> None:
        if method not in QUANTIZERS:
            raise ValueError(f"unknown quantiser {method!r} (known: {', '.join(sorted(QUANTIZERS))})")
        if lam < 0:
            raise ValueError(f"lam: expected >= 0, got {lam}")
        ternarize(torch.zeros(1), method, eta=eta)  # validates eta
        self.eta = float(eta)
        self.lam = float(lam)
        self.method = method
        self.register_buffer("mask", torch.ones_like(self.weight))
        with torch.no_grad():
            self.weight.uniform_(-1.0, 1.0)

    def quantized_weight(self) -> Tensor:
        """``w_q`` for the forward pass (straight-through gradient to ``w_r``)."""
        return ternarize_ste(self.weight, self.method, eta=self.eta) * self.mask

    @torch.no_grad()
    def ternary_weight(self) -> Tensor:
        """``w_q`` as an int8 tensor, detached (what gets exported)."""
        return (ternarize(self.weight, self.method, eta=self.eta) * self.mask).to(torch.int8)

    @torch.no_grad()
    def add_l2_grad(self) -> None:
        """Eq. (5): ``w_r.grad += lam * w_q`` (call after ``backward()``)."""
        if self.lam == 0.0:
            return
        w_q = ternarize(self.weight, self.method, eta=self.eta) * self.mask
        if self.weight.grad is None:
            self.weight.grad = torch.zeros_like(self.weight)
        self.weight.grad.add_(w_q, alpha=self.lam)

    @torch.no_grad()
    def constrain_(self) -> None:
        """Clip ``w_r`` to [-1, 1] and keep pruned weights at exactly zero."""
        self.weight.clamp_(-1.0, 1.0).mul_(self.mask)

    @torch.no_grad()
    def prune_(self, sigma: float | None = None) -> int:
        """Eqs. (6)-(8): fix ``mask = |w_r| > sigma`` (default ``sigma = eta``).

        Already-pruned weights stay pruned. Returns how many weights this call
        pruned that were nonzero in ``w_q`` (0 when ``sigma <= eta``).
        """
        sigma = self.eta if sigma is None else float(sigma)
        before = self.ternary_weight() != 0
        self.mask.mul_((self.weight.abs() > sigma).to(self.mask.dtype))
        self.weight.mul_(self.mask)
        return int((before & (self.ternary_weight() == 0)).sum())

    def nonzero_count(self) -> int:
        return int((self.ternary_weight() != 0).sum())

    def extra_repr(self) -> str:  # shown by print(model)
        return f"{super().extra_repr()}, eta={self.eta}, lam={self.lam}, method={self.method!r}"


class TernaryLinear(TernaryLayer, nn.Linear):
    """``nn.Linear`` with ternary weights; no bias by default (batch norm follows)."""

    def __init__(self, in_features: int, out_features: int, *, eta: float, lam: float = 0.0,
                 method: str = "threshold", bias: bool = False):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_ternary(eta, lam, method)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)


class TernaryConv2d(TernaryLayer, nn.Conv2d):
    """``nn.Conv2d`` with ternary weights; no bias by default (batch norm follows)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, eta: float,
                 lam: float = 0.0, method: str = "threshold", bias: bool = False, **conv_kwargs):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, bias=bias, **conv_kwargs)
        self._init_ternary(eta, lam, method)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.quantized_weight(), self.bias)


def ternary_layers(model: nn.Module) -> Iterator[TernaryLayer]:
    """The model's ternary layers in registration (= forward) order."""
    return (m for m in model.modules() if isinstance(m, TernaryLayer))
