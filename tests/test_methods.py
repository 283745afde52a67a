"""``make methods``' path on the tiny configs: a two-scale (TTQ) network trains, exports
as asymmetric layers (float: sn{l}; binary: weighted kp{l}/kn{l}) and both run bit-exactly in RTL."""

import json

from sim import methods


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
    assert b["exported"] and b["asymmetric"] and b["bit_exact"] == b["images"] == 12
    assert b["hw_accuracy"] == b["sw_accuracy"] > 0.5
    table = (out / "methods.md").read_text()
    assert "| ttq-threshold | float (asymmetric) |" in table and "| ttq-threshold | binary (weighted) |" in table
    assert b["weighted"] and not f["weighted"]
    assert f["asymmetric_layers"] > 0 and b["asymmetric_layers"] > 0  # the engines were built with them
    assert "not exportable" not in table
    # A second run with the same model file and settings reuses the RTL result.
    capsys.readouterr()
    assert methods.main(["--family", "tiny", "--methods", "ttq-threshold", "--activations", "float",
                         "--images", "12", "--reuse", "4", "--jobs", "1", "--out", str(out),
                         "--models", str(tmp_path / "models")]) == 0
    assert "reusing the RTL run" in capsys.readouterr().err


def test_methods_refuses_unknown_names(capsys):
    assert methods.main(["--methods", "no-such"]) == 2
    assert "methods: unknown 'no-such'" in capsys.readouterr().err


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
