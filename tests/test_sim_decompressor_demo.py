"""sim.decompressor_demo (``make sim-decompressor``): refusals before anything is written."""

from cli_fixtures import cli_files, refused  # noqa: F401 (fixture)
from sim import decompressor_demo


def test_demo_refuses_bad_arguments(cli_files, capsys):
    _, out = cli_files
    refused(capsys, decompressor_demo.main, ["--density", 2, "--out", out],
            "density: must be in [0, 1], got 2.0", out)
    refused(capsys, decompressor_demo.main, ["--rows", 0, "--out", out], "rows: must be >= 1, got 0", out)
