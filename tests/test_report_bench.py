"""``make bench``'s path on the tiny configs: train, validate in RTL, roofline, report
(report/bench.py); and its refusals of bad input, before anything is written."""

import json
import re

import pytest

from report import bench


def test_bench_on_tiny_configs(tmp_path):
    out = tmp_path / "bench"
    code = bench.main(["--configs", "tiny,tiny-float,tiny-cnn-binary", "--images", "20", "--reuse", "4",
                       "--jobs", "2", "--out", str(out), "--models", str(tmp_path / "models"),
                       "--no-synth"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["ok"] and set(report["models"]) == {"tiny", "tiny-float", "tiny-cnn-binary"}
    for m in report["models"].values():
        assert m["bit_exact"] == m["images"] == 20
        assert m["hw_accuracy"] == m["sw_accuracy"] > 0.5
        assert m["validation"]["sim_processes"] == 2
        assert m["cycles_per_batch"]["measured"] >= m["cycles_per_batch"]["ideal"] > 0
        assert m["roofline"]["effective_tops"]["paper"] > 0
        assert m["trained_now"] and m["reuse"] == 4
    cnn = report["models"]["tiny-cnn-binary"]["roofline"]
    assert [layer["pixels"] for layer in cnn["layers"]] == [64, 16, 1, 1]  # 8x8, then 4x4 after a pool
    assert report["versions"]["amaranth"] and report["git"]["commit"]
    assert report["synthesis"] is None
    md = (out / "REPORT.md").read_text()
    assert md.splitlines()[4].startswith("| | `tiny` | `tiny-float` |")  # the table comes first
    for plot in report["plots"]:
        assert (out / plot.split("/")[-1]).stat().st_size > 1000
    # A second run reuses the trained models (same configs).
    code = bench.main(["--configs", "tiny", "--images", "4", "--out", str(out),
                       "--models", str(tmp_path / "models"), "--no-synth", "--jobs", "1"])
    assert code == 0
    second = json.loads((out / "report.json").read_text())
    assert not second["models"]["tiny"]["trained_now"]
    assert second["settings"]["reuse"] == {"tiny": bench.REUSE} and second["models"]["tiny"]["reuse"] == 8


def test_synthesis_summary_stays_in_the_bench_folder(tmp_path, monkeypatch):
    """The bench's synthesis (sized for its binary model) must not replace the
    summary ``make roofline`` writes for the README."""
    from cost import synth
    from sw.configs import get_config
    seen = {}
    monkeypatch.setattr(synth, "run_all", lambda **kw: seen.update(kw) or "summary")
    trained = {name: type("T", (), {"npz": tmp_path / f"{name}.npz"})() for name in ("tiny", "tiny-float")}
    assert bench._synthesise([get_config("tiny")], trained, tmp_path, log=None) == "summary"
    assert seen["summary_path"] == tmp_path / "synth-summary.json"
    assert seen["model_path"] == tmp_path / "tiny.npz" and "out" not in seen
    assert seen["float_model_path"] == synth.DEFAULT_FLOAT_MODEL
    bench._synthesise([get_config("tiny"), get_config("tiny-float")], trained, tmp_path, log=None)
    assert seen["float_model_path"] == tmp_path / "tiny-float.npz"


def test_reuse_per_config():
    assert bench.reuse_for("fmnist-cnn-binary", None) == 32
    assert bench.reuse_for("fmnist-mlp-binary", None) == bench.REUSE == 8
    assert bench.reuse_for("fmnist-cnn-binary", 4) == 4


@pytest.mark.parametrize("argv, message", [
    (["--configs", "no-such-config"],
     r"configs: unknown config 'no-such-config' \(known: .*fmnist-mlp-binary.*\)"),
    (["--configs", ","], "configs: none given"),
    (["--images", "0"], "images: must be >= 1, got 0"),
    (["--reuse", "0"], "reuse: must be >= 1, got 0"),
    (["--jobs", "0"], "jobs: must be >= 1, got 0"),
    (["--jobs", "two"], "jobs: invalid int value: 'two'"),
])
def test_bench_refuses_bad_arguments(tmp_path, capsys, argv, message):
    try:
        code = bench.main([*argv, "--out", str(tmp_path / "b"), "--no-synth"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert re.fullmatch(f"error: {message}\n", capsys.readouterr().err)
    assert not (tmp_path / "b").exists()


def test_bench_refuses_a_missing_data_set(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TNN_DATA", str(tmp_path / "no-data"))
    assert bench.main(["--configs", "fmnist-mlp-binary", "--out", str(tmp_path / "b"),
                       "--models", str(tmp_path / "models"), "--no-synth"]) == 2
    assert capsys.readouterr().err == (
        f"error: data: {tmp_path / 'no-data'}: no train-images-idx3-ubyte[.gz] (set TNN_DATA to "
        "a directory with the IDX files, or install the Debian package dataset-fashion-mnist)\n")
    assert not (tmp_path / "b").exists() and not (tmp_path / "models").exists()


def test_bench_refuses_an_unreadable_stored_model(tmp_path, capsys):
    models = tmp_path / "models" / "models"
    models.mkdir(parents=True)
    (models / "tiny.npz").write_bytes(b"")
    (models / "tiny.json").write_text("garbage")
    assert bench.main(["--configs", "tiny", "--out", str(tmp_path / "b"),
                       "--models", str(tmp_path / "models"), "--no-synth"]) == 2
    assert capsys.readouterr().err == (
        f"error: models: cannot parse {models / 'tiny.json'}: "
        "Expecting value: line 1 column 1 (char 0)\n")
    assert not (tmp_path / "b").exists()
