"""Brevitas -> QONNX -> tnn-model-v1 -> RTL: small networks (ternary and binary weights,
binary and float activations, batch norm, binary inputs), trained a few steps,
exported with brevitas.export.export_qonnx, imported, checked against qonnx's
executor, and run through the RTL bit-exactly, whose outputs equal the
executor's up to the last layer's positive affine map (binary) or within 1e-4
relative (float)."""

import numpy as np
import pytest

pytest.importorskip("brevitas")

from brevitas_nets import INPUT_SCALE, Net, train_and_export  # noqa: E402
from interop_fixtures import rtl_outputs  # noqa: E402
from sw.golden import predict  # noqa: E402
from sw.interop.check import check, executor_forward, mapped_scores  # noqa: E402
from sw.interop.qonnx_import import import_qonnx  # noqa: E402
from sw.model_file import save_model  # noqa: E402

NETS = {  # name: (Net arguments, run in RTL: one binary and one float, each a Verilator build)
    "binary-ternary-bn": (dict(sizes=[784, 16, 12, 10], weights=["ternary-pot"] * 3, activation="binary"), True),
    "binary-weights-binary-input": (dict(sizes=[784, 16, 10], weights=["binary"] * 2, activation="binary",
                                         binary_input=True), False),  # in RTL: TFC_1W1A's test
    "binary-channel-scales": (dict(sizes=[784, 16, 10], weights=["ternary-channel", "ternary-pot"],
                                   activation="binary"), False),
    "float-ternary-bias": (dict(sizes=[784, 16, 10], weights=["ternary-channel"] * 2, activation="float",
                                out_bias=True), True),
    "float-binary-weights": (dict(sizes=[784, 16, 10], weights=["binary"] * 2, activation="float"), False),
}


@pytest.fixture(scope="module")
def images():
    """(train pixels, train labels, test pixels): Fashion-MNIST, else seeded random pixels."""
    from sw.data import load_dataset
    from sw.errors import InputError
    try:
        d = load_dataset("fmnist")
        return d.train_x[:256], d.train_y[:256], d.test_x[:100]
    except InputError:
        rng = np.random.default_rng(0)
        return (rng.integers(0, 256, (256, 784), dtype=np.uint8), rng.integers(0, 10, 256),
                rng.integers(0, 256, (100, 784), dtype=np.uint8))


@pytest.mark.parametrize("name", NETS)
def test_brevitas_network_imports_agrees_with_the_executor_and_runs_in_rtl(name, images, tmp_path):
    kwargs, in_rtl = NETS[name]
    train_x, train_y, test_x = images
    onnx_path = train_and_export(Net(**kwargs), tmp_path / f"{name}.onnx", train_x, train_y)
    imported = import_qonnx(onnx_path, INPUT_SCALE)
    model = imported.model
    assert model.activation == kwargs["activation"]
    assert [w.shape[0] for w in model.weights] == kwargs["sizes"][1:]
    assert model.input_threshold == (128 if kwargs.get("binary_input") else None)  # 2 p/256 - 1 >= 0
    result = check(imported, test_x)
    assert result["agree"], result
    if model.activation == "binary":
        assert result["hidden_bit_mismatches"] == [0] * (len(kwargs["sizes"]) - 2)
        assert result["output_mismatches"] == 0
    else:
        assert result["max_relative_error"] <= 1e-5
    if not in_rtl:
        return
    save_model(tmp_path / "net.npz", model)
    few = test_x[:8]
    rtl = rtl_outputs(tmp_path / "net.npz", few, tmp_path)
    executor, _ = executor_forward(imported, few)
    if model.activation == "binary":  # exact up to the graph's positive affine map of the scores
        np.testing.assert_array_equal(mapped_scores(imported, rtl), executor)
    else:
        scale = np.max(np.abs(executor), axis=1, keepdims=True)
        assert np.all(np.abs(rtl.astype(np.float64) - executor) <= 1e-4 * scale)
    np.testing.assert_array_equal(predict(rtl), predict(executor))
