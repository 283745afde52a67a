"""Smart Quantization (SQ): adaptive binary / ternary weights (paper 001, section 3).

Regulariser (001 eq. 8), elementwise, with scale ``mu`` (trained), order ``p``
and shape parameter ``beta`` (trained, one per layer):

    R(w; mu, beta) = min( ||w| + mu|^p, ||w| - mu|^p, tan(beta) |w|^p )

and per filter (eq. 9): ``sum_ij R(w_ij; mu, beta) + gamma |cot(beta)|``, the
second term pulling ``beta`` towards pi/2 (binary a priori). For ``mu >= 0`` the
first term never wins (``|w| + mu >= ||w| - mu|``); it is kept as printed.

The two limits (001 section 3, "beta -> pi/2 converges to the binary regulariser
(6) and beta -> pi/4 coincides with the ternary regulariser (7)"), for ``p``-th
powers of (6) ``R1 = ||w| - mu|`` and (7) ``R2 = |||w| - mu/2| - mu/2|``:

* ``beta = pi/4`` (``tan = 1``): ``R = min(||w| - mu|, |w|)^p = R2^p``
  *exactly*, for every ``w`` (both are ``|w|`` for ``|w| <= mu/2`` and
  ``||w| - mu|`` beyond); since ``R`` is continuous in ``beta``,
  ``|R - R2^p| <= (tan(beta) - 1) |w|^p`` and the limit is uniform on bounded ``w``.
* ``beta -> pi/2``: ``R = R1^p`` exactly wherever ``tan(beta) |w|^p >= ||w| - mu|^p``,
  i.e. (``p = 1``) for ``|w| >= mu / (1 + tan(beta))``; that interval shrinks to
  ``{0}``, so ``R -> R1^p`` pointwise for every ``w != 0``. At ``w = 0`` itself
  ``R = 0`` for every ``beta < pi/2`` while ``R1 = mu``: the limit is not uniform.

Quantisation (001 section 3): the threshold function of TWN (001 eq. 4) with a
*fixed* per-layer threshold ``Delta_l = 0.2 * sigma_l`` (``sigma_l``: standard
deviation of the layer's initial Gaussian weights), values scaled by ``mu``;
after training, layer ``l`` is binary when ``beta_l >= delta`` and ternary when
``beta_l < delta``, with ``delta`` "close to pi/2". Binary layers use
BinaryConnect's sign (001 eq. 1: ``sign(0) = +1``).

Choices where 001 leaves them open (documented defaults of :func:`ternarize_sq`):

* ``delta = SQ_DELTA = 1.565``: 001's VGG-7 result (Fig. 4 / Table 2) calls its
  layer with ``beta = 1.56`` ternary and those with ``beta = 1.57`` binary;
  1.565 is the rounding boundary between the two printed values.
* ``threshold``: ``0.2 * std(w)`` (population std) of the ``w`` passed in --
  a training loop should compute it once from the initial weights and pass it.
* ``mu``: ``mean(|w|)`` per group, BWN's scale (001 section 2.1); 001 trains
  ``mu`` but gives no initial value.
* ``beta = pi/4`` (ternary). Per filter (``per_filter=True``) gives one ``mu``
  per filter, as eq. (10)'s ``mu_kl``; ``beta`` and the threshold stay per layer.

Gradient (:func:`ternarize_sq_ste`): identity straight-through to ``w``
(BinaryConnect's eq. 2 without its clip: the weights here are not confined to
[-1, 1]); a ``mu`` given as a tensor gets ``dL/dmu = sum T dL/dw_q``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import InputError
from .groups import codes_to_values, groups, scale_tensor, two_scale
from .registry import QuantMethod, register

__all__ = ["SQ_DELTA", "SQ_THRESHOLD_FACTOR", "sq_regularizer_elementwise", "sq_regularizer",
           "binary_regularizer", "ternary_regularizer", "sq_is_binary", "sq_codes", "ternarize_sq",
           "ternarize_sq_ste"]

#: Default binary/ternary decision threshold on ``beta`` (see the module docstring).
SQ_DELTA = 1.565
#: ``Delta_l = 0.2 * sigma_l`` (001 section 3).
SQ_THRESHOLD_FACTOR = 0.2


def _check_p(p: float) -> float:
    p = float(p)
    if not p > 0.0:
        raise InputError(f"p: expected an order > 0, got {p}")
    return p


def _tan_beta(beta, like: Tensor) -> Tensor:
    """``tan(beta)`` in ``like``'s dtype (``beta``: number or tensor, kept differentiable)."""
    if isinstance(beta, Tensor):
        t = torch.tan(beta.to(like.dtype))
    else:
        t = torch.tensor(math.tan(float(beta)), dtype=like.dtype, device=like.device)
    if not bool(torch.all(torch.isfinite(t) & (t > 0))):
        raise InputError(f"beta: expected 0 < beta < pi/2 (tan(beta) > 0, finite), got {beta}")
    return t


