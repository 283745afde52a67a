"""sw.quant.prox: the exact ternary proximal operators of paper 003 (single and dual scale)."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from quant_strategies import matrices, sq_err, vectors
from sw.quant import (prox_dual, prox_gradient_step, prox_single, ternarize_prox, ternarize_prox_dual,
                      ternarize_ttq, ternarize_twn)


def _all_codes(n):
    return np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=n)))


_CODES = {n: _all_codes(n) for n in range(1, 8)}


def _brute_single(w):
    """Min over every T in {-1,0,1}^n of min_{alpha >= 0} ||alpha T - w||^2."""
    T = _CODES[w.size]
    k = np.abs(T).sum(1)
    alpha = np.where(k > 0, np.clip(T @ w, 0, None) / np.maximum(k, 1), 0.0)
    return (((alpha[:, None] * T) - w) ** 2).sum(1).min()


def _brute_dual(w):
    """Min over every T and alpha_p, alpha_n >= 0 of ||alpha_p T_+ - alpha_n T_- - w||^2."""
    T = _CODES[w.size]
    P, N = (T > 0).astype(float), (T < 0).astype(float)
    ap = np.clip((P @ w) / np.maximum(P.sum(1), 1), 0, None)
    an = np.clip(-(N @ w) / np.maximum(N.sum(1), 1), 0, None)
    return (((ap[:, None] * P - an[:, None] * N) - w) ** 2).sum(1).min()


def _topk(a, k):
    """Best alpha * sign on the k largest entries of a >= 0 (as an error on a alone)."""
    s = np.sort(a)[::-1]
    alpha = s[:k].sum() / k
    return ((s[:k] - alpha) ** 2).sum() + (s[k:] ** 2).sum()


@settings(max_examples=120, deadline=None)
@given(w=vectors(1, 7))
def test_prox_single_is_the_exact_minimiser(w):
    q = ternarize_prox(torch.from_numpy(w)).numpy()
    err = sq_err(q, w)
    tol = 1e-12 * (1 + (w ** 2).sum())
    assert err <= _brute_single(w) + tol                      # every alpha and every ternary T
    assert all(err <= _topk(np.abs(w), k) + tol for k in range(1, w.size + 1))  # every k
    alpha, codes = prox_single(torch.from_numpy(w))
    rng = np.random.default_rng(w.size)
    for a in rng.uniform(0, 2, 20):                            # other alphas, same and random T
        assert err <= sq_err(a * codes.numpy(), w) + tol
        assert err <= sq_err(a * rng.integers(-1, 2, w.size), w) + tol


@settings(max_examples=120, deadline=None)
@given(w=vectors(1, 7))
def test_prox_dual_is_the_exact_minimiser(w):
    q = ternarize_prox_dual(torch.from_numpy(w)).numpy()
    err = sq_err(q, w)
    tol = 1e-12 * (1 + (w ** 2).sum())
    assert err <= _brute_dual(w) + tol
    pos, neg = np.clip(w, 0, None), np.clip(-w, 0, None)
    for kp, kn in itertools.product(range(1, w.size + 1), repeat=2):  # all pairs (k_+, k_-)
        assert err <= _topk(pos, kp) + _topk(neg, kn) + tol
    assert err <= sq_err(ternarize_prox(torch.from_numpy(w)).numpy(), w) + tol  # single is feasible
    ap, an, codes = prox_dual(torch.from_numpy(w))
    c = codes.numpy()
    rng = np.random.default_rng(w.size)
    for a, b in rng.uniform(0, 2, (20, 2)):
        assert err <= sq_err(a * (c > 0) - b * (c < 0), w) + tol


@settings(max_examples=40, deadline=None)
@given(w=matrices(max_rows=4, max_cols=30))
def test_prox_per_filter_solves_each_row_and_beats_the_heuristics(w):
    x = torch.from_numpy(w)
    for single in (True, False):
        f = ternarize_prox if single else ternarize_prox_dual
        q = f(x, per_filter=True)
        assert torch.allclose(q, torch.stack([f(r) for r in x]), rtol=1e-12, atol=0)
    tol = 1e-9 * (1 + (w ** 2).sum())
    e_single, e_dual = (sq_err(f(x).numpy(), w) for f in (ternarize_prox, ternarize_prox_dual))
    assert e_single <= sq_err(ternarize_twn(x).numpy(), w) + tol        # TWN: one feasible alpha*T
    assert e_dual <= e_single + tol
    assert e_dual <= sq_err(ternarize_ttq(x).numpy(), w) + tol          # TTQ's initial pair: feasible


def test_prox_examples_and_idempotence():
    w = torch.tensor([1.0, -0.9, 0.1, 0.0, -0.05])
    alpha, codes = prox_single(w)
    assert codes.tolist() == [1, -1, 0, 0, 0] and alpha.item() == pytest.approx(0.95)
    ap, an, codes = prox_dual(torch.tensor([1.0, 0.2, -0.9, -0.8, -0.7]))
    assert codes.tolist() == [1, 0, -1, -1, -1]
    assert (ap.item(), an.item()) == pytest.approx((1.0, 0.8))
    torch.manual_seed(2)
    x = torch.randn(3, 50, dtype=torch.float64)
    for f in (ternarize_prox, ternarize_prox_dual):
        q = f(x, per_filter=True)
        assert torch.allclose(f(q, per_filter=True), q, rtol=1e-12, atol=0)
    assert ternarize_prox(torch.zeros(4)).tolist() == [0, 0, 0, 0]


def test_prox_gradient_step_is_algorithm_1():
    torch.manual_seed(3)
    w_t = ternarize_prox(torch.randn(5, 8, dtype=torch.float64), per_filter=True)
    grad = torch.randn(5, 8, dtype=torch.float64)
    step = prox_gradient_step(w_t, grad, 0.1, per_filter=True)
    assert torch.equal(step, ternarize_prox(w_t - 0.1 * grad, per_filter=True))
    assert torch.equal(prox_gradient_step(w_t, grad, 0.1, dual=True),
                       ternarize_prox_dual(w_t - 0.1 * grad))
    assert torch.allclose(prox_gradient_step(w_t, torch.zeros_like(grad), 0.1, per_filter=True), w_t)
