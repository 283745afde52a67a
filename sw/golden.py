"""Bit-true golden model of ``tnn-model-v1`` networks, in numpy (the hardware's reference).

``forward(model, pixels) -> (outputs, hidden)`` for both network kinds, with
``hidden`` the per-layer hidden activations (bits or floats) so hardware can be
checked layer by layer; ``predict`` takes the argmax (lowest index on ties).

Binary networks (all integer arithmetic, exact):
    layer 0:   acc_j = sum_i w_ji * x_i,            x_i = pixel in 0..255
    layer l>0: acc_j = sum_{w_ji != 0} w_ji * (2 a_i - 1),   a_i in {0, 1}
    binary inputs (``input_threshold`` T in the model file): layer 0 is as
               layer l>0 with a_i = 1 iff pixel_i >= T
    hidden:    a_j = 1 iff acc_j >= t_j;   last layer: outputs acc (int32)
Weighted binary layers (``kp{l}``/``kn{l}`` in the model file) scale the sums
over the +1 and the -1 weights by their integers before subtracting::

    acc_j = kp_j * sum_{w_ji = +1} x_i  -  kn_j * sum_{w_ji = -1} x_i
The sums use float64 BLAS as an exact integer engine: every operand and every
partial sum is an integer of magnitude below 2**53 (checked), so the result is
the exact integer sum in any order.

Float networks (IEEE binary32, round to nearest even, no fused multiply-add):
    x_i   = fl(fl(pixel_i * x_scale) + x_offset)
    acc_j = :func:`float_accumulate` over the row's nonzero weights (order fixed, see there)
    y_j   = fl(fl(s_j * acc_j) + b_j)
    hidden layers: relu(y) (:func:`relu`); last layer: outputs y.

Asymmetric float layers (``sn{l}`` in the model file): two accumulations, each
in :func:`float_accumulate`'s order over its own weights, with ``x_i`` added
unnegated in both::

    acc_p = float_accumulate(x, w == +1),  acc_n = float_accumulate(x, w == -1)
    y     = fl(fl(fl(s * acc_p) - fl(sn * acc_n)) + b)

Convolution layers (``conv{l}``, ``pool{l}`` in the model file; geometry in
:mod:`sw.conv_shapes`). The image's pixels are ``(C, H, W)`` row-major
(``input_shape``). Output channel j at output pixel ``(oy, ox)`` is computed
like dense row j over the kernel's taps in ``(c, ky, kx)`` row-major order, tap
``(c, ky, kx)`` reading input ``(c, oy*stride_y - pad_y + ky, ox*stride_x - pad_x + kx)``;
a tap outside the input (in the padding) contributes nothing:

* binary: no term (``acc`` sums the taps inside only); layer 0 adds pixels
  0..255 (or +-1 with ``input_threshold``), later layers ``2 a - 1``; the bit is
  ``acc >= t_j``; the last layer is dense, so outputs are as before.
* float: the tap's nonzero weight still takes its turn in the lane rotation --
  row j's n-th nonzero weight (counting taps in the padding) goes to partial
  ``n mod lanes`` -- but that partial is left unchanged (no addition at all, not
  an addition of 0.0); the partials combine left to right as for dense rows,
  then ``y = fl(fl(s_j * acc) + b_j)`` and ReLU. (A partial starts at +0.0 and
  so never holds -0.0; the rule is stated on the operations anyway.)

Pooling follows the activation, window = stride = ``(ph, pw)``, floor:

* binary: the OR of the window's bits;
* float: the window value with the **largest binary32 bit pattern** (as an
  unsigned 32-bit integer). After ReLU every value has its sign bit clear, so
  this is the float maximum, with ``+inf`` above every finite value and a NaN
  (sign bit clear) above ``+inf``: a NaN in the window wins (the largest NaN
  pattern if several).

``hidden[l]`` of a convolution layer is its output after activation *and*
pooling, flattened in ``(C, H, W)`` row-major order (``[N, C*H*W]``, uint8 bits
or float32): what the hardware stores for the next layer, and, for the last
convolution, the first dense layer's input vector.
"""

