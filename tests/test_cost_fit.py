"""Engine LUTs against R: the cost model's constants (cost/fit.py)."""

import json

import pytest

from cost.fit import DenseFit, DensePoint, EngineFit, dense_fit, derive, linear_fit
from cost.summary import DenseShape
from cost_fixtures import block, dense_blocks, fake_blocks


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
    blocks = {"decoder": block("decoder", 150), "engine_r8_k1": block("engine_r8_k1", 840, reuse=8, lanes=1)}
    d = derive(blocks)
    assert d == EngineFit(c_d_luts=150, fit_min_reuse=8, float_engine=None)
    assert d.to_json() == {
        "c_d_luts": 150, "fit_min_reuse": 8, "float_engine": None, "c_op_luts": None,
        "c_op_logic_luts": None, "c_op_all_points_luts": None, "engine_intercept_luts": None,
        "fit_max_residual_luts": None, "fit_reuse": [], "per_reuse": [], "dense_mvu": None,
        "lanes": None}


def test_fit_json_round_trip():
    d = derive(fake_blocks())
    j = json.loads(json.dumps(d.to_json()))
    assert list(j) == ["c_d_luts", "fit_min_reuse", "lanes", "float_engine", "c_op_luts",
                       "c_op_logic_luts", "c_op_all_points_luts", "engine_intercept_luts",
                       "fit_max_residual_luts", "fit_reuse", "per_reuse", "dense_mvu"]
    assert list(j["per_reuse"][0]) == ["reuse", "lanes", "engine_lut_sites", "engine_luts_per_mac",
                                       "model_luts_per_mac", "bram36"]
    assert EngineFit.from_json(j) == d


def test_dense_fit_is_the_slope_of_lut_sites_against_simd_times_pe():
    d = dense_fit(fake_blocks() | dense_blocks())
    assert d.layer == (512, 512) and d.luts_per_mac == pytest.approx(2.5)
    assert d.logic_luts_per_mac == pytest.approx(2.5)
    assert d.intercept_luts == pytest.approx(100.0)
    assert d.fit_max_residual_luts == pytest.approx(0.0, abs=1e-9)
    assert d.points == (DensePoint(16, 16, 256, 740, 740 / 256, 7.5),
                        DensePoint(32, 16, 512, 1380, 1380 / 512, 7.5),
                        DensePoint(32, 32, 1024, 2660, 2660 / 1024, 7.5))
    assert derive(fake_blocks() | dense_blocks()).dense_mvu == d
    j = json.loads(json.dumps(d.to_json()))
    assert list(j) == ["layer", "luts_per_mac", "logic_luts_per_mac", "intercept_luts",
                       "fit_max_residual_luts", "points"]
    assert j["points"][0] == {"simd": 16, "pe": 16, "macs": 256, "lut_sites": 740,
                              "luts_per_mac": 740 / 256, "bram36": 7.5}
    assert DenseFit.from_json(j) == d


def test_dense_fit_needs_two_sizes_of_one_layer():
    assert dense_fit(fake_blocks()) is None and derive(fake_blocks()).dense_mvu is None
    one = {"d": block("d", 700, dense=DenseShape(512, 512, 16, 16)),
           "e": block("e", 900, dense=DenseShape(256, 512, 32, 16))}  # another layer: left out
    assert dense_fit(one) is None
