"""IEEE-754 binary32 arithmetic units: adder and multiplier, bit-exact with numpy float32.

Both units are :class:`amaranth.lib.wiring.Component` s with the same interface::

    a[31:0], b[31:0], in_valid  ->  result[31:0], out_valid

fully pipelined (one operation per cycle, no stalls), ``out_valid`` being ``in_valid`` delayed
by the unit's ``latency``. Round to nearest even; subnormals, signed zeros, infinities and
NaNs (every NaN result is ``0x7FC00000``) per IEEE 754.

=================  =======  =======  ================================================
unit               latency  default  stages (``*_REGISTERS``: which are followed by a
                                     register at each latency)
=================  =======  =======  ================================================
:class:`FP32Add`   0..5     3        unpack, align, add, normalise, round
:class:`FP32Mul`   0..4     3        unpack, multiply, normalise, round
=================  =======  =======  ================================================

:func:`verilog_fp32_add` and :func:`verilog_fp32_mul` return standalone Verilog tops
``fp32_add`` / ``fp32_mul`` with ports ``clk``, ``rst``, ``a``, ``b``, ``in_valid``,
``result``, ``out_valid`` (``rst`` is synchronous, active high, and clears only the valid
pipeline).
"""

from ..verilog import to_verilog
from .add import ADD_DEFAULT_LATENCY, ADD_REGISTERS, FP32Add
from .mul import MUL_DEFAULT_LATENCY, MUL_REGISTERS, FP32Mul


__all__ = [
    "FP32Add", "FP32Mul",
    "ADD_REGISTERS", "MUL_REGISTERS", "ADD_DEFAULT_LATENCY", "MUL_DEFAULT_LATENCY",
    "verilog_fp32_add", "verilog_fp32_mul",
]


def _check_top_latency(name: str, latency):
    # A combinational unit has no sync domain, hence no clk/rst ports.
    if type(latency) is int and latency < 1:
        raise ValueError(f"the {name} top needs latency >= 1 (it has clk and rst ports)")


def verilog_fp32_add(latency: int = ADD_DEFAULT_LATENCY) -> str:
    """Verilog text of module ``fp32_add`` (see :class:`FP32Add`), latency 1..5."""
    _check_top_latency("fp32_add", latency)
    return to_verilog(FP32Add(latency=latency), "fp32_add")


def verilog_fp32_mul(latency: int = MUL_DEFAULT_LATENCY) -> str:
    """Verilog text of module ``fp32_mul`` (see :class:`FP32Mul`), latency 1..4."""
    _check_top_latency("fp32_mul", latency)
    return to_verilog(FP32Mul(latency=latency), "fp32_mul")
