"""sw.fit: the seeded data split, one training stage (best validation epoch), per-layer statistics."""

import numpy as np
import pytest
import torch

from sw.build import build_model
from sw.configs import get_config
from sw.errors import InputError
from sw.fit import evaluate, layer_stats, split_data, train_stage, zero_fraction
from sw_fixtures import digits  # noqa: F401  (fixtures)


def test_split_is_seeded_disjoint_and_complete(digits):
    train, val, test = split_data(digits, 200, seed=0)
    assert (len(train), len(val), len(test)) == (len(digits.train_y) - 200, 200, len(digits.test_y))
    again = split_data(digits, 200, seed=0)
    assert torch.equal(train.x, again[0].x) and torch.equal(val.y, again[1].y)
    assert not torch.equal(val.x, split_data(digits, 200, seed=1)[1].x)
    both = np.concatenate([train.pixels, val.pixels])  # together: the training set, each image once
    assert sorted(r.tobytes() for r in both) == sorted(r.tobytes() for r in digits.train_x)
    assert train.x.dtype == torch.float32 and val.pixels.dtype == np.uint8


@pytest.mark.parametrize("size", [0, 1437, -5])
def test_validation_size_must_leave_training_data(digits, size):
    with pytest.raises(InputError) as err:
        split_data(digits, size, seed=0)
    assert str(err.value) == f"val_size: expected 1..1436, got {size}"


def test_a_stage_ends_in_its_best_validation_epoch(digits):
    torch.set_num_threads(1)
    cfg = get_config("tiny")
    train, val, _ = split_data(digits, cfg.val_size, cfg.seed)
    torch.manual_seed(0)
    model = build_model(cfg, digits)
    r = train_stage(model, train, val, epochs=3, lr=cfg.lr, lr_final=0.0, batch_size=cfg.batch_size,
                    seed=0, desc="test", progress=False)
    accs = [h["val_acc"] for h in r["history"]]
    assert len(accs) == 3 and r["best_epoch"] == 1 + accs.index(max(accs))  # the earliest best
    assert r["val_acc"] == max(accs) == evaluate(model, val)
    assert [h["epoch"] for h in r["history"]] == [1, 2, 3] and r["epochs"] == 3


def test_layer_statistics_count_the_codes(digits):
    model = build_model(get_config("tiny"), digits)
    stats = layer_stats(model)
    assert [s["name"] for s in stats] == ["linears.0", "linears.1"]
    for s, layer in zip(stats, model.linears):
        codes = layer.ternary_weight()
        assert s["nonzeros"] == int((codes != 0).sum()) and s["n_weights"] == codes.numel()
        assert s["eta"] == 0.6 and s["masked"] == 0 and "method" not in s
    total = sum(s["n_weights"] for s in stats)
    assert zero_fraction(stats) == pytest.approx(1 - sum(s["nonzeros"] for s in stats) / total)
    float_stats = layer_stats(build_model(get_config("tiny"), digits, "float"))
    assert all(s["zero_fraction"] == 0.0 and "eta" not in s for s in float_stats)
