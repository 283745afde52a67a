"""sw.train: the whole run on the tiny configs (report contents, reproducibility, float and CNN
networks) and its command line (listing, one-line errors with exit code 2, nothing written)."""

import json

import numpy as np
import pytest
import torch

from sw import train
from sw.configs import CONFIGS, get_config
from sw.model_file import load_model
from sw_fixtures import run_main, tiny_out, tiny_run, write_junk_idx_dir  # noqa: F401  (fixtures)


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


def test_baselines_in_a_second_process_give_the_same_results(tiny_run, tmp_path):
    """Two threads split one each between the sparse stages and the baselines'
    process: every result equals the one-thread run's (the tiny_run fixture)."""
    report, _, _, _ = tiny_run
    torch.set_num_threads(2)
    try:
        again = train.run(get_config("tiny"), tmp_path, progress=False, parallel_baselines=True)
    finally:
        torch.set_num_threads(1)
    assert again["timing"]["baselines_in_second_process"] and torch.get_num_threads() == 1
    assert again["baselines"]["dense_binary"]["history"] == report["baselines"]["dense_binary"]["history"]
    assert again["stages"]["train"]["history"] == report["stages"]["train"]["history"]
    assert (tmp_path / "checkpoints" / "tiny" / "dense_binary.pt").exists()


def test_float_network_trains_and_exports(tmp_path):
    torch.set_num_threads(1)
    cfg = get_config("tiny-float").with_(epochs=2, retrain_epochs=1, baselines=())
    r = train.run(cfg, tmp_path, progress=False)
    assert r["export"]["prediction_agreement"] >= 0.99
    assert r["export"]["golden_accuracy"] > 0.5
    m = load_model(tmp_path / "models" / "tiny-float.npz")
    assert m.activation == "float" and len(m.scales) == 2


def test_cnn_trains_with_per_layer_eta_and_is_exported(tmp_path):
    torch.set_num_threads(1)
    r = train.run(get_config("tiny-cnn"), tmp_path, progress=False)
    layers = r["stages"]["train"]["layers"]
    assert [x["eta"] for x in layers] == [0.5, 0.5, 0.6, 0.6]  # conv eta, then fully connected
    assert len(layers[0]["shape"]) == 4 and r["layers"][0]["shape"] == [8, 9]  # flattened for sizes
    assert r["baselines"]["dense_binary"]["zero_fraction"] < 0.01
    m = load_model(r["export"]["path"])  # tiny-cnn: float activations, 8-M-16-M
    assert m.input_shape == (1, 8, 8) and m.conv(0) is not None and m.pool(1) == (2, 2) and m.conv(2) is None
    assert r["export"]["prediction_agreement"] >= 0.99 and r["export"]["output_max_rel_diff"] < 1e-4


def test_cli_unknown_config_exits_2(capsys, tmp_path):
    code, out, err = run_main(train.main, ["--config", "no-such-net", "--out", tmp_path / "o"], capsys)
    assert (code, out) == (2, "")
    assert err == f"error: config: unknown 'no-such-net' (known: {', '.join(sorted(CONFIGS))})\n"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, message", [
    (["--config", "tiny", "--threads", "x"], "threads: invalid int value: 'x'"),
    (["--config", "tiny", "--threads", "0"], "threads: must be >= 1, got 0"),
    (["--config", "tiny", "--seed", "-1"], "seed: must be >= 0, got -1"),
    (["--config", "tiny", "--epochs", "3"], "unrecognized arguments: --epochs 3"),
    ([], "config: required (see --list)"),
])
def test_cli_bad_arguments_are_one_line_naming_the_field(capsys, tmp_path, argv, message):
    code, out, err = run_main(train.main, argv + ["--out", tmp_path / "o"], capsys)
    assert (code, out, err) == (2, "", f"error: {message}\n")
    assert not (tmp_path / "o").exists()


def test_cli_refuses_an_output_path_that_is_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        code, _, err = run_main(train.main, ["--config", "tiny", "--out", out], capsys)
        assert (code, err) == (2, f"error: out: {tmp_path / 'file'} is not a directory\n")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_cli_missing_or_unreadable_data_files(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("TNN_DATA", str(empty))
    code, _, err = run_main(train.main, ["--config", "fmnist-mlp-binary", "--out", tmp_path / "o"], capsys)
    assert (code, err) == (2, f"error: data: {empty}: no train-images-idx3-ubyte[.gz] (set TNN_DATA to a "
                              "directory with the IDX files, or install the Debian package "
                              "dataset-fashion-mnist)\n")
    junk = write_junk_idx_dir(tmp_path / "junk")
    monkeypatch.setenv("TNN_DATA", str(junk.parent))
    code, _, err = run_main(train.main, ["--config", "fmnist-mlp-binary", "--out", tmp_path / "o"], capsys)
    assert (code, err) == (2, f"error: data: {junk}: not an IDX file (bad magic number)\n")
    assert not (tmp_path / "o").exists()


def test_cli_lists_the_required_configs(capsys):
    assert train.main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("tiny", "fmnist-mlp-binary", "fmnist-mlp-float", "fmnist-cnn"):
        assert name in out and name in CONFIGS
