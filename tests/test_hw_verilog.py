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


def test_all_zero_memories_are_initialised_by_a_loop():
    """yosys's one line per word becomes a loop for all-zero memories; others stay."""
    from amaranth import Module
    from amaranth.lib import memory, wiring
    from amaranth.lib.wiring import In, Out

    from hw.verilog import compact_zero_inits, to_verilog

    class Two(wiring.Component):
        addr: In(6)
        zeros: Out(3)
        table: Out(3)

        def elaborate(self, platform):
            m = Module()
            m.submodules.z = z = memory.Memory(shape=3, depth=40, init=[])
            m.submodules.t = t = memory.Memory(shape=3, depth=40, init=[i % 8 for i in range(40)])
            rz, rt = z.read_port(domain="comb"), t.read_port(domain="comb")
            m.d.comb += [rz.addr.eq(self.addr), rt.addr.eq(self.addr),
                         self.zeros.eq(rz.data), self.table.eq(rt.data)]
            return m

    text = to_verilog(Two(), "two")
    assert "for (z__init_i = 0; z__init_i < 40; z__init_i = z__init_i + 1)" in text
    assert "z[39] = 3'h0;" not in text and "t[39] = 3'h7;" in text
    raw = "  initial begin\n    m[0] = 2'h0;\n    m[1] = 2'h1;\n  end"
    assert compact_zero_inits(raw) == raw  # a nonzero word: left as yosys wrote it
