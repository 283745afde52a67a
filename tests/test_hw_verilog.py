"""hw.verilog: the text of a component, written atomically with the umask's mode."""

import os

from hw.decompressor import Decompressor
from hw.verilog import to_verilog, write_verilog


def test_write_verilog_is_atomic_and_honours_the_umask(tmp_path):
    dut = Decompressor(field_width=3, n_cols=8, depth=4)
    text = to_verilog(Decompressor(field_width=3, n_cols=8, depth=4), "decompressor")
    old = os.umask(0o027)
    try:
        path = write_verilog(dut, "decompressor", tmp_path / "out")
    finally:
        os.umask(old)
    assert path == tmp_path / "out" / "decompressor.v"
    assert path.read_text() == text and "module decompressor(" in text
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["decompressor.v"]  # no temporary file left
