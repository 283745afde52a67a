"""hw.float_pe's parameters (the PE's arithmetic is tested through the float engine,
test_hw_float_datapath.py, against the golden model)."""

import pytest

from hw.errors import ParameterError
from hw.float_pe import FloatAccumulatePE


def test_refuses_bad_parameters():
    with pytest.raises(ParameterError, match=r"^lanes: must be >= 1 \(the adder's latency\), got 0$"):
        FloatAccumulatePE(lanes=0)
    with pytest.raises(ParameterError, match=r"^sets: must be 1 or 2 partial-sum sets, got 3$"):
        FloatAccumulatePE(lanes=2, sets=3)
