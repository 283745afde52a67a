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

Other methods (:meth:`TernaryLayer.set_quantizer`): with any registered method
but ``threshold`` the layer delegates to that method's adapter
(:mod:`sw.quant.adapters`, attached as ``layer.quantizer``; ``eta`` is then
only reported): ``Q`` is the method's straight-through twin fed its learned
scales, :meth:`ternary_weight` its codes, :meth:`row_scales` its ``(W_p, W_n)``
per output row; eq. (5) uses the codes; :meth:`constrain_` also runs the
method's post-step hook (clamping learned scales, 003's proximal step);
:meth:`prune_` prunes nothing and is the method's stage transition instead
(prox's first step, incremental's next round; a no-op for the others);
:meth:`regularizer` is the method's loss term (SQ).

In eval mode, a layer whose weights are ``alpha_j * T`` with one scale per
output row (:meth:`row_scale`) computes ``(x @ T^T) * alpha`` -- the
accumulation over the codes first, then one float32 multiply per output --
instead of ``x @ (alpha T)^T``: the same value up to float rounding, but for
integer inputs (binary networks) the accumulation is an exact integer, so the
exported model (which folds ``alpha`` into the thresholds, :mod:`sw.export`)
reproduces it bit for bit. Training always uses ``x @ w_q^T``. The
``threshold`` method is untouched by all of this.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .adapters import LayerQuantizer, make_layer_quantizer
from .registry import QUANTIZERS, ternarize, ternarize_ste

__all__ = ["TernaryLayer", "TernaryLinear", "TernaryConv2d", "ternary_layers"]


