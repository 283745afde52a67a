"""sw.build: the network a config describes, with its quantiser attached, or a refusal."""

from types import SimpleNamespace

import pytest
import torch

from sw.build import build_model
from sw.configs import METHODS, get_config
from sw.errors import InputError
from sw.quant import ThresholdQuantizer, ternary_layers
from sw_fixtures import digits  # noqa: F401  (fixtures)


@pytest.mark.parametrize("act", ["binary", "float"])
def test_fmnist_method_configs_construct(act):
    torch.set_num_threads(1)
    ds = SimpleNamespace(n_features=784, n_classes=10, image_shape=(28, 28))
    x = torch.randint(0, 256, (4, 784)).float()
    for m in METHODS:
        cfg = get_config(f"fmnist-mlp-{act}-{m}")
        torch.manual_seed(0)
        model = build_model(cfg, ds)
        layers = list(ternary_layers(model))
        assert [layer.method for layer in layers] == [m] * 4
        assert [layer.weight.shape[0] for layer in layers] == [512, 512, 512, 10]
        if act == "binary" and m != "incremental":  # one common output scale (argmax)
            assert all(s.unique().numel() == 1 for s in layers[-1].row_scales())
        assert model(x).shape == (4, 10)
        model.eval()
        assert torch.isfinite(model(x)).all()



@pytest.mark.parametrize("name", ["tiny", "tiny-cnn-binary"])
def test_sign_ste_reaches_every_binary_activation(name):
    from sw.quant.activation import BinarySign
    ds = SimpleNamespace(n_features=64, n_classes=10, image_shape=(8, 8))
    for ste in ("hardtanh", "approx"):
        model = build_model(get_config(name).with_(sign_ste=ste), ds)
        signs = [m for m in model.modules() if isinstance(m, BinarySign)]
        assert signs and all(m.ste == ste for m in signs)
    with pytest.raises(InputError, match="^sign_ste: expected one of"):
        build_model(get_config(name).with_(sign_ste="relu"), ds)


@pytest.mark.parametrize("name, changes, message", [
    ("tiny", {"quantizer": "nope"},
     "quantizer: unknown 'nope' (known: incremental, prox-dual, prox-single, sq, threshold, ttq-sparsity, "
     "ttq-threshold, twn)"),
    ("tiny-twn", {"quantizer_params": (("bogus", 1),)},
     "quantizer_params: twn takes no bogus (accepted: per_filter)"),
    ("tiny", {"quantizer_params": (("per_filter", True),)},
     "quantizer_params: threshold takes no per_filter (accepted: none; eta is the layer's)"),
    ("tiny-incremental", {"lam": 1e-4}, "lam: must be 0 for incremental (it takes no L2 on w_q), got 0.0001"),
    ("tiny", {"eta": 1.0}, "eta: expected 0 <= eta < 1 (w_r lives in [-1, 1]), got 1.0"),
    ("tiny", {"arch": "rnn"}, "arch: expected 'mlp' or 'cnn', got 'rnn'"),
    ("tiny", {"activation": "tanh"}, "activation: expected 'binary' or 'float', got 'tanh'"),
    ("tiny-cnn", {"activation": "tanh"}, "activation: expected one of ('binary', 'float'), got 'tanh'"),
])
def test_configs_no_network_matches_are_refused_naming_the_field(digits, name, changes, message):
    with pytest.raises(InputError) as err:
        build_model(get_config(name).with_(**changes), digits)
    assert str(err.value) == message


def test_threshold_models_carry_the_stateless_threshold_quantiser(digits):
    model = build_model(get_config("tiny"), digits)
    assert all(isinstance(layer.quantizer, ThresholdQuantizer) and layer.method == "threshold"
               for layer in ternary_layers(model))
    assert not any("quantizer" in k for k in model.state_dict())  # checkpoints unchanged by it
    assert all(layer.row_scales() is None and layer.regularizer() is None for layer in ternary_layers(model))


def test_overrides_and_baseline_networks(digits):
    cfg = get_config("tiny-twn")
    dense = build_model(cfg, digits, "ternary", eta=0.0, lam=0.0, quantizer="threshold")
    assert [(layer.eta, layer.lam, layer.method) for layer in ternary_layers(dense)] == [(0.0, 0.0, "threshold")] * 2
    assert not list(ternary_layers(build_model(cfg, digits, "float")))
    assert [layer.eta for layer in ternary_layers(build_model(get_config("tiny-cnn"), digits))] == [0.5, 0.5, 0.6, 0.6]


def test_cnn_output_layer_takes_its_own_eta_and_lambda_unless_overridden(digits):
    cfg = get_config("tiny-cnn").with_(eta_out=0.3, lam_out=0.0)
    assert [(layer.eta, layer.lam) for layer in ternary_layers(build_model(cfg, digits))] == [
        (0.5, 1e-4), (0.5, 1e-4), (0.6, 1e-4), (0.3, 0.0)]   # convolutions, fc, out
    baseline = build_model(cfg, digits, "ternary", eta=0.0, lam=0.0)
    assert {(layer.eta, layer.lam) for layer in ternary_layers(baseline)} == {(0.0, 0.0)}
