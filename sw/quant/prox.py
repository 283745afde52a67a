"""Exact proximal operator for ternarisation (paper 003, section 2).

Single scale (``"prox-single"``, 003 section 2.1, problem (2)):

    (alpha*, T*) = argmin ||alpha T - W||^2  s.t. alpha > 0, T in {-1, 0, 1}^n

For a fixed sparsity ``k = ||T||_0`` the error is at least
``||W||^2 - ||W_[k]||_1^2 / k`` (eq. 3, ``W_[k]`` = the k largest magnitudes),
with equality for ``T = sign(W_[k])``, ``alpha = ||W_[k]||_1 / k``. So

    k*     = argmax_k  (sum of the k largest |w|)^2 / k
    T*     = sign(w) on those k* weights, 0 elsewhere
    alpha* = (sum of the k* largest |w|) / k*

computed by one descending sort and a cumulative sum: O(n log n), vectorised
over scale groups. Ties in ``k`` take the smallest ``k``; ties in magnitude at
the cut are broken by position (any choice gives the same error). A group of
zeros gives ``alpha = 0``, ``T = 0`` (the infimum; ``alpha > 0`` is not attained).

Dual scale (``"prox-dual"``, 003 section 2.2, problem (4)): ``W = W_+ + W_-``
splits into its positive and negative parts and each is solved as above on its
own (``T_+ in {0,1}^n``, ``T_- in {-1,0}^n``), giving
``alpha_+* T_+* + alpha_-* T_-*``: values ``+alpha_p`` / 0 / ``-alpha_n``.

Blocks (003 section 2.3): one block per layer, or one per filter
(``per_filter=True``, dim 0). :func:`prox_gradient_step` is Algorithm 1 for
one minibatch. Gradient of the registered STE twins: identity straight-through
(the scales are recomputed from ``w``, not trained).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .groups import groups, straight_through
from .registry import QuantMethod, register

__all__ = ["prox_single", "prox_dual", "ternarize_prox", "ternarize_prox_ste", "ternarize_prox_dual",
           "ternarize_prox_dual_ste", "prox_gradient_step"]


def _best_topk(a: Tensor) -> tuple[Tensor, Tensor]:
    """For ``(G, n)`` magnitudes ``a >= 0``: ``(alpha, keep)``, the optimal scale and top-k* mask."""
    n_groups, n = a.shape
    if n == 0:
        return a.new_zeros(n_groups), torch.zeros_like(a, dtype=torch.bool)
    s, order = a.sort(dim=1, descending=True, stable=True)
    c = s.cumsum(1)
    k = torch.arange(1, n + 1, dtype=a.dtype, device=a.device)
    best = (c * c / k).argmax(1)  # first maximum: smallest k*
    alpha = c.gather(1, best[:, None]).squeeze(1) / (best + 1).to(a.dtype)
    in_top = torch.arange(n, device=a.device)[None, :] <= best[:, None]  # in sorted order
    keep = torch.zeros_like(in_top).scatter(1, order, in_top) & (a > 0)
    return alpha, keep


def prox_single(w: Tensor, *, per_filter: bool = False) -> tuple[Tensor, Tensor]:
    """``(alpha*, T*)``: scales of shape ``(G,)`` and codes in {-1, 0, +1} shaped like ``w``."""
    g = groups(w.detach(), per_filter)
    alpha, keep = _best_topk(g.abs())
    return alpha, (torch.sign(g) * keep).reshape(w.shape)


def prox_dual(w: Tensor, *, per_filter: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """``(alpha_p*, alpha_n*, T*)``: the two scales (shape ``(G,)``, magnitudes) and the codes."""
    g = groups(w.detach(), per_filter)
    alpha_p, keep_p = _best_topk(g.clamp_min(0))
    alpha_n, keep_n = _best_topk((-g).clamp_min(0))
    codes = keep_p.to(g.dtype) - keep_n.to(g.dtype)
    return alpha_p, alpha_n, codes.reshape(w.shape)


def ternarize_prox(w: Tensor, *, per_filter: bool = False) -> Tensor:
    """``prox_T(w) = alpha* T*`` with one scale per group (problem 2); same shape and dtype."""
    alpha, codes = prox_single(w, per_filter=per_filter)
    return (groups(codes, per_filter) * alpha[:, None]).reshape(w.shape)


def ternarize_prox_dual(w: Tensor, *, per_filter: bool = False) -> Tensor:
    """``prox_T(w) = alpha_p* T_+* + alpha_n* T_-*`` with two scales per group (problem 4)."""
    alpha_p, alpha_n, codes = prox_dual(w, per_filter=per_filter)
    c = groups(codes, per_filter)
    return (torch.where(c > 0, alpha_p[:, None], alpha_n[:, None]) * c).reshape(w.shape)


def ternarize_prox_ste(w: Tensor, *, per_filter: bool = False) -> Tensor:
    """Differentiable :func:`ternarize_prox` (identity straight-through gradient)."""
    return straight_through(ternarize_prox, w, per_filter=per_filter)


def ternarize_prox_dual_ste(w: Tensor, *, per_filter: bool = False) -> Tensor:
    """Differentiable :func:`ternarize_prox_dual` (identity straight-through gradient)."""
    return straight_through(ternarize_prox_dual, w, per_filter=per_filter)


@torch.no_grad()
def prox_gradient_step(w_t: Tensor, grad: Tensor, lr: float, *, dual: bool = False,
                       per_filter: bool = False) -> Tensor:
    """Paper 003, Algorithm 1 with plain SGD: ``W^(t+1) = prox_T(W^(t) - lr * grad)``.

    ``w_t`` is the current *ternary* weight ``W^(t)`` and ``grad`` the minibatch
    gradient of the cost taken at ``W^(t)``; the update starts from ``W^(t)``,
    not from a stored real weight (the difference to TWN / BinaryConnect the
    paper remarks on), which makes this stochastic proximal gradient descent for
    ``min C(W) s.t. W_i in T``. Each block (the layer, or each filter with
    ``per_filter=True``) is ternarised on its own, by problem (2) or, with
    ``dual=True``, problem (4). Other update rules (momentum, Adam) replace the
    SGD step; the prox is then applied to their result in the same way.
    """
    w_r = w_t - float(lr) * grad
    return (ternarize_prox_dual if dual else ternarize_prox)(w_r, per_filter=per_filter)


register(QuantMethod("prox-single", ternarize_prox, ternarize_prox_ste))
register(QuantMethod("prox-dual", ternarize_prox_dual, ternarize_prox_dual_ste))
