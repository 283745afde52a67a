"""sim.lint: refusals (exit 2, one line naming the field)."""

from cli_fixtures import cli_files, refused  # noqa: F401 (fixture)
from sim import lint


def test_lint_refuses_missing_paths_and_empty_folders(cli_files, capsys):
    d, _ = cli_files
    refused(capsys, lint.main, [d / "missing.v"], f"files: {d / 'missing.v'}: No such file or directory")
    refused(capsys, lint.main, [d], f"files: no Verilog files in {d}")
