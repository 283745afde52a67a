"""The float engine's plan (:class:`FloatPlan`): row constants as binary32 bit patterns,
the pixel table, the adders' latencies, and for networks with convolution layers the
flat activation layout of :mod:`hw.conv_plan` (arithmetic: :mod:`hw.float_datapath`,
convolutions: :mod:`hw.float_conv`).

Pure Python, no RTL; refusals are :class:`hw.plan.PlanError`, the message starting
with the field. Re-exported by :mod:`hw.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sw.golden import preprocess  # layer 0's input function, shared with the golden model
from sw.model_file import PIXEL_MAX, TnnModel

from .conv_plan import (ActivationLayout, ConvGeometry, activation_layout, conv_geometry, has_conv,
                        walked_matrices)
from .plan import (FLOAT_ADD_LATENCY, FLOAT_MUL_LATENCY, EnginePlan, LayerPlan, PlanError,
                   _check_range, _check_shape_and_width, _walk_layers)

__all__ = ["FloatLayerPlan", "FloatPlan", "plan_float", "float_bits"]


@dataclass(frozen=True)
class FloatLayerPlan(LayerPlan):
    """A float layer. A convolution layer (``conv``: its geometry,
    :mod:`hw.conv_plan`) walks each row ``passes = conv.walks(P)`` times, once per
    group of P pool windows and pixel of the window; its words, nonzeros, skip words and empty rows are
    those of one walk of every row (over the tap columns), ``n_in`` its
    ``C*H*W`` inputs, ``n_out`` its rows (output channels)."""

    asymmetric: bool     # separate sums of the +1 and -1 weights, scales s and sn (sn{l})
    conv: ConvGeometry | None = None
    passes: int = 1


@dataclass(frozen=True)
class FloatPlan(EnginePlan):
    """The float engine's plan (:mod:`hw.float_datapath`).

    ``row_consts`` are each row's ``s | b << 32`` (binary32 bit patterns, uint64);
    in an asymmetric plan ``s | b << 32 | sn << 64`` (Python ints in an object
    array; ``sn = 0`` in its ordinary layers), so ``const_width`` is 64 or 96.
    ``x_table[p]`` holds the binary32 bits of ``fl(fl(p * x_scale) + x_offset)``
    for every pixel value ``p`` (layer 0's inputs, uint32 [256]); ``add_latency``
    and ``mul_latency`` are the floating-point units' pipeline latencies, and
    ``add_latency`` is also the number of partial sums per row; ``dsp_shifts``: the
    adders' shifters as DSP multiplications (:class:`hw.fp32.FP32Add`), the same results.

    A plan with convolution layers has ``layout`` (:mod:`hw.conv_plan` with one
    input area: the input memory holds layer 0's padded input, addresses
    ``0..plane_size-1``; the hidden areas follow, in one activation memory
    whose address 0 is the layout's ``plane_size``: :attr:`act_base`).
    """

    kind: ClassVar[str] = "float"
    act_width: ClassVar[int] = 32  # binary32
    out_width: ClassVar[int] = 32  # binary32

    add_latency: int
    mul_latency: int
    x_table: np.ndarray
    layout: ActivationLayout | None = None
    pixel_group: int = 1
    dsp_shifts: bool = False

    @property
    def act_base(self) -> int:
        """Conv plans: the layout address of the activation memory's word 0."""
        return self.layout.plane_size

    @property
    def act_depth(self) -> int:
        """Conv plans: words of the activation memory (every hidden layer's area)."""
        return self.layout.zero - self.layout.plane_size

    @property
    def address_span(self) -> int:
        """Conv plans: addresses of the input memory, the activation memory and the
        output buffer, whichever has most (one address width for all)."""
        return max(self.layout.plane_size + self.group_overrun, self.act_depth + self.group_overrun,
                   self.n_outputs)

    @property
    def input_padded(self) -> bool:
        """Conv plans: layer 0 reads padding cells (its input memory has cells no load writes)."""
        return bool(self.input_padding.any())

    @property
    def input_padding(self) -> np.ndarray:
        """Conv plans: bool ``[plane_size]``, the input memory's padding cells
        (never written; a tap there must add nothing, :mod:`hw.float_conv`)."""
        pad = np.ones(self.layout.plane_size, dtype=bool)
        pad[self.layout.input_addresses] = False
        return pad

    @property
    def asymmetric(self) -> bool:
        """Some layer keeps separate sums of its +1 and -1 weights."""
        return any(lp.asymmetric for lp in self.layers)

    @property
    def asymmetric_layers(self) -> int:
        return sum(lp.asymmetric for lp in self.layers)

    @property
    def const_width(self) -> int:
        return 96 if self.asymmetric else 64

    @property
    def golden_lanes(self) -> int:
        return self.add_latency


def float_bits(values) -> np.ndarray:
    """binary32 bit patterns (uint32) of ``values``."""
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def plan_float(model: TnnModel, reuse: int, field_width: int | None = None, *,
               add_latency: int = FLOAT_ADD_LATENCY, mul_latency: int = FLOAT_MUL_LATENCY,
               pixel_group: int = 1, dsp_shifts: bool = False) -> FloatPlan:
    """Plan the float engine (:mod:`hw.float_datapath`) for ``model`` with ``reuse``
    PEs; each PE's adder has ``add_latency`` pipeline stages, which is also the
    number of interleaved partial sums per row (``sw.golden.float_accumulate``'s
    ``lanes``). Convolution layers: :mod:`hw.float_conv` (``pixel_group`` = P
    output pixels of B = R / P images per walk, each row walked once per group
    of P pool windows and pixel of the window, over its tap columns); two-scale
    (``sn{l}``) convolution layers are refused."""
    if model.activation != "float":
        raise PlanError(f"activation: the float engine needs a 'float' model, got {model.activation!r}")
    _check_range("add_latency", add_latency, "add_latency")
    if type(dsp_shifts) is not bool:
        raise PlanError(f"dsp_shifts: must be True or False, got {dsp_shifts!r}")
    _check_range("mul_latency", mul_latency, "mul_latency")
    conv = has_conv(model)
    from .binary_plan import check_pixel_group  # its module imports this one's
    check_pixel_group(model, reuse, pixel_group, conv)
    geometry = conv_geometry(model) if conv else [None] * model.n_layers
    for l, g in enumerate(geometry):
        if g is not None and model.neg_scale(l) is not None:
            raise PlanError(f"sn{l}: the float engine runs two-scale layers as dense layers only "
                            f"(layer {l} is a convolution)")
    matrices = walked_matrices(model, geometry) if conv else None
    passes = [1 if g is None else g.walks(pixel_group) for g in geometry]
    field_width = _check_shape_and_width(model, reuse, field_width, matrices, passes if conv else None)
    walked, all_words = _walk_layers(model, field_width, matrices)
    layers = tuple(FloatLayerPlan(**{**lp, "n_in": lp["n_in"] if g is None else g.c * g.h * g.w},
                                  asymmetric=model.neg_scale(l) is not None, conv=g, passes=k)
                   for l, (lp, g, k) in enumerate(zip(walked, geometry, passes)))
    s = np.concatenate([float_bits(v) for v in model.scales]).astype(np.uint64)
    b = np.concatenate([float_bits(v) for v in model.biases]).astype(np.uint64)
    consts = s | (b << np.uint64(32))
    if model.asymmetric:
        sn = np.concatenate([float_bits(model.neg_scale(l) if model.neg_scale(l) is not None
                                        else np.zeros(lp.n_out, np.float32)) for l, lp in enumerate(layers)])
        consts = np.array([int(c) | (int(n) << 64) for c, n in zip(consts, sn)], dtype=object)
    pixels = np.arange(PIXEL_MAX + 1, dtype=np.uint8)[None, :]
    x_table = float_bits(preprocess(pixels, model.x_scale, model.x_offset)[0])
    return FloatPlan(
        reuse=reuse, field_width=field_width, layers=layers, words=all_words,
        row_consts=consts, add_latency=add_latency, mul_latency=mul_latency, x_table=x_table,
        layout=activation_layout(model, geometry, planes=1) if conv else None, pixel_group=pixel_group,
        dsp_shifts=dsp_shifts)
