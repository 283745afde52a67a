"""Geometry of convolution layers in ``tnn-model-v1`` files: kernel specs, map sizes, layer shapes.

A convolution layer ``l`` has ``conv{l} = (kh, kw, stride_y, stride_x, pad_y, pad_x)``
(:class:`ConvSpec`) and a kernel ``w{l}`` of shape ``[out_c, in_c, kh, kw]``. On an
input map ``(C, H, W)`` it computes ``(out_c, H', W')`` with
``H' = (H + 2 pad_y - kh) // stride_y + 1`` (likewise ``W'``); output pixel
``(oy, ox)`` reads input pixel ``(oy * stride_y - pad_y + ky, ox * stride_x - pad_x + kx)``
for tap ``(ky, kx)``, and a tap outside the input contributes nothing. An
optional ``pool{l} = (ph, pw)`` max-pools the activated output with window =
stride = ``(ph, pw)``, floor: ``(H' // ph, W' // pw)``, leftover rows/columns dropped.

:func:`layer_shapes` gives every layer's :class:`LayerShape`. Dense layers are
described as 1x1 maps: ``in_shape = (n_in, 1, 1)``, ``out_shape =
pooled_shape = (n_out, 1, 1)``, so ``out_pixels`` (output pixels per image and
channel: P's upper bound in the hardware's R = B x P) is 1 for them. The first
dense layer after the convolutions reads the last convolution's pooled output
flattened in ``(C, H, W)`` row-major order, so its ``n_in = C * H * W``.

This module depends on nothing else in ``sw`` (the model file imports it).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

__all__ = ["ConvSpec", "LayerShape", "conv_output_hw", "pool_output_hw", "layer_shapes",
           "valid_range"]


@dataclass(frozen=True)
class ConvSpec:
    """``conv{l}`` of the model file: kernel size, stride and padding, each as (y, x).

    Padding is empty, not zero-valued: a tap that falls into it contributes
    nothing (see :mod:`sw.golden`). Iterating gives the six file values in order."""

    kh: int
    kw: int
    stride_y: int = 1
    stride_x: int = 1
    pad_y: int = 0
    pad_x: int = 0

    def __iter__(self):
        return iter(astuple(self))

    @property
    def taps(self) -> int:
        """``kh * kw``."""
        return self.kh * self.kw


def conv_output_hw(h: int, w: int, spec: ConvSpec) -> tuple[int, int]:
    """``(H', W')`` of a convolution on an ``h x w`` map (may be < 1 for a bad spec)."""
    return ((h + 2 * spec.pad_y - spec.kh) // spec.stride_y + 1,
            (w + 2 * spec.pad_x - spec.kw) // spec.stride_x + 1)


def pool_output_hw(h: int, w: int, pool) -> tuple[int, int]:
    """``(h // ph, w // pw)`` (floor), or ``(h, w)`` without a pool."""
    if pool is None:
        return h, w
    return h // int(pool[0]), w // int(pool[1])


def valid_range(k: int, stride: int, pad: int, size_in: int, size_out: int) -> tuple[int, int, int]:
    """For tap offset ``k`` along one axis: ``(o0, o1, i0)`` such that the outputs
    ``o0 <= o < o1`` read inputs ``i0 + (o - o0) * stride`` inside ``0..size_in-1``, and
    every other output's tap falls into the padding (``o1 <= o0`` when none is inside)."""
    # input index of output o: o * stride - pad + k, inside [0, size_in)
    o0 = max(0, -(-(pad - k) // stride))          # ceil((pad - k) / stride)
    o1 = min(size_out, (size_in - 1 + pad - k) // stride + 1)
    return o0, max(o0, o1), o0 * stride - pad + k


@dataclass(frozen=True)
class LayerShape:
    """One layer's geometry (see the module docstring; dense layers as 1x1 maps)."""

    layer: int
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]      # before pooling
    pooled_shape: tuple[int, int, int]   # after pooling (= out_shape without one)
    conv: ConvSpec | None
    pool: tuple[int, int] | None

    @property
    def is_conv(self) -> bool:
        return self.conv is not None

    @property
    def n_in(self) -> int:
        """Flattened size of the layer's input, ``C * H * W``."""
        c, h, w = self.in_shape
        return c * h * w

    @property
    def n_out(self) -> int:
        """Flattened size of the layer's (pooled) output: the next layer's ``n_in``."""
        c, h, w = self.pooled_shape
        return c * h * w

    @property
    def out_channels(self) -> int:
        """Rows of :meth:`~sw.model_file.TnnModel.weight_matrix`."""
        return self.out_shape[0]

    @property
    def out_pixels(self) -> int:
        """Output pixels per image and channel before pooling, ``H' * W'`` (1 for dense layers)."""
        return self.out_shape[1] * self.out_shape[2]

    @property
    def fan_in(self) -> int:
        """Columns of the weight matrix: ``in_c * kh * kw``, or ``n_in`` for dense layers."""
        return self.in_shape[0] * self.conv.taps if self.conv is not None else self.n_in


def layer_shapes(model) -> list[LayerShape]:
    """Per layer of a (valid) :class:`~sw.model_file.TnnModel`, its :class:`LayerShape`."""
    out = []
    shape = tuple(int(v) for v in model.input_shape) if model.input_shape is not None else None
    for l, w in enumerate(model.weights):
        spec, pool = model.conv(l), model.pool(l)
        if spec is not None:
            c, h, wd = shape
            ho, wo = conv_output_hw(h, wd, spec)
            out_shape = (int(w.shape[0]), ho, wo)
            pooled = (out_shape[0], *pool_output_hw(ho, wo, pool))
            out.append(LayerShape(l, (c, h, wd), out_shape, pooled, spec, pool))
            shape = pooled
        else:
            n_in = int(w.shape[1])
            out.append(LayerShape(l, (n_in, 1, 1), (int(w.shape[0]), 1, 1), (int(w.shape[0]), 1, 1),
                                  None, None))
            shape = None
    return out
