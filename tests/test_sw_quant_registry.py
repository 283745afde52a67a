"""sw.quant.registry: methods by name; properties every registered quantiser shares."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from quant_strategies import floats
from sw.errors import InputError
from sw.quant import QUANTIZERS, ternarize, ternarize_ste


NEW_METHODS = ["twn", "ttq-threshold", "ttq-sparsity", "prox-single", "prox-dual", "sq", "incremental"]
PER_FILTER = {"twn", "ttq-threshold", "ttq-sparsity", "prox-single", "prox-dual", "sq"}
DEFAULTS = {"threshold": {"eta": 0.5}}

def test_every_method_is_registered_and_unknown_names_list_them():
    assert set(NEW_METHODS) | {"threshold"} <= set(QUANTIZERS)
    known = ", ".join(sorted(QUANTIZERS))
    for f, name in ((ternarize, "no-such-method"), (ternarize_ste, "ttq")):
        with pytest.raises(InputError) as err:
            f(torch.zeros(3), name)
        assert str(err.value) == f"quantizer: unknown {name!r} (known: {known})"
    assert known == "incremental, prox-dual, prox-single, sq, threshold, ttq-sparsity, ttq-threshold, twn"


@settings(max_examples=60, deadline=None)
@given(w=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5)),
                    elements=floats),
       method=st.sampled_from(sorted(QUANTIZERS)), per_filter=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_at_most_three_values_per_scale_group_and_ste_forward_agrees(w, method, per_filter, dtype):
    t = torch.from_numpy(w).to(dtype)
    params = dict(DEFAULTS.get(method, {}))
    if method in PER_FILTER:
        params["per_filter"] = per_filter
    filterwise = params.get("per_filter", False) or method == "incremental"
    q = ternarize(t, method, **params)
    assert q.shape == t.shape and q.dtype == t.dtype
    for group in (q.reshape(q.shape[0], -1) if filterwise else q.reshape(1, -1)):
        values = set(group.tolist())
        assert len(values) <= 3
        assert len({v for v in values if v > 0}) <= 1 and len({v for v in values if v < 0}) <= 1
    x = t.clone().requires_grad_()
    y = ternarize_ste(x, method, **params)
    assert torch.equal(y.detach(), q)
    y.backward(torch.ones_like(y))
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("method", NEW_METHODS)
def test_values_keep_the_sign_of_the_weight(method):
    torch.manual_seed(0)
    w = torch.randn(6, 20, dtype=torch.float64)
    q = ternarize(w, method)
    assert torch.all(q * w >= 0)  # nonzero outputs have the weight's sign
