"""Convolution layers in the binary engine: geometry, activation-memory layout, tap columns.

Pure Python, no RTL. A network with convolution layers (``conv{l}`` in the
model file) runs on the binary engine with these choices:

Mapping (R = B x P)
    PE ``r`` works on image ``r mod B`` of the batch at pixel slot ``p = r // B``:
    a walk of a row (one output channel) serves P output pixels of B images,
    one pool window (``ph x pw``) apart along x: slot ``p`` reads every tap at
    the address of slot 0 plus ``p * pe_step`` (``pw * sx``). Each row is
    walked once per group of P pool windows and pixel of the window (and per
    pixel bit plane in layer 0), :meth:`ConvGeometry.walks`; a row of windows
    whose width is not a multiple of P ends in a short group whose missing
    slots compute and write nothing. Pixels are visited window by window, so a
    PE ORs (binary) or maxes (float) its values over its own window and writes
    one value per window; pixels a floor pool drops are not computed. Dense
    layers use the B PEs of slot 0 (R = B there); the others repeat them.

Activation memory (every lane's copy alike)
    One flat address space: layer 0's input as 8 bit-plane areas, then one
    area per layer's output (no ping-pong: an area is written only by its
    layer). A conv layer's input area is stored padded, ``(C, H + 2 pad_y,
    W + 2 pad_x)`` row-major; its padding cells are never written, so they
    read 0. The producer writes its (pooled) outputs into the consumer's
    padded layout; a dense layer's input is the flat ``(C, H, W)`` vector.
    The last address is a zero cell that null beats read.

Tap columns
    A conv row's tap ``(c, ky, kx)`` is walked as column ``c*Hp*Wp + ky*Wp +
    kx`` of the padded input (so its RLE runs count padded cells); at output
    pixel ``(oy, ox)`` the walker's column plus ``oy*sy*Wp + ox*sx`` is the
    tap's input address.

Padding (bits layers: layer 0 with binary inputs, layers >= 1)
    A tap in the padding reads 0, so its XNOR term is 1 for a -1 weight and 0
    for a +1 weight, where the model has no term. Which taps fall outside
    depends only on the pixel's *border class* (the valid kernel rows at
    ``oy`` and columns at ``ox``), so each class gets its own accumulator
    start value per output channel (:func:`hw.binary_plan.plan_binary`).
    Layer 0 over pixel bit planes needs none: a padded tap adds
    ``255 * [w = -1]`` over the 8 planes, as a valid tap's ``255 - pixel``
    offset does, so the dot product's offset stays ``255 * n_minus``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sw.model_file import TnnModel

__all__ = ["ConvGeometry", "ActivationLayout", "conv_geometry", "activation_layout", "tap_columns",
           "walked_matrices", "has_conv", "PLANES"]

#: Bit-plane areas of layer 0's input (one per pixel bit).
PLANES = 8


def has_conv(model: TnnModel) -> bool:
    """The model has convolution layers (``conv{l}`` in its file)."""
    return getattr(model, "input_shape", None) is not None and any(
        model.conv(l) is not None for l in range(model.n_layers))


@dataclass(frozen=True)
class ConvGeometry:
    """One conv layer as the engine walks it. Input ``(c, h, w)``, stored padded
    ``(c, hp, wp)``; kernel ``kh x kw``, strides ``sy``, ``sx``; outputs ``oh x
    ow`` before the pool ``ph x pw`` (1 x 1: none), ``hq x wq`` after; the
    outputs are stored in the consumer's layout, padded by ``out_pad_y``,
    ``out_pad_x``. ``y_class[oy]`` / ``x_class[ox]`` are the border classes of
    the computed rows and columns (``oy < hq*ph``, ``ox < wq*pw``)."""

    c: int
    h: int
    w: int
    pad_y: int
    pad_x: int
    kh: int
    kw: int
    sy: int
    sx: int
    oh: int
    ow: int
    ph: int
    pw: int
    out_pad_y: int
    out_pad_x: int
    y_class: tuple[int, ...]
    x_class: tuple[int, ...]
    y_valid: tuple[tuple[bool, ...], ...]   # per y class: which kernel rows fall inside
    x_valid: tuple[tuple[bool, ...], ...]

    @property
    def hp(self) -> int:
        return self.h + 2 * self.pad_y

    @property
    def wp(self) -> int:
        return self.w + 2 * self.pad_x

    @property
    def hq(self) -> int:
        return self.oh // self.ph

    @property
    def wq(self) -> int:
        return self.ow // self.pw

    @property
    def pixels(self) -> int:
        """Output pixels computed per row: whole pool windows only."""
        return self.hq * self.ph * self.wq * self.pw

    def groups_x(self, group: int) -> int:
        """Groups of ``group`` pool windows per row of windows (the last may be short)."""
        return -(-self.wq // group)

    def last_group(self, group: int) -> int:
        """Pool windows in a row's last group."""
        return self.wq - (self.groups_x(group) - 1) * group

    def walks(self, group: int = 1) -> int:
        """Walks of each row when every walk serves ``group`` pool windows side by
        side (P, :mod:`hw.pixel_scan`): ``hq*ph * groups_x*pw``; ``pixels`` at P = 1."""
        return self.hq * self.ph * self.groups_x(group) * self.pw

    @property
    def pe_step(self) -> int:
        """The address step between the P pixels of a walk: one pool window along x."""
        return self.pw * self.sx

    @property
    def out_hp(self) -> int:
        return self.hq + 2 * self.out_pad_y

    @property
    def out_wp(self) -> int:
        return self.wq + 2 * self.out_pad_x

    @property
    def columns(self) -> int:
        """The column space of a row walk: the padded input."""
        return self.c * self.hp * self.wp

    @property
    def classes(self) -> int:
        return len(self.y_valid) * len(self.x_valid)

    def valid_taps(self, cls: int) -> np.ndarray:
        """bool ``[kh, kw]``: the taps inside the input for border class ``cls``
        (``y_class * n_x_classes + x_class``)."""
        yc, xc = divmod(cls, len(self.x_valid))
        return np.outer(self.y_valid[yc], self.x_valid[xc])

    def pixel_base(self, oy: int, ox: int) -> int:
        """Added to a tap's column: the address offset of output pixel ``(oy, ox)``."""
        return oy * self.sy * self.wp + ox * self.sx


