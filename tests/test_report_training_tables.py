"""Markdown tables from training reports (report/training_tables.py)."""

import json
from pathlib import Path

import pytest

from report import training_tables

SMALL = "sw/pretrained/fmnist-mlp-binary-small.json"


def test_tables_are_generated_from_the_json(tmp_path):
    report = json.loads(Path(SMALL).read_text())
    out = tmp_path / "table.md"
    assert training_tables.main([SMALL, "-o", str(out)]) == 0
    text = out.read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {report['name']} | binary"))
    assert f"{100 * report['final']['test_acc']:.2f}" in row
    assert f"{report['totals']['nonzeros']:,}" in text
    assert text == training_tables.render([report])


def test_missing_report_is_refused(tmp_path, capsys):
    missing, out = tmp_path / "missing.json", tmp_path / "table.md"
    assert training_tables.main([SMALL, str(missing), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"error: reports: cannot read {missing}: No such file or directory\n"
    assert not out.exists()


@pytest.mark.parametrize("text, reason", [
    ("[1, 2", "cannot parse {path}: Expecting ',' delimiter: line 1 column 6 (char 5)"),
    ('{"name": "x"}', "{path} is not a training report"),
])
def test_unreadable_report_is_refused(tmp_path, capsys, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert training_tables.main([str(path)]) == 2
    assert capsys.readouterr() == ("", f"error: reports: {reason.format(path=path)}\n")


def test_bad_argument_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        training_tables.main([])
    assert exc.value.code == 2 and capsys.readouterr().err == "error: reports: required\n"
