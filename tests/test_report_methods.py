"""``make methods``' path on the tiny configs (report/methods.py): a two-scale (TTQ) network
trains, exports as asymmetric float layers (sn{l}) and weighted binary layers (kp{l}/kn{l}),
and both run bit-exactly in RTL; and the refusals of bad input, before anything is written."""

import json
import re

import pytest

from report import methods


def test_methods_on_tiny_ttq(tmp_path, capsys):
    out = tmp_path / "methods"
    code = methods.main(["--family", "tiny", "--methods", "ttq-threshold", "--activations",
                         "float,binary", "--images", "12", "--reuse", "4", "--jobs", "1",
                         "--out", str(out), "--models", str(tmp_path / "models")])
    assert code == 0
    entries = json.loads((out / "report.json").read_text())["entries"]
    by_act = {e["activation"]: e for e in entries}
    f, b = by_act["float"], by_act["binary"]
    assert f["exported"] and f["asymmetric"] and f["bit_exact"] == f["images"] == 12
    assert f["hw_accuracy"] == f["sw_accuracy"] > 0.5
    assert b["exported"] and b["weighted"] and b["bit_exact"] == b["images"] == 12
    assert b["hw_accuracy"] == b["sw_accuracy"] > 0.5
    assert not f["weighted"] and not b["asymmetric"]
    table = (out / "methods.md").read_text()
    assert "| ttq-threshold | float (asymmetric) |" in table and "| ttq-threshold | binary (weighted) |" in table
    assert f["asymmetric_layers"] > 0 and b["weighted_layers"] > 0  # the engines were built with them
    assert "not exportable" not in table
    # A second run with the same model file and settings reuses the RTL result.
    capsys.readouterr()
    assert methods.main(["--family", "tiny", "--methods", "ttq-threshold", "--activations", "float",
                         "--images", "12", "--reuse", "4", "--jobs", "1", "--out", str(out),
                         "--models", str(tmp_path / "models")]) == 0
    assert "reusing the RTL run" in capsys.readouterr().err


def test_cached_only_reports_networks_it_did_not_run(tmp_path, capsys):
    """--cached-only simulates nothing: a trained network without a stored RTL run is
    listed as not run, and the exit code says the table is incomplete."""
    out = tmp_path / "methods"
    code = methods.main(["--family", "tiny", "--methods", "twn", "--activations", "binary",
                         "--images", "4", "--reuse", "4", "--out", str(out), "--cached-only",
                         "--models", str(tmp_path / "models")])
    assert code == 1
    (entry,) = json.loads((out / "report.json").read_text())["entries"]
    assert entry["exported"] and entry["rtl_run"] is False and "images" not in entry
    assert "not run (--cached-only)" in (out / "methods.md").read_text()
    assert not (out / "work").exists()  # no simulation was prepared


@pytest.mark.parametrize("argv, message", [
    (["--methods", "no-such"], r"methods: unknown 'no-such' \(known: threshold, twn, .*\)"),
    (["--activations", "int4"], r"activations: unknown 'int4' \(known: float, binary\)"),
    (["--float-images", "0"], "float-images: must be >= 1, got 0"),
    (["--family", "x"], r"family: invalid choice: 'x' \(choose from .*\)"),
])
def test_methods_refuses_bad_arguments(tmp_path, capsys, argv, message):
    try:
        code = methods.main([*argv, "--out", str(tmp_path / "m")])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert re.fullmatch(f"error: {message}\n", capsys.readouterr().err)
    assert not (tmp_path / "m").exists()


def test_methods_refuses_a_missing_summary(tmp_path, capsys):
    path = tmp_path / "none.json"
    assert methods.main(["--family", "tiny", "--synth", str(path),
                         "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == f"error: synth: cannot read {path}: No such file or directory\n"
    assert not (tmp_path / "m").exists()


def test_methods_refuses_an_unreadable_summary(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text("garbage")
    assert methods.main(["--family", "tiny", "--synth", str(path),
                         "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == (
        f"error: synth: cannot parse {path}: Expecting value: line 1 column 1 (char 0)\n")
    assert not (tmp_path / "m").exists()
