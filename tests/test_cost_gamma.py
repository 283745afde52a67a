"""The share of nonzero weights, in one place (cost/gamma.py)."""

import json
import re

import numpy as np
import pytest

from cost import gamma
from sw.errors import InputError
from sw.model_file import load_model

SMALL = "sw/pretrained/fmnist-mlp-binary-small.npz"


def test_model_file_and_training_report_give_the_same_gamma():
    weights = load_model(SMALL).weights
    from_model = gamma.of_weights(weights)
    assert [ls.gamma for ls in from_model] == [float((w != 0).mean()) for w in weights]
    assert gamma.overall(from_model) == sum(int((w != 0).sum()) for w in weights) / sum(
        w.size for w in weights)
    report = {"layers": [{"name": f"fc{i}", "nonzeros": ls.nonzeros, "n_weights": ls.n_weights,
                          "shape": list(ls.shape)} for i, ls in enumerate(from_model)]}
    from_report = gamma.of_report(report)
    assert [ls.name for ls in from_report] == ["fc0", "fc1", "fc2"][:len(from_model)]
    assert [ls.gamma for ls in from_report] == [ls.gamma for ls in from_model]
    assert gamma.overall(from_report) == gamma.overall(from_model)


def test_of_model_file_reads_the_npz_else_the_report_beside_it(tmp_path):
    assert [ls.name for ls in gamma.of_model_file(SMALL)][:2] == ["w0", "w1"]
    (tmp_path / "m.json").write_text(json.dumps(
        {"layers": [{"name": "fc", "nonzeros": 3, "n_weights": 12}]}))
    (layer,) = gamma.of_model_file(tmp_path / "m.npz")
    assert (layer.name, layer.gamma) == ("w0", 0.25)
    assert gamma.of_model_file(tmp_path / "none.npz") is None


def test_of_model_file_refuses_a_garbage_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError, match=rf"^model: .*{re.escape(str(bad))}.*$"):
        gamma.of_model_file(bad)


def test_a_dense_layer_has_gamma_one():
    (layer,) = gamma.of_weights([np.ones((2, 3), dtype=np.int8)])
    assert (layer.nonzeros, layer.n_weights, layer.shape, layer.gamma) == (6, 6, (2, 3), 1.0)


def test_a_cnn_weighs_each_layer_by_its_macs(tmp_path):
    from sw.model_file import save_model
    from sw.synthetic import conv_preset
    model = conv_preset("odd", "binary")  # 7x9 -> 7x9 (pool 2x2) -> 3x4 -> 1x3 conv, then dense
    path = save_model(tmp_path / "cnn.npz", model)
    layers = gamma.of_model_file(path)
    assert [ls.pixels for ls in layers] == [63, 12, 1, 1]
    nnz = [int((w != 0).sum()) for w in model.weights]
    size = [w.size for w in model.weights]
    macs = [63, 12, 1, 1]
    assert gamma.overall(layers) == sum(n * p for n, p in zip(nnz, macs)) / sum(s * p for s, p in zip(size, macs))
