"""sw.models: the networks' shared interface, their weight layers, and refused arguments."""

import pytest
import torch
from torch import nn

from sw.errors import InputError
from sw.models import BinaryMLP, FloatMLP, VGGSmall, weight_layers
from sw.quant import TernaryConv2d, TernaryLinear


def test_networks_share_one_interface():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (5, 64)).float()
    for model in (BinaryMLP(64, (16, 8), 10), FloatMLP(64, (16,), 10), VGGSmall((8, 8), 10, features=(4, "M"), fc=8)):
        model.eval()
        out, hidden = model(x, return_hidden=True)
        assert out.shape == (5, 10) and torch.equal(model(x), out) and len(hidden) >= 1
    binary = BinaryMLP(64, (16, 8), 10)
    assert binary.activation == "binary" and set(binary(x, return_hidden=True)[1][0].unique().tolist()) <= {-1, 1}
    names = [n for n, _ in weight_layers(VGGSmall((8, 8), 10, features=(4, "M", 6), fc=8))]
    assert names == ["features.0", "features.4", "fc", "out"]


def test_ternary_and_float_weights():
    assert all(isinstance(m, TernaryLinear) for _, m in weight_layers(BinaryMLP(4, (3,), 2, etas=[0.1, 0.2])))
    assert [m.eta for _, m in weight_layers(BinaryMLP(4, (3,), 2, etas=[0.1, 0.2]))] == [0.1, 0.2]
    conv = weight_layers(VGGSmall((4, 4), 2, features=(3,), fc=4, weights="float"))
    assert type(conv[0][1]) is nn.Conv2d and not isinstance(conv[0][1], TernaryConv2d)


@pytest.mark.parametrize("activation", ["binary", "float"])
def test_vgg_pools_before_the_activation_with_the_values_of_pooling_after(activation):
    """The model file pools after the activation; the network pools before it (a
    better gradient) and, the activation being monotone, gets the same values."""
    torch.manual_seed(1)
    model = VGGSmall((9, 7), 3, features=(4, "M", 5), fc=6, activation=activation).eval()
    for norm in model.norms[:2]:  # negative scales too: batch norm may flip the order
        norm.weight.data.uniform_(-1, 1)
        norm.running_mean.uniform_(-3, 3)
    x = torch.randint(0, 256, (6, 63)).float()
    _, hidden = model(x, return_hidden=True)
    conv, norm, act = model.convs[0], model.norms[0], model.act
    after = nn.functional.max_pool2d(act(norm(conv(model.pre(x).reshape(-1, 1, 9, 7)))), 2)
    assert torch.equal(hidden[0], after.flatten(1))
    assert model.pools == [(2, 2), None]


@pytest.mark.parametrize("build, message", [
    (lambda: BinaryMLP(4, (3,), 2, weights="binary"),
     "weights: expected one of ('ternary', 'float'), got 'binary'"),
    (lambda: FloatMLP(4, (3,), 2, etas=[0.1, 0.2, 0.3]), "etas: expected 2 per-layer values, got 3"),
    (lambda: VGGSmall((4, 4), 2, features=(3,), fc=4, lams=[0.0]), "lams: expected 3 per-layer values, got 1"),
    (lambda: VGGSmall((4, 4), 2, features=(3,), fc=4, activation="tanh"),
     "activation: expected one of ('binary', 'float'), got 'tanh'"),
    (lambda: VGGSmall((4, 4), 2, features=(3,), fc=4, weights="int8"),
     "weights: expected one of ('ternary', 'float'), got 'int8'"),
    (lambda: VGGSmall((4, 4), 2, features=("M", 3), fc=4),
     "features: the pool at index 0 must follow a convolution and a map of at least 2 x 2, got ['M', 3]"),
    (lambda: VGGSmall((8, 8), 2, features=(3, "M", "M"), fc=4),
     "features: the pool at index 2 must follow a convolution and a map of at least 2 x 2, got [3, 'M', 'M']"),
    (lambda: VGGSmall((2, 2), 2, features=(3, "M", 3, "M"), fc=4),
     "features: the pool at index 3 must follow a convolution and a map of at least 2 x 2, got [3, 'M', 3, 'M']"),
    (lambda: VGGSmall((4, 4), 2, features=(3, 0), fc=4), "features: expected channel counts >= 1 or 'M', got 0 at index 1"),
    (lambda: VGGSmall((4, 4), 2, features=(3, "X"), fc=4), "features: expected channel counts >= 1 or 'M', got 'X' at index 1"),
])
def test_bad_arguments_name_the_field(build, message):
    with pytest.raises(InputError) as err:
        build()
    assert str(err.value) == message
