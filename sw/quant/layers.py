"""Ternary-weight layers: real weights ``w_r``, a pruning mask, ``eta``, ``lam`` and a quantiser.

The forward pass uses ``w_q = Q(w_r) * mask``, ``Q`` being the layer's
quantiser (:mod:`sw.quant.quantizer`, attached as ``layer.quantizer``; paper
002's eq. 1 at the layer's ``eta`` unless :meth:`TernaryLayer.set_quantizer`
picks another registered method, which then only reports ``eta``). Training
keeps three invariants, each a method here so the training loop stays a plain
loop:

* :meth:`TernaryLayer.add_l2_grad` -- eq. (5): after ``backward()``, add
  ``lam * codes`` to ``w_r.grad``. Weights whose code is zero get nothing, so
  only nonzero ternary weights are pulled towards zero.
* :meth:`TernaryLayer.constrain_` -- after each optimiser step: clip ``w_r`` to
  [-1, 1], zero the pruned entries, run the quantiser's post-step hook
  (clamping learned scales, 003's proximal step).
* :meth:`TernaryLayer.prune_` -- the stage transition: for ``threshold``
  eqs. (6)-(8), ``mask = |w_r| > sigma`` (``sigma = eta`` unless given) and
  ``w_r <- w_r * mask``; pruned weights then stay exactly zero (their gradient
  is zero, the mask multiplying the STE output, and :meth:`constrain_`
  re-zeroes them after every step). Other methods prune nothing: prox's first
  step, incremental's next round, a no-op for the rest.

:meth:`TernaryLayer.ternary_weight` gives the codes, :meth:`row_scales` the
scales ``(W_p, W_n)`` per output row (``None`` for the unscaled ``threshold``),
:meth:`regularizer` the quantiser's loss term (SQ).

In eval mode, a layer whose weights are ``alpha_j * T`` with one scale per
output row (:meth:`row_scale`) computes ``(x @ T^T) * alpha`` -- the
accumulation over the codes first, then one float32 multiply per output --
instead of ``x @ (alpha T)^T``: the same value up to float rounding, but for
integer inputs (binary networks) the accumulation is an exact integer, so the
exported model (which folds ``alpha`` into the thresholds, :mod:`sw.export`)
reproduces it bit for bit. Training, and unscaled layers, use ``x @ w_q^T``.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from .adapters import make_layer_quantizer
from .quantizer import LayerQuantizer
from .threshold import check_eta

__all__ = ["TernaryLayer", "TernaryLinear", "TernaryConv2d", "ternary_layers"]


class TernaryLayer:
    """Mixin for a weight layer with ternary weights; see the module docstring.

    Subclasses are ``nn.Module`` s with a ``weight`` parameter (this is ``w_r``)
    and implement ``_op(x, w, bias)`` (the linear map with given weights).
    """

    weight: nn.Parameter
    mask: Tensor
    quantizer: LayerQuantizer

    def _init_ternary(self, eta: float, lam: float, method: str, params: dict | None = None) -> None:
        if lam < 0:
            raise InputError(f"lam: expected >= 0, got {lam}")
        self.eta = check_eta(eta)
        self.lam = float(lam)
        self.register_buffer("mask", torch.ones_like(self.weight))
        with torch.no_grad():
            self.weight.uniform_(-1.0, 1.0)
        self.set_quantizer(method, **(params or {}))

    @property
    def method(self) -> str:
        """The registered name of the layer's quantiser."""
        return self.quantizer.name

    def set_quantizer(self, method: str, **params) -> None:
        """Train and export this layer with the registered ``method`` (keyword ``params``;
        none for ``threshold``, which uses the layer's ``eta``). The quantiser's initial
        state (TTQ's scales, SQ's threshold) comes from the current weights."""
        quantizer = make_layer_quantizer(method, self.weight.detach(), params, eta=self.eta)
        if self.lam > 0 and quantizer.l2_codes(self.weight.detach()) is None:
            raise InputError(f"lam: must be 0 for {method} (it takes no L2 on w_q), got {self.lam}")
        self.quantizer = quantizer

    def quantized_weight(self) -> Tensor:
        """``w_q`` for the forward pass (straight-through gradient to ``w_r``)."""
        return self.quantizer.values(self.weight) * self.mask

    @torch.no_grad()
    def ternary_weight(self) -> Tensor:
        """The codes of ``w_q`` as an int8 tensor, detached (what gets exported)."""
        return (self.quantizer.codes(self.weight) * self.mask).to(torch.int8)

    def is_ternary(self) -> bool:
        """False while the method still trains in full precision (prox, incremental)."""
        return self.quantizer.is_ternary()

    @torch.no_grad()
    def row_scales(self) -> tuple[Tensor, Tensor] | None:
        """``(W_p, W_n)`` per output row (dim 0), shape ``[out]``; ``None`` if unscaled (``threshold``).

        ``w_q = +W_p[j]`` where the code is +1, ``-W_n[j]`` where it is -1
        (once :meth:`is_ternary`).
        """
        scales = self.quantizer.scales(self.weight)
        if scales is None:
            return None
        n = self.weight.shape[0]
        return tuple(s.reshape(-1).expand(n).clone() for s in scales)

    @torch.no_grad()
    def row_scale(self) -> tuple[Tensor | None, str]:
        """``(alpha, "")`` with ``w_q[j] = alpha[j] * codes[j]`` for every row ``j``, or ``(None, why)``.

        A row holding both signs needs ``W_p == W_n``; a row with one sign takes that
        sign's scale, a row of zeros ``W_p``. Unscaled layers (``threshold``) give
        ``(None, "unscaled")``: their values are the codes.
        """
        if not self.quantizer.is_ternary():
            return None, f"not all weights are ternary yet ({self.quantizer.info()})"
        scales = self.row_scales()
        if scales is None:
            return None, "unscaled"
        return _common_row_scale(self.ternary_weight(), *scales)

    def regularizer(self) -> Tensor | None:
        """The quantiser's loss term (SQ), or ``None``."""
        return self.quantizer.regularizer(self.weight)

    def quant_info(self) -> dict:
        """The quantiser's entries for reports (method and state; none for ``threshold``)."""
        return self.quantizer.report()

    @torch.no_grad()
    def add_l2_grad(self) -> None:
        """Eq. (5): ``w_r.grad += lam * codes`` (call after ``backward()``)."""
        if self.lam == 0.0:
            return
        codes = self.quantizer.l2_codes(self.weight)
        if codes is None:
            return
        if self.weight.grad is None:
            self.weight.grad = torch.zeros_like(self.weight)
        self.weight.grad.add_(codes * self.mask, alpha=self.lam)

    @torch.no_grad()
    def constrain_(self) -> None:
        """Clip ``w_r`` to [-1, 1] and keep pruned weights at exactly zero; then the quantiser's hook."""
        self.weight.clamp_(-1.0, 1.0).mul_(self.mask)
        self.quantizer.after_step(self.weight)

    @torch.no_grad()
    def prune_(self, sigma: float | None = None) -> int:
        """The stage transition (:meth:`LayerQuantizer.prune`): for ``threshold`` eqs. (6)-(8),
        ``mask = |w_r| > sigma`` (default ``eta``); returns how many nonzero codes it pruned."""
        return self.quantizer.prune(self.weight, self.mask, sigma)

    def _ternary_forward(self, x: Tensor) -> Tensor:
        bias = getattr(self, "bias", None)
        alpha = None if self.training else self.row_scale()[0]
        if alpha is None:
            return self._op(x, self.quantized_weight(), bias)
        shape = (-1,) + (1,) * (x.ndim - 2)  # eval: accumulate over the codes, then scale (module docstring)
        y = self._op(x, self.ternary_weight().to(x.dtype), None) * alpha.to(x.dtype).reshape(shape)
        return y if bias is None else y + bias.reshape(shape)

    def extra_repr(self) -> str:  # shown by print(model)
        return f"{super().extra_repr()}, eta={self.eta}, lam={self.lam}, method={self.method!r}"


