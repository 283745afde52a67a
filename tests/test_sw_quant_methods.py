"""Registered ternary quantisers beyond paper 002's threshold: TWN, TTQ (000), exact prox (003),
Smart Quantization (001), incremental filter-wise TTQ (004)."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from sw.quant import (INCREMENTAL_QUANTILES, QUANTIZERS, SQ_DELTA, TTQQuantizer, binary_regularizer,
                      incremental_codes, incremental_mask, prox_dual, prox_gradient_step, prox_single,
                      sq_is_binary, sq_regularizer, sq_regularizer_elementwise, ternarize,
                      ternarize_incremental, ternarize_incremental_ste, ternarize_prox, ternarize_prox_dual,
                      ternarize_sq_ste, ternarize_ste, ternarize_ttq, ternarize_ttq_sparsity, ternarize_ttq_ste,
                      ternarize_twn, ternary_regularizer, ttq_codes, twn_params)

NEW_METHODS = ["twn", "ttq-threshold", "ttq-sparsity", "prox-single", "prox-dual", "sq", "incremental"]
PER_FILTER = {"twn", "ttq-threshold", "ttq-sparsity", "prox-single", "prox-dual", "sq"}
DEFAULTS = {"threshold": {"eta": 0.5}}

floats = st.floats(-1, 1, allow_nan=False, width=64)


def vectors(min_size=1, max_size=40):
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=floats)


def matrices(max_rows=5, max_cols=12):
    shape = st.tuples(st.integers(1, max_rows), st.integers(1, max_cols))
    return hnp.arrays(np.float64, shape, elements=floats)


def sq_err(q, w):
    return float(((q - w) ** 2).sum())


# --- registry -------------------------------------------------------------------------------------


def test_every_method_is_registered_and_unknown_names_list_them():
    assert set(NEW_METHODS) | {"threshold"} <= set(QUANTIZERS)
    with pytest.raises(ValueError) as err:
        ternarize(torch.zeros(3), "no-such-method")
    msg = str(err.value)
    assert "unknown quantiser 'no-such-method'" in msg
    assert all(name in msg for name in QUANTIZERS)
    with pytest.raises(ValueError, match="known: "):
        ternarize_ste(torch.zeros(3), "ttq")


@settings(max_examples=60, deadline=None)
@given(w=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5)),
                    elements=floats),
       method=st.sampled_from(sorted(QUANTIZERS)), per_filter=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_at_most_three_values_per_scale_group_and_ste_forward_agrees(w, method, per_filter, dtype):
    t = torch.from_numpy(w).to(dtype)
    params = dict(DEFAULTS.get(method, {}))
    if method in PER_FILTER:
        params["per_filter"] = per_filter
    filterwise = params.get("per_filter", False) or method == "incremental"
    q = ternarize(t, method, **params)
    assert q.shape == t.shape and q.dtype == t.dtype
    for group in (q.reshape(q.shape[0], -1) if filterwise else q.reshape(1, -1)):
        values = set(group.tolist())
        assert len(values) <= 3
        assert len({v for v in values if v > 0}) <= 1 and len({v for v in values if v < 0}) <= 1
    x = t.clone().requires_grad_()
    y = ternarize_ste(x, method, **params)
    assert torch.equal(y.detach(), q)
    y.backward(torch.ones_like(y))
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("method", NEW_METHODS)
def test_values_keep_the_sign_of_the_weight(method):
    torch.manual_seed(0)
    w = torch.randn(6, 20, dtype=torch.float64)
    q = ternarize(w, method)
    assert torch.all(q * w >= 0)  # nonzero outputs have the weight's sign


# --- TWN ------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(w=matrices(), per_filter=st.booleans())
def test_twn_threshold_and_scale_are_the_formula(w, per_filter):
    rows = w if per_filter else w.reshape(1, -1)
    delta, alpha, codes = twn_params(torch.from_numpy(w), per_filter=per_filter)
    q = ternarize_twn(torch.from_numpy(w), per_filter=per_filter).numpy()
    q_rows = q if per_filter else q.reshape(1, -1)
    c_rows = codes.numpy().reshape(rows.shape)
    for i, r in enumerate(rows):
        d = 0.7 * np.abs(r).mean()
        assert delta[i].item() == pytest.approx(d, rel=1e-12, abs=1e-300)
        clear = np.abs(np.abs(r) - d) > 1e-12  # away from the threshold itself
        kept = np.abs(r) > delta[i].item()
        assert np.array_equal((c_rows[i] != 0)[clear], (np.abs(r) > d)[clear])
        assert np.array_equal(c_rows[i], np.sign(r) * kept)
        a = np.abs(r)[kept].mean() if kept.any() else 0.0
        assert alpha[i].item() == pytest.approx(a, rel=1e-12, abs=1e-300)
        assert np.allclose(q_rows[i], a * np.sign(r) * kept, rtol=1e-12, atol=0)


def test_twn_example():
    w = torch.tensor([0.9, -0.1, 0.05, -0.6, 0.3, 0.0])
    delta, alpha, codes = twn_params(w)
    assert delta.item() == pytest.approx(0.7 * 1.95 / 6)  # 0.2275
    assert codes.tolist() == [1, 0, 0, -1, 1, 0]
    assert alpha.item() == pytest.approx(1.8 / 3)
    assert ternarize(w, "twn").tolist() == pytest.approx([0.6, 0, 0, -0.6, 0.6, 0])


# --- TTQ (paper 000) ------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(w=matrices(max_cols=30), sparsity=st.floats(0, 1), per_filter=st.booleans())
def test_ttq_sparsity_hits_its_zero_fraction(w, sparsity, per_filter):
    t = torch.from_numpy(w)
    codes = ttq_codes(t, sparsity=sparsity, per_filter=per_filter).numpy()
    q = ternarize_ttq_sparsity(t, sparsity=sparsity, per_filter=per_filter).numpy()
    rows, c_rows = (w, codes) if per_filter else (w.reshape(1, -1), codes.reshape(1, -1))
    for r, c in zip(rows, c_rows):
        n, zeros = r.size, int((c == 0).sum())
        exact_zeros = int((r == 0).sum())
        assert zeros == max(math.floor(sparsity * n + 0.5), exact_zeros)
        if exact_zeros <= sparsity * n:
            assert abs(zeros - sparsity * n) <= 0.5  # "within one element": in fact within a half
        if (c == 0).any() and (c != 0).any():
            assert np.abs(r[c != 0]).min() >= np.abs(r[c == 0]).max()  # the smallest become 0
    assert np.array_equal(q == 0, codes == 0)


def test_ttq_sparsity_default_is_half():
    w = torch.randn(1000, dtype=torch.float64)
    assert int((ternarize(w, "ttq-sparsity") == 0).sum()) == 500
    assert int((ternarize(w[:999], "ttq-sparsity") == 0).sum()) in (499, 500)


@settings(max_examples=60, deadline=None)
@given(w=matrices(), t=st.floats(0, 0.99), per_filter=st.booleans())
def test_ttq_threshold_normalises_by_max_and_scales_by_kept_means(w, t, per_filter):
    x = torch.from_numpy(w)
    q = ternarize_ttq(x, t=t, per_filter=per_filter).numpy()
    rows, q_rows = (w, q) if per_filter else (w.reshape(1, -1), q.reshape(1, -1))
    for r, qr in zip(rows, q_rows):
        m = np.abs(r).max()
        norm = r / m if m > 0 else np.zeros_like(r)
        clear = np.abs(np.abs(norm) - t) > 1e-12
        assert np.array_equal((qr != 0)[clear], (np.abs(norm) > t)[clear])
        pos, neg = qr > 0, qr < 0
        if pos.any():
            assert np.allclose(qr[pos], r[pos].mean(), rtol=1e-12, atol=0)
        if neg.any():
            assert np.allclose(qr[neg], -(-r[neg]).mean(), rtol=1e-12, atol=0)


def test_ttq_example_and_explicit_scales():
    w = torch.tensor([2.0, 0.05, -0.09, -1.0, 0.5, -0.3])  # max 2: threshold 0.1 in w's units
    assert ternarize(w, "ttq-threshold").tolist() == pytest.approx([1.25, 0, 0, -0.65, 1.25, -0.65])
    assert ternarize(w, "ttq-threshold", wp=3.0, wn=0.5).tolist() == [3, 0, 0, -0.5, 3, -0.5]
    with pytest.raises(ValueError, match="t:"):
        ternarize(w, "ttq-threshold", t=1.0)
    with pytest.raises(ValueError, match="sparsity"):
        ternarize(w, "ttq-sparsity", sparsity=1.5)
    with pytest.raises(ValueError, match="wp"):
        ternarize(w, "ttq-threshold", wp=torch.ones(3))


def test_ttq_gradient_rules():
    w = torch.tensor([[0.8, -0.03, -0.5, 0.3], [0.1, -1.0, 0.02, 0.6]], requires_grad=True)
    wp = torch.tensor([1.5, 2.0], requires_grad=True)
    wn = torch.tensor([0.5, 0.25], requires_grad=True)
    g = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    y = ternarize_ttq_ste(w, t=0.05, per_filter=True, wp=wp, wn=wn)
    assert y.tolist() == [[1.5, 0, -0.5, 1.5], [2.0, -0.25, 0, 2.0]]
    y.backward(g)
    assert wp.grad.tolist() == [1 + 4, 5 + 8]          # sum over T = +1
    assert wn.grad.tolist() == [-3, -6]                # -sum over T = -1 (value is -W_n)
    assert w.grad.tolist() == [[1.5 * 1, 2, 0.5 * 3, 1.5 * 4], [2.0 * 5, 0.25 * 6, 7, 2.0 * 8]]


def test_ttq_module_learns_its_scales():
    torch.manual_seed(1)
    w = torch.randn(4, 10, requires_grad=True)
    quant = TTQQuantizer(w, t=0.05, per_filter=True)
    assert quant.wp.shape == (4,) and torch.all(quant.wp > 0) and torch.all(quant.wn > 0)
    assert torch.equal(quant(w).detach(), ternarize(w.detach(), "ttq-threshold", per_filter=True))
    opt = torch.optim.SGD(quant.parameters(), lr=0.02)
    target = 3.0 * torch.sign(w.detach())
    before = (quant.wp.detach().clone(), quant.wn.detach().clone())
    for _ in range(5):
        opt.zero_grad()
        ((quant(w) - target) ** 2).sum().backward()
        opt.step()
    assert w.grad is not None and torch.all(w.grad != 0)  # eq. 8 reaches every latent weight
    assert torch.all(quant.wp.detach() > before[0]) and torch.all(quant.wp.detach() < 3)  # pulled to 3
    assert torch.all(quant.wn.detach() > before[1]) and torch.all(quant.wn.detach() < 3)
    assert "per_filter=True" in repr(quant)
    assert TTQQuantizer(w, sparsity=0.5).wp.shape == (1,)


# --- exact proximal operator (paper 003) ----------------------------------------------------------


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


# --- Smart Quantization (paper 001) ---------------------------------------------------------------

mus = st.floats(0.05, 2)
orders = st.sampled_from([0.5, 1.0, 2.0])


@settings(max_examples=60, deadline=None)
@given(w=vectors(1, 50), mu=mus, p=orders)
def test_sq_at_beta_pi_over_4_is_the_ternary_regularizer(w, mu, p):
    x = torch.from_numpy(w)
    r = sq_regularizer_elementwise(x, mu, math.pi / 4, p=p)
    # compared before the p-th power: eq. (7) as printed cancels to 0 for |w| << mu (rounding)
    assert torch.allclose(r ** (1 / p), ternary_regularizer(x, mu), rtol=1e-12, atol=1e-15)
    for beta in (math.pi / 4 + 1e-3, math.pi / 4 + 0.1, 1.2):  # beta -> pi/4: uniformly
        gap = (sq_regularizer_elementwise(x, mu, beta, p=p) - r).abs()
        assert torch.all(gap <= (math.tan(beta) - math.tan(math.pi / 4)) * x.abs() ** p + 1e-15)


@settings(max_examples=60, deadline=None)
@given(w=vectors(1, 50), mu=mus)
def test_sq_as_beta_goes_to_pi_over_2_is_the_binary_regularizer(w, mu):
    x = torch.from_numpy(w)
    r1 = binary_regularizer(x, mu)
    for beta in (1.3, 1.5, 1.57, math.pi / 2 - 1e-6):
        r = sq_regularizer_elementwise(x, mu, beta)
        outside = x.abs() >= mu / (1 + math.tan(beta))   # equal exactly outside a shrinking interval
        assert torch.allclose(r[outside], r1[outside], rtol=1e-12, atol=1e-15)
        assert torch.all(r <= r1 + 1e-15)                 # a min over one more term
        assert torch.all(r[x == 0] == 0)                  # not uniform: R(0) = 0 < mu = R1(0)
    nonzero = x != 0
    far = sq_regularizer_elementwise(x, mu, math.pi / 2 - 1e-12)  # pointwise limit for w != 0
    small = x.abs() < 1e-10
    assert torch.allclose(far[nonzero & ~small], r1[nonzero & ~small], rtol=1e-12, atol=1e-15)


def test_sq_regularizer_example_gamma_term_and_gradients():
    w = torch.tensor([0.0, 0.1, 0.5, 1.0, -2.0], dtype=torch.float64)
    beta = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    mu = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    t = math.tan(1.0)  # 1.557
    expected = [0.0, 0.1 * t, 0.5, 0.0, 1.0]
    assert sq_regularizer_elementwise(w, 1.0, 1.0).tolist() == pytest.approx(expected)
    total = sq_regularizer(w, mu, beta, gamma=0.3)
    assert total.item() == pytest.approx(sum(expected) + 0.3 / t)
    total.backward()
    # d/dbeta: 0.1 sec^2(beta) from the tan branch, -0.3 csc^2(beta) from gamma |cot beta|
    assert beta.grad.item() == pytest.approx(0.1 / math.cos(1.0) ** 2 - 0.3 / math.sin(1.0) ** 2)
    assert mu.grad.item() == pytest.approx(1.0 - 1.0)  # ||w|-mu| at 0.5 (+1) and at 2.0 (-1)
    assert torch.allclose(sq_regularizer_elementwise(torch.ones(2, 3), torch.tensor([1.0, 2.0]), 1.0),
                          torch.tensor([[0.0] * 3, [1.0] * 3]))
    with pytest.raises(ValueError, match="beta"):
        sq_regularizer(w, 1.0, 2.0)  # tan < 0 beyond pi/2


def test_sq_layer_decision_and_quantisation():
    assert sq_is_binary(1.57) and sq_is_binary(math.pi / 2) and not sq_is_binary(1.56)
    assert not sq_is_binary(SQ_DELTA - 1e-9) and sq_is_binary(SQ_DELTA)
    assert sq_is_binary(1.3, delta=1.2)
    torch.manual_seed(4)
    w = torch.randn(8, 16, dtype=torch.float64)
    binary = ternarize(w, "sq", beta=1.57)
    mu = w.abs().mean().item()
    assert torch.allclose(binary.abs(), torch.full_like(w, mu), rtol=1e-12, atol=0)
    assert torch.equal(torch.sign(binary), torch.where(w >= 0, 1.0, -1.0).double())
    ternary = ternarize(w, "sq", beta=1.0, mu=0.5)
    delta = 0.2 * w.std(correction=0).item()
    assert torch.equal(ternary, 0.5 * torch.sign(w) * (w.abs() > delta))
    fixed = ternarize(w, "sq", beta=1.0, mu=0.5, threshold=0.8)
    assert torch.equal(fixed, 0.5 * torch.sign(w) * (w.abs() > 0.8))
    per = ternarize(w, "sq", beta=1.57, per_filter=True)
    assert torch.allclose(per.abs(), w.abs().mean(1, keepdim=True).expand_as(w))
    assert ternarize(torch.tensor([0.0, -0.0, 1.0]), "sq", beta=1.57, mu=1.0).tolist() == [1, 1, 1]


def test_sq_ste_trains_mu():
    w = torch.tensor([0.9, -0.7, 0.01, 0.5], requires_grad=True)
    mu = torch.tensor(0.6, requires_grad=True)
    y = ternarize_sq_ste(w, mu=mu, beta=1.0, threshold=0.1)
    assert y.tolist() == pytest.approx([0.6, -0.6, 0, 0.6])
    y.backward(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert mu.grad.item() == pytest.approx(1 - 2 + 4)
    assert w.grad.tolist() == [1, 2, 3, 4]  # identity straight-through


# --- incremental filter-wise TTQ (paper 004) ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(w=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 9)),
                    elements=floats),
       seed=st.integers(0, 2 ** 16))
def test_incremental_rounds_grow_the_mask_and_keep_frozen_weights_frozen(w, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(w).clone()
    n = x[0].numel()
    frozen = torch.zeros_like(x, dtype=torch.bool)
    frozen_out = None
    for q in INCREMENTAL_QUANTILES:
        mask = incremental_mask(x, q, frozen)
        assert torch.all(mask[frozen])                                     # frozen stays frozen
        assert mask.reshape(len(x), -1).sum(1).tolist() == [math.ceil(q * n)] * len(x)
        for xf, mf, ff in zip(x.reshape(len(x), -1), mask.reshape(len(x), -1), frozen.reshape(len(x), -1)):
            new, rest = mf & ~ff, ~mf
            if new.any() and rest.any():                                   # the largest of the rest
                assert xf[new].abs().min() >= xf[rest].abs().max()
        out = ternarize_incremental(x, q=q, frozen=frozen)
        assert torch.equal(out[~mask], x[~mask])                           # the rest: full precision
        if frozen_out is not None:                                         # codes of frozen weights fixed
            assert torch.equal(torch.sign(out[frozen]), torch.sign(frozen_out[frozen]))
        # a round of "training": only unfrozen weights move, and never past the frozen magnitudes
        xs = x.clone().requires_grad_()
        ternarize_incremental_ste(xs, q=q, frozen=frozen).backward(torch.ones_like(x))
        assert torch.all(xs.grad[mask] == 0) and torch.all(xs.grad[~mask] == 1)
        shrink = torch.rand(x.shape, generator=gen, dtype=x.dtype)
        flip = torch.where(torch.rand(x.shape, generator=gen) < 0.3, -1.0, 1.0).to(x.dtype)
        x = torch.where(mask, x, x * shrink * flip)
        frozen, frozen_out = mask, out
    assert torch.all(frozen)                                               # q = 1: all ternarised


def test_incremental_final_round_is_filterwise_ttq_and_scales_learn():
    torch.manual_seed(5)
    w = torch.randn(6, 3, 3, 3, dtype=torch.float64)
    assert torch.equal(ternarize(w, "incremental"), ternarize_ttq(w, per_filter=True))
    assert torch.equal(ternarize(w, "incremental", q=0.0), w)
    half = incremental_mask(w, 0.5)
    assert half.reshape(6, -1).sum(1).tolist() == [14] * 6  # ceil(0.5 * 27)
    wp = torch.ones(6, dtype=torch.float64, requires_grad=True)
    wn = torch.ones(6, dtype=torch.float64, requires_grad=True)
    x = w.clone().requires_grad_()
    y = ternarize_incremental_ste(x, q=0.5, wp=wp, wn=wn)
    assert set(y[half].tolist()) <= {-1.0, 0.0, 1.0}
    y.sum().backward()
    codes = incremental_codes(w, half)
    assert torch.equal(codes, torch.sign(w) * half)  # the top half all clear 0.05 * max here
    assert torch.equal(wp.grad, (codes > 0).reshape(6, -1).sum(1).double())
    assert torch.equal(wn.grad, -(codes < 0).reshape(6, -1).sum(1).double())
    with pytest.raises(ValueError, match="q"):
        incremental_mask(w, 1.5)
    with pytest.raises(ValueError, match="frozen"):
        incremental_mask(w, 0.5, torch.zeros(3, dtype=torch.bool))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), g=st.integers(1, 4), n=st.integers(1, 40))
def test_smallest_k_is_a_stable_argsorts_first_k(data, g, n):
    """TTQ's sparsity rule zeroes the k smallest |w|, ties to the lower index (many ties here)."""
    from sw.quant.ttq import smallest_k
    a = torch.tensor(data.draw(st.lists(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]),
                                                 min_size=n, max_size=n), min_size=g, max_size=g)))
    k = data.draw(st.integers(0, n + 1))
    order = a.argsort(dim=1, stable=True)[:, :min(k, n)]
    want = torch.zeros_like(a, dtype=torch.bool).scatter(1, order, True)
    assert torch.equal(smallest_k(a, k), want)
