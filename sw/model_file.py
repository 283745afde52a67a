"""The hardware model file, format ``tnn-model-v1``: the one interface between sw/ and hw/.

An ``.npz`` archive (README.md, "The hardware model file", has the full contract):

==============  ===========  ==============================================
key             dtype        meaning
==============  ===========  ==============================================
``format``      str          ``"tnn-model-v1"``
``activation``  str          ``"binary"`` or ``"float"``
``layers``      integer      L >= 1
``w{l}``        int8         ``[out_l, in_l]``, values in {-1, 0, +1}
``t{l}``        int32        binary only, ``l < L-1``: ``[out_l]`` thresholds
``s{l}``        float32      float only: ``[out_l]`` scales
``b{l}``        float32      float only: ``[out_l]`` offsets
``x_scale``     float32      float only, scalar: ``x = fl(fl(pixel*x_scale)+x_offset)``
``x_offset``    float32      float only, scalar
``sn{l}``       float32      float only, optional: ``[out_l]`` scales of the
                             sum over the -1 weights (asymmetric layers)
``kp{l}``       int32        binary only, optional, with ``kn{l}``: ``[out_l]``
                             integer weights of the +1 weights (weighted layers)
``kn{l}``       int32        binary only, optional, with ``kp{l}``: of the -1 weights
``input_threshold`` int32    binary only, optional, scalar in ``0..256``: binary
                             inputs, input bit ``a_i = 1`` iff ``pixel_i >= T``
``meta``        str          optional: free-form provenance (JSON by convention)
``input_shape`` int32        optional, ``[3]`` = (C, H, W) of the image, ``C*H*W = in_0``;
                             required when a layer is a convolution
``conv{l}``     int32        optional, ``[6]`` = (kh, kw, stride_y, stride_x, pad_y, pad_x):
                             layer l is a convolution, ``w{l}`` is ``[out_c, in_c, kh, kw]``
``pool{l}``     int32        optional, ``[2]`` = (ph, pw): max pool after hidden
                             convolution layer l's activation (window = stride, floor)
==============  ===========  ==============================================

Convolution layers (extension, backward compatible: files without
``input_shape``/``conv{l}``/``pool{l}`` read and compute exactly as before).
Convolutions come before all dense layers and the last layer is dense; the
first dense layer reads the last convolution's pooled output flattened in
``(C, H, W)`` row-major order, as the image's pixels are. Thresholds, scales
and offsets are per output channel. A tap in the padding contributes nothing.
Geometry: :mod:`sw.conv_shapes` (:func:`~sw.conv_shapes.layer_shapes`);
arithmetic: :mod:`sw.golden`. Two-scale layers (``sn``, ``kp``/``kn``) cannot be
convolutions. :meth:`TnnModel.weight_matrix` gives every layer as a 2-D
``[out, fan_in]`` matrix (a kernel flattened in ``(c, ky, kx)`` order), the
form the weight encoders and the accumulator ranges use.

Asymmetric float layers (extension, backward compatible: files without
``sn{l}`` read and compute exactly as before). Ternarisers with two scales per neuron
or layer (TTQ's ``W_p``/``W_n``, the dual proximal operator) give
``y = s * sum_{w=+1} x - sn * sum_{w=-1} x + b``; the layer then stores
``s{l}`` (scale of the +1 weights), ``sn{l}`` (of the -1 weights) and the
golden model computes ``fl(fl(fl(s * acc_p) - fl(sn * acc_n)) + b)`` with two
separate float accumulations (``sw.golden``).

Weighted binary layers (extension, backward compatible: a binary file
without ``kp{l}``/``kn{l}`` reads and computes exactly as before, as if every
``kp = kn = 1``). Binary networks' form of two scales per row: the integer
accumulation of row j becomes ``acc_j = kp_j * sum_{w=+1} x - kn_j * sum_{w=-1} x``
with integers ``0 <= kp, kn <= K_MAX``; thresholds and outputs are as before.
The exporter approximates ``W_p / W_n`` by ``kp / kn`` (``sw.export``).

Binary inputs (extension, backward compatible: a binary file without
``input_threshold`` reads and computes exactly as before). With
``input_threshold = T`` layer 0 binarises its pixels, ``a_i = 1`` iff
``pixel_i >= T`` (``T = 0``: every bit 1; ``T = 256``: every bit 0), and adds
``2 a_i - 1`` in {-1, +1} like a hidden layer; its accumulator range
(:func:`accumulator_range`) is then a hidden layer's. This is FINN's input
binarisation (``x -> 2x - 1 -> sign``), read from QONNX by :mod:`sw.interop`.

Thresholds are any int32: a threshold at or below a row's accumulator range
gives a constant 1 bit, one above it a constant 0 (dead and saturated neurons,
which batch-norm folding of real networks produces); the golden model compares
as written and the hardware plan clamps them into ``[lo, hi + 1]``.

:func:`validate` checks every field and raises :class:`ModelFileError` whose
message starts with the field's name, e.g. ``"w1: expected int8, got float32"``;
:func:`load_model` refuses a file it cannot read with ``"model: cannot read PATH: REASON"``.

Two words, two meanings, in this file format, the plans (:mod:`hw.plan`) and the
engines alike: an *asymmetric* layer is a float layer with ``sn{l}``; a
*weighted* layer is a binary layer with ``kp{l}``/``kn{l}``.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .conv_shapes import ConvSpec, conv_output_hw, pool_output_hw
from .errors import InputError
from .files import atomic_write_bytes

__all__ = [
    "FORMAT",
    "PIXEL_MAX",
    "ModelFileError",
    "TnnModel",
    "validate",
    "save_model",
    "load_model",
    "accumulator_range",
    "K_MAX",
    "from_arrays",
    "INPUT_THRESHOLD_MAX",
    "ConvSpec",
]

FORMAT = "tnn-model-v1"
#: Largest input value of a binary network's layer 0 (uint8 pixels).
PIXEL_MAX = 255
ACTIVATIONS = ("binary", "float")
#: Largest ``input_threshold``: every input bit 0.
INPUT_THRESHOLD_MAX = PIXEL_MAX + 1
#: Largest integer weight ``kp{l}``/``kn{l}`` of a weighted binary layer (15 bits).
K_MAX = (1 << 15) - 1


class ModelFileError(InputError):
    """A model file (or :class:`TnnModel`) breaks the format, or cannot be read; the
    message starts with the field (``model`` for the file as a whole)."""


@dataclass
class TnnModel:
    """A network in ``tnn-model-v1`` form (see the module docstring).

    ``thresholds`` has L-1 entries for binary networks and is empty for float
    ones; ``scales``/``biases`` have L entries for float networks and are empty
    for binary ones; ``x_scale``/``x_offset`` are ``None`` for binary networks.
    ``neg_scales`` (float only) is empty, or has L entries, each ``None`` (an
    ordinary layer) or the ``sn{l}`` scales of an asymmetric layer.
    ``row_weights`` (binary only) is empty, or has L entries, each ``None`` (an
    ordinary layer) or the pair ``(kp{l}, kn{l})`` of a weighted layer.
    ``input_threshold`` (binary only) is ``None`` (layer 0 adds pixels) or the
    ``T`` of binary inputs (``a_i = 1`` iff ``pixel_i >= T``).

    Convolution networks: ``input_shape`` is ``(C, H, W)`` (``None``: not
    given; dense networks may give it too); ``convs`` is empty or has L
    entries, each ``None`` (a dense layer) or a :class:`ConvSpec` (any
    6-sequence is accepted and read through :meth:`conv`); ``pools`` likewise
    ``None`` or ``(ph, pw)``. ``weights[l]`` of a convolution is the file's
    4-D kernel ``[out_c, in_c, kh, kw]``; :meth:`weight_matrix` is its 2-D form.
    """

    activation: str
    weights: list[np.ndarray]
    thresholds: list[np.ndarray] = field(default_factory=list)
    scales: list[np.ndarray] = field(default_factory=list)
    biases: list[np.ndarray] = field(default_factory=list)
    x_scale: np.float32 | None = None
    x_offset: np.float32 | None = None
    meta: str = ""
    neg_scales: list = field(default_factory=list)
    row_weights: list = field(default_factory=list)
    input_threshold: int | None = None
    input_shape: tuple | None = None
    convs: list = field(default_factory=list)
    pools: list = field(default_factory=list)

    def conv(self, layer: int) -> ConvSpec | None:
        """``conv{layer}`` as a :class:`ConvSpec`, or None for a dense layer."""
        c = self.convs[layer] if layer < len(self.convs) else None
        if c is None or isinstance(c, ConvSpec):
            return c
        return ConvSpec(*(int(v) for v in c))

    def pool(self, layer: int) -> tuple[int, int] | None:
        """``pool{layer}`` as ``(ph, pw)``, or None (no pooling)."""
        p = self.pools[layer] if layer < len(self.pools) else None
        return None if p is None else (int(p[0]), int(p[1]))

    @property
    def has_conv(self) -> bool:
        """Some layer is a convolution."""
        return any(c is not None for c in self.convs)

    def weight_matrix(self, layer: int) -> np.ndarray:
        """int8 ``[out, fan_in]``: a convolution's kernel ``w.reshape(out_c, in_c * kh * kw)``
        (taps in ``(c, ky, kx)`` row-major order), a dense layer's ``w{layer}`` itself."""
        w = self.weights[layer]
        return w.reshape(w.shape[0], -1) if self.conv(layer) is not None else w

    @property
    def binary_input(self) -> bool:
        """Layer 0 binarises its pixels (``input_threshold``) and adds +-1."""
        return self.input_threshold is not None

    def neg_scale(self, layer: int):
        """``sn{layer}`` of an asymmetric layer, else None."""
        return self.neg_scales[layer] if layer < len(self.neg_scales) else None

    def row_weight(self, layer: int):
        """``(kp{layer}, kn{layer})`` of a weighted binary layer, else None."""
        return self.row_weights[layer] if layer < len(self.row_weights) else None

    @property
    def asymmetric(self) -> bool:
        """A float network with some asymmetric layer (``sn{l}``: a separate scale
        for the -1 weights)."""
        return any(sn is not None for sn in self.neg_scales)

    @property
    def weighted(self) -> bool:
        """A binary network with some weighted layer (``kp{l}``/``kn{l}``: integer
        weights for the +1 and the -1 weights)."""
        return any(k is not None for k in self.row_weights)

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def n_inputs(self) -> int:
        """Pixels per image: ``C * H * W`` of ``input_shape`` if given, else ``in_0``."""
        if self.input_shape is not None:
            c, h, w = (int(v) for v in self.input_shape)
            return c * h * w
        return int(self.weights[0].shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.weights[-1].shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The archive's key -> array mapping (no validation)."""
        a: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "activation": np.array(self.activation),
            "layers": np.array(self.n_layers, dtype=np.int64),
        }
        for l, w in enumerate(self.weights):
            a[f"w{l}"] = w
        for l, t in enumerate(self.thresholds):
            a[f"t{l}"] = t
        for l, (s, b) in enumerate(zip(self.scales, self.biases)):
            a[f"s{l}"], a[f"b{l}"] = s, b
        for l, sn in enumerate(self.neg_scales):
            if sn is not None:
                a[f"sn{l}"] = sn
        for l, k in enumerate(self.row_weights):
            if k is not None:
                a[f"kp{l}"], a[f"kn{l}"] = k
        if self.input_threshold is not None:
            a["input_threshold"] = np.asarray(self.input_threshold, dtype=np.int32)
        if self.input_shape is not None:
            a["input_shape"] = np.asarray(tuple(self.input_shape), dtype=np.int32)
        for l in range(len(self.convs)):
            if self.conv(l) is not None:
                a[f"conv{l}"] = np.asarray(tuple(self.conv(l)), dtype=np.int32)
        for l in range(len(self.pools)):
            if self.pool(l) is not None:
                a[f"pool{l}"] = np.asarray(self.pool(l), dtype=np.int32)
        if self.activation == "float":
            a["x_scale"], a["x_offset"] = np.asarray(self.x_scale), np.asarray(self.x_offset)
        if self.meta:
            a["meta"] = np.array(self.meta)
        return a


