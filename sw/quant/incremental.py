"""Incremental filter-wise trained ternary quantisation (paper 004).

Paper 004 combines TTQ's two learned scales, kept *per filter* (dim 0), with an
incremental schedule: "During each round, a proportion of filter parameters
with absolute values higher than a certain threshold is ternarized and the rest
of the parameters are trained to make up for accuracy degradation ... In the
final round it [the threshold] becomes zero and all the filter parameters will
be ternarized." The best quantiles were ``[0.5, 0.75, 1]`` and the best TTQ
threshold ``0.05``.

What is implemented:

* :func:`incremental_mask` -- the round's mask: per filter, the
  ``ceil(q * n)`` largest-magnitude weights (``n`` = weights per filter; the
  "threshold" is thus the filter's ``(1 - q)`` magnitude quantile, by rank so
  ties cannot change the count). Given the previous round's mask as
  ``frozen``, the new mask is ``frozen`` plus the largest of the *not yet
  frozen* weights up to that count: masks only grow and frozen weights stay frozen.
* :func:`ternarize_incremental` -- inside the mask, filter-wise TTQ
  (:mod:`sw.quant.ttq`): code ``sign(w)`` where ``|w| > t * max|w|`` over the
  filter, else 0; values ``+W_p`` / 0 / ``-W_n``. Outside the mask the weights
  stay full precision. With ``q = 1`` (the default, the final round) everything
  is ternary: at most three values per filter. Initial scales, per filter:
  the mean of the masked positive / negative weights that get a nonzero code
  (004: "taking the average of the parameter set that is going to be
  ternarized as the new scaling factors at the beginning of each round").
* :func:`ternarize_incremental_ste` -- gradients: masked ("ternarised and
  frozen") weights get none; the other weights get the identity; scales given
  as tensors ``wp``, ``wn`` (one per filter) get TTQ's ``sum`` rules (eq. 7 of
  Zhu et al.) over their masked codes. So in the final round only the scales train.

The round loop itself (re-initialising the scales at each round start,
training) belongs to the training code. Codes are recomputed from ``w`` at
every call; they stay fixed for frozen weights as long as those weights (zero
gradient, so no weight decay on them either) and the filter's ``max|w|`` do.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import InputError
from .groups import codes_to_values, groups, scale_tensor, two_scale
from .registry import QuantMethod, register
from .ttq import TTQ_THRESHOLD, _check_t

__all__ = ["INCREMENTAL_QUANTILES", "incremental_mask", "incremental_codes", "ternarize_incremental",
           "ternarize_incremental_ste"]

#: Paper 004's schedule: the share of each filter ternarised after rounds 1, 2, 3.
INCREMENTAL_QUANTILES = (0.5, 0.75, 1.0)


def _check_q(q: float) -> float:
    q = float(q)
    if not 0.0 <= q <= 1.0:
        raise InputError(f"q: expected a share in [0, 1], got {q}")
    return q


def _mask2(g: Tensor, q: float, frozen2: Tensor | None) -> Tensor:
    n_groups, n = g.shape
    target = min(n, math.ceil(_check_q(q) * n - 1e-9))
    if frozen2 is None:
        frozen2 = torch.zeros_like(g, dtype=torch.bool)
    need = (target - frozen2.sum(1)).clamp_min(0)
    score = torch.where(frozen2, -math.inf, g.abs().to(torch.float64))
    order = score.argsort(dim=1, descending=True, stable=True)
    new_sorted = torch.arange(n, device=g.device)[None, :] < need[:, None]
    return frozen2 | torch.zeros_like(frozen2).scatter(1, order, new_sorted)


def incremental_mask(w: Tensor, q: float, frozen: Tensor | None = None) -> Tensor:
    """Bool mask (``w``'s shape) of the weights ternarised and frozen once a round with share ``q`` ends.

    Per filter (dim 0): ``frozen`` plus the largest ``|w|`` among the other
    weights, up to ``ceil(q * n)`` in all (no more are added if ``frozen``
    already has that many). Contains ``frozen``.
    """
    g = groups(w.detach(), True)
    f = None if frozen is None else groups(_check_frozen(frozen, w), True)
    return _mask2(g, q, f).reshape(w.shape)


def _check_frozen(frozen: Tensor, w: Tensor) -> Tensor:
    if frozen.shape != w.shape:
        raise InputError(f"frozen: expected a mask of shape {tuple(w.shape)}, got {tuple(frozen.shape)}")
    return frozen.to(torch.bool)


def incremental_codes(w: Tensor, mask: Tensor, *, t: float = TTQ_THRESHOLD) -> Tensor:
    """Codes in {-1, 0, +1} inside ``mask`` (TTQ threshold ``t`` relative to each filter's max), 0 outside."""
    g = groups(w.detach(), True)
    m = groups(_check_frozen(mask, w), True)
    big = g.abs().amax(1, keepdim=True) if g.shape[1] else g.new_zeros(g.shape[0], 1)
    return (torch.sign(g) * (g.abs() > _check_t(t) * big) * m).reshape(w.shape)


def _forward(w: Tensor, q, t, frozen, wp, wn, ste: bool) -> Tensor:
    g = groups(w, True)
    with torch.no_grad():
        mask = incremental_mask(w, q, frozen)
        codes = groups(incremental_codes(w, mask, t=t), True)
        pos, neg = codes > 0, codes < 0
        gd = g.detach()
        wp0 = (gd * pos).sum(1) / pos.sum(1).clamp_min(1).to(g.dtype)
        wn0 = -(gd * neg).sum(1) / neg.sum(1).clamp_min(1).to(g.dtype)
    wp = wp0 if wp is None else scale_tensor(wp, "wp", g.shape[0], w)
    wn = wn0 if wn is None else scale_tensor(wn, "wn", g.shape[0], w)
    m = groups(mask, True)
    if ste:
        ternary = two_scale(gd, wp, wn, codes, ttq_latent=False)
        return torch.where(m, ternary, g).reshape(w.shape)
    with torch.no_grad():
        return torch.where(m, codes_to_values(codes, wp, wn), gd).reshape(w.shape)


def ternarize_incremental(w: Tensor, *, q: float = 1.0, t: float = TTQ_THRESHOLD,
                          frozen: Tensor | None = None, wp=None, wn=None) -> Tensor:
    """Filter-wise two-scale ternarisation of the round-``q`` mask; the rest unchanged (no gradient)."""
    return _forward(w, q, t, frozen, wp, wn, ste=False)


def ternarize_incremental_ste(w: Tensor, *, q: float = 1.0, t: float = TTQ_THRESHOLD,
                              frozen: Tensor | None = None, wp=None, wn=None) -> Tensor:
    """Differentiable :func:`ternarize_incremental`: zero gradient to masked weights, identity elsewhere."""
    return _forward(w, q, t, frozen, wp, wn, ste=True)


register(QuantMethod("incremental", ternarize_incremental, ternarize_incremental_ste))
