"""sw.errors: one line, the field first, exit code 2."""

import re

import pytest

from sw.errors import ArgumentParser, InputError, run_cli


def parser():
    p = ArgumentParser(prog="tool")
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--add-latency", type=int)
    p.add_argument("--sim", choices=("verilator", "icarus"))
    return p


@pytest.mark.parametrize("argv, message", [
    (["--model", "m", "--inputs", "x", "--add-latency", "x"],
     "error: add-latency: invalid int value: 'x'\n"),
    (["--model", "m", "--inputs", "x", "--sim", "xsim"],
     # argparse's own wording of the choices differs between Python versions
     r"error: sim: invalid choice: 'xsim' \(choose from '?verilator'?, '?icarus'?\)\n"),
    ([], "error: model: required (also missing: inputs)\n"),
    (["--inputs", "x"], "error: model: required\n"),
    (["--model", "m", "--inputs", "x", "--bogus"], "error: unrecognized arguments: --bogus\n"),
])
def test_argument_errors_are_one_line_naming_the_field(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(argv)
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert re.fullmatch(message if message.startswith("error: sim") else re.escape(message), err)


def test_run_cli_turns_input_errors_and_unreadable_files_into_exit_2(capsys, tmp_path):
    def bad():
        raise InputError("reuse: must be >= 1, got 0")
    assert run_cli(bad) == 2
    assert capsys.readouterr().err == "error: reuse: must be >= 1, got 0\n"

    def missing():
        open(tmp_path / "nope.npz", "rb")
    assert run_cli(missing) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.npz'}: No such file or directory\n"


def test_run_cli_passes_the_body_exit_code_and_other_errors_through():
    assert run_cli(lambda: 1) == 1

    def bug():
        raise KeyError("not an input error")
    with pytest.raises(KeyError):
        run_cli(bug)


def test_multi_line_messages_are_folded_to_one_line(capsys):
    def bad():
        raise InputError("model: cannot read\n  x.npz")
    run_cli(bad)
    assert capsys.readouterr().err == "error: model: cannot read x.npz\n"
