"""sw.quant.ttq: trained ternary quantisation (paper 000), threshold and sparsity variants."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from quant_strategies import matrices
from sw.errors import InputError
from sw.quant import (TTQQuantizer, ternarize, ternarize_ttq, ternarize_ttq_sparsity, ternarize_ttq_ste,
                      ttq_codes)
from sw.quant.ttq import smallest_k


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
    for params, message in [
        ({"t": 1.0}, "t: expected 0 <= t < 1 (relative to max|w|), got 1.0"),
        ({"sparsity": 1.5}, "sparsity: expected a fraction in [0, 1], got 1.5"),
        ({"wp": torch.ones(3)}, "wp: expected 1 or 1 elements (one per scale group), got shape (3,)"),
        ({"wn": -1.0}, "wn: expected a scale >= 0, got -1.0"),
    ]:
        method = "ttq-sparsity" if "sparsity" in params else "ttq-threshold"
        with pytest.raises(InputError) as err:
            ternarize(w, method, **params)
        assert str(err.value) == message


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


@settings(max_examples=200, deadline=None)
@given(data=st.data(), g=st.integers(1, 4), n=st.integers(1, 40))
def test_smallest_k_is_a_stable_argsorts_first_k(data, g, n):
    """TTQ's sparsity rule zeroes the k smallest |w|, ties to the lower index (many ties here)."""
    a = torch.tensor(data.draw(st.lists(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]),
                                                 min_size=n, max_size=n), min_size=g, max_size=g)))
    k = data.draw(st.integers(0, n + 1))
    order = a.argsort(dim=1, stable=True)[:, :min(k, n)]
    want = torch.zeros_like(a, dtype=torch.bool).scatter(1, order, True)
    assert torch.equal(smallest_k(a, k), want)
