"""Export of VGG-style CNNs: batch norm folded per output channel, exact for binary
activations, ~1e-6 for float ones; the geometry written to the model file."""

import numpy as np
import pytest
import torch

from sw.conv_shapes import ConvSpec
from sw.export import ExportError, compare, export, torch_forward
from sw.golden import forward
from sw.model_file import load_model, save_model
from sw.models import VGGSmall
from sw.quant import ternary_layers
from sw_fixtures import digits  # noqa: F401  (fixture)


def _net(ds, activation, features=(5, "M", 6, 7, "M"), seed=0):
    """An untrained CNN with realistic batch-norm statistics and random (some negative)
    batch-norm scales, so thresholds land everywhere and rows get negated."""
    torch.manual_seed(seed)
    m = VGGSmall(ds.image_shape, 10, features=features, fc=12, activation=activation, etas=0.5)
    x = torch.from_numpy(ds.train_x[:600].astype(np.float32))
    m.train()
    with torch.no_grad():
        for i in range(0, 600, 100):
            m(x[i:i + 100])
        for mod in m.modules():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                mod.weight.copy_(torch.randn_like(mod.weight))
                mod.bias.copy_(0.3 * torch.randn_like(mod.bias))
    return m.eval()


@pytest.mark.parametrize("features", [(5, "M", 6, 7, "M"), (4, 6, "M")])
def test_binary_cnn_exports_exactly(digits, tmp_path, features):  # noqa: F811
    torch.set_num_threads(1)
    m = _net(digits, "binary", features)
    tnn = load_model(save_model(tmp_path / "cnn.npz", export(m)))
    n_conv = sum(1 for f in features if f != "M")
    assert tnn.input_shape == (1, 8, 8) and tnn.n_layers == n_conv + 2
    assert all(tnn.conv(l) == ConvSpec(3, 3, 1, 1, 1, 1) for l in range(n_conv)) and tnn.conv(n_conv) is None
    assert [tnn.pool(l) for l in range(n_conv)] == m.pools
    r = compare(m, tnn, digits.test_x, digits.test_y)
    assert r["hidden_bits_equal"] and r["prediction_agreement"] == 1.0, r
    assert len(r["hidden_bit_mismatches"]) == n_conv + 1
    # the golden model's conv hidden layers are PyTorch's, flattened (C, H, W)
    _, t_hidden = torch_forward(m, digits.test_x[:50])
    _, g_hidden = forward(tnn, digits.test_x[:50])
    for t, g in zip(t_hidden, g_hidden):
        np.testing.assert_array_equal((t >= 0).astype(np.uint8), g)


def test_float_cnn_exports_within_about_1e6(digits):  # noqa: F811
    torch.set_num_threads(1)
    m = _net(digits, "float")
    tnn = export(m)
    assert tnn.activation == "float" and len(tnn.scales) == tnn.n_layers and tnn.scales[0].shape == (5,)
    r = compare(m, tnn, digits.test_x, digits.test_y, lanes=4)
    assert r["prediction_agreement"] == 1.0 and r["output_max_rel_diff"] < 1e-5, r
    logits, t_hidden = torch_forward(m, digits.test_x)
    out, g_hidden = forward(tnn, digits.test_x, 8)
    for t, g in zip(t_hidden, g_hidden):
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-5 * float(np.abs(t).max()))


def test_two_scale_conv_layers_are_refused(digits):  # noqa: F811
    m = _net(digits, "binary")
    layer = next(ternary_layers(m))
    layer.set_quantizer("ttq-threshold")
    with torch.no_grad():
        layer.quantizer.wp.fill_(0.7)
        layer.quantizer.wn.fill_(0.4)
    with pytest.raises(ExportError) as e:
        export(m)
    assert str(e.value) == "layer 0 (ttq-threshold): two-scale conv layers are not supported (W_p != W_n)"
