"""``python -m cost.roofline`` and the per-network roofline (cost/roofline.py)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cost import roofline
from cost.gamma import LayerSparsity
from cost.throughput import DEVICES, PAPER, Cost, effective_tops
from cost_fixtures import ECP5_FLOW, block, fake_blocks, fake_summary, placed_blocks

KU115 = DEVICES["ku115"]
ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("argv, message", [
    (["--device", "ku999"], r"device: invalid choice: 'ku999' \(choose from .*'?ku115'?.*\)"),
    (["--gamma", "0"], r"gamma: must be a number in \(0, 1\], got '0'"),
    (["--gamma", "1.5"], r"gamma: must be a number in \(0, 1\], got '1.5'"),
    (["--gamma", "nan"], r"gamma: must be a number in \(0, 1\], got 'nan'"),
    (["--gamma", "abc"], r"gamma: must be a number in \(0, 1\], got 'abc'"),
    (["--reuse", "0"], r"reuse: must be an integer >= 1, got '0'"),
    (["--reuse", "-2"], r"reuse: must be an integer >= 1, got '-2'"),
    (["--reuse", "2.5"], r"reuse: must be an integer >= 1, got '2.5'"),
])
def test_cli_bad_arguments_exit_2_naming_the_argument(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        roofline.main(argv + ["--json"])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and re.fullmatch(f"error: {message}\n", err)


def test_cli_missing_summary_is_an_error(tmp_path, capsys):
    path = tmp_path / "none.json"
    assert roofline.main(["--json", "--plots", "--plot-dir", str(tmp_path / "plots"),
                          "--summary", str(path)]) == 2
    assert capsys.readouterr() == (
        "", f"error: summary: cannot read {path}: No such file or directory\n")
    assert not (tmp_path / "plots").exists()


def test_cli_garbage_summary_is_an_error(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text("{")
    assert roofline.main(["--markdown", "--summary", str(path)]) == 2
    assert capsys.readouterr() == (
        "", f"error: summary: cannot parse {path}: "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)\n")


def test_cli_explicit_missing_model_is_an_error_before_plotting(tmp_path, capsys):
    path = tmp_path / "none.npz"
    assert roofline.main(["--plots", "--plot-dir", str(tmp_path / "plots"),
                          "--model", str(path)]) == 2
    assert capsys.readouterr().err.endswith(
        f"error: model: cannot read {path}: No such file or directory\n")
    assert not (tmp_path / "plots").exists()


def test_cli_markdown_needs_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert roofline.main(["--markdown"]) == 2
    assert capsys.readouterr().err == (
        "note: no synthesis summary at build/synth/summary.json; measured values are null "
        "(run python -m cost.synth)\n"
        "error: summary: --markdown needs one; there is none at build/synth/summary.json "
        "(run python -m cost.synth)\n")


def test_cli_json_without_summary(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cost.roofline", "--device", "KU115", "--json", "--gamma", "0.1",
         "--reuse", "16"], capture_output=True, text=True, check=True, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    rep = json.loads(proc.stdout)
    assert "no synthesis summary at build/synth/summary.json" in proc.stderr
    assert rep["peak_tops_printed"] == {"binary": 46.4, "float": 1.3}
    assert rep["measured"] is None and rep["fmax_measured"] is False
    assert rep["effective_tops"]["paper"]["binary"] == pytest.approx(
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, 0.1, 16))
    assert list(rep["effective_tops"]) == ["paper", "measured_sparse", "measured_dense_bnn_peak"]
    assert rep["effective_tops"]["measured_sparse"] is None
    assert rep["effective_tops"]["measured_dense_bnn_peak"] is None


def test_cli_json_with_summary(tmp_path, capsys):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(fake_summary().to_json()))
    assert roofline.main(["--json", "--summary", str(path), "--gamma", "0.05", "--reuse", "4"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert list(rep) == ["device", "gamma", "reuse", "ops_per_mac", "paper_constants",
                         "peak_tops", "peak_tops_printed", "effective_tops", "breakeven_gamma",
                         "measured", "fmax_measured", "measured_peak_tops"]
    m = rep["measured"]
    assert m["decoder_luts"] == 150
    assert m["pe_luts_per_mac"]["xnor"] == 34
    assert m["fp32_add_dsps"] == 0 and m["fp32_mul_luts"] == 455
    assert m["logic_levels"]["decoder"] == {"lut": 7, "total": 8}
    c_op = m["pe_luts_per_mac"]["engine_slope"]
    assert c_op == pytest.approx(80.0)
    assert rep["effective_tops"]["measured"]["binary"] == pytest.approx(
        effective_tops(KU115, Cost(luts=c_op), Cost(luts=150), 0.05, 4))
    assert list(rep["measured_peak_tops"]) == ["binary", "xnor", "int8", "float"]
    # an older summary: no dense units, nothing placed on the ECP5
    assert list(rep["effective_tops"]) == ["paper", "measured", "measured_sparse",
                                           "measured_dense_bnn_peak"]
    assert rep["effective_tops"]["measured_sparse"] == rep["effective_tops"]["measured"]["binary"]
    assert rep["effective_tops"]["measured_dense_bnn_peak"] is None
    assert m["dense_bnn"] is None and m["ecp5"] is None
    assert m["binary_engine"] == {"luts_per_mac": c_op, "lanes": 1, "fmax_mhz": {"ecp5": None}}


def test_cli_json_with_dense_units_and_ecp5_results(tmp_path, capsys):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(fake_summary(placed_blocks(), ecp5=ECP5_FLOW).to_json()))
    assert roofline.main(["--json", "--summary", str(path), "--gamma", "0.05", "--reuse", "32"]) == 0
    rep = json.loads(capsys.readouterr().out)
    m, tops = rep["measured"], rep["effective_tops"]
    assert m["binary_engine"] == {"luts_per_mac": pytest.approx(80.0), "lanes": 1,
                                  "fmax_mhz": {"ecp5": 63.0}}
    assert m["dense_bnn"] == {"luts_per_mac": pytest.approx(2.5), "fmax_mhz": {"ecp5": 120.0}}
    assert tops["measured_sparse"] == pytest.approx(
        effective_tops(KU115, Cost(luts=80.0), Cost(luts=150), 0.05, 32))
    assert tops["measured_dense_bnn_peak"] == pytest.approx(
        effective_tops(KU115, Cost(luts=2.5)))
    assert rep["fmax_measured"] is False and list(rep["measured_peak_tops"]) == [
        "binary", "xnor", "int8", "float"]


def test_cli_text_and_markdown(tmp_path, capsys):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(fake_summary().to_json()))
    assert roofline.main(["--summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "measured effective TOPs: binary" in out
    assert "  measured sparse binary engine: " in out and "dense BNN peak" not in out
    assert roofline.main(["--summary", str(path), "--markdown"]) == 0
    assert "| Decoder C_d (LUTs), one lane | 112 | 150 |" in capsys.readouterr().out


def test_model_roofline_per_layer_and_overall():
    layers = [LayerSparsity("fc0", 10, 100), LayerSparsity("fc1", 0, 50)]
    r = roofline.model_roofline(layers, "binary", 8, fake_summary())
    assert r["gamma"] == 10 / 150 and [x["gamma"] for x in r["layers"]] == [0.1, 0.0]
    assert r["measured_mac"] == {"luts": pytest.approx(80.0), "dsps": 0.0}
    assert r["effective_tops"]["measured"] == pytest.approx(
        effective_tops(KU115, Cost(luts=80.0), Cost(luts=150), 10 / 150, 8))
    # a layer without nonzeros is costed as one nonzero
    assert r["layers"][1]["effective_tops"]["paper"] == pytest.approx(
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, 1 / 50, 8))
    paper_only = roofline.model_roofline(layers, "float", 8, None)
    assert paper_only["measured_mac"] is None and paper_only["measured_decoder"] is None
    assert "measured" not in paper_only["effective_tops"]
    assert paper_only["paper_mac"] == {"luts": 0.0, "dsps": 2}


def test_model_roofline_of_a_weighted_binary_network():
    without = roofline.model_roofline([LayerSparsity("w0", 1, 4)], "binary", 8, fake_summary(),
                                      weighted=True)
    assert without["measured_mac"] is None  # the summary has no weighted PE
    blocks = fake_blocks() | {"pe_weighted": block("pe_weighted", 181, dsps=1)}
    r = roofline.model_roofline([LayerSparsity("w0", 1, 4)], "binary", 8, fake_summary(blocks),
                                weighted=True)
    assert r["measured_mac"] == {"luts": pytest.approx(80.0 + 181 - 34), "dsps": 1}
