"""Export to tnn-model-v1: exact for binary networks (every hidden bit), close for float ones."""

import numpy as np
import pytest
import torch

from sw.configs import get_config
from sw.export import ExportError, compare, export, torch_forward
from sw.golden import forward, predict
from sw.model_file import accumulator_range
from sw.models import BinaryMLP, FloatMLP, VGGSmall
from sw_fixtures import tiny_out, tiny_run  # noqa: F401  (fixtures)


def _randomise_batch_norms(model, gen):
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
    _randomise_batch_norms(model, gen)
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
    with pytest.raises(ExportError, match="MLPs only"):
        export(VGGSmall((8, 8), 10, etas=0.5))
    with pytest.raises(ExportError, match="float weights"):
        export(BinaryMLP(64, (8,), 10, weights="float"))


def test_checkpoint_restores_the_exported_network(tiny_run, tiny_out):
    report, model, tnn, ds = tiny_run
    ckpt = torch.load(tiny_out / "checkpoints" / "tiny" / "retrain1.pt", weights_only=True)
    assert ckpt["stage"] == "retrain1" and ckpt["config"]["name"] == "tiny"
    for a, b in zip(model.state_dict().values(), ckpt["state_dict"].values()):
        assert torch.equal(a, b)
    assert ckpt["config"] == get_config("tiny").to_dict()
