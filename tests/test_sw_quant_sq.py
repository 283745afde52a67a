"""sw.quant.sq: Smart Quantization (paper 001), its regulariser and the binary/ternary decision."""

import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from quant_strategies import vectors
from sw.errors import InputError
from sw.quant import (SQ_DELTA, binary_regularizer, sq_is_binary, sq_regularizer, sq_regularizer_elementwise,
                      ternarize, ternarize_sq_ste, ternary_regularizer)


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
    with pytest.raises(InputError) as err:
        sq_regularizer(w, 1.0, 2.0)  # tan < 0 beyond pi/2
    assert str(err.value) == "beta: expected 0 < beta < pi/2 (tan(beta) > 0, finite), got 2.0"


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
