"""``make bench``'s path on the tiny configs: train, validate in RTL, roofline, report."""

import json

import pytest

from sim import bench


def test_bench_on_tiny_configs(tmp_path):
    out = tmp_path / "bench"
    code = bench.main(["--configs", "tiny,tiny-float", "--images", "20", "--reuse", "4",
                       "--jobs", "2", "--out", str(out), "--models", str(tmp_path / "models"),
                       "--no-synth"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["ok"] and set(report["models"]) == {"tiny", "tiny-float"}
    for m in report["models"].values():
        assert m["bit_exact"] == m["images"] == 20
        assert m["hw_accuracy"] == m["sw_accuracy"] > 0.5
        assert m["validation"]["sim_processes"] == 2
        assert m["cycles_per_batch"]["measured"] >= m["cycles_per_batch"]["ideal"] > 0
        assert m["roofline"]["effective_tops"]["paper"] > 0
        assert m["trained_now"]
    assert report["versions"]["amaranth"] and report["git"]["commit"]
    md = (out / "REPORT.md").read_text()
    assert md.splitlines()[4].startswith("| | `tiny` | `tiny-float` |")  # the table comes first
    for plot in report["plots"]:
        assert (out / plot.split("/")[-1]).stat().st_size > 1000
    # A second run reuses the trained models (same configs).
    code = bench.main(["--configs", "tiny", "--images", "4", "--out", str(out),
                       "--models", str(tmp_path / "models"), "--no-synth", "--jobs", "1"])
    assert code == 0
    assert not json.loads((out / "report.json").read_text())["models"]["tiny"]["trained_now"]


@pytest.mark.parametrize("argv, field", [
    (["--configs", "no-such-config"], "configs"),
    (["--images", "0"], "images"),
    (["--reuse", "0"], "reuse"),
    (["--jobs", "0"], "jobs"),
])
def test_bench_refuses_bad_arguments(tmp_path, capsys, argv, field):
    assert bench.main([*argv, "--out", str(tmp_path / "b"), "--no-synth"]) == 2
    assert f"error: {field}" in capsys.readouterr().err
    assert not (tmp_path / "b" / "report.json").exists()
