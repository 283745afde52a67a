"""Training pipeline on the tiny config: report contents, reproducibility, CLI, sweep, tables."""

import json

import numpy as np
import pytest
import torch

from sw import report_table, sweep, train
from sw.configs import CONFIGS, get_config
from sw.model_file import load_model
from sw_fixtures import tiny_out, tiny_run  # noqa: F401  (fixtures)


def test_report_has_every_stage_and_consistent_numbers(tiny_run, tiny_out):
    report, model, tnn, ds = tiny_run
    assert list(report["stages"]) == ["train", "prune1", "retrain1"]
    assert set(report["baselines"]) == {"dense_binary"}
    assert report["baselines"]["dense_binary"]["epochs"] == get_config("tiny").total_epochs
    assert report["baselines"]["dense_binary"]["zero_fraction"] < 0.01
    # Pruning at sigma = eta removes no nonzero, so accuracy is unchanged by it.
    assert report["stages"]["prune1"]["pruned_nonzeros"] == 0
    assert report["stages"]["prune1"]["test_acc"] == report["stages"]["train"]["test_acc"]
    # Sparsity never drops after pruning (pruned weights cannot come back).
    z = [report["stages"][k]["layers"] for k in ("train", "retrain1")]
    assert all(b["nonzeros"] <= a["nonzeros"] for a, b in zip(*z))
    # The totals describe the exported weights.
    nnz = sum(int(np.count_nonzero(w)) for w in tnn.weights)
    assert report["totals"]["nonzeros"] == nnz
    assert report["totals"]["n_weights"] == sum(w.size for w in tnn.weights)
    assert report["final"]["zero_fraction"] == pytest.approx(1 - nnz / report["totals"]["n_weights"])
    assert report["totals"]["dense_2bit_bits"] == 2 * report["totals"]["dense_1bit_bits"]
    assert report["final"]["test_acc"] > 0.5  # it learned something (10 classes)
    assert json.loads((tiny_out / "models" / "tiny.json").read_text()) == json.loads(json.dumps(report))
    assert json.loads(tnn.meta)["config"] == "tiny"
    for png in ("tiny-layer-nonzeros.png", "tiny-weights.png"):
        assert (tiny_out / "plots" / png).read_bytes()[:4] == b"\x89PNG"


def test_runs_are_reproducible(tiny_run, tmp_path):
    report, _, tnn, _ = tiny_run
    torch.set_num_threads(1)
    again = train.run(get_config("tiny"), tmp_path, progress=False)
    for a, b in zip(tnn.weights, load_model(tmp_path / "models" / "tiny.npz").weights):
        np.testing.assert_array_equal(a, b)
    assert again["final"]["test_acc"] == report["final"]["test_acc"]
    assert again["stages"]["train"]["history"] == report["stages"]["train"]["history"]


def test_float_network_trains_and_exports(tmp_path):
    torch.set_num_threads(1)
    cfg = get_config("tiny-float").with_(epochs=2, retrain_epochs=1, baselines=())
    r = train.run(cfg, tmp_path, progress=False)
    assert r["export"]["prediction_agreement"] >= 0.99
    assert r["export"]["golden_accuracy"] > 0.5
    m = load_model(tmp_path / "models" / "tiny-float.npz")
    assert m.activation == "float" and len(m.scales) == 2


def test_cnn_trains_with_per_layer_eta_and_is_not_exported(tmp_path):
    torch.set_num_threads(1)
    r = train.run(get_config("tiny-cnn"), tmp_path, progress=False)
    layers = r["stages"]["train"]["layers"]
    assert [x["eta"] for x in layers] == [0.5, 0.5, 0.6, 0.6]  # conv eta, then fully connected
    assert len(layers[0]["shape"]) == 4 and r["layers"][0]["shape"] == [8, 9]  # flattened for sizes
    assert r["export"]["path"] is None and not (tmp_path / "models" / "tiny-cnn.npz").exists()
    assert r["baselines"]["dense_binary"]["zero_fraction"] < 0.01


def test_cli_unknown_config_exits_2(capsys):
    assert train.main(["--config", "no-such-net"]) == 2
    err = capsys.readouterr().err
    assert "unknown config 'no-such-net'" in err and "fmnist-mlp-binary" in err


def test_cli_lists_the_required_configs(capsys):
    assert train.main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("tiny", "fmnist-mlp-binary", "fmnist-mlp-float", "fmnist-cnn"):
        assert name in out and name in CONFIGS


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


def test_report_table_is_generated_from_the_json(tiny_run, tiny_out, tmp_path, capsys):
    report = tiny_run[0]
    out = tmp_path / "table.md"
    assert report_table.main([str(tiny_out / "models" / "tiny.json"), "-o", str(out)]) == 0
    text = out.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| tiny | binary"))
    assert f"{100 * report['final']['test_acc']:.2f}" in row
    assert f"{report['totals']['nonzeros']:,}" in text
    assert report_table.main([str(tmp_path / "missing.json")]) == 2
