"""sw.interop on QONNX graphs: FINN's TFC_1W1A (import, check against the executor;
in RTL: tests/test_report_interop_tfc.py), the refusals (exit 2, one line naming the node, nothing written), and the
export-qonnx round trip (import(export(m)) == m, every array)."""

import json

import numpy as np
import pytest

pytest.importorskip("qonnx")

from cli_fixtures import refused  # noqa: E402
from interop_fixtures import tfc  # noqa: E402
from sw.golden import forward, predict  # noqa: E402
from sw.interop import cli  # noqa: E402
from sw.interop.check import check, check_inputs, executor_forward  # noqa: E402
from sw.interop.qonnx_import import import_qonnx  # noqa: E402
from sw.model_file import accumulator_range, load_model, save_model  # noqa: E402
from sw.synthetic import random_binary_model, random_float_model  # noqa: E402

PRETRAINED = "sw/pretrained/fmnist-mlp-binary-small.npz"


# --------------------------------------------------------------------------- TFC_1W1A


def test_tfc_1w1a_imports_and_agrees_with_the_executor(tmp_path, capsys):
    out = tmp_path / "tfc.npz"
    assert cli.main(["import-qonnx", str(tfc("TFC_1W1A")), "-o", str(out), "--check", "100"]) == 0
    summary = json.loads(capsys.readouterr().out.strip())
    assert summary["written"] and summary["input_threshold"] == 128  # 2 p/255 - 1 >= 0 iff p >= 128
    assert summary["layers"] == [[64, 784], [64, 64], [64, 64], [10, 64]]
    result = summary["check"]
    assert result["agree"] and result["images"] == 100 and result["prediction_agreement"] == 1.0
    assert result["hidden_bit_mismatches"] == [0, 0, 0] and result["output_mismatches"] == 0
    model = load_model(out)
    assert model.activation == "binary" and model.input_threshold == 128
    assert all(set(np.unique(w)) == {-1, 1} for w in model.weights)  # binary weights


# --------------------------------------------------------------------------- refusals


def _graph(tmp_path, nodes, inits, n_in=4, n_out=3, name="g.onnx"):
    """A hand-made QONNX graph with input ``global_in`` [1, n_in] and output ``y``."""
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n_out])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    model.ir_version = 8
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


def _quant(name, w, out, bits=2.0, **attrs):
    from onnx import helper
    attrs = {"signed": 1, "narrow": 1, "rounding_mode": "ROUND", **attrs}
    return helper.make_node("Quant", [w, f"{name}_s", f"{name}_z", f"{name}_b"], [out], name=name,
                            domain="qonnx.custom_op.general", **attrs), \
        {f"{name}_s": 0.5, f"{name}_z": 0.0, f"{name}_b": bits}


def _mlp(tmp_path, bits=2.0, mid="BipolarQuant", out_scale=None, name="g.onnx", **quant_attrs):
    """global_in -> MatMul(Quant W0) -> Add -> (mid) -> MatMul(Quant W1) [-> Mul] -> y."""
    from onnx import helper
    rng = np.random.default_rng(0)
    q0, i0 = _quant("QuantW0", "W0", "w0q", bits, **quant_attrs)
    q1, i1 = _quant("QuantW1", "W1", "w1q")
    inits = {"W0": rng.normal(size=(4, 5)), "W1": rng.normal(size=(5, 3)), "c0": 0.13 * np.ones(5),
             "one": np.float32(1.0), **i0, **i1}
    nodes = [q0, q1, helper.make_node("MatMul", ["global_in", "w0q"], ["h0"], name="MatMul0"),
             helper.make_node("Add", ["h0", "c0"], ["h1"], name="Add0")]
    nodes.append(helper.make_node(mid, ["h1", "one"] if mid == "BipolarQuant" else ["h1"], ["h2"], name="Act0",
                                  **({"domain": "qonnx.custom_op.general"} if mid == "BipolarQuant" else {})))
    nodes.append(helper.make_node("MatMul", ["h2", "w1q"], ["h3" if out_scale is not None else "y"],
                                  name="MatMul1"))
    if out_scale is not None:
        inits["k"] = out_scale
        nodes.append(helper.make_node("Mul", ["h3", "k"], ["y"], name="OutScale"))
    return _graph(tmp_path, nodes, inits, name=name)


def test_2_bit_activations_are_refused_naming_the_node(tmp_path, capsys):
    out = tmp_path / "net.npz"
    for name in ("TFC_2W2A", "TFC_1W2A"):
        refused(capsys, cli.main, ["import-qonnx", tfc(name), "-o", out],
                "Quant_4: 2-bit activations (Quant, signed, narrow); the engines take binary (BipolarQuant) "
                "or float (Relu) activations" if name == "TFC_2W2A" else
                "Quant_0: 2-bit activations (Quant, signed, narrow); the engines take binary (BipolarQuant) "
                "or float (Relu) activations", out)


