"""Shared fixtures of the sw tests: one run of the ``tiny`` config per test process.

Test modules import the fixtures from here. Importing a fixture into two
modules registers it twice, so the work is memoised in this module (imported
once per process) rather than left to the fixture scope.
"""

import pytest
import torch

from sw.configs import get_config
from sw.data import load_dataset
from sw.model_file import load_model
from sw.train import build_model, run

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
        state = torch.load(tiny_out / "checkpoints" / "tiny" / "retrain1.pt", weights_only=True)
        model.load_state_dict(state["state_dict"])
        model.eval()
        _memo["run"] = (report, model, load_model(tiny_out / "models" / "tiny.npz"), ds)
    return _memo["run"]
