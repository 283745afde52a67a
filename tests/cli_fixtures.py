"""Shared by the command-line tests: how a refusal must look, and input files to refuse."""

import numpy as np
import pytest

from sw.model_file import save_model
from sw.synthetic import random_binary_model


@pytest.fixture
def cli_files(tmp_path):
    """``(folder, out)``: ``m.npz`` (a good binary model, 16 inputs), ``x.npy`` (3 images),
    ``garbage`` (neither a model nor an array) in ``folder``; ``out`` does not exist."""
    rng = np.random.default_rng(5)
    save_model(tmp_path / "m.npz", random_binary_model(rng, [16, 4, 2], 0.5))
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (3, 16), dtype=np.uint8))
    (tmp_path / "garbage").write_bytes(b"not a model, not an array")
    return tmp_path, tmp_path / "out"


def refused(capsys, main, argv, message, out=None):
    """``main(argv)`` exits 2 printing exactly ``error: message`` (one line, stdout
    empty), and ``out`` (when given) was not created."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == f"error: {message}\n"
    assert captured.out == ""
    if out is not None:
        assert not out.exists()
