"""sim.fp32_check: refusals (the RTL checks themselves are in test_hw_fp32_rtl.py)."""

from cli_fixtures import refused
from sim import fp32_check


def test_fp32_check_refuses_bad_arguments(capsys):
    refused(capsys, fp32_check.main, ["--n", 0], "n: must be >= 1, got 0")
    refused(capsys, fp32_check.main, ["--bubble-shift", -1], "bubble-shift: must be >= 0, got -1")
