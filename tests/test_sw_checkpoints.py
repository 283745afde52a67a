"""sw.checkpoints: atomic, umask-honouring writes; loads that name the file and the problem."""

import os

import pytest
import torch

from sw.checkpoints import checkpoint_path, load_checkpoint, save_checkpoint
from sw.configs import get_config
from sw.errors import InputError
from sw.models import BinaryMLP
from sw_fixtures import tiny_out, tiny_run  # noqa: F401  (fixtures)


def test_round_trip_atomic_and_with_the_umask_mode(tmp_path):
    model = BinaryMLP(8, (4,), 3, etas=0.5)
    path = checkpoint_path(tmp_path, "net", "train")
    assert path == tmp_path / "checkpoints" / "net" / "train.pt"
    old = os.umask(0o027)
    try:
        save_checkpoint(path, model, get_config("tiny"), "train")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["train.pt"]  # no temporary file left
    state = load_checkpoint(path)
    assert state["stage"] == "train" and state["config"] == get_config("tiny").to_dict()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), state["state_dict"].values()))


def test_unreadable_checkpoints_name_the_field_and_file(tmp_path):
    missing = tmp_path / "missing.pt"
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    cases = [(missing, f"checkpoint: {missing}: No such file or directory"),
             (junk, f"checkpoint: {junk}: not a torch checkpoint"),
             (other, f"checkpoint: {other}: not a training checkpoint (expected the keys config, stage, "
                     "state_dict)")]
    for path, message in cases:
        with pytest.raises(InputError) as err:
            load_checkpoint(path)
        assert str(err.value) == message


def test_checkpoint_restores_the_exported_network(tiny_run, tiny_out):
    report, model, tnn, ds = tiny_run
    ckpt = load_checkpoint(checkpoint_path(tiny_out, "tiny", "retrain1"))
    assert ckpt["stage"] == "retrain1" and ckpt["config"]["name"] == "tiny"
    for a, b in zip(model.state_dict().values(), ckpt["state_dict"].values()):
        assert torch.equal(a, b)
    assert ckpt["config"] == get_config("tiny").to_dict()
