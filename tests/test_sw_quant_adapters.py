"""sw.quant.adapters and sw.quant.quantizer: one layer quantiser per registered method, built by name."""

import pytest
import torch

from sw.errors import InputError
from sw.quant import ADAPTERS, INCREMENTAL_QUANTILES, QUANTIZERS, LayerQuantizer, make_layer_quantizer
from sw.quant.adapters import SQ_BETA_RANGE


def test_every_registered_method_has_a_layer_quantiser():
    assert set(ADAPTERS) == set(QUANTIZERS)
    assert all(issubclass(cls, LayerQuantizer) for cls in ADAPTERS.values())


@pytest.mark.parametrize("method", sorted(QUANTIZERS))
def test_values_are_the_codes_times_the_scales_once_ternary(method):
    torch.manual_seed(0)
    w = (torch.rand(6, 10) * 2 - 1).requires_grad_()
    q = make_layer_quantizer(method, w.detach(), eta=0.5)
    with torch.no_grad():
        while not q.is_ternary():  # prox, incremental: full precision until their transitions
            q.next_stage(w)
    codes = q.codes(w)
    assert set(codes.unique().tolist()) <= {-1.0, 0.0, 1.0} and codes.shape == w.shape
    scales = q.scales(w)
    values = q.values(w)
    if scales is None:  # threshold: unscaled
        assert method == "threshold" and torch.equal(values.detach(), codes)
    else:
        wp, wn = (s.reshape(-1, 1).expand(6, 1) for s in scales)
        expected = torch.where(codes > 0, wp, torch.where(codes < 0, -wn, 0.0))
        assert torch.allclose(values.detach(), expected, rtol=1e-6, atol=0)
    values.sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()
    expected_report = {} if method == "threshold" else {"method": method, **q.info()}
    assert q.report() == expected_report


@pytest.mark.parametrize("call, message", [
    (lambda w: make_layer_quantizer("nope", w),
     "quantizer: unknown 'nope' (known: incremental, prox-dual, prox-single, sq, threshold, ttq-sparsity, "
     "ttq-threshold, twn)"),
    (lambda w: make_layer_quantizer("twn", w, {"bogus": 1, "per_filter": True}),
     "quantizer_params: twn takes no bogus (accepted: per_filter)"),
    (lambda w: make_layer_quantizer("threshold", w, {"eta": 0.3}, eta=0.5),
     "quantizer_params: threshold takes no eta (accepted: none; eta is the layer's)"),
    (lambda w: make_layer_quantizer("threshold", w),
     "eta: threshold needs the layer's eta"),
    (lambda w: make_layer_quantizer("sq", w, {"reg": -1.0}),
     "quantizer_params: sq's reg and gamma must be >= 0, got reg=-1.0, gamma=0.01"),
    (lambda w: make_layer_quantizer("sq", w, {"beta": 0.1}),
     f"quantizer_params: sq's beta must lie in [{SQ_BETA_RANGE[0]:.4f}, {SQ_BETA_RANGE[1]:.4f}], got 0.1"),
    (lambda w: make_layer_quantizer("incremental", w, {"quantiles": (0.5, 0.4, 1.0)}),
     "quantizer_params: incremental's quantiles must increase within (0, 1] and end at 1, "
     "got (0.5, 0.4, 1.0)"),
])
def test_bad_methods_and_parameters_name_the_field(call, message):
    with pytest.raises(InputError) as err:
        call(torch.rand(4, 5))
    assert str(err.value) == message


def test_incremental_refuses_a_round_past_its_last_quantile():
    w = torch.rand(4, 8) * 2 - 1
    q = make_layer_quantizer("incremental", w)
    for r in range(1, len(INCREMENTAL_QUANTILES) + 1):
        assert q.prune(w, torch.ones_like(w)) == 0 and q.info()["round"] == r
    with pytest.raises(InputError) as err:
        q.next_stage(w)
    assert str(err.value) == ("prune_iterations: incremental's 3 rounds are all done "
                              "(prune_iterations must equal the number of quantiles)")


def test_learned_scales_and_state_are_parameters_and_buffers():
    w = torch.rand(4, 8) * 2 - 1
    names = {m: sorted(make_layer_quantizer(m, w, eta=0.5).state_dict()) for m in sorted(QUANTIZERS)}
    assert names == {"incremental": ["frozen", "round", "wn", "wp"], "prox-dual": ["active"],
                     "prox-single": ["active"], "sq": ["beta", "mu", "threshold"], "threshold": [],
                     "ttq-sparsity": ["wn", "wp"], "ttq-threshold": ["wn", "wp"], "twn": []}
