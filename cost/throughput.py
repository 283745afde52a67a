"""The paper's effective-throughput model of sparse TNN accelerators (paper 002, section 4, Fig. 7).

Cost model
----------
A decoder (the RLE decompressor) feeds R processing elements; every nonzero weight costs
one MAC in each PE, zero weights cost nothing. With

* ``gamma``: fraction of nonzero weights, in (0, 1] (:mod:`cost.gamma`);
* ``C_op``: fraction of the device one MAC per cycle takes (one PE);
* ``C_d``: fraction of the device one decoder takes;

the device fraction per *effective* (dense-equivalent) MAC per cycle is
``C_e = gamma * (C_op + C_d / R)`` and the effective throughput is
``T_e = OPS_PER_MAC * f / C_e``, counting a MAC as two operations as FINN and the paper
do. A resource's fraction is ``used / usable``: 70 % of the LUTs and 100 % of the DSPs
(the paper's footnote 2); a block using both adds both fractions, as the paper's sum
``C_op + C_d / R`` does for a DSP-based PE fed by a LUT-based decoder.

The paper's peaks, reproduced (gamma = 1, no decoder: R -> infinity)
--------------------------------------------------------------------
KU115 at 250 MHz, 663,360 LUTs of which 70 % usable = 464,352; 5,520 DSPs.

* Type 1 (binary activations, XNOR-popcount): FINN quotes 2.5 LUTs per operation, i.e.
  5 LUTs per MAC (paper footnote 1). 464,352 / 5 = 92,870 MACs per cycle;
  x 250 MHz x 2 ops = 46.435 TOPs, printed "46.4".
* Type 2 (float activations): one fp32 adder (Xilinx Floating-Point 7.1, full DSP usage)
  takes 2 DSP48E2 slices; 5,520 / 2 = 2,760 MACs per cycle; x 250 MHz x 2 ops =
  1.380 TOPs, printed "1.3". The printed figures are the exact ones *truncated* to one
  decimal (46.435 -> 46.4, 1.380 -> 1.3; rounding would print 1.4). No other whole DSP
  count comes near: 1 DSP gives 2.76, 3 DSPs 0.92 TOPs. :func:`paper_printed` truncates.

A dense BNN (gamma = 1, no decoder because its weights are not compressed) costs
``C_e = C_op`` per MAC whatever its topology: the paper's horizontal MLP and CNN (VGG)
benchmark lines in Fig. 7 therefore coincide in this model, at the peak. A sparse
network beats it when ``gamma < C_op / (C_op + C_d / R)`` (:func:`breakeven_gamma`).
Fmax is not modelled: every device runs at the paper's 250 MHz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sw.errors import InputError

__all__ = [
    "Device", "DEVICES", "Cost", "OPS_PER_MAC", "PAPER", "PAPER_PRINTED_PEAKS",
    "check_gamma", "check_reuse", "effective_cost", "effective_tops", "peak_tops",
    "breakeven_gamma", "paper_printed",
]

OPS_PER_MAC = 2


@dataclass(frozen=True)
class Device:
    """An FPGA's compute resources and the share of them the cost model may use."""

    key: str
    part: str
    family: str
    luts: int
    ffs: int
    dsps: int
    bram36: int
    clock_hz: float = 250e6       # the paper's assumption, for every device (not a datasheet figure)
    lut_fraction: float = 0.7     # paper footnote 2
    dsp_fraction: float = 1.0

    @property
    def usable_luts(self) -> float:
        return round(self.luts * self.lut_fraction, 6)

    @property
    def usable_dsps(self) -> float:
        return round(self.dsps * self.dsp_fraction, 6)


