"""Shared fixtures of the sw tests: trained tiny networks, memoised per test process.

Test modules import the fixtures from here. Importing a fixture into two
modules registers it twice, so the work is memoised in this module (imported
once per process) rather than left to the fixture scope.
"""

import pytest
import torch

from sw.build import build_model
from sw.checkpoints import checkpoint_path, load_checkpoint
from sw.configs import get_config
from sw.data import load_dataset
from sw.model_file import load_model
from sw.train import run

_memo: dict = {}


@pytest.fixture(scope="session")
def tiny_out(tmp_path_factory):
    if "out" not in _memo:
        _memo["out"] = tmp_path_factory.mktemp("tiny-run")
    return _memo["out"]


@pytest.fixture(scope="session")
def tiny_run(tiny_out):
    """``(report, final PyTorch model, loaded model file, data set)`` of ``tiny``."""
    if "run" not in _memo:
        cfg = get_config("tiny")
        torch.set_num_threads(1)
        report = run(cfg, tiny_out, progress=False)
        ds = load_dataset(cfg.dataset)
        model = build_model(cfg, ds)
        model.load_state_dict(load_checkpoint(checkpoint_path(tiny_out, "tiny", "retrain1"))["state_dict"])
        model.eval()
        _memo["run"] = (report, model, load_model(tiny_out / "models" / "tiny.npz"), ds)
    return _memo["run"]


@pytest.fixture(scope="session")
def digits():
    if "digits" not in _memo:
        _memo["digits"] = load_dataset("digits")
    return _memo["digits"]


@pytest.fixture(scope="session")
def method_runs(tmp_path_factory, digits):
    """``method_runs(name, **changes) -> (cfg, report, final model in eval mode, out dir)``."""

    def get(name: str, **changes):
        key = ("method", name, tuple(sorted(changes.items())))
        if key not in _memo:
            cfg = get_config(name).with_(**changes)
            out = tmp_path_factory.mktemp(name)
            torch.set_num_threads(1)
            report = run(cfg, out, progress=False)
            model = build_model(cfg, digits)
            final = list(report["stages"])[-1]
            model.load_state_dict(load_checkpoint(checkpoint_path(out, cfg.name, final))["state_dict"])
            model.eval()
            _memo[key] = (cfg, report, model, out)
        return _memo[key]

    return get


def run_main(main, argv: list, capsys) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of a command line's ``main(argv)`` (argparse exits too)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def write_junk_idx_dir(path):
    """A ``TNN_DATA`` folder whose training images are not an IDX file; returns that file."""
    path.mkdir(parents=True, exist_ok=True)
    junk = path / "train-images-idx3-ubyte"
    junk.write_bytes(b"this is not an IDX file")
    return junk
