"""A Verilog wrapper that runs the clock inside the simulator.

:func:`clocked_wrapper` writes module ``<top>_tb``: it toggles ``clk`` every
:data:`HALF_PERIOD_NS` ns (a ``#5`` delay, 10 ns period, timescale 1ns/1ps)
inside the simulator and passes every other port of ``<top>`` through
unchanged (:func:`port_list`: the names and widths Amaranth emits, ``rst``
included). A testbench then wakes Python only where it awaits an event (e.g.
``RisingEdge(dut.done)``), never per clock edge as a cocotb ``Clock`` would.
Verilator builds it with ``--timing``.
"""

from __future__ import annotations

from amaranth import Shape
from amaranth.lib import wiring

HALF_PERIOD_NS = 5


def port_list(component: wiring.Component):
    """``(name, direction, width)`` of each port Amaranth emits for ``component``,
    ``clk`` and ``rst`` included."""
    ports = [("clk", "input", 1), ("rst", "input", 1)]
    for path, member, _value in component.signature.flatten(component):
        name = "__".join(str(p) for p in path)
        direction = "input" if member.flow == wiring.In else "output"
        width = Shape.cast(member.shape).width
        ports.append((name, direction, width))
    return ports


def clocked_wrapper(component: wiring.Component, top: str) -> str:
    """Verilog text of module ``<top>_tb`` around module ``top``."""
    ports = [p for p in port_list(component) if p[0] != "clk"]
    decls, conns = [], [".clk(clk)"]
    for name, direction, width in ports:
        rng = f"[{width - 1}:0] " if width > 1 else ""
        decls.append(f"    {direction} wire {rng}{name}")
        conns.append(f".{name}({name})")
    return "\n".join([
        "`timescale 1ns/1ps",
        f"module {top}_tb (",
        ",\n".join(decls),
        ");",
        "    reg clk = 1'b0;",
        f"    always #{HALF_PERIOD_NS} clk = ~clk;",
        f"    {top} dut ({', '.join(conns)});",
        "endmodule",
        "",
    ])