from __future__ import annotations

import numpy as np

from .conv_shapes import ConvSpec, conv_output_hw, layer_shapes, valid_range
from .model_file import PIXEL_MAX, TnnModel

__all__ = ["forward", "predict", "binary_forward", "float_forward", "float_forward64", "float_accumulate",
           "float_accumulate_reference", "relu", "preprocess", "binary_conv_accumulate",
           "float_conv_accumulate", "float_conv_accumulate_reference", "pool_bits", "pool_floats",
           "CHUNK"]

#: Images per block in the convolution layers (bounds the working set; results do not depend on it).
CHUNK = 256
#: Images per block of the binary convolutions' unrolled windows.
BINARY_CHUNK = 64

_EXACT = 2.0**53
#: IEEE overflow to inf and inf - inf = NaN are defined results here, not errors.
_IEEE = dict(over="ignore", invalid="ignore")


def predict(outputs: np.ndarray) -> np.ndarray:
    """Argmax over the last axis, lowest index on ties (``np.argmax``'s rule).

    For float outputs ``-0.0 == +0.0`` (a tie); an output row containing NaN
    predicts the index of its first NaN (numpy's rule; no trained network
    produces NaN from finite inputs).
    """
    return np.argmax(outputs, axis=-1)


def _check_pixels(pixels: np.ndarray, n_in: int) -> np.ndarray:
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.shape[1] != n_in:
        raise ValueError(f"pixels: expected shape [N, {n_in}], got {list(pixels.shape)}")
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels: expected uint8 (0..{PIXEL_MAX}), got {pixels.dtype}")
    return pixels


# --------------------------------------------------------------------------- binary


def _exact_int_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T`` for small integer matrices, exactly, via float64 BLAS."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).sum(axis=1).max(initial=0))
    assert bound < _EXACT, "integer sums would not be exact in float64"
    return (x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)


def binary_forward(model: TnnModel, pixels: np.ndarray):
    """Outputs int32 ``[N, out_last]`` and hidden bits, a list of uint8 ``[N, out_l]``
    (convolution layers: ``[N, C*H*W]`` after pooling, see the module docstring)."""
    x = _check_pixels(pixels, model.n_inputs)
    if model.binary_input:
        x = 2 * (x >= model.input_threshold).astype(np.int8) - 1
    hidden: list[np.ndarray] = []
    start = 0
    if model.has_conv:
        hidden = _binary_convs(model, x)
        start = len(hidden)
        x = 2 * hidden[-1].astype(np.int8) - 1
    for l, w in enumerate(model.weights[start:], start):
        k = model.row_weight(l)
        if k is None:
            acc = _exact_int_matmul(x, w)  # layer 0: pixels (or +-1); later: 2a - 1 in {-1, +1}
        else:
            kp, kn = (np.asarray(v, dtype=np.int64) for v in k)
            acc = (kp * _exact_int_matmul(x, (w > 0).astype(np.int8))
                   - kn * _exact_int_matmul(x, (w < 0).astype(np.int8)))
        if l == model.n_layers - 1:
            return acc.astype(np.int32), hidden
        bits = (acc >= model.thresholds[l].astype(np.int64)).astype(np.uint8)
        hidden.append(bits)
        x = 2 * bits.astype(np.int8) - 1
    raise AssertionError("unreachable")


def _conv_layers(model: TnnModel) -> list[int]:
    """The leading convolution layers' indices."""
    return [l for l in range(model.n_layers) if model.conv(l) is not None]


