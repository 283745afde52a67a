"""Trained Ternary Quantization (TTQ), threshold and sparsity variants (paper 000, section 3).

Paper 000 (Tanasa & Tanasa, a study of Zhu et al.'s TTQ) describes both
variants as the same three steps, "normalization, quantization, multiplication
with ternarization factors":

1. normalise: ``w_n = w / max|w|`` (into [-1, 1]);
2. quantise to codes ``T`` in {-1, 0, +1}:

   * ``"ttq-threshold"`` (T TTQ): ``T = sign(w_n)`` where ``|w_n| > t``, else 0;
     the paper's threshold is ``t = 0.05`` (relative to the max, as step 1 makes it);
   * ``"ttq-sparsity"`` (P TTQ): a fraction ``sparsity`` of the weights becomes 0
     (paper: 0.5 = "50% of the weights should be found in 0"). Implemented by
     rank, not by a threshold, so ties cannot change the count: the
     ``round(sparsity * n)`` smallest ``|w|`` of each group are zeroed (ties
     broken by position, earlier first). Exact zeros in ``w`` stay 0 as well, so
     the zero count is ``max(round(sparsity * n), #(w == 0))``;
3. scale: ``w_q = +W_p`` where ``T = +1``, ``-W_n`` where ``T = -1`` (two
   trained magnitudes ``W_p, W_n >= 0`` per layer; ``per_filter=True`` gives a
   pair per filter, as paper 004 does).

Initial scales (used by the plain calls ``ternarize(w, "ttq-...")`` and by
:class:`TTQQuantizer` at construction) -- paper 000 does not fix them; we take
``W_p = mean(w : T = +1)`` and ``W_n = mean(-w : T = -1)`` in the units of ``w``
(0 for an empty side), i.e. the least-squares scales for the chosen codes and
paper 004's rule ("the average of the parameter set that is going to be
ternarized"). Pass ``wp=`` / ``wn=`` (numbers or tensors of 1 or G elements) to
use other scales.

Gradients (:func:`ternarize_ttq_ste`, :class:`TTQQuantizer`): paper 000 only
says the two factors "can be changed when training"; we implement the rules of
the TTQ paper it follows (Zhu et al. 2016, eqs. 7-8):

* ``dL/dW_p = sum_{T=+1} dL/dw_q``; ``dL/dW_n = -sum_{T=-1} dL/dw_q`` (the
  chain rule for the value ``-W_n``; TTQ's eq. 7 prints it without the sign);
* latent weights: ``W_p * g`` where ``T = +1``, ``g`` where ``T = 0``,
  ``W_n * g`` where ``T = -1`` (eq. 8). The normalisation by the max is treated
  as a constant (not differentiated), as in TTQ.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..errors import InputError
from .groups import codes_to_values, groups, scale_tensor, two_scale
from .registry import QuantMethod, register

__all__ = ["TTQ_THRESHOLD", "TTQ_SPARSITY", "ttq_codes", "ttq_initial_scales", "ternarize_ttq",
           "ternarize_ttq_ste", "ternarize_ttq_sparsity", "ternarize_ttq_sparsity_ste", "TTQQuantizer"]

#: Paper 000's threshold (relative to max|w|) and sparsity coefficient.
TTQ_THRESHOLD = 0.05
TTQ_SPARSITY = 0.5


def _check_t(t: float) -> float:
    t = float(t)
    if not 0.0 <= t < 1.0:
        raise InputError(f"t: expected 0 <= t < 1 (relative to max|w|), got {t}")
    return t


def _check_sparsity(s: float) -> float:
    s = float(s)
    if not 0.0 <= s <= 1.0:
        raise InputError(f"sparsity: expected a fraction in [0, 1], got {s}")
    return s


def _codes2(g: Tensor, t: float | None, sparsity: float | None) -> Tensor:
    """Codes of ``(G, n)`` weights, same form."""
    if (t is None) == (sparsity is None):
        raise InputError("t: give exactly one of t (threshold) and sparsity")
    if t is not None:
        m = g.abs().amax(1, keepdim=True) if g.shape[1] else g.new_zeros(g.shape[0], 1)
        normalised = torch.where(m > 0, g / torch.where(m > 0, m, 1), 0)
        return torch.sign(normalised) * (normalised.abs() > _check_t(t))
    n = g.shape[1]
    k = math.floor(_check_sparsity(sparsity) * n + 0.5)
    return torch.sign(g) * ~smallest_k(g.abs(), k)


def smallest_k(a: Tensor, k: int) -> Tensor:
    """Boolean mask of the ``k`` smallest entries of each row of ``a`` (``(G, n)``), ties
    going to the lower index: the first ``k`` of a stable ascending argsort, found in
    O(n) with ``kthvalue`` rather than a sort."""
    n = a.shape[1]
    if k <= 0 or n == 0:
        return torch.zeros_like(a, dtype=torch.bool)
    if k >= n:
        return torch.ones_like(a, dtype=torch.bool)
    v = a.kthvalue(k, dim=1, keepdim=True).values
    below, equal = a < v, a == v
    need = k - below.sum(1, keepdim=True)
    return below | (equal & (equal.cumsum(1) <= need))


def ttq_codes(w: Tensor, *, t: float | None = None, sparsity: float | None = None,
              per_filter: bool = False) -> Tensor:
    """Step 2: codes in {-1, 0, +1} (``w``'s shape and dtype) by threshold ``t`` or ``sparsity``."""
    return _codes2(groups(w, per_filter), t, sparsity).reshape(w.shape)


def _initial2(g: Tensor, codes: Tensor) -> tuple[Tensor, Tensor]:
    pos, neg = codes > 0, codes < 0
    wp = (g * pos).sum(1) / pos.sum(1).clamp_min(1).to(g.dtype)
    wn = -(g * neg).sum(1) / neg.sum(1).clamp_min(1).to(g.dtype)
    return wp, wn


def ttq_initial_scales(w: Tensor, codes: Tensor, *, per_filter: bool = False) -> tuple[Tensor, Tensor]:
    """``(W_p, W_n)`` of shape ``(G,)``: mean of the kept positive / negative magnitudes."""
    return _initial2(groups(w, per_filter), groups(codes, per_filter))


def _forward(w: Tensor, t, sparsity, per_filter: bool, wp, wn, ste: bool) -> Tensor:
    g = groups(w, per_filter)
    with torch.no_grad():
        codes = _codes2(g.detach(), t, sparsity)
        wp0, wn0 = _initial2(g.detach(), codes)
    wp = wp0 if wp is None else scale_tensor(wp, "wp", g.shape[0], w)
    wn = wn0 if wn is None else scale_tensor(wn, "wn", g.shape[0], w)
    if ste:
        return two_scale(g, wp, wn, codes, ttq_latent=True).reshape(w.shape)
    with torch.no_grad():
        return codes_to_values(codes, wp, wn).reshape(w.shape)


def ternarize_ttq(w: Tensor, *, t: float = TTQ_THRESHOLD, per_filter: bool = False,
                  wp=None, wn=None) -> Tensor:
    """T TTQ: ``+W_p / 0 / -W_n`` with codes by threshold ``t`` (module docstring); no gradient."""
    return _forward(w, t, None, per_filter, wp, wn, ste=False)


def ternarize_ttq_ste(w: Tensor, *, t: float = TTQ_THRESHOLD, per_filter: bool = False,
                      wp=None, wn=None) -> Tensor:
    """Differentiable :func:`ternarize_ttq` with TTQ's gradient rules (scales: given or initial)."""
    return _forward(w, t, None, per_filter, wp, wn, ste=True)


def ternarize_ttq_sparsity(w: Tensor, *, sparsity: float = TTQ_SPARSITY, per_filter: bool = False,
                           wp=None, wn=None) -> Tensor:
    """P TTQ: ``+W_p / 0 / -W_n`` with a fraction ``sparsity`` of zeros per group; no gradient."""
    return _forward(w, None, sparsity, per_filter, wp, wn, ste=False)


def ternarize_ttq_sparsity_ste(w: Tensor, *, sparsity: float = TTQ_SPARSITY, per_filter: bool = False,
                               wp=None, wn=None) -> Tensor:
    """Differentiable :func:`ternarize_ttq_sparsity` with TTQ's gradient rules."""
    return _forward(w, None, sparsity, per_filter, wp, wn, ste=True)


class TTQQuantizer(nn.Module):
    """Learnable ``W_p``, ``W_n`` for one weight tensor (TTQ as an ``nn.Module``).

    ``TTQQuantizer(w_init, t=0.05)`` or ``TTQQuantizer(w_init, sparsity=0.5)``;
    the scales (``per_filter``: one pair per filter) start at
    :func:`ttq_initial_scales` of ``w_init``. ``q(w)`` returns the ternary
    weights with TTQ's gradients to ``w`` (eq. 8) and to :attr:`wp` /
    :attr:`wn` (eq. 7); an optimiser over ``q.parameters()`` trains the scales.
    Keeping ``W_p, W_n >= 0`` (e.g. clamping after each step) is the caller's job.
    """

    def __init__(self, w_init: Tensor, *, t: float | None = None, sparsity: float | None = None,
                 per_filter: bool = False):
        super().__init__()
        if t is None and sparsity is None:
            t = TTQ_THRESHOLD
        w_init = w_init.detach()
        codes = ttq_codes(w_init, t=t, sparsity=sparsity, per_filter=per_filter)
        wp, wn = ttq_initial_scales(w_init, codes, per_filter=per_filter)
        self.t = None if t is None else _check_t(t)
        self.sparsity = None if sparsity is None else _check_sparsity(sparsity)
        self.per_filter = per_filter
        self.wp = nn.Parameter(wp.clone())
        self.wn = nn.Parameter(wn.clone())

    def forward(self, w: Tensor) -> Tensor:
        return _forward(w, self.t, self.sparsity, self.per_filter, self.wp, self.wn, ste=True)

    def extra_repr(self) -> str:
        rule = f"t={self.t}" if self.t is not None else f"sparsity={self.sparsity}"
        return f"{rule}, per_filter={self.per_filter}, groups={self.wp.numel()}"


register(QuantMethod("ttq-threshold", ternarize_ttq, ternarize_ttq_ste))
register(QuantMethod("ttq-sparsity", ternarize_ttq_sparsity, ternarize_ttq_sparsity_ste))
