"""Engine LUTs against R: the cost model's constants (cost/fit.py)."""

import json

import pytest

from cost.fit import EngineFit, derive, linear_fit
from cost_fixtures import block, fake_blocks


def test_linear_fit_is_exact_on_a_line():
    a, b, resid = linear_fit([1.0, 2.0, 4.0], [13.0, 23.0, 43.0])
    assert (a, b) == pytest.approx((3.0, 10.0)) and resid == pytest.approx(0.0, abs=1e-9)


def test_derive_fits_engine_slope_above_the_lutram_switch():
    d = derive(fake_blocks())
    assert d.c_op_luts == pytest.approx(80.0)
    assert d.engine_intercept_luts == pytest.approx(200.0)
    assert d.fit_reuse == (8, 16, 32) and d.fit_max_residual_luts == pytest.approx(0, abs=1e-9)
    assert d.c_op_all_points_luts < 80.0          # the LUTRAM at small R bends the full fit
    assert d.per_reuse[0].model_luts_per_mac == pytest.approx(80.0 + 150.0)
    assert d.c_d_luts == 150
    # Float engines are fitted apart from the binary ones.
    assert d.float_engine.c_op_luts == pytest.approx(900.0)
    assert d.float_engine.c_op_dsps == pytest.approx(0.0) and d.float_engine.fit_reuse == (2, 4, 8)


def test_derive_without_two_engines_has_no_fit():
    blocks = {"decoder": block("decoder", 150), "engine_r8": block("engine_r8", 840, reuse=8)}
    d = derive(blocks)
    assert d == EngineFit(c_d_luts=150, fit_min_reuse=8, float_engine=None)
    assert d.to_json() == {
        "c_d_luts": 150, "fit_min_reuse": 8, "float_engine": None, "c_op_luts": None,
        "c_op_logic_luts": None, "c_op_all_points_luts": None, "engine_intercept_luts": None,
        "fit_max_residual_luts": None, "fit_reuse": [], "per_reuse": []}


def test_fit_json_round_trip():
    d = derive(fake_blocks())
    j = json.loads(json.dumps(d.to_json()))
    assert list(j) == ["c_d_luts", "fit_min_reuse", "float_engine", "c_op_luts",
                       "c_op_logic_luts", "c_op_all_points_luts", "engine_intercept_luts",
                       "fit_max_residual_luts", "fit_reuse", "per_reuse"]
    assert list(j["per_reuse"][0]) == ["reuse", "engine_lut_sites", "engine_luts_per_mac",
                                       "model_luts_per_mac"]
    assert EngineFit.from_json(j) == d
