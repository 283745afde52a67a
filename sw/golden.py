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
"""

from __future__ import annotations

import numpy as np

from .model_file import PIXEL_MAX, TnnModel

__all__ = ["forward", "predict", "binary_forward", "float_forward", "float_forward64", "float_accumulate",
           "float_accumulate_reference", "relu", "preprocess"]

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
    """Outputs int32 ``[N, out_last]`` and hidden bits, a list of uint8 ``[N, out_l]``."""
    x = _check_pixels(pixels, model.n_inputs)
    if model.binary_input:
        x = 2 * (x >= model.input_threshold).astype(np.int8) - 1
    hidden: list[np.ndarray] = []
    for l, w in enumerate(model.weights):
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


def float_forward(model: TnnModel, pixels: np.ndarray, lanes: int = 1):
    """Outputs float32 ``[N, out_last]`` and the hidden ReLU outputs (float32)."""
    x = preprocess(_check_pixels(pixels, model.n_inputs), model.x_scale, model.x_offset)
    hidden: list[np.ndarray] = []
    for l, w in enumerate(model.weights):
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


def float_forward64(model: TnnModel, pixels: np.ndarray) -> np.ndarray:
    """The float network in float64 (BLAS order, no binary32 rounding): the
    reference the bit-true float32 outputs are measured against, float64 ``[N, out]``."""
    x = _check_pixels(pixels, model.n_inputs).astype(np.float64)
    x = x * np.float64(model.x_scale) + np.float64(model.x_offset)
    for l, w in enumerate(model.weights):
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