def _common_row_scale(codes: Tensor, wp: Tensor, wn: Tensor) -> tuple[Tensor | None, str]:
    """:meth:`TernaryLayer.row_scale` from the codes and the per-row scales."""
    rows = codes.reshape(len(wp), -1)
    pos, neg = (rows > 0).any(1), (rows < 0).any(1)
    bad = pos & neg & (wp != wn)
    if bad.any():
        j = int(bad.nonzero()[0, 0])
        return None, (f"asymmetric scales, W_p != W_n in {int(bad.sum())} of {len(wp)} rows (first: "
                      f"row {j}, W_p = {float(wp[j]):.6g}, W_n = {float(wn[j]):.6g})")
    return torch.where(neg & ~pos, wn, wp), ""


class TernaryLinear(TernaryLayer, nn.Linear):
    """``nn.Linear`` with ternary weights; no bias by default (batch norm follows)."""

    def __init__(self, in_features: int, out_features: int, *, eta: float, lam: float = 0.0,
                 method: str = "threshold", params: dict | None = None, bias: bool = False):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_ternary(eta, lam, method, params)

    def _op(self, x: Tensor, w: Tensor, bias: Tensor | None) -> Tensor:
        return F.linear(x, w, bias)

    def forward(self, x: Tensor) -> Tensor:
        return self._ternary_forward(x)


class TernaryConv2d(TernaryLayer, nn.Conv2d):
    """``nn.Conv2d`` with ternary weights; no bias by default (batch norm follows)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, eta: float,
                 lam: float = 0.0, method: str = "threshold", params: dict | None = None,
                 bias: bool = False, **conv_kwargs):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, bias=bias, **conv_kwargs)
        self._init_ternary(eta, lam, method, params)

    def _op(self, x: Tensor, w: Tensor, bias: Tensor | None) -> Tensor:
        return self._conv_forward(x, w, bias)

    def forward(self, x: Tensor) -> Tensor:
        return self._ternary_forward(x)


def ternary_layers(model: nn.Module) -> Iterator[TernaryLayer]:
    """The model's ternary layers in registration (= forward) order."""
    return (m for m in model.modules() if isinstance(m, TernaryLayer))
