"""sw.export: tnn-model-v1 from PyTorch -- exact for binary networks (every hidden bit), close for
float ones; scale folding for the scaled quantisers, two-scale layers, refusals."""

import numpy as np
import pytest
import torch
from torch import nn

from sw.export import ExportError, compare, export, torch_forward
from sw.golden import forward, predict
from sw.model_file import accumulator_range
from sw.models import BinaryMLP, FloatMLP, VGGSmall
from sw.quant import ternary_layers
from sw_fixtures import tiny_out, tiny_run  # noqa: F401  (fixtures)


def _randomise_batch_norms_with_extremes(model, gen):
    """Eval-mode statistics that exercise every case: negative, zero and tiny scales,
    means far outside the accumulator range (always-0 / always-1 neurons)."""
    with torch.no_grad():
        for norm in model.norms:
            n = norm.num_features
            norm.weight.copy_(torch.randn(n, generator=gen))
            norm.weight[0], norm.weight[1], norm.weight[2] = 0.0, -1e-6, 1e-6
            norm.bias.copy_(torch.randn(n, generator=gen))
            norm.running_mean.copy_(torch.randn(n, generator=gen) * 2000)
            norm.running_mean[3], norm.running_mean[4] = 1e9, -1e9
            norm.running_var.copy_(torch.rand(n, generator=gen) * 1e6 + 1e-3)


def test_binary_export_is_exact_on_random_networks_and_inputs():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = BinaryMLP(64, (40, 24), 10, etas=[0.5, 0.3, 0.6])
    _randomise_batch_norms_with_extremes(model, gen)
    model.eval()
    tnn = export(model)
    rng = np.random.default_rng(0)
    pixels = np.concatenate([
        rng.integers(0, 256, (3000, 64)),            # noise
        (rng.random((500, 64)) < 0.5) * 255,         # extremes
        np.zeros((1, 64)), np.full((1, 64), 255),
    ]).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"], r["hidden_bit_mismatches"]
    assert r["prediction_agreement"] == 1.0
    # The int32 outputs are the PyTorch logits divided by the one positive scale.
    logits, _ = torch_forward(model, pixels)
    out, hidden = forward(tnn, pixels)
    scale = float(model.out_scale.log_scale.detach().exp())
    np.testing.assert_allclose(out * np.float32(scale), logits, rtol=1e-6)
    # Negative scales flipped their rows; the always-0/1 neurons sit at the range ends.
    w_torch = model.linears[0].ternary_weight().numpy()
    neg = model.norms[0].weight.detach().numpy() < 0
    np.testing.assert_array_equal(tnn.weights[0][neg], -w_torch[neg])
    np.testing.assert_array_equal(tnn.weights[0][~neg], w_torch[~neg])
    lo, hi = accumulator_range(tnn.weights[0], 0)
    assert tnn.thresholds[0][3] in (lo[3], hi[3] + 1) and tnn.thresholds[0][4] in (lo[4], hi[4] + 1)
    assert all(h.any() and not h.all() for h in hidden)


def test_trained_tiny_binary_network_exports_exactly(tiny_run):
    report, model, tnn, ds = tiny_run
    assert report["export"]["hidden_bits_equal"] and report["export"]["prediction_agreement"] == 1.0
    # Every hidden bit and prediction on the whole data set (train and test).
    pixels = np.concatenate([ds.train_x, ds.test_x])
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"] and sum(r["hidden_bit_mismatches"]) == 0
    assert r["prediction_agreement"] == 1.0
    out, _ = forward(tnn, ds.test_x)
    assert np.mean(predict(out) == ds.test_y) == pytest.approx(report["final"]["test_acc"])


