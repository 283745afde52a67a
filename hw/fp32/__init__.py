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
:class:`FP32Add`   0..8     3        input, compare, unpack, align, add, lzc,
                                     normalise, increment, round
:class:`FP32Mul`   0..7     3        input, classify, unpack, multiply, window,
                                     normalise, increment, round
=================  =======  =======  ================================================

:func:`fp32_add_top` and :func:`fp32_mul_top` build the units as standalone tops,
:func:`verilog_fp32_add` and :func:`verilog_fp32_mul` return their Verilog, modules
``fp32_add`` / ``fp32_mul`` with ports ``clk``, ``rst``, ``a``, ``b``, ``in_valid``,
``result``, ``out_valid`` (``rst`` is synchronous, active high, and clears only the valid
pipeline). A top needs latency >= 1 (a combinational unit has no clock); other latencies
are refused with :class:`hw.errors.ParameterError`, ``"latency: must be in 1..8, got 9"``.
The adder's shifters are barrel shifters in LUTs unless ``dsp_shifts=True`` (:class:`FP32Add`).
"""

from ..errors import ParameterError
from ..verilog import to_verilog
from .add import ADD_DEFAULT_LATENCY, ADD_REGISTERS, FP32Add
from .mul import MUL_DEFAULT_LATENCY, MUL_REGISTERS, FP32Mul


__all__ = [
    "FP32Add", "FP32Mul",
    "ADD_REGISTERS", "MUL_REGISTERS", "ADD_DEFAULT_LATENCY", "MUL_DEFAULT_LATENCY",
    "fp32_add_top", "fp32_mul_top", "verilog_fp32_add", "verilog_fp32_mul",
]


def _check_top_latency(latency, registers) -> None:
    # A combinational unit has no sync domain, hence no clk/rst ports.
    if type(latency) is not int or not 1 <= latency <= max(registers):
        raise ParameterError(f"latency: must be in 1..{max(registers)}, got {latency!r}")


def fp32_add_top(latency: int = ADD_DEFAULT_LATENCY, dsp_shifts: bool = False) -> FP32Add:
    """:class:`FP32Add` as a standalone top (latency 1..8)."""
    _check_top_latency(latency, ADD_REGISTERS)
    return FP32Add(latency=latency, dsp_shifts=dsp_shifts)


def fp32_mul_top(latency: int = MUL_DEFAULT_LATENCY) -> FP32Mul:
    """:class:`FP32Mul` as a standalone top (latency 1..7)."""
    _check_top_latency(latency, MUL_REGISTERS)
    return FP32Mul(latency=latency)


def verilog_fp32_add(latency: int = ADD_DEFAULT_LATENCY, dsp_shifts: bool = False) -> str:
    """Verilog text of module ``fp32_add`` (:func:`fp32_add_top`)."""
    return to_verilog(fp32_add_top(latency, dsp_shifts), "fp32_add")


def verilog_fp32_mul(latency: int = MUL_DEFAULT_LATENCY) -> str:
    """Verilog text of module ``fp32_mul`` (:func:`fp32_mul_top`)."""
    return to_verilog(fp32_mul_top(latency), "fp32_mul")
