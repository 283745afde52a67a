"""What a synthesised netlist holds: cell counts grouped into :class:`Resources`
(from yosys' ``stat -json``) and the deepest register-to-register logic
(:func:`logic_levels`, from ``write_json``).

The counts are cells after yosys' technology mapping for Xilinx UltraScale
(ABC9 LUT mapping), not Vivado utilisation: no packing, no cross-boundary
optimisation, no retiming. ``INV`` cells count as LUTs (an inverter takes a
LUT1 unless the placer absorbs it), so LUT counts are slightly pessimistic.
CARRY4 and CARRY8 are both reported as ``carry``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = [
    "SynthError", "Resources", "LogicLevels", "parse_stat", "count_resources", "logic_levels",
    "LUTRAM_LUTS", "LUT_TYPES", "FF_TYPES", "CARRY_TYPES", "MUXF_TYPES",
    "DSP_PIPELINE_REGISTERS", "DSP_LEVEL_WEIGHTS", "LEVELS_VERSION",
]


#: Bumped whenever :func:`logic_levels` counts differently; part of every synthesis cache
#: key (:mod:`cost.yosys`), so that no cached depth from an older count is reused.
LEVELS_VERSION = 2


class SynthError(RuntimeError):
    """Yosys failed, or its output cannot be trusted; the message says which block and why."""


#: LUT sites taken by each distributed-RAM / shift-register primitive (UG574, UltraScale CLB).
LUTRAM_LUTS = {
    "RAM32X1S": 1, "RAM32X1D": 2, "RAM32M": 4, "RAM32M16": 8,
    "RAM64X1S": 1, "RAM64X1D": 2, "RAM64M": 4, "RAM64M8": 8,
    "RAM128X1S": 2, "RAM128X1D": 4, "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
LUT_TYPES = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")
FF_TYPES = ("FDRE", "FDSE", "FDCE", "FDPE")
CARRY_TYPES = ("CARRY4", "CARRY8")
MUXF_TYPES = ("MUXF7", "MUXF8", "MUXF9")
#: Cells that are no logic: ``$scopeinfo`` records a flattened submodule's name.
IGNORED_CELLS = ("$scopeinfo",)
_COUNTS = ("luts", "ffs", "carry", "muxf", "dsps", "ramb18", "ramb36", "lutram_luts")


@dataclass(frozen=True)
class Resources:
    """Cell counts of one synthesised block.

    ``luts`` is logic LUTs (LUT1..LUT6 plus INV); ``lutram_luts`` the LUT sites taken by
    distributed RAM and shift registers; ``lut_sites`` their sum, what the device's LUT
    budget pays. ``bram36`` counts a RAMB18E2 as half a RAMB36E2.
    """

    luts: int
    ffs: int
    carry: int
    muxf: int
    dsps: int
    ramb18: int
    ramb36: int
    lutram_luts: int
    lutram_cells: dict = field(default_factory=dict)
    by_type: dict = field(default_factory=dict)

    @property
    def lut_sites(self) -> int:
        return self.luts + self.lutram_luts

    @property
    def bram36(self) -> float:
        return self.ramb36 + self.ramb18 / 2

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(lut_sites=self.lut_sites, bram36=self.bram36)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Resources":
        """The inverse of :meth:`to_json` (``lut_sites`` and ``bram36`` are recomputed)."""
        return cls(**{k: int(d[k]) for k in _COUNTS},
                   lutram_cells=dict(d.get("lutram_cells", {})), by_type=dict(d.get("by_type", {})))


@dataclass(frozen=True)
class LogicLevels:
    """The deepest register-to-register logic of a netlist (:func:`logic_levels`)."""

    lut: int
    total: int
    unknown_cells: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"lut": self.lut, "total": self.total, "unknown_cells": list(self.unknown_cells)}

    @classmethod
    def from_json(cls, d: dict) -> "LogicLevels":
        return cls(int(d["lut"]), int(d["total"]), tuple(d.get("unknown_cells", ())))


def parse_stat(stat: dict) -> dict[str, int]:
    """Cell counts by type from yosys' ``stat -json`` output.

    Takes the ``design`` section (the whole flattened design) and falls back to the only
    module. Raises :class:`SynthError` if the design is hierarchical (a submodule
    instance would hide its cells) or still holds unmapped internal ``$`` cells
    (``$scopeinfo``, a flattened submodule's name record, is dropped).
    """
    section = stat.get("design")
    if section is None:
        modules = stat.get("modules", {})
        if len(modules) != 1:
            raise SynthError(f"stat: expected one module, got {sorted(modules)}")
        section = next(iter(modules.values()))
    cells = {str(k): int(v) for k, v in section.get("num_cells_by_type", {}).items()
             if k not in IGNORED_CELLS}
    internal = sorted(k for k in cells if k.startswith("$"))
    if internal:
        raise SynthError(f"stat: unmapped cells {internal} (did ABC fail?)")
    if section.get("num_submodules", 0):
        raise SynthError("stat: the design is not flat (synthesise with -flatten)")
    return cells


def count_resources(cells: dict[str, int]) -> Resources:
    """Group a cell-count dictionary (:func:`parse_stat`) into :class:`Resources`."""
    total = lambda types: sum(cells.get(t, 0) for t in types)  # noqa: E731
    lutram = {t: n for t, n in cells.items() if t in LUTRAM_LUTS}
    return Resources(
        luts=total(LUT_TYPES),
        ffs=total(FF_TYPES),
        carry=total(CARRY_TYPES),
        muxf=total(MUXF_TYPES),
        dsps=cells.get("DSP48E2", 0),
        ramb18=cells.get("RAMB18E2", 0),
        ramb36=cells.get("RAMB36E2", 0),
        lutram_luts=sum(LUTRAM_LUTS[t] * n for t, n in lutram.items()),
        lutram_cells=lutram,
        by_type=dict(sorted(cells.items())),
    )


# ---------------------------------------------------------------------------------------------
# Logic depth on the mapped netlist

def _is_path_end(cell_type: str) -> bool:
    """Registers, block RAMs, DSPs, UltraRAM, clock buffers: where a timing path starts or ends.
    Block RAMs are taken as registered, DSP48E2 too unless :func:`_unregistered_dsp`."""
    return cell_type.startswith(("FD", "RAMB", "DSP48", "URAM", "BUFG"))


#: A DSP48E2 with all of these 0 multiplies combinationally (UG579; the primitive's default
#: for each is 1). Yosys' ``synth_xilinx`` leaves a multiplier's registers in the fabric.
DSP_PIPELINE_REGISTERS = ("AREG", "BREG", "MREG", "PREG")
#: ``(lut_levels, levels)`` an unregistered DSP48E2 adds to a path: one level, as Vivado counts
#: a cell of a path, and no LUT level, although its multiply takes longer than a LUT.
DSP_LEVEL_WEIGHTS = (0, 1)


def _unregistered_dsp(cell: dict) -> bool:
    if cell["type"] != "DSP48E2":
        return False
    params = cell.get("parameters", {})
    value = lambda v: v if isinstance(v, int) else int(str(v), 2)  # noqa: E731
    return all(value(params.get(p, 1)) == 0 for p in DSP_PIPELINE_REGISTERS)


def _level_weights(cell_type: str) -> tuple[int, int] | None:
    """``(lut_levels, levels)`` a combinational cell adds to a path; None for an unknown type."""
    if cell_type in LUT_TYPES or cell_type in LUTRAM_LUTS:
        return 1, 1
    if cell_type in CARRY_TYPES or cell_type in MUXF_TYPES:
        return 0, 1
    return None


def _comb_inputs(cell_type: str, port: str) -> bool:
    """Does input ``port`` reach the outputs combinationally? For LUTRAM and SRL cells only
    the read address does (``A*``, ``ADDR*``, ``DPRA*``); data and write enable are clocked."""
    if cell_type in LUTRAM_LUTS:
        return port.startswith(("A", "DPRA"))
    if cell_type == "DSP48E2":  # unregistered: every data and mode input, no clock controls
        return not port.startswith(("CLK", "CE", "RST"))
    return True


def logic_levels(netlist: dict, top: str) -> LogicLevels:
    """Deepest register-to-register logic of module ``top`` in a yosys ``write_json`` netlist.

    ``lut`` counts LUT (and LUTRAM-read) cells on the worst path, ``total`` also counts
    CARRY4/CARRY8 and MUXF cells as Vivado's "logic levels" do, and unregistered DSP48E2
    multipliers (:data:`DSP_LEVEL_WEIGHTS`). Paths start and end at ports, registers,
    block RAMs and registered DSPs (:func:`_is_path_end`); a cell type the table
    does not know is treated as a path end too and listed in ``unknown_cells``, so nothing
    is silently counted as zero depth. Raises :class:`SynthError` on a combinational loop.
    """
    module = netlist["modules"][top]
    comb, unknown = [], set()
    for cell in module["cells"].values():
        ctype = cell["type"]
        if _unregistered_dsp(cell):
            weights = DSP_LEVEL_WEIGHTS
        else:
            weights = None if _is_path_end(ctype) else _level_weights(ctype)
        if weights is None:
            if not _is_path_end(ctype):
                unknown.add(ctype)
            continue
        dirs, conns = cell["port_directions"], cell["connections"]
        ins = [b for p, bits in conns.items() if dirs[p] == "input" and _comb_inputs(ctype, p)
               for b in bits if isinstance(b, int)]
        outs = [b for p, bits in conns.items() if dirs[p] == "output"
                for b in bits if isinstance(b, int)]
        comb.append((weights, ins, outs))

    driver = {bit: i for i, (_, _, outs) in enumerate(comb) for bit in outs}
    preds = [sorted({driver[b] for b in ins if b in driver}) for _, ins, _ in comb]
    order = _topological_order(preds)
    worst = []
    for slot in (0, 1):
        depth = [0] * len(comb)
        for i in order:
            depth[i] = comb[i][0][slot] + max((depth[p] for p in preds[i]), default=0)
        worst.append(max(depth, default=0))
    return LogicLevels(lut=worst[0], total=worst[1], unknown_cells=tuple(sorted(unknown)))


def _topological_order(preds: list[list[int]]) -> list[int]:
    """Kahn's algorithm over ``preds`` (node -> its predecessors); raises on a cycle."""
    succs = [[] for _ in preds]
    indegree = [len(p) for p in preds]
    for node, ps in enumerate(preds):
        for p in ps:
            succs[p].append(node)
    ready = [n for n, d in enumerate(indegree) if d == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for s in succs[node]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    if len(order) != len(preds):
        raise SynthError("netlist: combinational loop")
    return order
