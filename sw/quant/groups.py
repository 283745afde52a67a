"""Scale groups and the autograd pieces shared by the scaled ternary quantisers.

A *scale group* is the set of weights that share one scale (or one pair of
scales): the whole tensor (``per_filter=False``, one group) or each slice along
dim 0 (``per_filter=True``: an output filter / row, ``w.shape[0]`` groups).
Every method works on the ``(G, n)`` view :func:`groups` returns and reshapes
back, so "per layer" and "per filter" share one code path.

Output forms:

* :func:`straight_through` -- forward ``fn(w, **params)``, backward the
  identity (``dL/dw = dL/dw_q``), for quantisers whose scales are computed
  from ``w`` and not trained (TWN, the proximal operators).
* :func:`two_scale` -- forward ``+wp`` / ``0`` / ``-wn`` from fixed codes, the
  scales being tensors that may be learned; backward the chain rule for the
  scales and either the identity or TTQ's scaled rule for the latent weights
  (see :class:`TwoScale`).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["groups", "scale_tensor", "straight_through", "two_scale", "TwoScale", "StraightThrough",
           "codes_to_values"]


def groups(w: Tensor, per_filter: bool) -> Tensor:
    """``w`` as a ``(G, n)`` view: one row per scale group.

    ``per_filter=False``: ``G = 1`` (a 0-d ``w`` is one group of one weight).
    ``per_filter=True``: ``G = w.shape[0]``; needs ``w.ndim >= 1``.
    """
    if per_filter:
        if w.ndim == 0:
            raise InputError("per_filter: needs a weight with at least one dimension (filters on dim 0)")
        return w.reshape(w.shape[0], -1)
    return w.reshape(1, -1)


def scale_tensor(scale, name: str, n_groups: int, like: Tensor) -> Tensor:
    """A scale given as a number or a tensor of 1 or ``n_groups`` elements, as shape ``(G,)``.

    Tensors keep their autograd history (learned scales get gradients);
    numbers become constants of ``like``'s dtype. A number must be >= 0.
    """
    if isinstance(scale, Tensor):
        if scale.numel() not in (1, n_groups):
            raise InputError(f"{name}: expected 1 or {n_groups} elements (one per scale group), "
                             f"got shape {tuple(scale.shape)}")
        return scale.to(like.dtype).reshape(-1).expand(n_groups)
    scale = float(scale)
    if not scale >= 0.0:
        raise InputError(f"{name}: expected a scale >= 0, got {scale}")
    return torch.full((n_groups,), scale, dtype=like.dtype, device=like.device)


def codes_to_values(codes: Tensor, wp: Tensor, wn: Tensor) -> Tensor:
    """``(G, n)`` codes in {-1, 0, +1} -> ``+wp`` / ``0`` / ``-wn`` (scales of shape ``(G,)``)."""
    zero = torch.zeros((), dtype=codes.dtype, device=codes.device)
    return torch.where(codes > 0, wp[:, None], torch.where(codes < 0, -wn[:, None], zero))


class StraightThrough(torch.autograd.Function):
    """Forward: ``fn(w, **params)``. Backward: identity, ``dL/dw = dL/dw_q``."""

    @staticmethod
    def forward(ctx, w: Tensor, fn: Callable[..., Tensor], params: dict) -> Tensor:
        return fn(w, **params)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        return grad_out, None, None


def straight_through(fn: Callable[..., Tensor], w: Tensor, **params) -> Tensor:
    """Differentiable ``fn(w, **params)`` whose gradient passes straight to ``w``."""
    return StraightThrough.apply(w, fn, params)


class TwoScale(torch.autograd.Function):
    """``w_q = wp * [c > 0] - wn * [c < 0]`` for fixed codes ``c`` (all in ``(G, n)`` form).

    Backward:

    * scales, by the chain rule: ``dL/dwp = sum_{c > 0} dL/dw_q`` and
      ``dL/dwn = -sum_{c < 0} dL/dw_q`` per group (``wn`` is a magnitude: the
      value is ``-wn``). Passing the same tensor as ``wp`` and ``wn`` (one
      symmetric scale ``mu``) sums the two: ``dL/dmu = sum c * dL/dw_q``.
    * latent weights: the identity when ``ttq_latent`` is false; else TTQ's
      eq. (8) (Zhu et al. 2016): ``wp * g`` where ``c > 0``, ``g`` where ``c = 0``,
      ``wn * g`` where ``c < 0``.
    """

    @staticmethod
    def forward(ctx, w: Tensor, wp: Tensor, wn: Tensor, codes: Tensor, ttq_latent: bool) -> Tensor:
        ctx.save_for_backward(wp, wn, codes)
        ctx.ttq_latent = ttq_latent
        return codes_to_values(codes, wp, wn)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        wp, wn, codes = ctx.saved_tensors
        pos, neg = codes > 0, codes < 0
        grad_w = grad_wp = grad_wn = None
        if ctx.needs_input_grad[0]:
            if ctx.ttq_latent:
                one = torch.ones((), dtype=grad_out.dtype, device=grad_out.device)
                factor = torch.where(pos, wp[:, None].to(grad_out.dtype),
                                     torch.where(neg, wn[:, None].to(grad_out.dtype), one))
                grad_w = grad_out * factor
            else:
                grad_w = grad_out
        if ctx.needs_input_grad[1]:
            grad_wp = (grad_out * pos).sum(1)
        if ctx.needs_input_grad[2]:
            grad_wn = -(grad_out * neg).sum(1)
        return grad_w, grad_wp, grad_wn, None, None


def two_scale(w2: Tensor, wp: Tensor, wn: Tensor, codes: Tensor, *, ttq_latent: bool) -> Tensor:
    """Differentiable :class:`TwoScale` on ``(G, n)`` weights ``w2`` (codes are not differentiated)."""
    return TwoScale.apply(w2, wp, wn, codes.detach(), ttq_latent)
