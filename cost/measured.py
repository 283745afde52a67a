"""The cost model's constants measured by synthesis (:mod:`cost.synth`, yosys
``synth_xilinx -family xcu``).

``C_op`` of the binary engine is the slope of the whole engine's LUT sites against R (the
dual-mode PE as built, per MAC per cycle, :mod:`cost.fit`); beside it the standalone PEs
in XNOR-only and int8-only mode, the float-accumulate PE (:class:`hw.float_pe.FloatAccumulatePE`:
its fp32 adder, two banks of three partial sums, the sign flip) as the float MAC, and
``C_d`` as the standalone decompressor sized for the model. Fmax is **not** measured (no
place-and-route): the measured curves assume the paper's 250 MHz too.
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
    that slope plus what the PE with integer weights adds over the dual-mode PE (None
    when the summary lacks it); ``xnor`` / ``int8``: the standalone PE in one mode;
    ``float_mac``: the standalone float-accumulate PE (LUTs and DSPs); ``decoder``: the
    standalone decompressor.
    """

    xnor: Cost
    int8: Cost
    float_mac: Cost
    decoder: Cost
    binary: Cost | None = None
    binary_weighted: Cost | None = None

    def macs(self) -> dict[str, Cost]:
        """The MAC costs by name (``binary``, ``binary_weighted``, ``xnor``, ``int8``,
        ``float``), those the summary has, in that order."""
        all_ = {"binary": self.binary, "binary_weighted": self.binary_weighted,
                "xnor": self.xnor, "int8": self.int8, "float": self.float_mac}
        return {k: c for k, c in all_.items() if c is not None}


def measured_costs(summary: SynthSummary) -> MeasuredCosts:
    """The :class:`MeasuredCosts` of ``summary``."""
    slope = summary.derived.c_op_luts
    binary = Cost(luts=slope) if slope is not None else None
    weighted = None
    if slope is not None and names.PE_WEIGHTED in summary.blocks:
        weighted = Cost(
            luts=slope + summary.lut_sites(names.PE_WEIGHTED) - summary.lut_sites(names.PE_DUAL),
            dsps=summary.block(names.PE_WEIGHTED).resources.dsps)
    return MeasuredCosts(
        xnor=Cost(luts=float(summary.lut_sites(names.PE_XNOR))),
        int8=Cost(luts=float(summary.lut_sites(names.PE_INT8))),
        float_mac=Cost(luts=float(summary.lut_sites(names.PE_FLOAT)),
                       dsps=summary.block(names.PE_FLOAT).resources.dsps),
        decoder=Cost(luts=float(summary.lut_sites(names.DECODER))),
        binary=binary, binary_weighted=weighted)


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
            "xnor": res(names.PE_XNOR).lut_sites,
            "int8": res(names.PE_INT8).lut_sites,
            "dual": res(names.PE_DUAL).lut_sites,
            "float": res(names.PE_FLOAT).lut_sites,
            "engine_slope": derived.c_op_luts,
            "float_engine_slope": derived.float_engine.c_op_luts if derived.float_engine else None,
        },
        "fp32_add_luts": res(names.FP32_ADD).lut_sites,
        "fp32_add_dsps": res(names.FP32_ADD).dsps,
        "fp32_mul_luts": res(names.FP32_MUL).lut_sites,
        "fp32_mul_dsps": res(names.FP32_MUL).dsps,
        "engine": {k: fit[k] for k in (
            "c_op_luts", "c_op_logic_luts", "c_op_all_points_luts", "engine_intercept_luts",
            "fit_reuse", "fit_max_residual_luts", "per_reuse")},
        "logic_levels": {name: {"lut": b.levels.lut, "total": b.levels.total}
                         for name, b in summary.blocks.items()},
        "fmax_measured": False,
        "tool": summary.tool.to_json(),
    }