def test_float_export_agrees_with_pytorch():
    torch.manual_seed(1)
    model = FloatMLP(64, (32,), 10, etas=0.5, x_scale=1 / 255, x_offset=-0.5)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for norm in [*model.norms, model.out_norm]:
            norm.weight.copy_(torch.randn(norm.num_features, generator=gen))
            norm.running_mean.copy_(torch.randn(norm.num_features, generator=gen))
            norm.running_var.copy_(torch.rand(norm.num_features, generator=gen) + 0.5)
    tnn = export(model)
    assert tnn.x_scale == np.float32(1 / 255) and tnn.x_offset == np.float32(-0.5)
    pixels = np.random.default_rng(1).integers(0, 256, (500, 64)).astype(np.uint8)
    logits, t_hidden = torch_forward(model, pixels)
    for lanes in (1, 4):
        out, g_hidden = forward(tnn, pixels, lanes)
        np.testing.assert_allclose(out, logits, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(g_hidden[0], t_hidden[0], rtol=1e-4, atol=1e-4)
    assert compare(model, tnn, pixels)["prediction_agreement"] >= 0.99


def test_networks_without_a_model_file_form_are_refused():
    with pytest.raises(ExportError) as err:
        export(nn.Sequential(nn.Linear(4, 2)))
    assert str(err.value) == "Sequential: tnn-model-v1 holds BinaryMLP, FloatMLP and VGGSmall networks only"
    with pytest.raises(ExportError) as err:
        export(BinaryMLP(64, (8,), 10, weights="float"))
    assert str(err.value) == "layer 0: Linear has float weights, not ternary"


# --- scaled quantisers ----------------------------------------------------------------------------


def _randomise_batch_norms(model, gen):
    with torch.no_grad():
        for norm in model.norms:
            n = norm.num_features
            norm.weight.copy_(torch.randn(n, generator=gen))
            norm.weight[0] = -norm.weight[0].abs()  # a negative one
            norm.bias.copy_(torch.randn(n, generator=gen))
            norm.running_mean.copy_(torch.randn(n, generator=gen) * 300)
            norm.running_var.copy_(torch.rand(n, generator=gen) * 1e4 + 1e-3)


def test_binary_export_folds_per_neuron_scales_into_exact_thresholds():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = BinaryMLP(64, (40, 24), 10)
    layers = list(ternary_layers(model))
    with torch.no_grad():  # scales spread over two decades; one all-zero row (scale 0)
        layers[0].weight.mul_(torch.logspace(-2, 0, 40)[torch.randperm(40)][:, None])
        layers[0].weight[5] = 0.0
    for layer in layers[:-1]:
        layer.set_quantizer("twn", per_filter=True)
    layers[-1].set_quantizer("twn")
    _randomise_batch_norms(model, gen)
    model.eval()
    tnn = export(model)
    rng = np.random.default_rng(0)
    pixels = np.concatenate([rng.integers(0, 256, (3000, 64)), (rng.random((500, 64)) < 0.5) * 255,
                             np.zeros((1, 64)), np.full((1, 64), 255)]).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"], r["hidden_bit_mismatches"]
    assert r["prediction_agreement"] == 1.0
    # The thresholds are ceil(tau / alpha) of the real-valued batch-norm threshold tau, up to the
    # float32 rounding of alpha * acc that the bisection accounts for.
    norm, alpha = model.norms[0], layers[0].row_scale()[0].double().numpy()
    g, b = norm.weight.detach().double().numpy(), norm.bias.detach().double().numpy()
    tau = norm.running_mean.double().numpy() - b * np.sqrt(norm.running_var.double().numpy() + norm.eps) / g
    lo, hi = accumulator_range(tnn.weights[0], 0)
    ok = (g > 0) & (alpha > 0)
    expected = np.ceil(tau[ok] / alpha[ok])
    inside = (expected > lo[ok]) & (expected <= hi[ok])
    assert inside.sum() >= 5
    assert np.all(np.abs(tnn.thresholds[0][ok][inside] - expected[inside]) <= 1)
    assert len(np.unique(alpha)) > 30 and alpha[5] == 0


def test_float_export_multiplies_the_scale_into_s():
    torch.manual_seed(1)
    model = FloatMLP(64, (32,), 10, x_scale=1 / 255, x_offset=-0.5)
    for layer in ternary_layers(model):
        layer.set_quantizer("prox-single", per_filter=True)
        layer.prune_()  # stage transition: W <- prox(W)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for norm in [*model.norms, model.out_norm]:
            norm.weight.copy_(torch.randn(norm.num_features, generator=gen))
            norm.running_mean.copy_(torch.randn(norm.num_features, generator=gen))
            norm.running_var.copy_(torch.rand(norm.num_features, generator=gen) + 0.5)
    tnn = export(model)
    for layer, norm, s, b in zip(ternary_layers(model), [*model.norms, model.out_norm], tnn.scales, tnn.biases):
        alpha = layer.row_scale()[0]
        s_bn = norm.weight.detach().double() / torch.sqrt(norm.running_var.double() + norm.eps)
        assert np.array_equal(s, (s_bn * alpha.double()).float().numpy())
        assert np.array_equal(b, (norm.bias.detach().double() - norm.running_mean.double() * s_bn).float().numpy())
    pixels = np.random.default_rng(1).integers(0, 256, (500, 64)).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["prediction_agreement"] >= 0.99


def test_binary_two_scale_rows_become_weighted_layers():
    """W_p != W_n in a binary network: kp{l}/kn{l} layers, close to PyTorch (not exact);
    W_p == W_n: ordinary layers again, exact."""
    torch.manual_seed(3)
    model = BinaryMLP(64, (16, 16), 10)
    for layer in ternary_layers(model):
        layer.set_quantizer("ttq-threshold")
    _randomise_batch_norms(model, torch.Generator().manual_seed(3))
    with torch.no_grad():
        for layer in ternary_layers(model):
            layer.quantizer.wn.mul_(0.37)  # W_p != W_n, clearly
    model.eval()
    tnn = export(model)
    assert tnn.weighted and [tnn.row_weight(l) is not None for l in range(3)] == [True, True, True]
    kp, kn = tnn.row_weight(0)
    wp, wn = (v.numpy() for v in list(ternary_layers(model))[0].row_scales())
    neg = model.norms[0].weight.detach().numpy() < 0  # negated rows swap W_p and W_n
    ratio = np.where(neg, wn / wp, wp / wn)
    np.testing.assert_allclose(kp / kn, ratio, rtol=1e-3)
    assert kp.max() <= 32767 and kn.max() <= 32767 and max(kp.max(), kn.max()) >= 2**13
    pixels = np.random.default_rng(3).integers(0, 256, (2000, 64)).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert sum(r["hidden_bit_mismatches"]) <= 1e-3 * 2000 * 32
    # Outputs: the golden model's integers are the logits times one positive factor
    # (the argmax can differ only where PyTorch's own float32 rounding splits a tie).
    logits, _ = torch_forward(model, pixels)
    outputs, _ = forward(tnn, pixels)
    factor = np.median(logits[outputs != 0] / outputs[outputs != 0])
    np.testing.assert_allclose(outputs * factor, logits, rtol=1e-3, atol=1e-4 * np.abs(logits).max())
    with torch.no_grad():  # W_p == W_n: one scale per neuron again
        for layer in ternary_layers(model):
            layer.quantizer.wn.copy_(layer.quantizer.wp)
    tnn = export(model)
    assert not tnn.weighted
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"] and r["prediction_agreement"] == 1.0
    dual = FloatMLP(64, (16,), 10)
    for layer in ternary_layers(dual):
        layer.set_quantizer("prox-dual", per_filter=True)
        layer.prune_()
    tnn = export(dual)  # float: a two-scale layer of the model file (sn{l})
    assert tnn.asymmetric and tnn.neg_scale(0) is not None


@pytest.mark.parametrize("method", ["prox-single", "incremental"])
def test_layers_still_in_full_precision_are_refused(method):
    model = FloatMLP(64, (16,), 10)
    for layer in ternary_layers(model):
        layer.set_quantizer(method)
    with pytest.raises(ExportError) as err:
        export(model)
    state = "{'phase': 'full-precision'}" if method == "prox-single" else "{'round': 0, 'rounds': 3, 'q': 0.0}"
    assert str(err.value) == f"layer 0 ({method}): not all weights are ternary yet ({state})"


def test_binary_output_layer_with_distinct_scales_becomes_weighted():
    """Per-neuron output scales: raw accumulations would not keep the argmax, so the
    output layer gets integer weights with one common power of two."""
    torch.manual_seed(4)
    model = BinaryMLP(64, (16,), 10)
    for layer in ternary_layers(model):
        layer.set_quantizer("twn", per_filter=True)
    model.eval()
    tnn = export(model)
    assert tnn.row_weight(0) is None and tnn.row_weight(1) is not None
    kp, kn = tnn.row_weight(1)
    assert np.array_equal(kp, kn) and len(np.unique(kp)) > 1
    pixels = np.random.default_rng(4).integers(0, 256, (2000, 64)).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"] and r["prediction_agreement"] >= 0.995


def test_torch_argmax_takes_the_first_maximum():
    # The binary export relies on torch and numpy agreeing on ties.
    logits = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    assert logits.argmax(1).tolist() == [1, 0]
    assert np.argmax(logits.numpy(), 1).tolist() == [1, 0]
