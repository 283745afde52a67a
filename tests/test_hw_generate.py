"""hw.generate: the Verilog it writes, and its refusals (nothing written, no
component left unelaborated)."""

import json

from cli_fixtures import cli_files, refused  # noqa: F401 (fixture)
from hw import generate


def test_generate_writes_the_blocks_and_the_engine_plan(cli_files, capsys):
    d, out = cli_files
    assert generate.main(["--model", str(d / "m.npz"), "--reuse", "3", "--out", str(out)]) == 0
    names = ["decompressor.v", "fp32_add.v", "fp32_mul.v", "tnn_engine.v", "tnn_engine.json"]
    assert capsys.readouterr().out.split() == [str(out / n) for n in names]
    assert "module tnn_engine" in (out / "tnn_engine.v").read_text()
    plan = json.loads((out / "tnn_engine.json").read_text())
    assert (plan["activation"], plan["reuse"], len(plan["layers"])) == ("binary", 3, 2)


def test_generate_dsp_shifts(cli_files, capsys):
    """``--dsp-shifts``: the adder with multiplications (DSP blocks), the default without."""
    d, out = cli_files
    assert generate.main(["--dsp-shifts", "--out", str(out / "dsp")]) == 0
    assert generate.main(["--out", str(out / "lut")]) == 0
    capsys.readouterr()
    assert " * " in (out / "dsp" / "fp32_add.v").read_text()
    assert " * " not in (out / "lut" / "fp32_add.v").read_text()


def test_generate_refuses_before_writing(cli_files, capsys):
    d, out = cli_files
    refused(capsys, generate.main, ["--model", d / "missing.npz", "--out", out],
            f"model: cannot read {d / 'missing.npz'}: No such file or directory", out)
    refused(capsys, generate.main, ["--model", d / "garbage", "--out", out],
            f"model: cannot read {d / 'garbage'}: not a .npz archive", out)
    refused(capsys, generate.main, ["--model", d / "m.npz", "--reuse", 0, "--out", out],
            "reuse: must be >= 1, got 0", out)
    refused(capsys, generate.main, ["--add-latency", 9, "--out", out],
            "add-latency: must be in 1..8, got 9", out)
    refused(capsys, generate.main, ["--mul-latency", 0, "--out", out],
            "mul-latency: must be in 1..7, got 0", out)