def _mu_view(mu, w: Tensor) -> Tensor:
    """``mu`` as a number, a 0-d/1-element tensor, or one value per filter (dim 0)."""
    if not isinstance(mu, Tensor):
        return torch.tensor(float(mu), dtype=w.dtype, device=w.device)
    if mu.numel() == 1:
        return mu.reshape(()).to(w.dtype)
    if w.ndim >= 1 and mu.ndim == 1 and mu.shape[0] == w.shape[0]:
        return mu.to(w.dtype).reshape(-1, *([1] * (w.ndim - 1)))
    raise InputError(f"mu: expected a scalar or one value per filter ({w.shape[0] if w.ndim else 1}), "
                     f"got shape {tuple(mu.shape)}")


def sq_regularizer_elementwise(w: Tensor, mu, beta, *, p: float = 1.0) -> Tensor:
    """Eq. (8) for every weight: ``min(||w|+mu|^p, ||w|-mu|^p, tan(beta)|w|^p)``, shaped like ``w``.

    Differentiable in ``w``, ``mu`` and ``beta`` (tensors). ``mu``: a scalar or
    one value per filter (dim 0).
    """
    p = _check_p(p)
    a = w.abs()
    m = _mu_view(mu, w)
    return torch.minimum(torch.minimum((a + m).abs().pow(p), (a - m).abs().pow(p)),
                         _tan_beta(beta, w) * a.pow(p))


def sq_regularizer(w: Tensor, mu, beta, *, p: float = 1.0, gamma: float = 0.0) -> Tensor:
    """Eq. (9): ``sum R(w_ij; mu, beta) + gamma |cot(beta)|`` (a 0-d tensor).

    Eq. (10) sums this over the K channels of a layer (with per-channel ``mu_kl``)
    and weights it by ``lambda_l``; calling it once on the whole layer with a
    per-filter ``mu`` adds the ``gamma |cot(beta)|`` term once, so pass
    ``gamma * K`` to match eq. (10) literally.
    """
    cot = 1.0 / _tan_beta(beta, w)
    return sq_regularizer_elementwise(w, mu, beta, p=p).sum() + float(gamma) * cot.abs()


def binary_regularizer(w: Tensor, mu, *, p: float = 1.0) -> Tensor:
    """Eq. (6) to the power ``p``: ``||w| - mu|^p`` (wells at ``+-mu``)."""
    return (w.abs() - _mu_view(mu, w)).abs().pow(_check_p(p))


def ternary_regularizer(w: Tensor, mu, *, p: float = 1.0) -> Tensor:
    """Eq. (7) to the power ``p``: ``|||w| - mu/2| - mu/2|^p`` (wells at ``-mu, 0, +mu``)."""
    half = _mu_view(mu, w) / 2
    return ((w.abs() - half).abs() - half).abs().pow(_check_p(p))


def sq_is_binary(beta, delta: float = SQ_DELTA) -> bool:
    """Final quantisation depth of a layer (001 section 3): binary iff ``beta >= delta``."""
    return float(beta) >= float(delta)


def sq_codes(w: Tensor, *, beta=math.pi / 4, delta: float = SQ_DELTA,
             threshold: float | None = None) -> Tensor:
    """Codes shaped like ``w``: ``sign`` (binary layer, ``sign(0) = +1``) or eq. (4) with ``threshold``."""
    if sq_is_binary(beta, delta):
        return torch.where(w >= 0, 1.0, -1.0).to(w.dtype)
    if threshold is None:
        threshold = SQ_THRESHOLD_FACTOR * float(w.detach().std(correction=0)) if w.numel() else 0.0
    threshold = float(threshold)
    if not threshold >= 0.0:
        raise InputError(f"threshold: expected >= 0, got {threshold}")
    return torch.sign(w) * (w.abs() > threshold)


def _forward(w: Tensor, mu, beta, delta, threshold, per_filter: bool, ste: bool) -> Tensor:
    _tan_beta(beta, w)  # validates beta
    g = groups(w, per_filter)
    with torch.no_grad():
        codes = groups(sq_codes(w.detach(), beta=beta, delta=delta, threshold=threshold), per_filter)
        mu0 = g.detach().abs().mean(1) if g.shape[1] else g.new_zeros(g.shape[0])
    m = mu0 if mu is None else scale_tensor(mu, "mu", g.shape[0], w)
    if ste:
        return two_scale(g, m, m, codes, ttq_latent=False).reshape(w.shape)
    with torch.no_grad():
        return codes_to_values(codes, m, m).reshape(w.shape)


def ternarize_sq(w: Tensor, *, mu=None, beta=math.pi / 4, delta: float = SQ_DELTA,
                 threshold: float | None = None, per_filter: bool = False) -> Tensor:
    """``mu * codes``: binary ``{-mu, +mu}`` if ``beta >= delta``, else ternary ``{-mu, 0, +mu}``."""
    return _forward(w, mu, beta, delta, threshold, per_filter, ste=False)


def ternarize_sq_ste(w: Tensor, *, mu=None, beta=math.pi / 4, delta: float = SQ_DELTA,
                     threshold: float | None = None, per_filter: bool = False) -> Tensor:
    """Differentiable :func:`ternarize_sq`: identity to ``w``; ``mu`` (a tensor) gets ``sum T g``."""
    return _forward(w, mu, beta, delta, threshold, per_filter, ste=True)


register(QuantMethod("sq", ternarize_sq, ternarize_sq_ste))