def test_refusals_name_the_node_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "net.npz"
    cases = [
        (_mlp(tmp_path, bits=4.0, name="g0.onnx"), "Quant_0: 4-bit signed narrow weights; the engines take ternary weights "
                                   "(Quant bitwidth 2, signed, narrow range) or binary ones (BipolarQuant)"),
        (_mlp(tmp_path, narrow=0, name="g1.onnx"), "Quant_0: 2-bit signed weights; the engines take ternary weights "
                                   "(Quant bitwidth 2, signed, narrow range) or binary ones (BipolarQuant)"),
        (_mlp(tmp_path, mid="Tanh", name="g2.onnx"), "Tanh_0: unsupported op Tanh"),
        (_mlp(tmp_path, out_scale=np.array([1.0, 2.0, 3.0]), name="g3.onnx"),
         "Mul_0: per-class constants after the output layer; int32 scores keep one positive scale and "
         "offset for all classes"),
        (_mlp(tmp_path, out_scale=np.float32(-2.0), name="g4.onnx"),
         "Mul_0: the outputs are -1 times the scores: not a positive scale, argmax would not be kept"),
        (tmp_path / "missing.onnx", f"model: cannot read {tmp_path / 'missing.onnx'}: No such file or directory"),
    ]
    (tmp_path / "garbage.onnx").write_bytes(b"not an onnx model")
    cases.append((tmp_path / "garbage.onnx", f"model: cannot read {tmp_path / 'garbage.onnx'}: not an ONNX model"))
    for path, message in cases:
        refused(capsys, cli.main, ["import-qonnx", path, "-o", out], message, out)
    good = _mlp(tmp_path)
    refused(capsys, cli.main, ["import-qonnx", good, "-o", out, "--input-scale", "0"],
            "input-scale: must be positive, got '0'", out)
    refused(capsys, cli.main, ["import-qonnx", good, "-o", out, "--check", "-1"], "check: must be >= 0, got -1", out)
    refused(capsys, cli.main, ["import-qonnx", good], "out: required", out)


def test_a_hand_made_binary_graph_imports_and_agrees(tmp_path, capsys):
    out = tmp_path / "net.npz"
    assert cli.main(["import-qonnx", str(_mlp(tmp_path, out_scale=np.float32(0.25))), "-o", str(out),
                     "--check", "50", "--summary", str(tmp_path / "s.json")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["check"]["inputs"] == "random pixels (seed 0)" and summary["check"]["agree"]
    assert json.loads((tmp_path / "s.json").read_text()) == summary
    assert load_model(out).activation == "binary"


# --------------------------------------------------------------------------- export-qonnx


def _round_trip(model, tmp_path, name="m"):
    save_model(tmp_path / f"{name}.npz", model)
    assert cli.main(["export-qonnx", str(tmp_path / f"{name}.npz"), "-o", str(tmp_path / f"{name}.onnx")]) == 0
    imported = import_qonnx(tmp_path / f"{name}.onnx")
    a, b = model.to_arrays(), imported.model.to_arrays()
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
    return imported


def _tiny_models():
    rng = np.random.default_rng(11)
    return {"binary": random_binary_model(rng, [784, 12, 9, 10], 0.3),
            "binary-input": random_binary_model(rng, [784, 10, 10], 0.3, input_threshold=77),
            "float": random_float_model(rng, [784, 12, 10], 0.3)}


def test_export_round_trip_is_exact_and_the_executor_predicts_as_the_golden_model(tmp_path, capsys):
    models = {"pretrained": load_model(PRETRAINED), **_tiny_models()}
    pixels, _ = check_inputs(200, 784)
    for name, model in models.items():
        imported = _round_trip(model, tmp_path, name)
        capsys.readouterr()
        result = check(imported, pixels)
        assert result["agree"] and result["prediction_agreement"] == 1.0, (name, result)
        executor, _ = executor_forward(imported, pixels)
        np.testing.assert_array_equal(predict(executor), predict(forward(model, pixels)[0]))


def test_export_clamps_out_of_range_thresholds_and_refuses_two_scales_per_row(tmp_path, capsys):
    model = _tiny_models()["binary"]
    lo, hi = accumulator_range(model.weights[1], 1)
    model.thresholds[1][:2] = [-2**31, 2**31 - 1]
    save_model(tmp_path / "m.npz", model)
    assert cli.main(["export-qonnx", str(tmp_path / "m.npz"), "-o", str(tmp_path / "m.onnx")]) == 0
    back = import_qonnx(tmp_path / "m.onnx").model
    assert back.thresholds[1][:2].tolist() == [lo[0], hi[1] + 1]  # the same constant bits
    pixels, _ = check_inputs(50, 784)
    assert np.array_equal(forward(back, pixels)[0], forward(model, pixels)[0])
    capsys.readouterr()
    out = tmp_path / "w.onnx"
    rng = np.random.default_rng(2)
    save_model(tmp_path / "w.npz", random_binary_model(rng, [16, 4, 3], 0.5, weighted=(1,), k_max=9))
    refused(capsys, cli.main, ["export-qonnx", tmp_path / "w.npz", "-o", out],
            "kp1: weighted binary layers have no QONNX form here (two scales per row)", out)
    save_model(tmp_path / "a.npz", random_float_model(rng, [16, 4, 3], 0.5, asymmetric=(0,)))
    refused(capsys, cli.main, ["export-qonnx", tmp_path / "a.npz", "-o", out],
            "sn0: asymmetric float layers have no QONNX form here (two scales per row)", out)
    refused(capsys, cli.main, ["export-qonnx", tmp_path / "missing.npz", "-o", out],
            f"model: cannot read {tmp_path / 'missing.npz'}: No such file or directory", out)
