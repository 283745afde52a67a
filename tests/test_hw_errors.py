"""hw.errors: refusals are InputErrors naming the parameter, and refused or abandoned
components never warn "created but never used"."""

import gc

import pytest

from hw.decompressor import Decompressor
from hw.errors import ParameterError, build_all
from hw.fp32 import FP32Add
from sw.errors import InputError


def test_a_refused_constructor_raises_a_parameter_error_and_leaves_no_warning():
    with pytest.raises(ParameterError, match=r"^latency: must be in 0\.\.5, got 9$") as info:
        FP32Add(latency=9)
    assert isinstance(info.value, InputError)
    gc.collect()  # warnings are errors in this suite: an unsilenced component would fail here


def test_build_all_returns_every_component_in_order():
    add, dec = build_all([lambda: FP32Add(latency=1),
                          lambda: Decompressor(field_width=2, n_cols=8, depth=4)])
    assert isinstance(add, FP32Add) and isinstance(dec, Decompressor)
    for component in (add, dec):  # built for the test only
        component._MustUse__silence = True


def test_build_all_silences_what_it_built_when_a_later_builder_refuses():
    with pytest.raises(ParameterError, match=r"^latency: "):
        build_all([lambda: Decompressor(field_width=2, n_cols=8, depth=4),
                   lambda: FP32Add(latency=9)])
    gc.collect()
