"""The cost model's constants measured by synthesis (:mod:`cost.synth`, yosys
``synth_xilinx -family xcu``).

``C_op`` of the binary engine is the slope of the whole engine's LUT sites against R x K
(per MAC per cycle, everything in the engine included, :mod:`cost.fit`); beside it the
standalone K-lane PE as the engine builds it (XNOR-popcount) and a K-lane PE adding 8-bit
pixels (the alternative to the engine's bit-serial first layer), per MAC, the float-accumulate PE (:class:`hw.float_pe.FloatAccumulatePE`:
its fp32 adder, two banks of three partial sums, the sign flip) as the float MAC, and
``C_d`` as the standalone decompressor sized for the model. The dense BNN baseline's MAC
is the slope of the FINN-style dense unit's LUT sites against SIMD x PE
(:class:`cost.fit.DenseFit`). Fmax on the KU115 is **not** measured (no Xilinx
place-and-route): the measured curves assume the paper's 250 MHz too. Blocks placed and
routed on a Lattice ECP5 (:mod:`cost.nextpnr`) carry that part's Fmax, reported beside
the costs, never used in the throughput.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import names
from .summary import SynthSummary
from .throughput import Cost

__all__ = ["MeasuredCosts", "measured_costs", "measured_section"]


@dataclass(frozen=True)
class MeasuredCosts:
    """Costs per MAC per cycle, and of the decoder, from one synthesis summary.

    ``binary``: the engine slope (None without two binary engines); ``binary_weighted``:
    that slope plus what the PE with integer weights adds over the XNOR PE, per lane
    (None when the summary lacks it); ``xnor`` / ``int8``: the standalone K-lane PEs per
    lane (XNOR-popcount; 8-bit pixels);
    ``float_mac``: the standalone float-accumulate PE (LUTs and DSPs); ``decoder``: the
    standalone weight walker per lane (C_d: one lane's share, serving R MACs per cycle); ``dense_bnn``: the dense unit's slope per MAC (None when
    the summary has no dense units).
    """

    xnor: Cost
    int8: Cost
    float_mac: Cost
    decoder: Cost
    binary: Cost | None = None
    binary_weighted: Cost | None = None
    dense_bnn: Cost | None = None

    def macs(self) -> dict[str, Cost]:
        """The MAC costs by name (``binary``, ``binary_weighted``, ``xnor``, ``int8``,
        ``float``), those the summary has, in that order."""
        all_ = {"binary": self.binary, "binary_weighted": self.binary_weighted,
                "xnor": self.xnor, "int8": self.int8, "float": self.float_mac}
        return {k: c for k, c in all_.items() if c is not None}


def measured_costs(summary: SynthSummary) -> MeasuredCosts:
    """The :class:`MeasuredCosts` of ``summary``."""
    slope = summary.derived.c_op_luts
    lanes = summary.derived.lanes or 1
    binary = Cost(luts=slope) if slope is not None else None
    weighted = None
    if slope is not None and names.PE_WEIGHTED in summary.blocks:
        extra = summary.lut_sites(names.PE_WEIGHTED) - summary.lut_sites(names.PE_XNOR)
        weighted = Cost(luts=slope + extra / lanes,
                        dsps=summary.block(names.PE_WEIGHTED).resources.dsps / lanes)
    fit = summary.derived.dense_mvu
    dense = Cost(luts=fit.luts_per_mac) if fit is not None else None
    return MeasuredCosts(
        xnor=Cost(luts=summary.lut_sites(names.PE_XNOR) / lanes),
        int8=Cost(luts=summary.lut_sites(names.PE_INT8) / lanes),
        float_mac=Cost(luts=float(summary.lut_sites(names.PE_FLOAT)),
                       dsps=summary.block(names.PE_FLOAT).resources.dsps),
        decoder=Cost(luts=summary.lut_sites(names.DECODER) / lanes),
        binary=binary, binary_weighted=weighted, dense_bnn=dense)


def measured_section(summary: SynthSummary) -> dict:
    """The ``measured`` object of ``python -m cost.roofline --json``."""
    res = lambda name: summary.block(name).resources  # noqa: E731
    derived = summary.derived
    fit = derived.to_json()
    return {
        "decoder_luts": res(names.DECODER).lut_sites,
        "decoder_bram36": res(names.DECODER).bram36,
        "decoder_1k_luts": res(names.DECODER_1K).lut_sites,
        "pe_luts_per_mac": {
            "lanes": derived.lanes,
            "xnor": res(names.PE_XNOR).lut_sites / (derived.lanes or 1),
            "int8": res(names.PE_INT8).lut_sites / (derived.lanes or 1),
            "float": res(names.PE_FLOAT).lut_sites,
            "engine_slope": derived.c_op_luts,
            "float_engine_slope": derived.float_engine.c_op_luts if derived.float_engine else None,
        },
        "fp32_add_luts": res(names.FP32_ADD).lut_sites,
        "fp32_add_dsps": res(names.FP32_ADD).dsps,
        "fp32_mul_luts": res(names.FP32_MUL).lut_sites,
        "fp32_mul_dsps": res(names.FP32_MUL).dsps,
        "engine": {k: fit[k] for k in (
            "lanes", "c_op_luts", "c_op_logic_luts", "c_op_all_points_luts", "engine_intercept_luts",
            "fit_reuse", "fit_max_residual_luts", "per_reuse")},
        "logic_levels": {name: {"lut": b.levels.lut, "total": b.levels.total}
                         for name, b in summary.blocks.items()},
        "fmax_measured": False,
        "tool": summary.tool.to_json(),
        **_ecp5_sections(summary),
    }


def _ecp5_fmax(blocks) -> float | None:
    """The ECP5 Fmax of the first of ``blocks`` that was placed and routed."""
    return next((b.fmax_ecp5 for b in blocks if b.fmax_ecp5 is not None), None)


def _ecp5_sections(summary: SynthSummary) -> dict:
    """``binary_engine`` (the engine's C_op per MAC, its K, its ECP5 Fmax),
    ``dense_bnn`` (the dense unit's LUTs per MAC and ECP5 Fmax; None without dense
    units), ``dense_mvu`` (the dense fit) and ``ecp5`` (the flow and every placed
    block's Fmax; None if nothing was placed)."""
    engines = sorted((b for b in summary.blocks.values()
                      if b.reuse and (b.lanes or 1) == (summary.derived.lanes or 1)), key=lambda b: b.reuse)
    fit = summary.derived.dense_mvu
    dense_units = [b for b in summary.blocks.values() if b.dense is not None]
    placed = {name: b for name, b in summary.blocks.items() if b.ecp5 is not None}
    ecp5 = None
    if placed or summary.ecp5:
        ecp5 = {"flow": summary.ecp5,
                "fmax_mhz": {name: b.fmax_ecp5 for name, b in placed.items()},
                "used": {name: b.ecp5.used for name, b in placed.items()}}
    return {
        "binary_engine": {"luts_per_mac": summary.derived.c_op_luts, "lanes": summary.derived.lanes,
                          "fmax_mhz": {"ecp5": _ecp5_fmax(engines)}},
        "dense_bnn": None if fit is None else {
            "luts_per_mac": fit.luts_per_mac,
            "fmax_mhz": {"ecp5": _ecp5_fmax(dense_units)}},
        "dense_mvu": fit.to_json() if fit is not None else None,
        "ecp5": ecp5,
    }
