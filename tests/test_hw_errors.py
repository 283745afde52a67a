"""hw.errors: refusals are InputErrors naming the parameter, and components that a
refusal leaves unelaborated are silenced (Amaranth's "created but never used"
warning would otherwise fire whenever they are freed, in whatever test runs then)."""

import pytest

from hw.decompressor import Decompressor
from hw.errors import ParameterError, build_all
from hw.fp32 import FP32Add
from sw.errors import InputError


def silenced(component) -> bool:
    """Amaranth's own switch for the "created but never used" warning."""
    return component._MustUse__silence


def test_a_refused_constructor_raises_a_parameter_error():
    with pytest.raises(ParameterError, match=r"^latency: must be in 0\.\.8, got 9$") as info:
        FP32Add(latency=9)
    assert isinstance(info.value, InputError)


def test_build_all_returns_every_component_in_order_unsilenced():
    add, dec = build_all([lambda: FP32Add(latency=1),
                          lambda: Decompressor(field_width=2, n_cols=8, depth=4)])
    assert isinstance(add, FP32Add) and isinstance(dec, Decompressor)
    assert not silenced(add) and not silenced(dec)
    add._MustUse__silence = dec._MustUse__silence = True  # built for this test only


def test_build_all_silences_what_it_built_when_a_later_builder_refuses():
    built = []

    def decompressor():
        built.append(Decompressor(field_width=2, n_cols=8, depth=4))
        return built[-1]

    with pytest.raises(ParameterError, match=r"^latency: must be in 0\.\.8, got 9$"):
        build_all([decompressor, lambda: FP32Add(latency=9)])
    assert len(built) == 1 and silenced(built[0])