def _windows(x: np.ndarray, spec: ConvSpec, fill=0) -> np.ndarray:
    """``x [n, C, H, W]`` -> ``[n, H', W', C, kh, kw]`` (a view of the padded input,
    ``fill`` in the padding)."""
    x = np.pad(x, ((0, 0), (0, 0), (spec.pad_y, spec.pad_y), (spec.pad_x, spec.pad_x)),
               constant_values=fill)
    ho, wo = conv_output_hw(x.shape[2] - 2 * spec.pad_y, x.shape[3] - 2 * spec.pad_x, spec)
    v = np.lib.stride_tricks.sliding_window_view(x, (spec.kh, spec.kw), axis=(2, 3))
    v = v[:, :, ::spec.stride_y, ::spec.stride_x][:, :, :ho, :wo]  # [n, C, H', W', kh, kw]
    return v.transpose(0, 2, 3, 1, 4, 5)


def _binary_conv_cl(x: np.ndarray, w: np.ndarray, spec: ConvSpec, emit) -> None:
    """Exact integer convolution of integer ``x [N, H, W, C]`` (channels last: pixels or
    +-1) with the kernel ``w [out_c, C, kh, kw]``; taps in the padding add nothing (zero
    padding, an exact no-op for integer sums). Calls ``emit(i, acc)`` per block of
    :data:`BINARY_CHUNK` images with ``acc [n, H', W', out_c]`` of images ``i..i+n-1``:
    exact integers held in float32 or float64 (compare them with float64 or int64, not
    float32, thresholds).

    Float32 (or float64) BLAS over the unrolled windows, columns in ``(ky, kx, c)``
    order: exact, because every operand and partial sum is an integer below 2**24
    (2**53; checked), so any summation order gives the exact sum.
    """
    n_all, h, wd, c = x.shape
    if n_all == 0:
        return
    o = w.shape[0]
    wm = w.transpose(0, 2, 3, 1).reshape(o, -1)  # columns (ky, kx, c)
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(wm).sum(axis=1).max(initial=0))
    assert bound < _EXACT, "integer sums would not be exact in float64"
    dtype = np.float32 if bound < 2.0**24 else np.float64
    wt = np.ascontiguousarray(wm.T, dtype=dtype)
    ho, wo = conv_output_hw(h, wd, spec)
    sy, sx = spec.stride_y, spec.stride_x
    n = min(BINARY_CHUNK, n_all)
    padded = np.zeros((n, h + 2 * spec.pad_y, wd + 2 * spec.pad_x, c), dtype)
    cols = np.empty((n, ho, wo, spec.kh, spec.kw, c), dtype)
    for i in range(0, n_all, n):
        k = min(n, n_all - i)
        padded[:k, spec.pad_y:spec.pad_y + h, spec.pad_x:spec.pad_x + wd] = x[i:i + k]
        for ky in range(spec.kh):
            for kx in range(spec.kw):
                cols[:k, :, :, ky, kx] = padded[:k, ky:ky + (ho - 1) * sy + 1:sy, kx:kx + (wo - 1) * sx + 1:sx]
        acc = cols[:k].reshape(k * ho * wo, -1) @ wt
        emit(i, acc.reshape(k, ho, wo, o))


