"""Ternary Weight Networks (TWN; Li & Liu 2016): ``w_q = alpha * T`` with a heuristic threshold.

TWN approximately solves ``min_{alpha >= 0, T} ||W - alpha T||^2`` (paper 001,
eq. 3) with the symmetric threshold function of paper 001, eq. (4), and TWN's
closed-form threshold and scale:

    Delta = 0.7 * mean(|W|)                      (TWN's approximation of the optimal threshold)
    T     = +1 if w > Delta, 0 if |w| <= Delta, -1 if w < -Delta          (001 eq. 4)
    alpha = mean(|w| : |w| > Delta)              (exact least-squares scale for that T)

per layer (``per_filter=False``) or per filter along dim 0 (``per_filter=True``,
the filter-wise variant paper 004 uses as its benchmark). A group with no weight
above ``Delta`` (all zeros) gets ``alpha = 0``. Papers 003 and 004 use TWN as
the baseline; :mod:`sw.quant.prox` solves the same problem exactly.

Gradient: identity straight-through to ``w`` (TWN trains the real weights with
the gradient taken at the ternary ones); ``Delta`` and ``alpha`` are not trained.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .groups import groups, straight_through
from .registry import QuantMethod, register

__all__ = ["TWN_FACTOR", "twn_params", "ternarize_twn", "ternarize_twn_ste"]

#: TWN's threshold factor: ``Delta = 0.7 * mean|W|``.
TWN_FACTOR = 0.7


def twn_params(w: Tensor, *, per_filter: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """``(delta, alpha, codes)``: thresholds and scales of shape ``(G,)``, codes shaped like ``w``.

    ``G`` is 1 per layer or ``w.shape[0]`` per filter; codes are in {-1, 0, +1}.
    """
    g = groups(w, per_filter)
    a = g.abs()
    delta = TWN_FACTOR * a.mean(1)
    keep = a > delta[:, None]
    alpha = (a * keep).sum(1) / keep.sum(1).clamp_min(1).to(a.dtype)
    codes = torch.sign(g) * keep
    return delta, alpha, codes.reshape(w.shape)


def ternarize_twn(w: Tensor, *, per_filter: bool = False) -> Tensor:
    """``alpha * T`` (see the module docstring); same shape and dtype as ``w``."""
    _, alpha, codes = twn_params(w, per_filter=per_filter)
    return (groups(codes, per_filter) * alpha[:, None]).reshape(w.shape)


def ternarize_twn_ste(w: Tensor, *, per_filter: bool = False) -> Tensor:
    """Differentiable :func:`ternarize_twn` (identity straight-through gradient)."""
    return straight_through(ternarize_twn, w, per_filter=per_filter)


register(QuantMethod("twn", ternarize_twn, ternarize_twn_ste))
