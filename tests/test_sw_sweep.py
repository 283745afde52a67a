"""sw.sweep: the eta sweep's points and plots, and its command line's one-line errors."""

import json

import pytest
import torch

from sw import sweep
from sw.configs import CONFIGS, get_config
from sw_fixtures import run_main, write_junk_idx_dir


def test_sweep_writes_points_and_plots(tmp_path):
    torch.set_num_threads(1)
    cfg = get_config("tiny")
    r = sweep.sweep(cfg, tmp_path, etas=[0.0, cfg.eta], epochs=1, progress=False)
    assert [(p["eta"], p["lam"]) for p in r["points"]] == [(0.0, 0.0), (cfg.eta, 0.0),
                                                         (0.0, cfg.lam), (cfg.eta, cfg.lam)]
    eta0, eta = r["points"][0], r["points"][1]
    assert eta0["zero_fraction"] < 0.01 < eta["zero_fraction"]
    for png in ("sweep-accuracy", "sweep-layers", "weights-l2"):
        assert (tmp_path / "plots" / f"tiny-{png}.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "sweep" / "tiny.json").read_text())["points"] == r["points"]



@pytest.mark.parametrize("argv, message", [
    (["--config", "no-such-net"], f"config: unknown 'no-such-net' (known: {', '.join(sorted(CONFIGS))})"),
    (["--config", "tiny", "--epochs", "x"], "epochs: invalid int value: 'x'"),
    (["--config", "tiny", "--epochs", "0"], "epochs: must be >= 1, got 0"),
    (["--config", "tiny", "--threads", "0"], "threads: must be >= 1, got 0"),
    (["--config", "tiny", "--etas", "0.5,1.5"], "etas: expected comma-separated numbers in [0, 1), got '0.5,1.5'"),
    (["--config", "tiny", "--etas", "0.5,x"], "etas: expected comma-separated numbers in [0, 1), got '0.5,x'"),
    (["--config", "tiny", "--etas", ","], "etas: none given"),
    ([], "config: required"),
])
def test_cli_bad_arguments_are_one_line_naming_the_field(capsys, tmp_path, argv, message):
    code, out, err = run_main(sweep.main, argv + ["--out", tmp_path / "o"], capsys)
    assert (code, out, err) == (2, "", f"error: {message}\n")
    assert not (tmp_path / "o").exists()


def test_cli_refuses_unreadable_data_and_a_file_as_output(capsys, tmp_path, monkeypatch):
    junk = write_junk_idx_dir(tmp_path / "data")
    monkeypatch.setenv("TNN_DATA", str(junk.parent))
    code, _, err = run_main(sweep.main, ["--config", "fmnist-mlp-binary", "--out", tmp_path / "o"], capsys)
    assert (code, err) == (2, f"error: data: {junk}: not an IDX file (bad magic number)\n")
    (tmp_path / "file").write_text("")
    code, _, err = run_main(sweep.main, ["--config", "tiny", "--out", tmp_path / "file"], capsys)
    assert (code, err) == (2, f"error: out: {tmp_path / 'file'} is not a directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "file"]