class TernaryLayer:
    """Mixin for a weight layer with ternary weights; see the module docstring.

    Subclasses are ``nn.Module`` s with a ``weight`` parameter (this is ``w_r``)
    and implement ``_op(x, w, bias)`` (the linear map with given weights).
    """

    weight: nn.Parameter
    mask: Tensor
    quantizer: LayerQuantizer | None

    def _init_ternary(self, eta: float, lam: float, method: str, params: dict | None = None) -> None:
        if method not in QUANTIZERS:
            raise ValueError(f"unknown quantiser {method!r} (known: {', '.join(sorted(QUANTIZERS))})")
        if lam < 0:
            raise ValueError(f"lam: expected >= 0, got {lam}")
        ternarize(torch.zeros(1), "threshold", eta=eta)  # validates eta
        self.eta = float(eta)
        self.lam = float(lam)
        self.method = "threshold"
        self.quantizer = None
        self.register_buffer("mask", torch.ones_like(self.weight))
        with torch.no_grad():
            self.weight.uniform_(-1.0, 1.0)
        if method != "threshold" or params:
            self.set_quantizer(method, **(params or {}))

    def set_quantizer(self, method: str, **params) -> None:
        """Train and export this layer with the registered ``method`` (keyword ``params``).

        The adapter's initial state (e.g. TTQ's scales, SQ's threshold) comes
        from the current weights, so call this right after construction.
        ``"threshold"`` takes no parameters (it uses the layer's ``eta``).
        """
        if method == "threshold":
            if params:
                raise ValueError(f"threshold: takes no parameters (eta is the layer's), got {sorted(params)}")
            self.quantizer = None
        else:
            quantizer = make_layer_quantizer(method, self.weight.detach(), **params)
            if self.lam > 0 and quantizer.l2_codes(self.weight.detach()) is None:
                raise ValueError(f"{method}: lam must be 0 (this method takes no L2 on w_q), got {self.lam}")
            self.quantizer = quantizer
        self.method = method

    def quantized_weight(self) -> Tensor:
        """``w_q`` for the forward pass (straight-through gradient to ``w_r``)."""
        if self.quantizer is None:
            return ternarize_ste(self.weight, self.method, eta=self.eta) * self.mask
        return self.quantizer.values(self.weight) * self.mask

    @torch.no_grad()
    def ternary_weight(self) -> Tensor:
        """``w_q`` as an int8 tensor, detached (what gets exported): the codes for scaled methods."""
        if self.quantizer is None:
            return (ternarize(self.weight, self.method, eta=self.eta) * self.mask).to(torch.int8)
        return (self.quantizer.codes(self.weight) * self.mask).to(torch.int8)

    def is_ternary(self) -> bool:
        """False while the method still trains in full precision (prox, incremental)."""
        return self.quantizer is None or self.quantizer.is_ternary()

    @torch.no_grad()
    def row_scales(self) -> tuple[Tensor, Tensor] | None:
        """``(W_p, W_n)`` per output row (dim 0), shape ``[out]``; ``None`` for ``threshold``.

        ``w_q = +W_p[j]`` where the code is +1, ``-W_n[j]`` where it is -1
        (once :meth:`is_ternary`).
        """
        if self.quantizer is None:
            return None
        n = self.weight.shape[0]
        wp, wn = self.quantizer.scales(self.weight)
        return wp.reshape(-1).expand(n).clone(), wn.reshape(-1).expand(n).clone()

    @torch.no_grad()
    def row_scale(self) -> tuple[Tensor | None, str]:
        """``(alpha, "")`` with ``w_q[j] = alpha[j] * codes[j]`` for every row ``j``, or ``(None, why)``.

        A row holding both signs needs ``W_p == W_n``; a row with one sign
        takes that sign's scale; a row of zeros takes ``W_p`` (it adds nothing).
        ``threshold`` layers give ``(None, "unscaled")``: their values are the codes.
        """
        if self.quantizer is None:
            return None, "unscaled"
        if not self.quantizer.is_ternary():
            return None, f"not all weights are ternary yet ({self.quantizer.info()})"
        wp, wn = self.row_scales()
        rows = self.ternary_weight().reshape(len(wp), -1)
        pos, neg = (rows > 0).any(1), (rows < 0).any(1)
        bad = pos & neg & (wp != wn)
        if bad.any():
            j = int(bad.nonzero()[0, 0])
            return None, (f"asymmetric scales, W_p != W_n in {int(bad.sum())} of {len(wp)} rows (first: "
                          f"row {j}, W_p = {float(wp[j]):.6g}, W_n = {float(wn[j]):.6g})")
        return torch.where(neg & ~pos, wn, wp), ""

    def regularizer(self) -> Tensor | None:
        """The method's loss term (SQ), or ``None``."""
        return None if self.quantizer is None else self.quantizer.regularizer(self.weight)

    def quant_info(self) -> dict:
        """Method and adapter state for reports; empty for ``threshold``."""
        if self.quantizer is None:
            return {}
        return {"method": self.method, **self.quantizer.info()}

    @torch.no_grad()
    def add_l2_grad(self) -> None:
        """Eq. (5): ``w_r.grad += lam * w_q`` (call after ``backward()``); codes for scaled methods."""
        if self.lam == 0.0:
            return
        if self.quantizer is None:
            w_q = ternarize(self.weight, self.method, eta=self.eta) * self.mask
        else:
            codes = self.quantizer.l2_codes(self.weight)
            if codes is None:
                return
            w_q = codes * self.mask
        if self.weight.grad is None:
            self.weight.grad = torch.zeros_like(self.weight)
        self.weight.grad.add_(w_q, alpha=self.lam)

    @torch.no_grad()
    def constrain_(self) -> None:
        """Clip ``w_r`` to [-1, 1] and keep pruned weights at exactly zero; then the method's hook."""
        self.weight.clamp_(-1.0, 1.0).mul_(self.mask)
        if self.quantizer is not None:
            self.quantizer.after_step(self.weight)

    @torch.no_grad()
    def prune_(self, sigma: float | None = None) -> int:
        """Eqs. (6)-(8): fix ``mask = |w_r| > sigma`` (default ``sigma = eta``).

        Already-pruned weights stay pruned. Returns how many weights this call
        pruned that were nonzero in ``w_q`` (0 when ``sigma <= eta``). Other
        methods: their stage transition instead; nothing is pruned (returns 0)
        and ``sigma`` must be ``None``.
        """
        if self.quantizer is not None:
            if sigma is not None:
                raise ValueError(f"{self.method}: sigma (pruning) belongs to the threshold quantiser, got {sigma}")
            self.quantizer.next_stage(self.weight)
            return 0
        sigma = self.eta if sigma is None else float(sigma)
        before = self.ternary_weight() != 0
        self.mask.mul_((self.weight.abs() > sigma).to(self.mask.dtype))
        self.weight.mul_(self.mask)
        return int((before & (self.ternary_weight() == 0)).sum())

    def nonzero_count(self) -> int:
        return int((self.ternary_weight() != 0).sum())

    def _ternary_forward(self, x: Tensor) -> Tensor:
        bias = getattr(self, "bias", None)
        if self.quantizer is not None and not self.training:
            alpha, _ = self.row_scale()
            if alpha is not None:  # eval: accumulate over the codes, then scale (module docstring)
                shape = (-1,) + (1,) * (x.ndim - 2)
                y = self._op(x, self.ternary_weight().to(x.dtype), None) * alpha.to(x.dtype).reshape(shape)
                return y if bias is None else y + bias.reshape(shape)
        return self._op(x, self.quantized_weight(), bias)

    def extra_repr(self) -> str:  # shown by print(model)
        return f"{super().extra_repr()}, eta={self.eta}, lam={self.lam}, method={self.method!r}"


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
