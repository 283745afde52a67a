"""sw.train with every registered quantiser: each tiny method config trains, exports and shows
its method's behaviour in the stages (learned scales, prox phases, incremental rounds, SQ bits)."""

import math

import numpy as np
import pytest
import torch

from sw.build import build_model
from sw.checkpoints import checkpoint_path, load_checkpoint
from sw.configs import METHODS
from sw.golden import forward, predict
from sw.model_file import load_model
from sw.quant import INCREMENTAL_QUANTILES, ternarize_prox, ternary_layers
from sw.quant.adapters import SQ_BETA_RANGE
from sw_fixtures import digits, method_runs  # noqa: F401  (fixtures)

#: Methods whose trained networks export with one scale per neuron (binary: exactly).
EXPORTABLE = {"twn", "prox-single", "sq"}
#: Methods with two scales per group, W_p != W_n: float layers with two scales (sn{l}),
#: weighted binary layers (kp{l}, kn{l}).
TWO_SCALES = {"ttq-threshold", "ttq-sparsity", "prox-dual", "incremental"}


def _checkpoint(out, cfg, stage):
    return load_checkpoint(checkpoint_path(out, cfg.name, stage))["state_dict"]


@pytest.mark.parametrize("act", ["binary", "float"])
@pytest.mark.parametrize("method", METHODS)
def test_tiny_method_config_trains_and_exports(method_runs, digits, method, act):
    cfg, report, model, out = method_runs(f"tiny-{method}" if act == "binary" else f"tiny-float-{method}")
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
    # Two scales per row become sn{l} (float) or kp{l}/kn{l} (binary) layers.
    assert (tnn.asymmetric if act == "float" else tnn.weighted) == (method in TWO_SCALES)
    if act == "binary" and method in EXPORTABLE:  # the folded thresholds are exact: every hidden bit
        assert report["export"]["hidden_bits_equal"] and report["export"]["prediction_agreement"] == 1.0
        assert acc == pytest.approx(report["final"]["test_acc"])
    elif act == "binary":  # kp / kn approximate W_p / W_n to ~15 bits
        bits = sum(h.size for h in forward(tnn, digits.test_x)[1])
        assert sum(report["export"]["hidden_bit_mismatches"]) <= 1e-3 * bits
        assert report["export"]["prediction_agreement"] >= 0.99
    else:
        assert report["export"]["prediction_agreement"] >= 0.99


def test_ttq_learns_its_scales(method_runs, digits):
    cfg, report, model, _ = method_runs("tiny-ttq-threshold")
    torch.manual_seed(cfg.seed)
    initial = build_model(cfg, digits)  # the run's initial state
    for a, b in zip(ternary_layers(initial), ternary_layers(model)):
        for name in ("wp", "wn"):
            before, after = getattr(a.quantizer, name).detach(), getattr(b.quantizer, name).detach()
            assert before.shape == after.shape == (1,)  # paper 000: one pair per layer
            assert torch.all(after >= 0) and not torch.allclose(before, after, rtol=1e-3, atol=0)
    assert {n for n, _ in model.named_parameters() if "quantizer" in n} == {
        f"linears.{k}.quantizer.{s}" for k in (0, 1) for s in ("wp", "wn")}


def test_ttq_sparsity_keeps_its_zero_fraction(method_runs):
    _, report, model, _ = method_runs("tiny-ttq-sparsity")
    assert report["final"]["zero_fraction"] == pytest.approx(0.5, abs=1e-3)


def test_prox_starts_from_full_precision_then_runs_algorithm_1(method_runs):
    cfg, report, model, out = method_runs("tiny-float-prox-single")
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


def test_incremental_rounds_follow_the_quantiles_and_frozen_weights_stay(method_runs):
    cfg, report, model, out = method_runs("tiny-incremental")
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


def test_sq_reports_bits_per_layer_and_can_end_mixed_binary_ternary(method_runs):
    _, report, _, _ = method_runs("tiny-sq")
    for layer in report["stages"]["retrain1"]["layers"]:
        assert SQ_BETA_RANGE[0] <= layer["sq_beta"] <= SQ_BETA_RANGE[1]
        assert layer["bits_per_weight"] == (1 if layer["sq_binary"] else 2)
    # A large gamma keeps beta at pi/2 in the layer with the most mu's: it ends binary (1 bit).
    params = (("per_filter", True), ("gamma", 100.0), ("beta", SQ_BETA_RANGE[1]))
    cfg, report, model, out = method_runs("tiny-sq", quantizer_params=params)
    layers = report["stages"]["retrain1"]["layers"]
    assert layers[0]["sq_binary"] and layers[0]["bits_per_weight"] == 1 and layers[0]["nonzeros"] == 64 * 64
    assert not layers[1]["sq_binary"]  # one mu, so one gamma term: ternary
    assert report["export"]["hidden_bits_equal"] and report["export"]["prediction_agreement"] == 1.0
    assert np.all(load_model(out / "models" / f"{cfg.name}.npz").weights[0] != 0)