def binary_conv_accumulate(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Exact integer ``acc [n, out_c, H', W']`` (int64) of a convolution of integer
    ``x [n, C, H, W]`` (pixels or +-1) with the kernel ``w [out_c, C, kh, kw]``; taps in
    the padding add nothing."""
    ho, wo = conv_output_hw(x.shape[2], x.shape[3], spec)
    out = np.empty((x.shape[0], ho, wo, w.shape[0]), np.int64)

    def emit(i, acc):
        out[i:i + len(acc)] = acc  # exact integers: the cast is exact
    _binary_conv_cl(np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1)), w, spec, emit)
    return out.transpose(0, 3, 1, 2)


def _pool_view(a: np.ndarray, pool, axes: tuple[int, int]) -> np.ndarray:
    """Crop axes ``axes`` (adjacent, H then W) to multiples of ``pool`` and split each into
    ``(count, window)``; the window axes are ``axes[0] + 1`` and ``axes[1] + 2``."""
    ph, pw = pool
    ay, ax = axes
    h, w = a.shape[ay] // ph, a.shape[ax] // pw
    idx = [slice(None)] * a.ndim
    idx[ay], idx[ax] = slice(0, h * ph), slice(0, w * pw)
    a = a[tuple(idx)]
    return a.reshape(a.shape[:ay] + (h, ph, w, pw) + a.shape[ax + 1:])


def pool_bits(bits: np.ndarray, pool) -> np.ndarray:
    """Binary max pool: the OR of each ``(ph, pw)`` window of ``bits [n, C, H, W]``
    (window = stride, floor: leftover rows and columns dropped); ``None``: no pool."""
    if pool is None:
        return bits
    return _pool_view(bits, pool, (2, 3)).max(axis=(3, 5))


def pool_floats(y: np.ndarray, pool, axes: tuple[int, int] = (2, 3)) -> np.ndarray:
    """Float max pool of float32 ``y`` over the map axes ``axes`` (default ``[n, C, H, W]``):
    per window, the value with the largest binary32 bit pattern as an unsigned integer
    (the float maximum for values with the sign bit clear, as after ReLU; a NaN wins)."""
    if pool is None:
        return y
    u = _pool_view(np.ascontiguousarray(y, dtype=np.float32).view(np.uint32), pool, axes)
    return u.max(axis=(axes[0] + 1, axes[1] + 2)).view(np.float32)


def _binary_convs(model: TnnModel, x: np.ndarray) -> list[np.ndarray]:
    """Hidden bits ``[N, C*H*W]`` of the leading convolution layers (``x``: layer 0's
    integer inputs ``[N, in_0]``, pixels or +-1)."""
    c, h, w = (int(v) for v in model.input_shape)
    x = x.reshape(-1, c, h, w).transpose(0, 2, 3, 1)  # channels last [N, H, W, C]
    hidden = []
    for l in _conv_layers(model):
        spec, pool = model.conv(l), model.pool(l)
        t = model.thresholds[l].astype(np.float64)  # exact for int32; the sums are exact integers
        ho, wo = conv_output_hw(x.shape[1], x.shape[2], spec)
        hp, wp = (ho, wo) if pool is None else (ho // pool[0], wo // pool[1])
        bits = np.empty((len(x), hp, wp, len(t)), np.uint8)

        def emit(i, acc):
            b = (acc >= t).astype(np.uint8)
            bits[i:i + len(b)] = b if pool is None else _pool_view(b, pool, (1, 2)).max(axis=(2, 4))
        _binary_conv_cl(x, model.weights[l], spec, emit)
        hidden.append(np.ascontiguousarray(bits.transpose(0, 3, 1, 2)).reshape(len(bits), hp * wp * len(t)))
        x = 2 * bits.astype(np.int8) - 1
    return hidden


# --------------------------------------------------------------------------- float


def preprocess(pixels: np.ndarray, x_scale: np.float32, x_offset: np.float32) -> np.ndarray:
    """``fl(fl(pixel * x_scale) + x_offset)`` in float32."""
    with np.errstate(**_IEEE):
        x = pixels.astype(np.float32) * np.float32(x_scale)
        return x + np.float32(x_offset)


def relu(y: np.ndarray) -> np.ndarray:
    """Select on the sign bit: ``y`` if its sign bit is 0, else ``+0.0``.

    So ``-0.0 -> +0.0``, a NaN with the sign bit clear passes through, a NaN
    with the sign bit set becomes ``+0.0``; ``+inf`` passes, ``-inf -> +0.0``.
    """
    return np.where(np.signbit(y), np.float32(0.0), y).astype(np.float32)


def float_accumulate_reference(x_row: np.ndarray, w_row: np.ndarray, lanes: int = 1) -> np.float32:
    """Scalar reference of :func:`float_accumulate` for one input vector and one row.

    Walk the nonzero weights in increasing column order; nonzero number n
    (0-based) goes to partial sum ``n % lanes``. Each partial sum starts at
    +0.0 and adds its terms one by one in float32; the term is ``x_i`` for
    ``w = +1`` and ``-x_i`` (sign bit flipped) for ``w = -1``. At the end the
    partials combine left to right: ``((p0 + p1) + p2) + ...``.
    """
    if lanes < 1:
        raise ValueError(f"lanes: expected >= 1, got {lanes}")
    partial = [np.float32(0.0)] * lanes
    with np.errstate(**_IEEE):
        for n, i in enumerate(np.flatnonzero(w_row)):
            term = x_row[i] if w_row[i] > 0 else -x_row[i]
            partial[n % lanes] = np.float32(partial[n % lanes] + term)
        acc = partial[0]
        for p in partial[1:]:
            acc = np.float32(acc + p)
    return acc


def float_accumulate(x: np.ndarray, w: np.ndarray, lanes: int = 1) -> np.ndarray:
    """``acc[N, out]`` for float32 ``x[N, in]`` and ternary ``w[out, in]``, vectorised over N.

    Bit-identical to :func:`float_accumulate_reference` for every row and input
    (the order of operations is the hardware's; see its docstring): each term
    is one float32 vector addition over the N inputs, in the documented order.
    Works on ``x.T`` so that a row's terms are contiguous slices.
    """
    if lanes < 1:
        raise ValueError(f"lanes: expected >= 1, got {lanes}")
    xt = np.ascontiguousarray(np.asarray(x, dtype=np.float32).T)  # [in, N]
    acc = np.empty((w.shape[0], xt.shape[1]), dtype=np.float32)
    partial = np.empty((lanes, xt.shape[1]), dtype=np.float32)
    with np.errstate(**_IEEE):
        for j, row in enumerate(w):
            cols = np.flatnonzero(row)
            terms = xt[cols]  # [k, N], a copy
            neg = row[cols] < 0
            terms[neg] = np.negative(terms[neg])  # flips the sign bit
            partial.fill(0.0)  # +0.0
            for n, term in enumerate(terms):
                lane = partial[n % lanes]
                np.add(lane, term, out=lane)
            for lane in partial[1:]:
                np.add(partial[0], lane, out=partial[0])
            acc[j] = partial[0]
    return acc.T


def float_conv_accumulate_reference(x: np.ndarray, w: np.ndarray, spec: ConvSpec,
                                    lanes: int = 1) -> np.ndarray:
    """Scalar reference of a float convolution's accumulation for one image: float32
    ``x [C, H, W]``, ternary ``w [out_c, C, kh, kw]`` -> ``acc [out_c, H', W']``.

    For each output channel j and output pixel: walk the kernel's taps in
    ``(c, ky, kx)`` row-major order; nonzero weight number n goes to partial sum
    ``n % lanes``; if the tap's input lies inside the image the partial adds the term
    (``x`` for +1, ``-x`` with the sign bit flipped for -1), else it is left as it is.
    Partials start at +0.0 and combine left to right, as in
    :func:`float_accumulate_reference`.
    """
    if lanes < 1:
        raise ValueError(f"lanes: expected >= 1, got {lanes}")
    c_in, h, wd = x.shape
    ho, wo = conv_output_hw(h, wd, spec)
    acc = np.empty((w.shape[0], ho, wo), dtype=np.float32)
    with np.errstate(**_IEEE):
        for j in range(w.shape[0]):
            taps = np.argwhere(w[j])  # (c, ky, kx), row-major order
            for oy in range(ho):
                for ox in range(wo):
                    partial = [np.float32(0.0)] * lanes
                    for n, (c, ky, kx) in enumerate(taps):
                        iy = oy * spec.stride_y - spec.pad_y + ky
                        ix = ox * spec.stride_x - spec.pad_x + kx
                        if 0 <= iy < h and 0 <= ix < wd:
                            v = x[c, iy, ix]
                            term = v if w[j, c, ky, kx] > 0 else np.negative(v)
                            partial[n % lanes] = np.float32(partial[n % lanes] + term)
                    a = partial[0]
                    for p in partial[1:]:
                        a = np.float32(a + p)
                    acc[j, oy, ox] = a
    return acc


def _float_conv_chw(x: np.ndarray, w: np.ndarray, spec: ConvSpec, lanes: int) -> np.ndarray:
    """:func:`float_conv_accumulate` on the layout ``x [C, H, W, n]`` -> ``acc [out_c, H', W', n]``.

    Each nonzero tap is one float32 addition over a rectangle of output pixels
    (those whose tap lies inside the input) and all n images; the other output
    pixels' partial is not touched."""
    c_in, h, wd, n = x.shape
    ho, wo = conv_output_hw(h, wd, spec)
    neg = np.negative(x)  # flips the sign bit
    acc = np.empty((w.shape[0], ho, wo, n), dtype=np.float32)
    partial = np.empty((lanes, ho, wo, n), dtype=np.float32)
    ranges_y = [valid_range(ky, spec.stride_y, spec.pad_y, h, ho) for ky in range(spec.kh)]
    ranges_x = [valid_range(kx, spec.stride_x, spec.pad_x, wd, wo) for kx in range(spec.kw)]
    with np.errstate(**_IEEE):
        for j in range(w.shape[0]):
            partial.fill(0.0)  # +0.0
            for k, (c, ky, kx) in enumerate(np.argwhere(w[j])):
                y0, y1, iy = ranges_y[ky]
                x0, x1, ix = ranges_x[kx]
                if y1 <= y0 or x1 <= x0:
                    continue  # the tap is in the padding for every output pixel
                src = x if w[j, c, ky, kx] > 0 else neg
                term = src[c, iy:iy + (y1 - y0 - 1) * spec.stride_y + 1:spec.stride_y,
                           ix:ix + (x1 - x0 - 1) * spec.stride_x + 1:spec.stride_x]
                lane = partial[k % lanes, y0:y1, x0:x1]
                np.add(lane, term, out=lane)
            for lane in partial[1:]:
                np.add(partial[0], lane, out=partial[0])
            acc[j] = partial[0]
    return acc


def float_conv_accumulate(x: np.ndarray, w: np.ndarray, spec: ConvSpec, lanes: int = 1) -> np.ndarray:
    """``acc [N, out_c, H', W']`` for float32 ``x [N, C, H, W]`` and ternary
    ``w [out_c, C, kh, kw]``, vectorised; bit-identical to
    :func:`float_conv_accumulate_reference` for every image."""
    if lanes < 1:
        raise ValueError(f"lanes: expected >= 1, got {lanes}")
    xt = np.ascontiguousarray(np.asarray(x, dtype=np.float32).transpose(1, 2, 3, 0))
    return _float_conv_chw(xt, w, spec, lanes).transpose(3, 0, 1, 2)


def _float_convs(model: TnnModel, x: np.ndarray, lanes: int) -> list[np.ndarray]:
    """Hidden values ``[N, C*H*W]`` (float32) of the leading convolution layers, from the
    preprocessed inputs ``x [N, in_0]``."""
    convs = _conv_layers(model)
    shapes = layer_shapes(model)
    hidden: list[list[np.ndarray]] = [[] for _ in convs]
    for i in range(0, len(x), CHUNK):
        h = np.ascontiguousarray(x[i:i + CHUNK].reshape(-1, *shapes[0].in_shape).transpose(1, 2, 3, 0))
        for l in convs:
            acc = _float_conv_chw(h, model.weights[l], model.conv(l), lanes)  # [C, H, W, n]
            with np.errstate(**_IEEE):
                y = (acc * model.scales[l][:, None, None, None]).astype(np.float32)
                y = y + model.biases[l][:, None, None, None]
            h = pool_floats(relu(y), model.pool(l), axes=(1, 2))
            hidden[l].append(h.reshape(-1, h.shape[-1]).T)
    return [np.ascontiguousarray(np.concatenate(b)) if b else np.zeros((0, shapes[l].n_out), np.float32)
            for l, b in zip(convs, hidden)]


def float_forward(model: TnnModel, pixels: np.ndarray, lanes: int = 1):
    """Outputs float32 ``[N, out_last]`` and the hidden ReLU outputs (float32; convolution
    layers: ``[N, C*H*W]`` after pooling, see the module docstring)."""
    x = preprocess(_check_pixels(pixels, model.n_inputs), model.x_scale, model.x_offset)
    hidden: list[np.ndarray] = []
    start = 0
    if model.has_conv:
        hidden = _float_convs(model, x, lanes)
        start = len(hidden)
        x = hidden[-1]
    for l, w in enumerate(model.weights[start:], start):
        sn = model.neg_scale(l)
        with np.errstate(**_IEEE):
            if sn is None:
                acc = float_accumulate(x, w, lanes)
                y = (acc * model.scales[l]).astype(np.float32) + model.biases[l]
            else:
                acc_p = float_accumulate(x, (w > 0).astype(np.int8), lanes)
                acc_n = float_accumulate(x, (w < 0).astype(np.int8), lanes)
                y = (acc_p * model.scales[l]).astype(np.float32) - (acc_n * sn).astype(np.float32)
                y = y.astype(np.float32) + model.biases[l]
        if l == model.n_layers - 1:
            return y.astype(np.float32), hidden
        x = relu(y)
        hidden.append(x)
    raise AssertionError("unreachable")


def _convs64(model: TnnModel, convs: list[int], x: np.ndarray) -> np.ndarray:
    """:func:`float_forward64`'s convolution layers on a block of images ``x [n, in_0]``."""
    h = x.reshape(-1, *(int(v) for v in model.input_shape))
    for l in convs:
        spec, o = model.conv(l), model.weights[l].shape[0]
        cols = _windows(h, spec)  # zeros in the padding
        n, ho, wo = cols.shape[:3]
        acc = cols.reshape(n * ho * wo, -1) @ model.weight_matrix(l).T.astype(np.float64)
        y = acc.reshape(n, ho, wo, o).transpose(0, 3, 1, 2) * model.scales[l].astype(np.float64)[:, None, None]
        y = np.maximum(y + model.biases[l].astype(np.float64)[:, None, None], 0.0)
        h = y if model.pool(l) is None else _pool_view(y, model.pool(l), (2, 3)).max(axis=(3, 5))
    return h.reshape(len(h), -1)


def float_forward64(model: TnnModel, pixels: np.ndarray) -> np.ndarray:
    """The float network in float64 (BLAS order, no binary32 rounding): the
    reference the bit-true float32 outputs are measured against, float64 ``[N, out]``."""
    x = _check_pixels(pixels, model.n_inputs).astype(np.float64)
    x = x * np.float64(model.x_scale) + np.float64(model.x_offset)
    start = 0
    if model.has_conv:
        convs = _conv_layers(model)
        x = np.concatenate([_convs64(model, convs, x[i:i + CHUNK]) for i in range(0, len(x), CHUNK)]
                           or [np.zeros((0, layer_shapes(model)[convs[-1]].n_out))])
        start = len(convs)
    for l, w in enumerate(model.weights[start:], start):
        sn = model.neg_scale(l)
        if sn is None:
            y = (x @ w.T.astype(np.float64)) * model.scales[l].astype(np.float64)
        else:
            y = ((x @ (w > 0).T.astype(np.float64)) * model.scales[l].astype(np.float64)
                 - (x @ (w < 0).T.astype(np.float64)) * sn.astype(np.float64))
        y = y + model.biases[l].astype(np.float64)
        if l == model.n_layers - 1:
            return y
        x = np.maximum(y, 0.0)
    raise AssertionError("unreachable")


def forward(model: TnnModel, pixels: np.ndarray, lanes: int = 1):
    """``(outputs, hidden)`` for either network kind; ``lanes`` only affects float ones."""
    if model.activation == "binary":
        return binary_forward(model, pixels)
    return float_forward(model, pixels, lanes)
