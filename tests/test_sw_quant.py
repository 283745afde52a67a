"""Ternary quantiser, straight-through gradients, L2 on w_q, pruning (paper 002, section 2)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from sw.quant import (QUANTIZERS, BinarySign, TernaryConv2d, TernaryLinear, sign_ste, ternarize,
                      ternarize_ste, ternarize_threshold)


def test_threshold_forward_is_eq_1_including_the_boundaries():
    w = torch.tensor([-1.0, -0.9, -0.5, -0.0, 0.0, 0.5, 0.9, 0.90001, 1.0], dtype=torch.float64)
    assert ternarize_threshold(w, 0.9).tolist() == [-1, 0, 0, 0, 0, 0, 0, 1, 1]
    w32 = w.float()  # eta is compared in the weight's dtype: float32(0.9) maps to 0
    assert ternarize_threshold(w32, 0.9).tolist() == [-1, 0, 0, 0, 0, 0, 0, 1, 1]
    assert ternarize_threshold(w32, 0.9).dtype == torch.float32


@settings(max_examples=200, deadline=None)
@given(w=hnp.arrays(np.float32, 40, elements=st.floats(-1, 1, width=32)), k=st.integers(0, 39),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_threshold_equals_its_comparison_definition(w, k, dtype):
    t = torch.from_numpy(w).to(dtype)
    eta = min(abs(float(w[k])), 0.999)  # often exactly one of the weights: the boundary case
    expected = (t > eta).to(dtype) - (t < -eta).to(dtype)
    assert torch.equal(ternarize_threshold(t, eta), expected)


def test_eta_zero_is_binary_and_the_registry_dispatches():
    w = torch.rand(100) * 2 - 1
    assert set(ternarize(w, "threshold", eta=0.0).tolist()) <= {-1.0, 1.0}
    assert torch.equal(ternarize(w, eta=0.5), ternarize_threshold(w, 0.5))
    assert "threshold" in QUANTIZERS
    with pytest.raises(ValueError, match="unknown quantiser 'no-such-method'"):
        ternarize(w, "no-such-method", eta=0.5)
    with pytest.raises(ValueError, match="eta"):
        ternarize(w, eta=1.5)


def test_straight_through_gradient_reaches_every_real_weight():
    w = (torch.rand(50, dtype=torch.float64) * 2 - 1).requires_grad_()
    g = torch.randn(50, dtype=torch.float64)
    (ternarize_ste(w, eta=0.7) * g).sum().backward()
    assert torch.equal(w.grad, g)  # identity STE, also where w_q == 0


def test_ternary_linear_forward_and_gradient():
    torch.manual_seed(0)
    layer = TernaryLinear(6, 4, eta=0.6).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    g = torch.randn(3, 4, dtype=torch.float64)
    w_q = ternarize_threshold(layer.weight.detach(), 0.6)
    y = layer(x)
    assert torch.equal(y, x @ w_q.T)
    (y * g).sum().backward()
    assert torch.allclose(layer.weight.grad, g.T @ x)  # dL/dw_r = dL/dw_q
    assert torch.equal(layer.ternary_weight(), w_q.to(torch.int8))
    assert all(-1 <= v <= 1 for v in layer.weight.detach().flatten().tolist())  # init in [-1, 1]


def test_l2_acts_only_on_nonzero_quantised_weights():
    layer = TernaryLinear(4, 2, eta=0.5, lam=0.01)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.9, 0.4, -0.45, -0.7], [0.0, 0.51, -0.5, 0.2]]))
    layer.weight.grad = torch.zeros_like(layer.weight)
    layer.add_l2_grad()
    expected = 0.01 * torch.tensor([[1.0, 0, 0, -1], [0, 1, 0, 0]])
    assert torch.equal(layer.weight.grad, expected)
    # With no data gradient an SGD step moves only the nonzero ones, towards zero.
    before = layer.weight.detach().clone()
    torch.optim.SGD(layer.parameters(), lr=1.0).step()
    moved = layer.weight.detach() != before
    assert moved.tolist() == [[True, False, False, True], [False, True, False, False]]
    assert torch.all(layer.weight.detach().abs() <= before.abs())


def test_l2_is_added_to_the_data_gradient():
    torch.manual_seed(1)
    layer = TernaryLinear(8, 3, eta=0.3, lam=0.5)
    x = torch.randn(5, 8)
    layer(x).sum().backward()
    data_grad = layer.weight.grad.clone()
    layer.add_l2_grad()
    w_q = ternarize_threshold(layer.weight.detach(), 0.3)
    assert torch.equal(layer.weight.grad, data_grad + 0.5 * w_q)


def test_constrain_clips_real_weights():
    layer = TernaryLinear(3, 1, eta=0.5)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.7, -3.0, 0.2]]))
    layer.constrain_()
    assert layer.weight.tolist() == [[1.0, -1.0, pytest.approx(0.2)]]


def test_prune_mask_is_eq_6_and_counts_pruned_nonzeros():
    layer = TernaryLinear(5, 1, eta=0.5)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.9, 0.5, -0.3, -0.6, 0.55]]))
    assert layer.prune_() == 0  # sigma = eta prunes only weights that are already zero
    assert layer.mask.tolist() == [[1, 0, 0, 1, 1]]
    assert layer.weight.tolist()[0][1:3] == [0.0, 0.0]
    assert layer.prune_(sigma=0.58) == 1  # 0.55 was a nonzero: counted
    assert layer.mask.tolist() == [[1, 0, 0, 1, 0]]


@pytest.mark.parametrize("cls", ["linear", "conv"])
def test_pruned_weights_stay_exactly_zero_through_retraining(cls):
    torch.manual_seed(2)
    if cls == "linear":
        layer, x = TernaryLinear(20, 10, eta=0.5, lam=1e-3), torch.randn(64, 20)
    else:
        layer, x = TernaryConv2d(3, 4, 3, padding=1, eta=0.5, lam=1e-3), torch.randn(8, 3, 6, 6)
    layer.prune_()
    pruned = layer.mask == 0
    assert pruned.any() and (~pruned).any()
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)  # big steps: would revive weights if leaky
    for _ in range(30):
        loss = (layer(x) - 1.0).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        assert torch.all(layer.weight.grad[pruned] == 0)
        layer.add_l2_grad()
        opt.step()
        layer.constrain_()
        assert torch.all(layer.weight.detach()[pruned] == 0)
        assert torch.all(layer.ternary_weight()[pruned] == 0)
    assert (layer.ternary_weight()[~pruned] != 0).any()


def test_ternary_conv_uses_quantised_weights():
    torch.manual_seed(3)
    conv = TernaryConv2d(2, 3, 3, padding=1, eta=0.4)
    x = torch.randn(2, 2, 5, 5)
    expected = F.conv2d(x, ternarize_threshold(conv.weight.detach(), 0.4), padding=1)
    assert torch.allclose(conv(x), expected)


def test_sign_ste_forward_and_hardtanh_gradient():
    x = torch.tensor([-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    y = sign_ste(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1, 1]  # sign(0) = +1 (also -0.0: -0.0 >= 0)
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 1, 0]
    assert torch.equal(BinarySign()(x.detach()), y.detach())


def test_torch_argmax_takes_the_first_maximum():
    # The binary export relies on torch and numpy agreeing on ties.
    logits = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    assert logits.argmax(1).tolist() == [1, 0]
    assert np.argmax(logits.numpy(), 1).tolist() == [1, 0]
