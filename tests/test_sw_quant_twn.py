"""sw.quant.twn: ternary weight networks, Delta = 0.7 mean|W| and the mean kept |W|."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from quant_strategies import matrices
from sw.quant import ternarize, ternarize_twn, twn_params


@settings(max_examples=80, deadline=None)
@given(w=matrices(), per_filter=st.booleans())
def test_twn_threshold_and_scale_are_the_formula(w, per_filter):
    rows = w if per_filter else w.reshape(1, -1)
    delta, alpha, codes = twn_params(torch.from_numpy(w), per_filter=per_filter)
    q = ternarize_twn(torch.from_numpy(w), per_filter=per_filter).numpy()
    q_rows = q if per_filter else q.reshape(1, -1)
    c_rows = codes.numpy().reshape(rows.shape)
    for i, r in enumerate(rows):
        d = 0.7 * np.abs(r).mean()
        assert delta[i].item() == pytest.approx(d, rel=1e-12, abs=1e-300)
        clear = np.abs(np.abs(r) - d) > 1e-12  # away from the threshold itself
        kept = np.abs(r) > delta[i].item()
        assert np.array_equal((c_rows[i] != 0)[clear], (np.abs(r) > d)[clear])
        assert np.array_equal(c_rows[i], np.sign(r) * kept)
        a = np.abs(r)[kept].mean() if kept.any() else 0.0
        assert alpha[i].item() == pytest.approx(a, rel=1e-12, abs=1e-300)
        assert np.allclose(q_rows[i], a * np.sign(r) * kept, rtol=1e-12, atol=0)


def test_twn_example():
    w = torch.tensor([0.9, -0.1, 0.05, -0.6, 0.3, 0.0])
    delta, alpha, codes = twn_params(w)
    assert delta.item() == pytest.approx(0.7 * 1.95 / 6)  # 0.2275
    assert codes.tolist() == [1, 0, 0, -1, 1, 0]
    assert alpha.item() == pytest.approx(1.8 / 3)
    assert ternarize(w, "twn").tolist() == pytest.approx([0.6, 0, 0, -0.6, 0.6, 0])