#: Datasheet figures (CLB LUTs, CLB flip-flops, DSP slices, 36 Kb block RAMs):
#: Xilinx DS890, "UltraScale Architecture and Product Data Sheet: Overview", device-feature
#: tables for Kintex UltraScale (KU040: 242,400 / 484,800 / 1,920 / 600; KU060: 331,680 /
#: 663,360 / 2,760 / 1,080; KU115: 663,360 / 1,326,720 / 5,520 / 2,160, the paper's
#: "663k LUTs and 5,520 DSPs") and Virtex UltraScale+ (VU9P: 1,182,240 / 2,364,480 / 6,840 /
#: 2,160); DS891, "Zynq UltraScale+ MPSoC Data Sheet: Overview" (ZU9EG: 274,080 / 548,160 /
#: 2,520 / 912). The 250 MHz clock and the 70 % / 100 % usable shares are the paper's.
DEVICES = {d.key: d for d in (
    Device("ku115", "XCKU115", "Kintex UltraScale", 663_360, 1_326_720, 5_520, 2_160),
    Device("ku040", "XCKU040", "Kintex UltraScale", 242_400, 484_800, 1_920, 600),
    Device("ku060", "XCKU060", "Kintex UltraScale", 331_680, 663_360, 2_760, 1_080),
    Device("vu9p", "XCVU9P", "Virtex UltraScale+", 1_182_240, 2_364_480, 6_840, 2_160),
    Device("zu9eg", "XCZU9EG", "Zynq UltraScale+ MPSoC", 274_080, 548_160, 2_520, 912),
)}


@dataclass(frozen=True)
class Cost:
    """Resources of one block (a MAC per cycle, or a decoder): LUTs and DSP slices.
    Block RAM and flip-flops are outside the paper's model and not counted."""

    luts: float = 0.0
    dsps: float = 0.0

    def fraction(self, device: Device) -> float:
        """Share of ``device``'s usable resources: LUT share plus DSP share."""
        return self.luts / device.usable_luts + self.dsps / device.usable_dsps


@dataclass(frozen=True)
class PaperConstants:
    xnor_mac: Cost = Cost(luts=5)      # FINN: 2.5 LUTs per op x 2 ops per MAC (footnote 1)
    float_mac: Cost = Cost(dsps=2)     # fp32 add, Floating-Point 7.1 with full DSP usage
    decoder: Cost = Cost(luts=112)     # Vivado HLS estimate of the RLE decoder


PAPER = PaperConstants()
#: The paper's printed peaks on the KU115 (TOPs).
PAPER_PRINTED_PEAKS = {"binary": 46.4, "float": 1.3}


def check_gamma(gamma: float) -> float:
    """``gamma`` as a float in (0, 1]; :class:`InputError` naming it otherwise (NaN included)."""
    g = float(gamma)
    if not 0.0 < g <= 1.0:
        raise InputError(f"gamma: must be in (0, 1], got {gamma!r}")
    return g


def check_reuse(reuse: float) -> float:
    """``reuse`` (R, may be ``math.inf``) as a number >= 1; :class:`InputError` otherwise."""
    r = float(reuse)
    if not r >= 1.0:
        raise InputError(f"reuse: R must be >= 1, got {reuse!r}")
    return r


def effective_cost(gamma: float, c_op: float, c_d: float, reuse: float) -> float:
    """``C_e = gamma * (C_op + C_d / R)``: device fraction per effective MAC per cycle."""
    return check_gamma(gamma) * (c_op + c_d / check_reuse(reuse))


def effective_tops(device: Device, mac: Cost, decoder: Cost | None = None,
                   gamma: float = 1.0, reuse: float = math.inf) -> float:
    """``T_e = OPS_PER_MAC * f / C_e`` in TOPs (10^12 effective operations per second)."""
    c_d = decoder.fraction(device) if decoder is not None else 0.0
    c_e = effective_cost(gamma, mac.fraction(device), c_d, reuse)
    return OPS_PER_MAC * device.clock_hz / c_e / 1e12


def peak_tops(device: Device, mac: Cost) -> float:
    """Dense peak: gamma = 1 and no decoder (also a dense BNN's throughput, ``C_e = C_op``)."""
    return effective_tops(device, mac)


def breakeven_gamma(device: Device, mac: Cost, decoder: Cost, reuse: float) -> float:
    """The gamma below which a sparse network beats the dense one at the same R:
    ``C_op / (C_op + C_d / R)``."""
    c_op = mac.fraction(device)
    return c_op / (c_op + decoder.fraction(device) / check_reuse(reuse))


def paper_printed(tops: float) -> float:
    """A throughput as the paper prints it: truncated (not rounded) to one decimal."""
    return math.floor(tops * 10 + 1e-9) / 10
