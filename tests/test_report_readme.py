"""README blocks are rewritten between their markers (report/readme.py)."""

import json
from pathlib import Path

import pytest

from report import readme
from sw.errors import InputError


def test_replace_block_fills_empty_and_full_blocks():
    text = "a\n<!-- x:start -->\n<!-- x:end -->\nb\n<!-- y:start -->\nold\nlines\n<!-- y:end -->\n"
    text = readme.replace_block(readme.replace_block(text, "x", "new"), "y", "y1\ny2")
    assert text == "a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n<!-- y:start -->\ny1\ny2\n<!-- y:end -->\n"
    assert readme.replace_block(text, "x", "again").count("again") == 1


def test_missing_block_is_an_error():
    with pytest.raises(InputError, match=r"^readme: no block 'z' \(<!-- z:start --> \.\.\. <!-- z:end -->\)$"):
        readme.replace_block("no markers here", "z", "body")


def _readme() -> str:
    return "".join(f"<!-- {name}:start -->\nold {name}\n<!-- {name}:end -->\n" for name in readme.BLOCKS)


def test_blocks_without_a_report_are_left_alone(tmp_path, capsys):
    (tmp_path / "build" / "sim").mkdir(parents=True)
    (tmp_path / "build" / "sim" / "summary.json").write_text('{"images": 8}')
    text = readme.render_blocks(_readme(), tmp_path / "build")
    assert '<!-- sim-summary:start -->\n```json\n{"images": 8}\n```\n<!-- sim-summary:end -->' in text
    assert "old bench" in text and "old roofline" in text
    assert "readme: no report for block 'bench'; left as is" in capsys.readouterr().err


def test_main_rewrites_readme(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text(_readme())
    (tmp_path / "build" / "sim").mkdir(parents=True)
    (tmp_path / "build" / "sim" / "summary.json").write_text(json.dumps({"bit_exact": 3}))
    assert readme.main([]) == 0
    assert '{"bit_exact": 3}' in (tmp_path / "README.md").read_text()


def test_missing_readme_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert readme.main([]) == 2
    assert capsys.readouterr().err == "error: readme: cannot read README.md: No such file or directory\n"


def test_unreadable_report_is_refused_and_readme_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text(_readme())
    (tmp_path / "build" / "synth").mkdir(parents=True)
    (tmp_path / "build" / "synth" / "summary.json").write_text("garbage")
    assert readme.main([]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: build: cannot parse build/synth/summary.json: Expecting value: line 1 column 1 (char 0)")
    assert (tmp_path / "README.md").read_text() == _readme()


def test_malformed_report_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text(_readme())
    (tmp_path / "build" / "bench").mkdir(parents=True)
    (tmp_path / "build" / "bench" / "report.json").write_text("{}")
    assert readme.main([]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: build: the report for block 'bench' is malformed (KeyError: 'git')")


def test_bad_argument_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        readme.main(["--no-such"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == "error: unrecognized arguments: --no-such\n"


def test_validate_table_reports_lanes_and_dense_macs_per_mac_slot(tmp_path):
    """A binary run at R = 2, K = 4 of the shipped model: 100 cycles per batch."""
    import json as json_
    from report.readme import validate_table
    from sw.model_file import load_model
    model = "sw/pretrained/fmnist-mlp-binary-small.npz"
    run = tmp_path / "validate-binary" / "r2"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json_.dumps({
        "model": model, "activation": "binary", "simulator": "verilator", "reuse": 2, "lanes": 4,
        "images": 4, "bit_exact": 4, "hw_accuracy": 0.5, "sw_accuracy": 0.5, "cycles": 200,
        "batches": 2, "cycles_ratio": 1.01, "compute_cycles_per_second": 1000, "sim_seconds": 1.0}))
    table = validate_table("validate-binary")(tmp_path)
    dense = sum(w.size for w in load_model(model).weights)
    assert table.splitlines()[0].startswith("| model | simulator | R | K |")
    assert table.splitlines()[2] == (f"| `fmnist-mlp-binary-small.npz` | verilator | 2 | 4 | 4 | 4 / 4 "
                                     f"| 0.5000 | 0.5000 | 100 | 1.0100 | {dense / 400:.2f} | 1,000 | 1.0 |")


def test_mlp_and_cnn_training_tables_are_separate_blocks(tmp_path):
    report = json.loads(Path("sw/pretrained/fmnist-mlp-binary-small.json").read_text())
    models = tmp_path / "build" / "models"
    models.mkdir(parents=True)
    for act in ("binary", "float"):
        (models / f"fmnist-cnn-{act}.json").write_text(json.dumps({**report, "name": f"fmnist-cnn-{act}"}))
    (models / "fmnist-mlp-binary.json").write_text(json.dumps(report))  # its float twin is missing
    text = readme.render_blocks(_readme(), tmp_path / "build")
    cnn = text.split("<!-- training-cnn:start -->\n")[1].split("<!-- training-cnn:end -->")[0]
    assert "| fmnist-cnn-binary | binary |" in cnn and "| fmnist-cnn-float |" in cnn
    assert "fmnist-mlp" not in cnn
    assert "<!-- training:start -->\nold training\n<!-- training:end -->" in text


def test_bench_block_says_when_synthesis_was_skipped(tmp_path):
    from test_report_bench_markdown import REPORT
    (tmp_path / "bench-cnn").mkdir()
    for synthesis, said in ((False, True), (True, False)):
        report = {**REPORT, "settings": {**REPORT["settings"], "synthesis": synthesis, "images": None},
                  "phases": {"simulate": 2.0}}
        (tmp_path / "bench-cnn" / "report.json").write_text(json.dumps(report))
        text = readme.bench_table("bench-cnn")(tmp_path)
        assert ("synthesis skipped (`--no-synth`); phases (s): simulate 2." in text) == said


def test_validate_table_names_pixel_groups():
    """A run at R = 8 = 2 images x 4 pixels: R shown as B x P, dense MACs over a batch of B."""
    from report.readme import _reuse_cell
    assert _reuse_cell({"reuse": 8, "pixels": 4}) == "8 = 2 x 4"
    assert _reuse_cell({"reuse": 8}) == "8"


def test_cnn_engines_table_lists_the_bench_synthesis_engines_only(tmp_path):
    from cost_fixtures import fake_summary
    from report.readme import cnn_engines_table
    assert cnn_engines_table(tmp_path) is None
    (tmp_path / "bench-cnn").mkdir()
    (tmp_path / "bench-cnn" / "synth-summary.json").write_text(json.dumps(fake_summary().to_json()))
    lines = cnn_engines_table(tmp_path).splitlines()
    assert lines[0].startswith("| Block | LUTs |") and len(lines) == 2 + 6 + 3   # binary and float engines
    engines = [b for n, b in fake_summary().blocks.items() if n.startswith("engine_")]
    assert [line.split(" | ")[1] for line in lines[2:]] == [f"{b.resources.lut_sites:,}" for b in engines]


def test_float_floor_block_is_its_markdown_report(tmp_path):
    (tmp_path / "build" / "float-floor").mkdir(parents=True)
    (tmp_path / "build" / "float-floor" / "floor.md").write_text("| a |\n| --- |\n| 1 |\n\nnote\n")
    text = readme.render_blocks(_readme(), tmp_path / "build", log=lambda msg: None)
    assert "<!-- float-floor:start -->\n| a |\n| --- |\n| 1 |\n\nnote\n<!-- float-floor:end -->" in text
