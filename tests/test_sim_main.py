"""sim.main (``make sim``): refusals before anything is written."""

from cli_fixtures import cli_files, refused  # noqa: F401 (fixture)
from sim import main as sim_main


def test_sim_main_refuses_before_writing(cli_files, capsys):
    d, out = cli_files
    refused(capsys, sim_main.main, ["--model", d / "missing.npz", "--out", out],
            f"model: {d / 'missing.npz'} not found (run `make train` or pass --model)", out)
    refused(capsys, sim_main.main, ["--model", d / "garbage", "--out", out],
            f"model: cannot read {d / 'garbage'}: not a .npz archive", out)
    refused(capsys, sim_main.main, ["--model", d / "m.npz", "--images", 0, "--out", out],
            "images: must be >= 1, got 0", out)
    refused(capsys, sim_main.main, ["--sim", "xsim"],
            "sim: invalid choice: 'xsim' (choose from 'verilator', 'icarus')")