def accumulator_range(model_weights: np.ndarray, layer: int, row_weights=None, *,
                      binary_input: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``(lo, hi)`` of a binary network's integer accumulation.

    ``model_weights`` is a layer's ``w{l}``: a 2-D matrix, or a convolution's
    4-D kernel, whose rows are its output channels (ranges over the full kernel,
    :meth:`TnnModel.weight_matrix`; taps in the padding only narrow the range).

    Layer 0 (pixels 0..255): ``[-255 * n_minus, 255 * n_plus]``; layers >= 1
    and layer 0 of a network with binary inputs (``binary_input``; inputs +-1):
    ``[-nnz, nnz]``. A threshold ``t <= lo`` gives a bit that is always 1, one
    ``t > hi`` a bit that is always 0; ``[lo, hi + 1]`` holds one threshold of
    each behaviour (the hardware plan clamps into it). A weighted layer's
    ``row_weights = (kp, kn)`` (non-negative) scale the two counts:
    ``[-255 * kn * n_minus, 255 * kp * n_plus]`` and ``[-kp * n_plus - kn * n_minus,
    kp * n_plus + kn * n_minus]``.
    """
    w = model_weights.reshape(model_weights.shape[0], -1).astype(np.int64)
    plus, minus = (w > 0).sum(axis=1), (w < 0).sum(axis=1)
    kp, kn = (1, 1) if row_weights is None else (np.asarray(k, dtype=np.int64) for k in row_weights)
    plus, minus = kp * plus, kn * minus
    if layer == 0 and not binary_input:
        return -PIXEL_MAX * minus, PIXEL_MAX * plus
    return -(plus + minus), plus + minus


# --------------------------------------------------------------------------- validation


def _fail(key: str, msg: str):
    raise ModelFileError(f"{key}: {msg}")


def _scalar_str(arrays, key: str) -> str:
    a = arrays[key]
    if a.shape != () or a.dtype.kind != "U":
        _fail(key, f"expected a string, got {a.dtype} array of shape {a.shape}")
    return str(a[()])


def _check_array(arrays, key: str, dtype, shape: tuple) -> np.ndarray:
    a = arrays[key]
    if not isinstance(a, np.ndarray):
        _fail(key, f"expected a numpy array, got {type(a).__name__}")
    if a.dtype != np.dtype(dtype):
        _fail(key, f"expected {np.dtype(dtype)}, got {a.dtype}")
    if a.shape != shape:
        want = "scalar" if shape == () else f"shape {list(shape)}"
        _fail(key, f"expected {want}, got shape {list(a.shape)}")
    return a


def _check_finite(key: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = np.argwhere(bad)[0] if a.ndim else ()
        _fail(key, f"not finite: {a[tuple(where)]} at {list(where)}")


def validate(arrays) -> None:
    """Check a key -> array mapping (a loaded archive or :meth:`TnnModel.to_arrays`).

    Checks: required and unexpected keys, dtypes, shapes (each layer's input
    width equals the previous layer's output count), ternary weights, binary
    thresholds as int32 (any value: out of the accumulator range means a
    constant bit), ``input_threshold`` in ``0..256``, finite float parameters;
    convolutions: ``input_shape``, ``conv{l}`` (kernel, strides >= 1, padding below the
    kernel size), ``pool{l}``, the layer order (convolutions first, the last layer
    dense, pools on convolutions only), kernels against their input's channels,
    non-empty outputs, the first dense layer against the flattened map, no
    two-scale keys on convolutions. Raises :class:`ModelFileError` naming the first bad field.
    """
    keys = set(arrays)
    for key in ("format", "activation", "layers"):
        if key not in keys:
            _fail(key, "missing")
    fmt = _scalar_str(arrays, "format")
    if fmt != FORMAT:
        _fail("format", f"expected {FORMAT!r}, got {fmt!r}")
    activation = _scalar_str(arrays, "activation")
    if activation not in ACTIVATIONS:
        _fail("activation", f"expected one of {ACTIVATIONS}, got {activation!r}")
    layers = arrays["layers"]
    if layers.shape != () or layers.dtype.kind not in "iu":
        _fail("layers", f"expected an integer scalar, got {layers.dtype} of shape {list(layers.shape)}")
    n = int(layers)
    if n < 1:
        _fail("layers", f"expected >= 1, got {n}")

    expected = {"format", "activation", "layers"} | {f"w{l}" for l in range(n)}
    if activation == "binary":
        expected |= {f"t{l}" for l in range(n - 1)}
    else:
        expected |= {f"s{l}" for l in range(n)} | {f"b{l}" for l in range(n)} | {"x_scale", "x_offset"}
    for key in sorted(expected - keys, key=_key_order):
        _fail(key, "missing")
    if activation == "float":
        optional = {"meta"} | {f"sn{l}" for l in range(n)}
    else:
        optional = ({"meta", "input_threshold"} | {f"kp{l}" for l in range(n)}
                    | {f"kn{l}" for l in range(n)})
    optional |= {"input_shape"} | {f"conv{l}" for l in range(n)} | {f"pool{l}" for l in range(n)}
    extra = keys - expected - optional
    if extra:
        key = sorted(extra, key=_key_order)[0]
        _fail(key, f"unexpected key for a {activation} network of {n} layer(s)")
    if "meta" in keys:
        _scalar_str(arrays, "meta")
    binary_input = "input_threshold" in keys
    if binary_input:
        t_in = int(_check_array(arrays, "input_threshold", np.int32, ()))
        if not 0 <= t_in <= INPUT_THRESHOLD_MAX:
            _fail("input_threshold", f"expected 0..{INPUT_THRESHOLD_MAX} (input bit = pixel >= T), got {t_in}")
    convs, pools, shape = _conv_structure(arrays, n)

    n_in = None
    for l in range(n):
        key = f"w{l}"
        w = arrays[key]
        if not isinstance(w, np.ndarray) or w.dtype != np.int8:
            _fail(key, f"expected int8, got {getattr(w, 'dtype', type(w).__name__)}")
        if l in convs:
            n_out, fan_in, shape = _conv_layer(arrays, l, convs[l], pools.get(l), shape)
            n_in = None
        else:
            if w.ndim != 2:
                _fail(key, f"expected a 2-D [out, in] matrix, got shape {list(w.shape)}")
            if w.shape[0] < 1 or w.shape[1] < 1:
                _fail(key, f"expected a non-empty matrix, got shape {list(w.shape)}")
            if shape is not None and w.shape[1] != int(np.prod(shape)):
                c, h, wd = shape
                if l == 0:
                    _fail("input_shape", f"C*H*W = {c}*{h}*{wd} = {c * h * wd} differs from w0's "
                                         f"{w.shape[1]} inputs")
                _fail(key, f"expected {c * h * wd} inputs (layer {l - 1}'s output after pooling is "
                           f"{c}x{h}x{wd}), got shape {list(w.shape)}")
            if n_in is not None and w.shape[1] != n_in:
                _fail(key, f"expected {n_in} inputs (w{l - 1} has {n_in} outputs), got shape {list(w.shape)}")
            _check_ternary(key, w)
            n_out, n_in = int(w.shape[0]), int(w.shape[1])
            fan_in, shape = n_in, None
        if activation == "binary":
            if l == 0 and not binary_input and PIXEL_MAX * fan_in >= 2**31:
                _fail(key, f"{fan_in} inputs overflow an int32 accumulator")
            k = _row_weights(arrays, l, n_out)
            lo, hi = accumulator_range(w, l, k, binary_input=binary_input)
            if k is not None and (lo.min(initial=0) < -2**31 or hi.max(initial=0) >= 2**31):
                j = int(np.argmax((lo < -2**31) | (hi >= 2**31)))
                _fail(f"kp{l}", f"row {j}'s accumulation range [{int(lo[j])}, {int(hi[j])}] "
                                f"overflows int32")
            if l < n - 1:
                _check_array(arrays, f"t{l}", np.int32, (n_out,))
        else:
            for p in ("s", "b") + (("sn",) if f"sn{l}" in keys else ()):
                _check_finite(f"{p}{l}", _check_array(arrays, f"{p}{l}", np.float32, (n_out,)))
        n_in = None if l in convs else n_out
    if activation == "float":
        for key in ("x_scale", "x_offset"):
            _check_finite(key, _check_array(arrays, key, np.float32, ()))


def _check_ternary(key: str, w: np.ndarray) -> None:
    bad = (w != -1) & (w != 0) & (w != 1)
    if bad.any():
        where = np.argwhere(bad)[0]
        _fail(key, f"values must be ternary (-1, 0, +1), found {int(w[tuple(where)])} at "
                   f"[{', '.join(str(int(i)) for i in where)}]")


def _int_vector(arrays, key: str, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in _check_array(arrays, key, np.int32, (n,)))


def _conv_structure(arrays, n: int):
    """Check ``input_shape``, ``conv{l}``, ``pool{l}`` on their own and the layer order.

    Returns ``({l: ConvSpec}, {l: (ph, pw)}, input_shape or None)``.
    """
    convs, pools = {}, {}
    for l in range(n):
        if f"conv{l}" in arrays:
            kh, kw, sy, sx, py, px = _int_vector(arrays, f"conv{l}", 6)
            if kh < 1 or kw < 1:
                _fail(f"conv{l}", f"kernel sizes must be >= 1, got {kh}x{kw}")
            if sy < 1 or sx < 1:
                _fail(f"conv{l}", f"strides must be >= 1, got ({sy}, {sx})")
            if not (0 <= py < kh and 0 <= px < kw):
                _fail(f"conv{l}", f"padding must be 0..kernel size - 1 per axis, got ({py}, {px}) "
                                  f"for a {kh}x{kw} kernel")
            convs[l] = ConvSpec(kh, kw, sy, sx, py, px)
    for l in range(n):
        if f"pool{l}" in arrays:
            ph, pw = _int_vector(arrays, f"pool{l}", 2)
            if ph < 1 or pw < 1:
                _fail(f"pool{l}", f"window sizes must be >= 1, got {ph}x{pw}")
            pools[l] = (ph, pw)
    shape = None
    if "input_shape" in arrays:
        shape = _int_vector(arrays, "input_shape", 3)
        if min(shape) < 1:
            _fail("input_shape", f"sizes must be >= 1, got (C, H, W) = {shape}")
    elif convs:
        _fail("input_shape", f"missing (required with convolution layers; conv{min(convs)} is given)")
    if n - 1 in convs:
        _fail(f"conv{n - 1}", "the last layer must be dense")
    dense = [l for l in range(n) if l not in convs]
    late = [l for l in sorted(convs) if l > dense[0]]
    if late:
        _fail(f"conv{late[0]}", f"convolutions must come before all dense layers (layer {dense[0]} is dense)")
    for l in sorted(pools):
        if l not in convs:
            _fail(f"pool{l}", f"pooling follows hidden convolution layers only (layer {l} is dense)")
    for l in sorted(convs):
        for p in ("sn", "kp", "kn"):
            if f"{p}{l}" in arrays:
                _fail(f"{p}{l}", f"two-scale conv layers are not supported (conv{l} is given)")
    return convs, pools, shape


def _conv_layer(arrays, l: int, spec: ConvSpec, pool, shape):
    """Check convolution layer ``l`` on its ``(C, H, W)`` input; returns
    ``(out_c, fan_in, pooled output shape)``."""
    key, w = f"w{l}", arrays[f"w{l}"]
    c, h, wd = shape
    if w.ndim != 4:
        _fail(key, f"expected a 4-D [out_c, in_c, kh, kw] kernel (conv{l} is given), got shape {list(w.shape)}")
    src = "input_shape has" if l == 0 else f"layer {l - 1} outputs"
    if w.shape[1:] != (c, spec.kh, spec.kw) or w.shape[0] < 1:
        _fail(key, f"expected shape [out_c >= 1, {c}, {spec.kh}, {spec.kw}] ({src} {c} channel(s); "
                   f"conv{l} has a {spec.kh}x{spec.kw} kernel), got shape {list(w.shape)}")
    _check_ternary(key, w)
    ho, wo = conv_output_hw(h, wd, spec)
    if ho < 1 or wo < 1:
        _fail(f"conv{l}", f"a {spec.kh}x{spec.kw} kernel with stride ({spec.stride_y}, {spec.stride_x}) "
                          f"and padding ({spec.pad_y}, {spec.pad_x}) gives an empty output on the "
                          f"{h}x{wd} input")
    hp, wp = pool_output_hw(ho, wo, pool)
    if hp < 1 or wp < 1:
        _fail(f"pool{l}", f"a {pool[0]}x{pool[1]} window gives an empty output on the {ho}x{wo} map")
    out_c = int(w.shape[0])
    return out_c, c * spec.kh * spec.kw, (out_c, hp, wp)


def _row_weights(arrays, l: int, n_out: int):
    """``(kp, kn)`` of binary layer ``l`` (checked: both or neither, int32, in
    ``0..K_MAX``), or None."""
    present = [f"{p}{l}" in arrays for p in ("kp", "kn")]
    if not any(present):
        return None
    if not all(present):
        have, need = ("kp", "kn") if present[0] else ("kn", "kp")
        _fail(f"{need}{l}", f"missing ({have}{l} is given; a weighted layer needs both)")
    out = []
    for p in ("kp", "kn"):
        k = _check_array(arrays, f"{p}{l}", np.int32, (n_out,))
        bad = (k < 0) | (k > K_MAX)
        if bad.any():
            j = int(np.argmax(bad))
            _fail(f"{p}{l}", f"integer weight {int(k[j])} of row {j} outside 0..{K_MAX}")
        out.append(k)
    return tuple(out)


def _key_order(key: str):
    """Sort ``w2`` before ``w10``; plain names first."""
    head = key.rstrip("0123456789")
    tail = key[len(head):]
    return (int(tail) if tail else -1, head)


# --------------------------------------------------------------------------- file I/O


def save_model(path: str | os.PathLike, model: TnnModel) -> Path:
    """Validate ``model`` and write it to ``path`` atomically (temporary file in the
    same folder, then a rename; the file gets the umask's mode)."""
    arrays = model.to_arrays()
    validate(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load_model(path: str | os.PathLike) -> TnnModel:
    """Read and validate a model file. Raises :class:`ModelFileError`: ``"model:
    cannot read PATH: REASON"`` for a file that cannot be read as a ``.npz`` archive
    of arrays (missing, a folder, not a zip, a member that is no ``.npy`` array),
    else the first bad field's message (:func:`validate`)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except OSError as e:
        raise ModelFileError(f"model: cannot read {path}: {e.strerror or e}") from e
    except (zipfile.BadZipFile, EOFError, ValueError) as e:
        raise ModelFileError(f"model: cannot read {path}: not a .npz archive") from e
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ModelFileError(f"model: cannot read {path}: not a .npz archive")
    with loaded as z:
        try:
            arrays = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            raise ModelFileError(f"model: cannot read {path}: not a .npz archive") from e
    if not all(isinstance(a, np.ndarray) for a in arrays.values()):
        raise ModelFileError(f"model: cannot read {path}: not a .npz archive")
    return from_arrays(arrays)


def from_arrays(arrays) -> TnnModel:
    """Validate a key -> array mapping and build the :class:`TnnModel`."""
    validate(arrays)
    n = int(arrays["layers"])
    act = str(arrays["activation"][()])
    m = TnnModel(act, [arrays[f"w{l}"] for l in range(n)],
                 meta=str(arrays["meta"][()]) if "meta" in arrays else "")
    if "input_shape" in arrays:
        m.input_shape = tuple(int(v) for v in arrays["input_shape"])
    if any(f"conv{l}" in arrays for l in range(n)):
        m.convs = [ConvSpec(*(int(v) for v in arrays[f"conv{l}"])) if f"conv{l}" in arrays else None
                   for l in range(n)]
    if any(f"pool{l}" in arrays for l in range(n)):
        m.pools = [tuple(int(v) for v in arrays[f"pool{l}"]) if f"pool{l}" in arrays else None
                   for l in range(n)]
    if act == "binary":
        m.thresholds = [arrays[f"t{l}"] for l in range(n - 1)]
        if "input_threshold" in arrays:
            m.input_threshold = int(arrays["input_threshold"])
        if any(f"kp{l}" in arrays for l in range(n)):
            m.row_weights = [(arrays[f"kp{l}"], arrays[f"kn{l}"]) if f"kp{l}" in arrays else None
                             for l in range(n)]
    else:
        m.scales = [arrays[f"s{l}"] for l in range(n)]
        m.biases = [arrays[f"b{l}"] for l in range(n)]
        m.x_scale, m.x_offset = arrays["x_scale"][()], arrays["x_offset"][()]
        if any(f"sn{l}" in arrays for l in range(n)):
            m.neg_scales = [arrays.get(f"sn{l}") for l in range(n)]
    return m
