"""Hypothesis strategies and helpers shared by the quantiser property tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

floats = st.floats(-1, 1, allow_nan=False, width=64)


def vectors(min_size=1, max_size=40):
    """float64 vectors of 1..40 values in [-1, 1]."""
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=floats)


def matrices(max_rows=5, max_cols=12):
    """float64 matrices of up to 5 x 12 values in [-1, 1]."""
    shape = st.tuples(st.integers(1, max_rows), st.integers(1, max_cols))
    return hnp.arrays(np.float64, shape, elements=floats)


def sq_err(q, w):
    """Squared error of the quantised ``q`` against ``w``."""
    return float(((q - w) ** 2).sum())
