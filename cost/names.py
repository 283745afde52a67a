"""The names of the synthesised blocks: keys of ``summary.json``'s ``blocks``."""

from __future__ import annotations

__all__ = [
    "DECODER", "DECODER_1K", "PE_XNOR", "PE_INT8", "PE_WEIGHTED", "PE_FLOAT",
    "FP32_ADD", "FP32_MUL", "REQUIRED", "engine", "float_engine", "at_latency", "with_dsp_shifts",
    "dense_mvu",
]

DECODER = "decoder"          # the RLE decompressor holding all of the model's words
DECODER_1K = "decoder_1k"    # the same with 1,024 words (one RAMB18)
PE_XNOR = "pe_xnor"          # the binary engine's PE: K lanes, XNOR-popcount into one accumulator
PE_INT8 = "pe_int8"          # a K-lane PE adding 8-bit pixels (the alternative to bit planes; not built)
PE_WEIGHTED = "pe_weighted"  # the binary PE with integer weights kp, kn (weighted layers)
PE_FLOAT = "pe_float"        # the float-accumulate PE
FP32_ADD = "fp32_add"
FP32_MUL = "fp32_mul"

#: Blocks every synthesis summary holds.
REQUIRED = (DECODER, DECODER_1K, PE_XNOR, PE_INT8, PE_FLOAT, FP32_ADD, FP32_MUL)


def engine(reuse: int, lanes: int, pixels: int = 1) -> str:
    """The whole binary engine at R = ``reuse``, K = ``lanes`` (and, for a CNN, P =
    ``pixels`` output pixels per weight fetch when above 1)."""
    return f"engine_r{reuse}_k{lanes}" + (f"_p{pixels}" if pixels > 1 else "")


def float_engine(reuse: int, latency: int = 3) -> str:
    """The whole float engine at R = ``reuse`` (and adder latency ``latency`` when not 3)."""
    return at_latency(f"engine_float_r{reuse}", latency)


def at_latency(name: str, latency: int) -> str:
    """A float block (:data:`PE_FLOAT`, :data:`FP32_ADD`, :data:`FP32_MUL`, an engine) built
    at ``latency`` instead of 3."""
    return name if latency == 3 else f"{name}_l{latency}"


def with_dsp_shifts(name: str) -> str:
    """A float block whose fp32 adders shift by DSP multiplications instead of LUTs."""
    return f"{name}_dsp"


def dense_mvu(simd: int, pe: int) -> str:
    """The dense binary matrix-vector-threshold unit (:class:`hw.dense_mvu.DenseMVU`) with
    ``simd`` inputs per cycle per row and ``pe`` rows in parallel."""
    return f"dense_mvu_s{simd}_p{pe}"