def _border_classes(n_out: int, stride: int, pad: int, k: int, size: int):
    """Per output index its class, and per class the valid kernel offsets."""
    sets, cls = [], []
    for o in range(n_out):
        valid = tuple(0 <= o * stride - pad + i < size for i in range(k))
        if valid not in sets:
            sets.append(valid)
        cls.append(sets.index(valid))
    return tuple(cls), tuple(sets)


def conv_geometry(model: TnnModel) -> list[ConvGeometry | None]:
    """Per layer its :class:`ConvGeometry`, None for dense layers."""
    out: list[ConvGeometry | None] = []
    shape = model.input_shape
    for l in range(model.n_layers):
        spec = model.conv(l)
        if spec is None:
            out.append(None)
            continue
        c, h, w = shape
        oh = (h + 2 * spec.pad_y - spec.kh) // spec.stride_y + 1
        ow = (w + 2 * spec.pad_x - spec.kw) // spec.stride_x + 1
        ph, pw = model.pool(l) or (1, 1)
        nxt = model.conv(l + 1) if l + 1 < model.n_layers else None
        yc, yv = _border_classes((oh // ph) * ph, spec.stride_y, spec.pad_y, spec.kh, h)
        xc, xv = _border_classes((ow // pw) * pw, spec.stride_x, spec.pad_x, spec.kw, w)
        out.append(ConvGeometry(
            c=c, h=h, w=w, pad_y=spec.pad_y, pad_x=spec.pad_x, kh=spec.kh, kw=spec.kw,
            sy=spec.stride_y, sx=spec.stride_x, oh=oh, ow=ow, ph=ph, pw=pw,
            out_pad_y=nxt.pad_y if nxt else 0, out_pad_x=nxt.pad_x if nxt else 0,
            y_class=yc, x_class=xc, y_valid=yv, x_valid=xv))
        shape = (int(model.weights[l].shape[0]), oh // ph, ow // pw)
    return out


def tap_columns(w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """int8 ``[out_c, c*hp*wp]``: the conv weights ``w`` ``[out_c, c, kh, kw]`` at
    their tap columns (module docstring); the nonzeros keep their (c, ky, kx) order."""
    out = np.zeros((w.shape[0], g.c, g.hp, g.wp), dtype=np.int8)
    out[:, :, :g.kh, :g.kw] = w
    return out.reshape(w.shape[0], -1)


def walked_matrices(model: TnnModel, geometry) -> list[np.ndarray]:
    """Per layer the matrix a row walk covers: a dense layer's weights, a conv
    layer's at their tap columns (:func:`tap_columns`)."""
    return [model.weights[l] if g is None else tap_columns(model.weights[l], g)
            for l, g in enumerate(geometry)]


@dataclass(frozen=True)
class ActivationLayout:
    """Where every layer's input and output live in the activation memory
    (module docstring). ``in_base[l]`` is layer ``l``'s input area (layer 0: bit
    plane 0's; plane ``b`` at ``in_base[0] + b * plane_size``), ``out_base[l]``
    its output area (hidden layers); ``input_addresses[i]`` is pixel ``i``'s
    address in a plane area, relative to it (the host's ``load`` address);
    ``hidden_addresses[l][i]`` output ``i`` of hidden layer ``l`` relative to
    ``out_base[l]`` (the host's debug ``hidden`` address). ``zero`` is the
    never-written cell; ``depth`` the memory's."""

    plane_size: int
    in_base: tuple[int, ...]
    out_base: tuple[int, ...]
    input_addresses: np.ndarray
    hidden_addresses: tuple[np.ndarray, ...]
    zero: int

    @property
    def depth(self) -> int:
        return self.zero + 1


def _stored_addresses(shape, pad_y: int, pad_x: int) -> np.ndarray:
    """Flat (C, H, W) index -> address in the padded layout."""
    c, h, w = shape
    cc, yy, xx = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return ((cc * (h + 2 * pad_y) + yy + pad_y) * (w + 2 * pad_x) + xx + pad_x).reshape(-1)


def activation_layout(model: TnnModel, geometry: list[ConvGeometry | None],
                      planes: int = PLANES) -> ActivationLayout:
    """The layout of the module docstring; ``planes`` input areas (the binary
    engine's 8 bit planes; the float engine stores its pixels once: 1)."""
    g0 = geometry[0]
    if g0 is not None:
        plane_size = g0.c * g0.hp * g0.wp
        inputs = _stored_addresses((g0.c, g0.h, g0.w), g0.pad_y, g0.pad_x)
    else:
        plane_size = model.n_inputs
        inputs = np.arange(model.n_inputs)
    base = planes * plane_size
    in_base, out_base, hidden = [0], [], []
    for l, g in enumerate(geometry[:-1]):
        if g is not None:
            size = int(model.weights[l].shape[0]) * g.out_hp * g.out_wp
            hidden.append(_stored_addresses((int(model.weights[l].shape[0]), g.hq, g.wq),
                                            g.out_pad_y, g.out_pad_x))
        else:
            size = int(model.weights[l].shape[0])
            hidden.append(np.arange(size))
        out_base.append(base)
        in_base.append(base)
        base += size
    out_base.append(base)  # the last layer writes the output buffer; its area is the zero cell
    return ActivationLayout(plane_size=plane_size, in_base=tuple(in_base), out_base=tuple(out_base),
                            input_addresses=inputs, hidden_addresses=tuple(hidden), zero=base)
