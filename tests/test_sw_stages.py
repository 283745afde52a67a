"""sw.stages: configs the stages would refuse part-way are refused up front, with the field."""

import pytest
import torch

from sw import train
from sw.configs import get_config
from sw.errors import InputError
from sw.stages import check_run
from sw_fixtures import digits  # noqa: F401  (fixtures)


@pytest.mark.parametrize("name, changes, message", [
    ("tiny-incremental", {"prune_iterations": 1},
     "prune_iterations: incremental needs 3 (one per quantile), got 1"),
    ("tiny", {"baselines": ("dense_binary", "dense_ternary")},
     "baselines: unknown 'dense_ternary' (known: dense_binary, dense_float)"),
    ("tiny-twn", {"sigma": 0.5}, "sigma: pruning belongs to the threshold quantiser, not twn (got 0.5)"),
    ("tiny", {"quantizer": "ttq"},
     "quantizer: unknown 'ttq' (known: incremental, prox-dual, prox-single, sq, threshold, ttq-sparsity, "
     "ttq-threshold, twn)"),
    ("tiny", {"val_size": 0}, "val_size: expected 1..1436, got 0"),
])
def test_refused_before_anything_is_written(tmp_path, name, changes, message):
    with pytest.raises(InputError) as err:
        train.run(get_config(name).with_(**changes), tmp_path / "out", progress=False)
    assert str(err.value) == message
    assert not (tmp_path / "out").exists()


def test_the_check_leaves_the_random_state_alone(digits):
    torch.manual_seed(5)
    before = torch.get_rng_state()
    check_run(get_config("tiny-ttq-threshold"), digits)
    check_run(get_config("tiny"), digits)
    assert torch.equal(torch.get_rng_state(), before)
