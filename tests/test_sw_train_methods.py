"""Training and export with every registered quantiser (issue 8): configs, stages, scale folding, refusals."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sw import train
from sw.configs import CONFIGS, METHODS, get_config
from sw.data import load_dataset
from sw.export import ExportError, compare, export, torch_forward
from sw.golden import forward, predict
from sw.model_file import accumulator_range, load_model
from sw.models import BinaryMLP, FloatMLP
from sw.quant import (INCREMENTAL_QUANTILES, QUANTIZERS, TernaryConv2d, TernaryLinear, ternarize_prox,
                      ternary_layers)
from sw.quant.adapters import SQ_BETA_RANGE

#: Methods whose trained networks export with one scale per neuron (binary: exactly).
EXPORTABLE = {"twn", "prox-single", "sq"}
#: Methods with two scales per group, W_p != W_n: asymmetric float layers (sn{l}),
#: weighted binary layers (kp{l}, kn{l}).
ASYMMETRIC = {"ttq-threshold", "ttq-sparsity", "prox-dual", "incremental"}

_memo: dict = {}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    """``runs(name, **changes) -> (cfg, report, final model in eval mode, out dir)``, memoised."""

    def get(name: str, **changes):
        key = (name, tuple(sorted(changes.items())))
        if key not in _memo:
            cfg = get_config(name).with_(**changes)
            out = tmp_path_factory.mktemp(name)
            torch.set_num_threads(1)
            report = train.run(cfg, out, progress=False)
            model = train.build_model(cfg, digits)
            final = list(report["stages"])[-1]
            state = torch.load(out / "checkpoints" / cfg.name / f"{final}.pt", weights_only=True)
            model.load_state_dict(state["state_dict"])
            model.eval()
            _memo[key] = (cfg, report, model, out)
        return _memo[key]

    return get


def _checkpoint(out, cfg, stage):
    return torch.load(out / "checkpoints" / cfg.name / f"{stage}.pt", weights_only=True)["state_dict"]


def _randomise_batch_norms(model, gen):
    with torch.no_grad():
        for norm in model.norms:
            n = norm.num_features
            norm.weight.copy_(torch.randn(n, generator=gen))
            norm.weight[0] = -norm.weight[0].abs()  # a negative one
            norm.bias.copy_(torch.randn(n, generator=gen))
            norm.running_mean.copy_(torch.randn(n, generator=gen) * 300)
            norm.running_var.copy_(torch.rand(n, generator=gen) * 1e4 + 1e-3)


# --- configs --------------------------------------------------------------------------------------


def test_every_method_has_configs_mirroring_the_threshold_ones():
    assert set(METHODS) == set(QUANTIZERS) - {"threshold"}
    for m in METHODS:
        for base, name in (("tiny", f"tiny-{m}"), ("tiny-float", f"tiny-float-{m}"),
                           ("fmnist-mlp-binary", f"fmnist-mlp-binary-{m}"),
                           ("fmnist-mlp-float", f"fmnist-mlp-float-{m}")):
            b, c = CONFIGS[base], CONFIGS[name]
            assert c.quantizer == m and b.quantizer == "threshold" and b.quantizer_params == ()
            for field in ("dataset", "arch", "activation", "hidden", "lr", "batch_size", "val_size", "seed",
                          "total_epochs"):
                assert getattr(c, field) == getattr(b, field), (name, field)
            assert c.prune_iterations == (len(INCREMENTAL_QUANTILES) if m == "incremental" else 1)
    assert get_config("fmnist-mlp-float-twn").total_epochs == 26


@pytest.mark.parametrize("act", ["binary", "float"])
def test_fmnist_method_configs_construct(act):
    torch.set_num_threads(1)
    ds = SimpleNamespace(n_features=784, n_classes=10, image_shape=(28, 28))
    x = torch.randint(0, 256, (4, 784)).float()
    for m in METHODS:
        cfg = get_config(f"fmnist-mlp-{act}-{m}")
        torch.manual_seed(0)
        model = train.build_model(cfg, ds)
        layers = list(ternary_layers(model))
        assert [layer.method for layer in layers] == [m] * 4
        assert [layer.weight.shape[0] for layer in layers] == [512, 512, 512, 10]
        if act == "binary" and m != "incremental":  # one common output scale (argmax)
            assert all(s.unique().numel() == 1 for s in layers[-1].row_scales())
        assert model(x).shape == (4, 10)
        model.eval()
        assert torch.isfinite(model(x)).all()


def test_unknown_methods_and_parameters_are_refused(digits):
    with pytest.raises(ValueError, match="unknown quantiser 'nope'.*known: .*twn"):
        train.build_model(get_config("tiny").with_(quantizer="nope"), digits)
    with pytest.raises(ValueError, match="twn: unknown parameter.*bogus.*accepted: per_filter"):
        train.build_model(get_config("tiny-twn").with_(quantizer_params=(("bogus", 1),)), digits)
    with pytest.raises(ValueError, match="threshold: takes no parameters"):
        train.build_model(get_config("tiny").with_(quantizer_params=(("per_filter", True),)), digits)
    with pytest.raises(ValueError, match="incremental: lam must be 0"):
        train.build_model(get_config("tiny-incremental").with_(lam=1e-4), digits)
    with pytest.raises(ValueError, match="prune_iterations = 3"):
        train.run(get_config("tiny-incremental").with_(prune_iterations=1), progress=False)
    layer = list(ternary_layers(train.build_model(get_config("tiny-twn"), digits)))[0]
    with pytest.raises(ValueError, match="sigma"):
        layer.prune_(0.5)


def test_threshold_models_carry_no_adapter(digits):
    model = train.build_model(get_config("tiny"), digits)
    assert all(layer.quantizer is None and layer.method == "threshold" for layer in ternary_layers(model))
    assert not any("quantizer" in k for k in model.state_dict())
    assert all(layer.row_scales() is None and layer.regularizer() is None for layer in ternary_layers(model))


# --- every method trains and exports (or is refused) ----------------------------------------------


@pytest.mark.parametrize("act", ["binary", "float"])
@pytest.mark.parametrize("method", METHODS)
def test_tiny_method_config_trains_and_exports(runs, digits, method, act):
    cfg, report, model, out = runs(f"tiny-{method}" if act == "binary" else f"tiny-float-{method}")
    assert report["final"]["test_acc"] > 0.5  # chance: 0.1
    assert report["config"]["quantizer"] == method
    final = report["stages"][list(report["stages"])[-1]]
    assert all(layer["method"] == method for layer in final["layers"])
    for layer in ternary_layers(model):
        assert layer.is_ternary()
        assert set(layer.ternary_weight().unique().tolist()) <= {-1, 0, 1}
        wp, wn = layer.row_scales()
        values = layer.quantized_weight().detach()
        codes = layer.ternary_weight()
        assert torch.equal(values, torch.where(codes > 0, wp[:, None], torch.where(codes < 0, -wn[:, None], 0.0)))
    npz = out / "models" / f"{cfg.name}.npz"
    tnn = load_model(npz)  # validates: int8 codes in {-1, 0, +1}, thresholds in range, finite s/b
    assert tnn.activation == act
    assert all(set(np.unique(w).tolist()) <= {-1, 0, 1} for w in tnn.weights)
    out_, _ = forward(tnn, digits.test_x)
    acc = float(np.mean(predict(out_) == digits.test_y))
    assert acc > 0.5 and acc == pytest.approx(report["export"]["golden_accuracy"])
    # Asymmetric scales become sn{l} (float) or kp{l}/kn{l} (binary) layers.
    assert tnn.asymmetric == (method in ASYMMETRIC)
    if act == "binary" and method in EXPORTABLE:  # the folded thresholds are exact: every hidden bit
        assert report["export"]["hidden_bits_equal"] and report["export"]["prediction_agreement"] == 1.0
        assert acc == pytest.approx(report["final"]["test_acc"])
    elif act == "binary":  # kp / kn approximate W_p / W_n to ~15 bits
        bits = sum(h.size for h in forward(tnn, digits.test_x)[1])
        assert sum(report["export"]["hidden_bit_mismatches"]) <= 1e-3 * bits
        assert report["export"]["prediction_agreement"] >= 0.99
    else:
        assert report["export"]["prediction_agreement"] >= 0.99


def test_ttq_learns_its_scales(runs, digits):
    cfg, report, model, _ = runs("tiny-ttq-threshold")
    torch.manual_seed(cfg.seed)
    initial = train.build_model(cfg, digits)  # the run's initial state
    for a, b in zip(ternary_layers(initial), ternary_layers(model)):
        for name in ("wp", "wn"):
            before, after = getattr(a.quantizer, name).detach(), getattr(b.quantizer, name).detach()
            assert before.shape == after.shape == (1,)  # paper 000: one pair per layer
            assert torch.all(after >= 0) and not torch.allclose(before, after, rtol=1e-3, atol=0)
    assert {n for n, _ in model.named_parameters() if "quantizer" in n} == {
        f"linears.{k}.quantizer.{s}" for k in (0, 1) for s in ("wp", "wn")}


def test_ttq_sparsity_keeps_its_zero_fraction(runs):
    _, report, model, _ = runs("tiny-ttq-sparsity")
    assert report["final"]["zero_fraction"] == pytest.approx(0.5, abs=1e-3)


def test_prox_starts_from_full_precision_then_runs_algorithm_1(runs):
    cfg, report, model, out = runs("tiny-float-prox-single")
    first, last = _checkpoint(out, cfg, "train"), _checkpoint(out, cfg, "retrain1")
    for k, layer in enumerate(ternary_layers(model)):
        assert not first[f"linears.{k}.quantizer.active"] and last[f"linears.{k}.quantizer.active"]
        w0, w1 = first[f"linears.{k}.weight"], last[f"linears.{k}.weight"]
        assert len(w0[0].abs().unique()) > 10  # stage 1: full precision
        for row in w1:  # prox phase: per filter, values in {-alpha, 0, +alpha} exactly
            assert len(set(row.abs().tolist()) - {0.0}) == 1
        assert torch.allclose(ternarize_prox(w1, per_filter=True), w1, rtol=1e-6, atol=0)  # a prox fixed point
    assert [x["phase"] for x in report["stages"]["train"]["layers"]] == ["full-precision"] * 2
    assert [x["phase"] for x in report["stages"]["retrain1"]["layers"]] == ["prox"] * 2


def test_incremental_rounds_follow_the_quantiles_and_frozen_weights_stay(runs):
    cfg, report, model, out = runs("tiny-incremental")
    assert list(report["stages"]) == ["train", "prune1", "retrain1", "prune2", "retrain2", "prune3", "retrain3"]
    stages = ["train", "retrain1", "retrain2", "retrain3"]
    sd = {s: _checkpoint(out, cfg, s) for s in stages}
    for k in (0, 1):
        w, frozen = f"linears.{k}.weight", f"linears.{k}.quantizer.frozen"
        prev = sd["train"][frozen]
        assert not prev.any() and int(sd["train"][f"linears.{k}.quantizer.round"]) == 0
        for r, q in enumerate(INCREMENTAL_QUANTILES, start=1):
            mask = sd[f"retrain{r}"][frozen]
            assert int(sd[f"retrain{r}"][f"linears.{k}.quantizer.round"]) == r
            n = mask[0].numel()
            assert mask.sum(1).tolist() == [math.ceil(q * n)] * len(mask)  # the round's share, per filter
            assert torch.all(mask[prev])                                   # masks only grow
            new = mask & ~prev                                             # frozen at the previous stage's end
            assert torch.equal(sd[f"retrain{r}"][w][new], sd[stages[r - 1]][w][new])
            for later in stages[r + 1:]:                                   # and never move again
                assert torch.equal(sd[later][w][mask], sd[f"retrain{r}"][w][mask])
            prev = mask
        assert prev.all()
    assert [x["q"] for x in report["stages"]["retrain3"]["layers"]] == [1.0, 1.0]


def test_sq_reports_bits_per_layer_and_can_end_mixed_binary_ternary(runs):
    _, report, _, _ = runs("tiny-sq")
    for layer in report["stages"]["retrain1"]["layers"]:
        assert SQ_BETA_RANGE[0] <= layer["sq_beta"] <= SQ_BETA_RANGE[1]
        assert layer["bits_per_weight"] == (1 if layer["sq_binary"] else 2)
    # A large gamma keeps beta at pi/2 in the layer with the most mu's: it ends binary (1 bit).
    params = (("per_filter", True), ("gamma", 100.0), ("beta", SQ_BETA_RANGE[1]))
    cfg, report, model, out = runs("tiny-sq", quantizer_params=params)
    layers = report["stages"]["retrain1"]["layers"]
    assert layers[0]["sq_binary"] and layers[0]["bits_per_weight"] == 1 and layers[0]["nonzeros"] == 64 * 64
    assert not layers[1]["sq_binary"]  # one mu, so one gamma term: ternary
    assert report["export"]["hidden_bits_equal"] and report["export"]["prediction_agreement"] == 1.0
    assert np.all(load_model(out / "models" / f"{cfg.name}.npz").weights[0] != 0)


# --- export rules ---------------------------------------------------------------------------------


def test_binary_export_folds_per_neuron_scales_into_exact_thresholds():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = BinaryMLP(64, (40, 24), 10)
    layers = list(ternary_layers(model))
    with torch.no_grad():  # scales spread over two decades; one all-zero row (scale 0)
        layers[0].weight.mul_(torch.logspace(-2, 0, 40)[torch.randperm(40)][:, None])
        layers[0].weight[5] = 0.0
    for layer in layers[:-1]:
        layer.set_quantizer("twn", per_filter=True)
    layers[-1].set_quantizer("twn")
    _randomise_batch_norms(model, gen)
    model.eval()
    tnn = export(model)
    rng = np.random.default_rng(0)
    pixels = np.concatenate([rng.integers(0, 256, (3000, 64)), (rng.random((500, 64)) < 0.5) * 255,
                             np.zeros((1, 64)), np.full((1, 64), 255)]).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"], r["hidden_bit_mismatches"]
    assert r["prediction_agreement"] == 1.0
    # The thresholds are ceil(tau / alpha) of the real-valued batch-norm threshold tau, up to the
    # float32 rounding of alpha * acc that the bisection accounts for.
    norm, alpha = model.norms[0], layers[0].row_scale()[0].double().numpy()
    g, b = norm.weight.detach().double().numpy(), norm.bias.detach().double().numpy()
    tau = norm.running_mean.double().numpy() - b * np.sqrt(norm.running_var.double().numpy() + norm.eps) / g
    lo, hi = accumulator_range(tnn.weights[0], 0)
    ok = (g > 0) & (alpha > 0)
    expected = np.ceil(tau[ok] / alpha[ok])
    inside = (expected > lo[ok]) & (expected <= hi[ok])
    assert inside.sum() >= 5
    assert np.all(np.abs(tnn.thresholds[0][ok][inside] - expected[inside]) <= 1)
    assert len(np.unique(alpha)) > 30 and alpha[5] == 0


def test_float_export_multiplies_the_scale_into_s():
    torch.manual_seed(1)
    model = FloatMLP(64, (32,), 10, x_scale=1 / 255, x_offset=-0.5)
    for layer in ternary_layers(model):
        layer.set_quantizer("prox-single", per_filter=True)
        layer.prune_()  # stage transition: W <- prox(W)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for norm in [*model.norms, model.out_norm]:
            norm.weight.copy_(torch.randn(norm.num_features, generator=gen))
            norm.running_mean.copy_(torch.randn(norm.num_features, generator=gen))
            norm.running_var.copy_(torch.rand(norm.num_features, generator=gen) + 0.5)
    tnn = export(model)
    for layer, norm, s, b in zip(ternary_layers(model), [*model.norms, model.out_norm], tnn.scales, tnn.biases):
        alpha = layer.row_scale()[0]
        s_bn = norm.weight.detach().double() / torch.sqrt(norm.running_var.double() + norm.eps)
        assert np.array_equal(s, (s_bn * alpha.double()).float().numpy())
        assert np.array_equal(b, (norm.bias.detach().double() - norm.running_mean.double() * s_bn).float().numpy())
    pixels = np.random.default_rng(1).integers(0, 256, (500, 64)).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["prediction_agreement"] >= 0.99


def test_eval_forward_accumulates_the_codes_then_scales():
    torch.manual_seed(2)
    layer = list(ternary_layers(BinaryMLP(64, (16,), 10)))[0]
    layer.set_quantizer("twn", per_filter=True)
    x = torch.randint(0, 256, (50, 64)).float()
    y_train = layer(x)
    layer.eval()
    alpha = layer.row_scale()[0]
    y_eval = layer(x)
    assert torch.equal(y_eval, (x @ layer.ternary_weight().float().T) * alpha)
    assert torch.allclose(y_eval, y_train, rtol=1e-5, atol=1e-3)


def test_conv_layers_and_constructor_arguments():
    torch.manual_seed(4)
    conv = TernaryConv2d(2, 5, 3, padding=1, eta=0.5, method="twn", params={"per_filter": True})
    x = torch.randn(3, 2, 6, 6)
    y_train = conv(x)
    conv.eval()
    alpha = conv.row_scale()[0]
    y_eval = conv(x)
    assert torch.equal(y_eval, F.conv2d(x, conv.ternary_weight().float(), padding=1) * alpha[:, None, None])
    assert torch.allclose(y_eval, y_train, rtol=1e-5, atol=1e-5)
    # Eq. (5) on the codes for scaled methods: lam * T.
    lin = TernaryLinear(6, 3, eta=0.5, lam=0.1, method="ttq-threshold", params={"t": 0.2})
    lin.weight.grad = torch.zeros_like(lin.weight)
    lin.add_l2_grad()
    assert torch.equal(lin.weight.grad, 0.1 * lin.ternary_weight().float())
    assert "method='ttq-threshold'" in repr(lin)


def test_asymmetric_binary_scales_become_weighted_layers():
    """W_p != W_n in a binary network: kp{l}/kn{l} layers, close to PyTorch (not exact);
    W_p == W_n: ordinary layers again, exact."""
    torch.manual_seed(3)
    model = BinaryMLP(64, (16, 16), 10)
    for layer in ternary_layers(model):
        layer.set_quantizer("ttq-threshold")
    _randomise_batch_norms(model, torch.Generator().manual_seed(3))
    with torch.no_grad():
        for layer in ternary_layers(model):
            layer.quantizer.wn.mul_(0.37)  # clearly asymmetric
    model.eval()
    tnn = export(model)
    assert [tnn.row_weight(l) is not None for l in range(3)] == [True, True, True]
    kp, kn = tnn.row_weight(0)
    wp, wn = (v.numpy() for v in list(ternary_layers(model))[0].row_scales())
    neg = model.norms[0].weight.detach().numpy() < 0  # negated rows swap W_p and W_n
    ratio = np.where(neg, wn / wp, wp / wn)
    np.testing.assert_allclose(kp / kn, ratio, rtol=1e-3)
    assert kp.max() <= 32767 and kn.max() <= 32767 and max(kp.max(), kn.max()) >= 2**13
    pixels = np.random.default_rng(3).integers(0, 256, (2000, 64)).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert sum(r["hidden_bit_mismatches"]) <= 1e-3 * 2000 * 32
    # Outputs: the golden model's integers are the logits times one positive factor
    # (the argmax can differ only where PyTorch's own float32 rounding splits a tie).
    logits, _ = torch_forward(model, pixels)
    outputs, _ = forward(tnn, pixels)
    factor = np.median(logits[outputs != 0] / outputs[outputs != 0])
    np.testing.assert_allclose(outputs * factor, logits, rtol=1e-3, atol=1e-4 * np.abs(logits).max())
    with torch.no_grad():  # W_p == W_n: one scale per neuron again
        for layer in ternary_layers(model):
            layer.quantizer.wn.copy_(layer.quantizer.wp)
    tnn = export(model)
    assert not tnn.asymmetric
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"] and r["prediction_agreement"] == 1.0
    dual = FloatMLP(64, (16,), 10)
    for layer in ternary_layers(dual):
        layer.set_quantizer("prox-dual", per_filter=True)
        layer.prune_()
    tnn = export(dual)  # float: an asymmetric layer of the model file
    assert tnn.asymmetric and tnn.neg_scale(0) is not None


@pytest.mark.parametrize("method", ["prox-single", "incremental"])
def test_layers_still_in_full_precision_are_refused(method):
    model = FloatMLP(64, (16,), 10)
    for layer in ternary_layers(model):
        layer.set_quantizer(method)
    with pytest.raises(ExportError, match=rf"layer 0 \({method}\): not all weights are ternary yet"):
        export(model)


def test_binary_output_layer_with_distinct_scales_becomes_weighted():
    """Per-neuron output scales: raw accumulations would not keep the argmax, so the
    output layer gets integer weights with one common power of two."""
    torch.manual_seed(4)
    model = BinaryMLP(64, (16,), 10)
    for layer in ternary_layers(model):
        layer.set_quantizer("twn", per_filter=True)
    model.eval()
    tnn = export(model)
    assert tnn.row_weight(0) is None and tnn.row_weight(1) is not None
    kp, kn = tnn.row_weight(1)
    assert np.array_equal(kp, kn) and len(np.unique(kp)) > 1
    pixels = np.random.default_rng(4).integers(0, 256, (2000, 64)).astype(np.uint8)
    r = compare(model, tnn, pixels)
    assert r["hidden_bits_equal"] and r["prediction_agreement"] >= 0.995


def test_reexport_rebuilds_the_model_file_from_the_checkpoint(runs):
    """sw.reexport: the same export as training wrote, from the final checkpoint, without
    retraining; the report keeps the previous export entry."""
    import json

    from sw import reexport

    cfg, report, _, out = runs("tiny-ttq-threshold")
    npz, path = out / "models" / f"{cfg.name}.npz", out / "models" / f"{cfg.name}.json"
    original = npz.read_bytes()
    stale = {**report, "export": {"path": None, "reason": "an older exporter refused it"}}
    path.write_text(json.dumps(stale))
    npz.unlink()
    assert reexport.main(["--config", cfg.name, "--out", str(out)]) == 0
    again = json.loads(path.read_text())
    assert npz.read_bytes() == original  # deterministic: the file training wrote
    assert again["export"] == json.loads(json.dumps(report["export"]))
    assert again["reexported"]["previous_export"]["reason"] == "an older exporter refused it"
    assert again["final"] == json.loads(json.dumps(report["final"]))
    assert reexport.main(["--config", "tiny-twn", "--out", str(out)]) == 2  # no such run there
    path.write_text(json.dumps({**report, "config": {**report["config"], "lr": 1.0}}))
    assert reexport.main(["--config", cfg.name, "--out", str(out)]) == 2  # another config
