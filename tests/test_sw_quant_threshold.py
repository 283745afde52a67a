"""sw.quant.threshold: paper 002's eq. (1), its straight-through twin, and its layer quantiser."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from sw.errors import InputError
from sw.quant import ThresholdQuantizer, ternarize, ternarize_ste, ternarize_threshold
from sw.quant.threshold import check_eta


def test_threshold_forward_is_eq_1_including_the_boundaries():
    w = torch.tensor([-1.0, -0.9, -0.5, -0.0, 0.0, 0.5, 0.9, 0.90001, 1.0], dtype=torch.float64)
    assert ternarize_threshold(w, 0.9).tolist() == [-1, 0, 0, 0, 0, 0, 0, 1, 1]
    w32 = w.float()  # eta is compared in the weight's dtype: float32(0.9) maps to 0
    assert ternarize_threshold(w32, 0.9).tolist() == [-1, 0, 0, 0, 0, 0, 0, 1, 1]
    assert ternarize_threshold(w32, 0.9).dtype == torch.float32


@settings(max_examples=200, deadline=None)
@given(w=hnp.arrays(np.float32, 40, elements=st.floats(-1, 1, width=32)), k=st.integers(0, 39),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_threshold_equals_its_comparison_definition(w, k, dtype):
    t = torch.from_numpy(w).to(dtype)
    eta = min(abs(float(w[k])), 0.999)  # often exactly one of the weights: the boundary case
    expected = (t > eta).to(dtype) - (t < -eta).to(dtype)
    assert torch.equal(ternarize_threshold(t, eta), expected)


def test_eta_zero_is_binary_and_the_registry_dispatches():
    w = torch.rand(100) * 2 - 1
    assert set(ternarize(w, "threshold", eta=0.0).tolist()) <= {-1.0, 1.0}
    assert torch.equal(ternarize(w, eta=0.5), ternarize_threshold(w, 0.5))


@pytest.mark.parametrize("eta", [1.0, 1.5, -0.1, float("nan")])
def test_eta_outside_0_1_is_refused(eta):
    with pytest.raises(InputError) as err:
        ternarize(torch.zeros(3), eta=eta)
    assert str(err.value) == f"eta: expected 0 <= eta < 1 (w_r lives in [-1, 1]), got {float(eta)}"
    assert check_eta(0) == 0.0 and isinstance(check_eta(0), float)


def test_straight_through_gradient_reaches_every_real_weight():
    w = (torch.rand(50, dtype=torch.float64) * 2 - 1).requires_grad_()
    g = torch.randn(50, dtype=torch.float64)
    (ternarize_ste(w, eta=0.7) * g).sum().backward()
    assert torch.equal(w.grad, g)  # identity STE, also where w_q == 0


def test_the_layer_quantiser_is_eq_1_unscaled_and_stateless():
    w = torch.tensor([[0.9, 0.4, -0.45, -0.7], [0.0, 0.51, -0.5, 0.2]])
    q = ThresholdQuantizer("threshold", w, eta=0.5)
    assert torch.equal(q.codes(w), ternarize_threshold(w, 0.5))
    assert torch.equal(q.values(w), q.codes(w)) and torch.equal(q.l2_codes(w), q.codes(w))
    assert q.scales(w) is None and q.is_ternary() and q.regularizer(w) is None
    assert q.report() == {} and dict(q.state_dict()) == {} and list(q.parameters()) == []


def test_the_layer_quantiser_prunes_eq_6_and_counts_pruned_nonzero_codes():
    w = torch.tensor([[0.9, 0.5, -0.3, -0.6, 0.55]])
    mask = torch.ones_like(w)
    q = ThresholdQuantizer("threshold", w, eta=0.5)
    assert q.prune(w, mask) == 0  # sigma = eta prunes only weights whose code is already zero
    assert mask.tolist() == [[1, 0, 0, 1, 1]] and w.tolist()[0][1:3] == [0.0, 0.0]
    assert q.prune(w, mask, 0.58) == 1  # 0.55 was a nonzero code: counted
    assert mask.tolist() == [[1, 0, 0, 1, 0]]
