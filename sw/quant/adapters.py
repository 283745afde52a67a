"""The layer quantiser of every registered method (the contract: :mod:`sw.quant.quantizer`).

:func:`make_layer_quantizer` builds the one named by a config's ``quantizer``
with its ``quantizer_params``; :data:`ADAPTERS` lists them by method name.

What each method does in :mod:`sw.stages`' stages (train, then
``prune_iterations`` x (prune, retrain)). Pruning is paper 002's own step, so
no other method prunes: its "prune" is its stage transition, which for most
methods does nothing (the retraining then simply continues with a fresh
optimiser and learning-rate schedule):

``threshold``
    Paper 002 (:mod:`~sw.quant.threshold`): forward eq. (1) at the layer's
    ``eta``, unscaled, identity straight-through gradient; eq. (5)'s L2 with
    the layer's ``lam``; the transition prunes ``|w| <= sigma`` for good.
``twn``
    Forward ``alpha * T`` with ``Delta = 0.7 mean|W|`` (:mod:`~sw.quant.twn`),
    identity straight-through gradient; nothing learned besides ``w``.
``ttq-threshold`` / ``ttq-sparsity``
    Forward ``+W_p / 0 / -W_n`` (:mod:`~sw.quant.ttq`) with ``W_p, W_n``
    learned (``nn.Parameter`` s initialised from the initial weights, clamped
    to >= 0 after each step), TTQ's gradient rules.
``prox-single`` / ``prox-dual``
    Paper 003, Algorithm 1, "initialised from a full-precision model": stage 1
    trains the weights *in full precision* (forward = ``w``); the first
    stage transition sets ``w <- prox_T(w)`` (exact, per block); from then on
    the forward uses ``w`` itself (the ternary ``W^(t)``), and after every
    optimiser step (Adam, the pipeline's optimiser, in place of 003's SGD;
    003 allows "rules like SGD or ADAM") ``w <- prox_T(w)`` again, so the
    gradient is always taken at the ternary weights and the scales are
    recomputed exactly, never learned. Later transitions do nothing.
    A code changes only if one step moves a weight by about ``alpha / 2``
    (a zero must enter the top-k*, a kept weight leave it); an Adam step is
    at most about ``lr``.
``sq``
    Paper 001: forward ``mu * T`` with TWN's threshold function at a *fixed*
    per-layer ``Delta = 0.2 * std(initial w)`` (binary ``sign`` once
    ``beta >= delta``), identity straight-through gradient; ``mu`` (per layer
    or filter) and ``beta`` (per layer) are ``nn.Parameter`` s; the loss gets
    eq. (10)'s ``lambda_l * (sum R(w; mu, beta) + K gamma |cot beta|)`` with
    ``lambda_l = reg / #W_l`` and ``K`` the number of ``mu`` s. After each
    step ``mu >= 0`` and ``beta`` is clamped into [pi/4, pi/2 - 1e-3] (001:
    ``beta in (pi/4, pi/2)``; ``tan`` must stay finite). ``beta`` starts at
    ``3 pi / 8``, midway (001 gives no initial value). Defaults ``reg = 0.1``,
    ``gamma = 1e-2``, ``p = 1``: 001's MNIST setting. :meth:`info` reports
    ``beta`` and the resulting bits per weight (1 or 2). ``gamma`` counts
    once per ``mu``, so a per-filter layer weighs it ``K`` times: a large
    ``gamma`` with ``beta`` starting at its maximum can keep such a layer
    binary while a one-``mu`` layer turns ternary.
``incremental``
    Paper 004 mapped onto the stages: stage 1 trains in full precision
    (round 0); transition ``r`` (``prune{r}``) starts round ``r`` with share
    ``q_r`` of ``quantiles`` (default ``[0.5, 0.75, 1]``): per filter the
    largest-magnitude ``q_r`` share is frozen (codes by TTQ threshold ``t``
    relative to the filter's max, values ``+W_p / 0 / -W_n`` per filter), the
    scales restart at "the average of the parameter set that is going to be
    ternarized" (the current values: learned scales for weights frozen
    earlier, real weights for the new ones), and ``retrain{r}`` trains the
    rest and the scales. So ``prune_iterations`` must equal the number of
    quantiles. Frozen weights get zero gradient; every stage has a fresh Adam,
    so they do not move. No pruning mask; ``lam`` must be 0.

Scales live in the units of ``w`` (``w`` in [-1, 1]); batch norm after every
layer makes their overall size immaterial to accuracy, their ratios
(``W_p / W_n``, filter to filter) are not.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..errors import InputError
from .groups import groups
from .incremental import INCREMENTAL_QUANTILES, incremental_codes, incremental_mask, ternarize_incremental, \
    ternarize_incremental_ste
from .prox import prox_dual, prox_single, ternarize_prox, ternarize_prox_dual
from .quantizer import LayerQuantizer
from .registry import QUANTIZERS
from .sq import SQ_DELTA, SQ_THRESHOLD_FACTOR, sq_codes, sq_is_binary, sq_regularizer, ternarize_sq_ste
from .threshold import ThresholdQuantizer
from .ttq import TTQ_SPARSITY, TTQ_THRESHOLD, ternarize_ttq_sparsity_ste, ternarize_ttq_ste, ttq_codes, \
    ttq_initial_scales
from .twn import ternarize_twn_ste, twn_params

__all__ = ["LayerQuantizer", "ADAPTERS", "make_layer_quantizer", "SQ_BETA_INIT", "SQ_BETA_RANGE"]

#: SQ's initial ``beta`` (midway between ternary pi/4 and binary pi/2) and its clamp range.
SQ_BETA_INIT = 3 * math.pi / 8
SQ_BETA_RANGE = (math.pi / 4, math.pi / 2 - 1e-3)


class _Twn(LayerQuantizer):
    PARAMS = ("per_filter",)

    def __init__(self, name: str, w: Tensor, *, per_filter: bool = False):
        super().__init__()
        self.name, self.per_filter = name, bool(per_filter)

    def values(self, w):
        return ternarize_twn_ste(w, per_filter=self.per_filter)

    def codes(self, w):
        return twn_params(w.detach(), per_filter=self.per_filter)[2]

    def scales(self, w):
        alpha = twn_params(w.detach(), per_filter=self.per_filter)[1]
        return alpha, alpha


class _Ttq(LayerQuantizer):
    """``ttq-threshold`` (parameter ``t``) or ``ttq-sparsity`` (parameter ``sparsity``)."""

    def __init__(self, name: str, w: Tensor, *, per_filter: bool = False, **rule):
        super().__init__()
        self.name, self.per_filter, self.rule = name, bool(per_filter), rule
        w = w.detach()
        wp, wn = ttq_initial_scales(w, self.codes(w), per_filter=self.per_filter)
        self.wp = nn.Parameter(wp.clone())
        self.wn = nn.Parameter(wn.clone())

    def values(self, w):
        ste = ternarize_ttq_ste if "t" in self.rule else ternarize_ttq_sparsity_ste
        return ste(w, per_filter=self.per_filter, wp=self.wp, wn=self.wn, **self.rule)

    def codes(self, w):
        return ttq_codes(w.detach(), per_filter=self.per_filter, **self.rule)

    def scales(self, w):
        return self.wp.detach(), self.wn.detach()

    @torch.no_grad()
    def after_step(self, w):
        self.wp.clamp_(min=0.0)
        self.wn.clamp_(min=0.0)


class _TtqThreshold(_Ttq):
    PARAMS = ("t", "per_filter")

    def __init__(self, name, w, *, t: float = TTQ_THRESHOLD, per_filter: bool = False):
        super().__init__(name, w, per_filter=per_filter, t=float(t))


class _TtqSparsity(_Ttq):
    PARAMS = ("sparsity", "per_filter")

    def __init__(self, name, w, *, sparsity: float = TTQ_SPARSITY, per_filter: bool = False):
        super().__init__(name, w, per_filter=per_filter, sparsity=float(sparsity))


class _Prox(LayerQuantizer):
    PARAMS = ("per_filter",)

    def __init__(self, name: str, w: Tensor, *, per_filter: bool = False):
        super().__init__()
        self.name, self.per_filter, self.dual = name, bool(per_filter), name == "prox-dual"
        self.register_buffer("active", torch.tensor(False))

    def _prox(self, w: Tensor) -> Tensor:
        return (ternarize_prox_dual if self.dual else ternarize_prox)(w, per_filter=self.per_filter)

    def values(self, w):
        return w  # full precision before the first prox; afterwards w is the ternary W^(t) itself

    def is_ternary(self):
        return bool(self.active)

    def codes(self, w):
        w = w.detach()
        if self.active:
            return torch.sign(w)
        return prox_dual(w, per_filter=self.per_filter)[2] if self.dual else \
            prox_single(w, per_filter=self.per_filter)[1]

    def scales(self, w):
        w = w.detach()
        if self.active:  # every entry is exactly +alpha_p, 0 or -alpha_n: read them back
            g = groups(w, self.per_filter)
            if self.dual:
                return g.clamp_min(0).amax(1), (-g).clamp_min(0).amax(1)
            a = g.abs().amax(1)
            return a, a
        if self.dual:
            ap, an, _ = prox_dual(w, per_filter=self.per_filter)
            return ap, an
        a = prox_single(w, per_filter=self.per_filter)[0]
        return a, a

    @torch.no_grad()
    def after_step(self, w):
        if self.active:
            w.copy_(self._prox(w))  # Algorithm 1: W^(t+1) = prox_T(W^r)

    @torch.no_grad()
    def next_stage(self, w):
        if not self.active:  # initialised from the full-precision weights
            w.copy_(self._prox(w))
            self.active.fill_(True)

    def info(self):
        return {"phase": "prox" if self.active else "full-precision"}


class _Sq(LayerQuantizer):
    PARAMS = ("per_filter", "reg", "gamma", "p", "delta", "beta")

    def __init__(self, name: str, w: Tensor, *, per_filter: bool = False, reg: float = 0.1,
                 gamma: float = 1e-2, p: float = 1.0, delta: float = SQ_DELTA, beta: float = SQ_BETA_INIT):
        super().__init__()
        w = w.detach()
        self.name, self.per_filter = name, bool(per_filter)
        self.delta, self.p = float(delta), float(p)
        if not (float(reg) >= 0 and float(gamma) >= 0):
            raise InputError(f"quantizer_params: sq's reg and gamma must be >= 0, got reg={reg}, gamma={gamma}")
        lo, hi = SQ_BETA_RANGE
        if not lo <= float(beta) <= hi:
            raise InputError(f"quantizer_params: sq's beta must lie in [{lo:.4f}, {hi:.4f}], got {beta}")
        g = groups(w, self.per_filter)
        self.mu = nn.Parameter(g.abs().mean(1).clone())
        self.beta = nn.Parameter(torch.tensor(float(beta), dtype=w.dtype))
        self.register_buffer("threshold", torch.tensor(SQ_THRESHOLD_FACTOR * float(w.std(correction=0))))
        self.lam_l = float(reg) / w.numel()          # 001: lambda_l = lambda / #W_l
        self.gamma_k = float(gamma) * g.shape[0]     # eq. (10): gamma |cot beta| once per mu

    def _beta(self) -> float:
        return float(self.beta.detach())

    def values(self, w):
        return ternarize_sq_ste(w, mu=self.mu, beta=self._beta(), delta=self.delta,
                                threshold=float(self.threshold), per_filter=self.per_filter)

    def codes(self, w):
        return sq_codes(w.detach(), beta=self._beta(), delta=self.delta, threshold=float(self.threshold))

    def scales(self, w):
        mu = self.mu.detach()
        return mu, mu

    def regularizer(self, w):
        return self.lam_l * sq_regularizer(w, self.mu, self.beta, p=self.p, gamma=self.gamma_k)

    @torch.no_grad()
    def after_step(self, w):
        self.mu.clamp_(min=0.0)
        self.beta.clamp_(*SQ_BETA_RANGE)

    def info(self):
        binary = sq_is_binary(self._beta(), self.delta)
        return {"sq_beta": self._beta(), "sq_binary": binary, "bits_per_weight": 1 if binary else 2}


class _Incremental(LayerQuantizer):
    PARAMS = ("t", "quantiles")

    def __init__(self, name: str, w: Tensor, *, t: float = TTQ_THRESHOLD,
                 quantiles=INCREMENTAL_QUANTILES):
        super().__init__()
        q = tuple(float(x) for x in quantiles)
        if not q or q[-1] != 1.0 or any(not a < b for a, b in zip((0.0,) + q, q)):
            raise InputError(f"quantizer_params: incremental's quantiles must increase within (0, 1] and "
                             f"end at 1, got {quantiles}")
        self.name, self.t, self.quantiles = name, float(t), q
        self.register_buffer("round", torch.tensor(0))
        self.register_buffer("frozen", torch.zeros_like(w, dtype=torch.bool))
        self.wp = nn.Parameter(torch.zeros(w.shape[0], dtype=w.dtype))
        self.wn = nn.Parameter(torch.zeros(w.shape[0], dtype=w.dtype))

    @property
    def q(self) -> float:
        r = int(self.round)
        return 0.0 if r == 0 else self.quantiles[r - 1]

    def values(self, w):
        if int(self.round) == 0:
            return w
        return ternarize_incremental_ste(w, q=self.q, t=self.t, frozen=self.frozen, wp=self.wp, wn=self.wn)

    def is_ternary(self):
        return int(self.round) == len(self.quantiles)

    def codes(self, w):
        return incremental_codes(w.detach(), self.frozen, t=self.t)

    def scales(self, w):
        return self.wp.detach(), self.wn.detach()

    def l2_codes(self, w):
        return None

    @torch.no_grad()
    def after_step(self, w):
        self.wp.clamp_(min=0.0)
        self.wn.clamp_(min=0.0)

    @torch.no_grad()
    def next_stage(self, w):
        r = int(self.round)
        if r >= len(self.quantiles):
            raise InputError(f"prune_iterations: incremental's {len(self.quantiles)} rounds are all done "
                             "(prune_iterations must equal the number of quantiles)")
        current = w if r == 0 else ternarize_incremental(w, q=self.q, t=self.t, frozen=self.frozen,
                                                         wp=self.wp, wn=self.wn)
        self.round.fill_(r + 1)
        self.frozen.copy_(incremental_mask(w, self.q, self.frozen))
        wp, wn = ttq_initial_scales(current, self.codes(w), per_filter=True)
        self.wp.copy_(wp)
        self.wn.copy_(wn)

    def info(self):
        return {"round": int(self.round), "rounds": len(self.quantiles), "q": self.q}


#: The layer quantiser of every registered method, by name.
ADAPTERS: dict[str, type[LayerQuantizer]] = {
    "threshold": ThresholdQuantizer,
    "twn": _Twn,
    "ttq-threshold": _TtqThreshold,
    "ttq-sparsity": _TtqSparsity,
    "prox-single": _Prox,
    "prox-dual": _Prox,
    "sq": _Sq,
    "incremental": _Incremental,
}


def make_layer_quantizer(method: str, w: Tensor, params: dict | None = None, *,
                         eta: float | None = None) -> LayerQuantizer:
    """The quantiser of ``method`` with keyword ``params`` for a layer whose weights are ``w``
    (initial state from ``w``) and whose threshold is ``eta`` (used by ``threshold`` only).

    Raises :class:`~sw.errors.InputError` for an unknown method or parameter,
    naming the accepted ones.
    """
    if method not in QUANTIZERS:
        raise InputError(f"quantizer: unknown {method!r} (known: {', '.join(sorted(QUANTIZERS))})")
    cls = ADAPTERS.get(method)
    if cls is None:
        raise InputError(f"quantizer: {method!r} has no layer quantiser "
                         f"(trainable: {', '.join(sorted(ADAPTERS))})")
    params = dict(params or {})
    unknown = sorted(set(params) - set(cls.PARAMS))
    if unknown:
        note = f"; {cls.PARAMS_NOTE}" if cls.PARAMS_NOTE else ""
        raise InputError(f"quantizer_params: {method} takes no {', '.join(unknown)} "
                         f"(accepted: {', '.join(cls.PARAMS) or 'none'}{note})")
    if cls.USES_LAYER_ETA:
        if eta is None:
            raise InputError(f"eta: {method} needs the layer's eta")
        params["eta"] = eta
    return cls(method, w, **params)
