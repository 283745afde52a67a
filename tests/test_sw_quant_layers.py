"""sw.quant.layers: ternary layers -- forward, straight-through gradient, L2 on w_q, clipping,
pruning, the attached quantiser, and the eval-mode accumulation over the codes."""

import pytest
import torch
import torch.nn.functional as F

from sw.errors import InputError
from sw.quant import (TernaryConv2d, TernaryLinear, ThresholdQuantizer, ternarize_threshold,
                      ternary_layers)
from sw.models import BinaryMLP


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
    layer.eval()
    assert torch.equal(layer(x), x @ w_q.T)  # unscaled: the same product in eval mode


def test_threshold_layers_carry_the_stateless_threshold_quantiser():
    layer = TernaryLinear(5, 3, eta=0.4)
    assert isinstance(layer.quantizer, ThresholdQuantizer) and layer.method == "threshold"
    assert layer.quantizer.eta == 0.4
    assert list(layer.state_dict()) == ["weight", "mask"]  # checkpoints as before adapters
    assert layer.row_scales() is None and layer.row_scale() == (None, "unscaled")
    assert layer.regularizer() is None and layer.quant_info() == {} and layer.is_ternary()
    assert "method='threshold'" in repr(layer)


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


def test_eval_forward_accumulates_the_codes_then_scales():
    torch.manual_seed(2)
    layer = list(ternary_layers(BinaryMLP(64, (16,), 10)))[0]
    layer.set_quantizer("twn", per_filter=True)
    x = torch.randint(0, 256, (50, 64)).float()
    y_train = layer(x)
    layer.eval()
    alpha = layer.row_scale()[0]
    y_eval = layer(x)
    assert torch.equal(y_eval, (x @ layer.ternary_weight().float().T) * alpha)
    assert torch.allclose(y_eval, y_train, rtol=1e-5, atol=1e-3)


def test_conv_layers_and_constructor_arguments():
    torch.manual_seed(4)
    conv = TernaryConv2d(2, 5, 3, padding=1, eta=0.5, method="twn", params={"per_filter": True})
    x = torch.randn(3, 2, 6, 6)
    y_train = conv(x)
    conv.eval()
    alpha = conv.row_scale()[0]
    y_eval = conv(x)
    assert torch.equal(y_eval, F.conv2d(x, conv.ternary_weight().float(), padding=1) * alpha[:, None, None])
    assert torch.allclose(y_eval, y_train, rtol=1e-5, atol=1e-5)
    # Eq. (5) on the codes for scaled methods: lam * T.
    lin = TernaryLinear(6, 3, eta=0.5, lam=0.1, method="ttq-threshold", params={"t": 0.2})
    lin.weight.grad = torch.zeros_like(lin.weight)
    lin.add_l2_grad()
    assert torch.equal(lin.weight.grad, 0.1 * lin.ternary_weight().float())
    assert "method='ttq-threshold'" in repr(lin)


@pytest.mark.parametrize("kwargs, message", [
    ({"eta": 1.0}, "eta: expected 0 <= eta < 1 (w_r lives in [-1, 1]), got 1.0"),
    ({"eta": 0.5, "lam": -1.0}, "lam: expected >= 0, got -1.0"),
    ({"eta": 0.5, "lam": 1e-4, "method": "incremental"},
     "lam: must be 0 for incremental (it takes no L2 on w_q), got 0.0001"),
    ({"eta": 0.5, "params": {"per_filter": True}},
     "quantizer_params: threshold takes no per_filter (accepted: none; eta is the layer's)"),
])
def test_bad_layer_arguments_name_the_field(kwargs, message):
    with pytest.raises(InputError) as err:
        TernaryLinear(4, 2, **kwargs)
    assert str(err.value) == message


def test_only_the_threshold_quantiser_takes_a_pruning_threshold():
    layer = TernaryLinear(4, 2, eta=0.5, method="twn")
    with pytest.raises(InputError) as err:
        layer.prune_(0.5)
    assert str(err.value) == "sigma: pruning belongs to the threshold quantiser, not twn (got 0.5)"
    assert layer.prune_() == 0  # its stage transition: nothing pruned
