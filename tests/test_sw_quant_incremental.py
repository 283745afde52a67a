"""sw.quant.incremental: incremental filter-wise TTQ (paper 004), growing masks, frozen weights."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from quant_strategies import floats
from sw.errors import InputError
from sw.quant import (INCREMENTAL_QUANTILES, incremental_codes, incremental_mask, ternarize,
                      ternarize_incremental, ternarize_incremental_ste, ternarize_ttq)


@settings(max_examples=40, deadline=None)
@given(w=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 9)),
                    elements=floats),
       seed=st.integers(0, 2 ** 16))
def test_incremental_rounds_grow_the_mask_and_keep_frozen_weights_frozen(w, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(w).clone()
    n = x[0].numel()
    frozen = torch.zeros_like(x, dtype=torch.bool)
    frozen_out = None
    for q in INCREMENTAL_QUANTILES:
        mask = incremental_mask(x, q, frozen)
        assert torch.all(mask[frozen])                                     # frozen stays frozen
        assert mask.reshape(len(x), -1).sum(1).tolist() == [math.ceil(q * n)] * len(x)
        for xf, mf, ff in zip(x.reshape(len(x), -1), mask.reshape(len(x), -1), frozen.reshape(len(x), -1)):
            new, rest = mf & ~ff, ~mf
            if new.any() and rest.any():                                   # the largest of the rest
                assert xf[new].abs().min() >= xf[rest].abs().max()
        out = ternarize_incremental(x, q=q, frozen=frozen)
        assert torch.equal(out[~mask], x[~mask])                           # the rest: full precision
        if frozen_out is not None:                                         # codes of frozen weights fixed
            assert torch.equal(torch.sign(out[frozen]), torch.sign(frozen_out[frozen]))
        # a round of "training": only unfrozen weights move, and never past the frozen magnitudes
        xs = x.clone().requires_grad_()
        ternarize_incremental_ste(xs, q=q, frozen=frozen).backward(torch.ones_like(x))
        assert torch.all(xs.grad[mask] == 0) and torch.all(xs.grad[~mask] == 1)
        shrink = torch.rand(x.shape, generator=gen, dtype=x.dtype)
        flip = torch.where(torch.rand(x.shape, generator=gen) < 0.3, -1.0, 1.0).to(x.dtype)
        x = torch.where(mask, x, x * shrink * flip)
        frozen, frozen_out = mask, out
    assert torch.all(frozen)                                               # q = 1: all ternarised


def test_incremental_final_round_is_filterwise_ttq_and_scales_learn():
    torch.manual_seed(5)
    w = torch.randn(6, 3, 3, 3, dtype=torch.float64)
    assert torch.equal(ternarize(w, "incremental"), ternarize_ttq(w, per_filter=True))
    assert torch.equal(ternarize(w, "incremental", q=0.0), w)
    half = incremental_mask(w, 0.5)
    assert half.reshape(6, -1).sum(1).tolist() == [14] * 6  # ceil(0.5 * 27)
    wp = torch.ones(6, dtype=torch.float64, requires_grad=True)
    wn = torch.ones(6, dtype=torch.float64, requires_grad=True)
    x = w.clone().requires_grad_()
    y = ternarize_incremental_ste(x, q=0.5, wp=wp, wn=wn)
    assert set(y[half].tolist()) <= {-1.0, 0.0, 1.0}
    y.sum().backward()
    codes = incremental_codes(w, half)
    assert torch.equal(codes, torch.sign(w) * half)  # the top half all clear 0.05 * max here
    assert torch.equal(wp.grad, (codes > 0).reshape(6, -1).sum(1).double())
    assert torch.equal(wn.grad, -(codes < 0).reshape(6, -1).sum(1).double())
    with pytest.raises(InputError) as err:
        incremental_mask(w, 1.5)
    assert str(err.value) == "q: expected a share in [0, 1], got 1.5"
    with pytest.raises(InputError) as err:
        incremental_mask(w, 0.5, torch.zeros(3, dtype=torch.bool))
    assert str(err.value) == "frozen: expected a mask of shape (6, 3, 3, 3), got (3,)"
