"""Random networks in the ``tnn-model-v1`` format, for tests and demos.

Not trained: weights are random ternary at a given density, thresholds random
within the accumulator's valid range (:func:`sw.model_file.accumulator_range`),
so hidden bits are neither all 0 nor all 1 in general.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conv_shapes import ConvSpec, conv_output_hw, pool_output_hw
from .model_file import K_MAX, TnnModel, accumulator_range, validate

__all__ = ["random_ternary", "random_binary_model", "random_float_model", "ConvLayer",
           "random_conv_model", "CONV_PRESETS", "conv_preset"]


def random_ternary(rng: np.random.Generator, rows: int, cols: int, density: float) -> np.ndarray:
    """int8 ``[rows, cols]`` with each weight nonzero with probability ``density``."""
    nz = rng.random((rows, cols)) < density
    return (nz * rng.choice(np.array([-1, 1], dtype=np.int8), (rows, cols))).astype(np.int8)


def _thresholds(rng, w, l: int, binary_input: bool) -> np.ndarray:
    """Random thresholds around the middle of each row's range, sometimes at its ends."""
    lo, hi = accumulator_range(w, l, binary_input=binary_input)
    mid = (lo + hi) // 2 if l or binary_input else (lo + hi) // 4
    spread = np.maximum(1, (hi - lo) // 8)
    t = mid + rng.integers(-1, 2, size=mid.shape) * rng.integers(0, spread + 1)
    ends = rng.random(t.shape)
    t = np.where(ends < 0.05, lo, np.where(ends > 0.95, hi + 1, t))
    return np.clip(t, lo, hi + 1).astype(np.int32)


def _float_params(rng, n_out: int):
    """Per-neuron scales of both signs over several binades, biases around 0."""
    magnitude = np.exp2(rng.uniform(-6, 1, n_out))
    scales = (magnitude * rng.choice([-1.0, 1.0], n_out, p=[0.1, 0.9])).astype(np.float32)
    return scales, rng.normal(0.0, 0.3, n_out).astype(np.float32)


def random_binary_model(rng: np.random.Generator, sizes, density=0.2, weighted=(), k_max=K_MAX,
                        input_threshold: int | None = None) -> TnnModel:
    """A binary network with layer sizes ``sizes = [n_in, h1, ..., n_out]``.

    ``density`` is one float or one per layer. Thresholds are drawn around the
    middle of each row's range (near the mean of the accumulation for random
    inputs) and sometimes at the range's ends (always-1 / always-0 bits).
    Layers listed in ``weighted`` get integer weights ``kp``, ``kn`` in
    ``0..k_max`` (weighted layers; mostly large, sometimes 0 or 1).
    ``input_threshold`` makes the inputs binary (``pixel >= T``; layer 0's
    range is then a hidden layer's).
    """
    n_layers = len(sizes) - 1
    densities = np.broadcast_to(np.asarray(density, dtype=float), (n_layers,))
    weights, thresholds, row_weights = [], [], []
    for l in range(n_layers):
        w = random_ternary(rng, sizes[l + 1], sizes[l], float(densities[l]))
        weights.append(w)
        k = None
        if l in weighted:
            k = tuple(np.where(rng.random(sizes[l + 1]) < 0.1, rng.integers(0, 2, sizes[l + 1]),
                               rng.integers(k_max // 4, k_max + 1, sizes[l + 1])).astype(np.int32)
                      for _ in range(2))
        row_weights.append(k)
        if l < n_layers - 1:
            binary_input = input_threshold is not None
            lo, hi = accumulator_range(w, l, k, binary_input=binary_input)
            mid = (lo + hi) // 2 if l or binary_input else (lo + hi) // 4
            spread = np.maximum(1, (hi - lo) // 8)
            t = mid + rng.integers(-1, 2, size=mid.shape) * rng.integers(0, spread + 1)
            ends = rng.random(t.shape)
            t = np.where(ends < 0.05, lo, np.where(ends > 0.95, hi + 1, t))
            thresholds.append(np.clip(t, lo, hi + 1).astype(np.int32))
    model = TnnModel(activation="binary", weights=weights, thresholds=thresholds,
                     row_weights=row_weights if weighted else [], input_threshold=input_threshold)
    validate(model.to_arrays())
    return model


def random_float_model(rng: np.random.Generator, sizes, density=0.2, asymmetric=()) -> TnnModel:
    """A float network with layer sizes ``sizes``: per-neuron scales of both signs
    spread over several binades, biases around 0, pixels mapped to about [-1, 1],
    so ReLU cuts a good share of hidden activations and sums cancel often.
    Layers listed in ``asymmetric`` get separate scales ``sn`` for their -1 weights."""
    n_layers = len(sizes) - 1
    densities = np.broadcast_to(np.asarray(density, dtype=float), (n_layers,))
    weights, scales, biases = [], [], []
    for l in range(n_layers):
        n_out = sizes[l + 1]
        weights.append(random_ternary(rng, n_out, sizes[l], float(densities[l])))
        magnitude = np.exp2(rng.uniform(-6, 1, n_out))
        scales.append((magnitude * rng.choice([-1.0, 1.0], n_out, p=[0.1, 0.9])).astype(np.float32))
        biases.append(rng.normal(0.0, 0.3, n_out).astype(np.float32))
    model = TnnModel(activation="float", weights=weights, scales=scales, biases=biases,
                     x_scale=np.float32(2.0 / 255.0), x_offset=np.float32(-1.0))
    if asymmetric:
        model.neg_scales = [
            (np.exp2(rng.uniform(-6, 1, sizes[l + 1])) * rng.choice([-1.0, 1.0], sizes[l + 1], p=[0.1, 0.9])
             ).astype(np.float32) if l in asymmetric else None
            for l in range(n_layers)]
    validate(model.to_arrays())
    return model


# --------------------------------------------------------------------------- convolutions


@dataclass(frozen=True)
class ConvLayer:
    """One convolution layer of :func:`random_conv_model`: ``out_c`` output channels, a
    ``kernel = (kh, kw)``, ``stride``, ``pad`` (each ``(y, x)``) and an optional ``pool``."""

    out_c: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    pool: tuple[int, int] | None = None

    @property
    def spec(self) -> ConvSpec:
        return ConvSpec(*self.kernel, *self.stride, *self.pad)


def _special_channels(rng, w: np.ndarray) -> None:
    """Make channel 0 empty (all zero), channel 1 dense (every tap nonzero) and channel 2
    a single corner tap, where the layer has that many channels (in place)."""
    out_c, in_c, kh, kw = w.shape
    if out_c >= 1:
        w[0] = 0
    if out_c >= 2:
        w[1] = rng.choice(np.array([-1, 1], dtype=np.int8), w[1].shape)
    if out_c >= 3:
        w[2] = 0
        corner = [(0, 0), (0, kw - 1), (kh - 1, 0), (kh - 1, kw - 1)][int(rng.integers(4))]
        w[2, int(rng.integers(in_c)), corner[0], corner[1]] = rng.choice([-1, 1])


def random_conv_model(rng: np.random.Generator, activation: str, input_shape, layers, dense,
                      density=0.3, special: bool = True, input_threshold: int | None = None) -> TnnModel:
    """A random valid convolution network (``activation`` ``"binary"`` or ``"float"``).

    ``input_shape = (C, H, W)``; ``layers`` the convolution layers, each a
    :class:`ConvLayer` (or the tuple of its fields); ``dense`` the sizes of the
    dense layers after them, the last being the outputs. ``density`` (one value or
    one per layer, convolutions then dense) is each weight's probability of being
    nonzero. With ``special``, every convolution has an empty channel 0, a
    dense channel 1 and a channel 2 with one corner tap (where it has the
    channels). Thresholds (binary) and scales/offsets (float) are drawn as in
    :func:`random_binary_model` / :func:`random_float_model`, per output channel.
    """
    layers = [l if isinstance(l, ConvLayer) else ConvLayer(*l) for l in layers]
    n_layers = len(layers) + len(dense)
    densities = np.broadcast_to(np.asarray(density, dtype=float), (n_layers,))
    binary_input = input_threshold is not None
    weights = []
    model = TnnModel(activation=activation, weights=weights, input_shape=tuple(int(v) for v in input_shape),
                     convs=[c.spec for c in layers] + [None] * len(dense),
                     pools=[c.pool for c in layers] + [None] * len(dense),
                     input_threshold=input_threshold)
    c_in, h, wd = model.input_shape
    for l, c in enumerate(layers):
        w = random_ternary(rng, c.out_c, c_in * c.kernel[0] * c.kernel[1], float(densities[l]))
        w = w.reshape(c.out_c, c_in, *c.kernel)
        if special:
            _special_channels(rng, w)
        weights.append(w)
        c_in, (h, wd) = c.out_c, pool_output_hw(*conv_output_hw(h, wd, c.spec), c.pool)
    n_in = c_in * h * wd
    for k, n_out in enumerate(dense):
        weights.append(random_ternary(rng, n_out, n_in, float(densities[len(layers) + k])))
        n_in = n_out
    for l, w in enumerate(weights):
        if activation == "binary":
            if l < n_layers - 1:
                model.thresholds.append(_thresholds(rng, w, l, binary_input))
        else:
            s, b = _float_params(rng, w.shape[0])
            model.scales.append(s)
            model.biases.append(b)
    if activation == "float":
        model.x_scale, model.x_offset = np.float32(2.0 / 255.0), np.float32(-1.0)
    validate(model.to_arrays())
    return model


#: Small named convolution networks for tests (RTL and golden): keyword arguments of
#: :func:`random_conv_model` besides ``rng`` and ``activation``. Each has odd map
#: sizes, padding, strides, 1 x k / k x 1 kernels or pools with leftovers, and stays
#: under 50,000 dense multiply-accumulates per image.
CONV_PRESETS: dict[str, dict] = {
    # 7x9 -> 3x3 pad 1 -> 7x9, pool 2x2 -> 3x4 (a row and a column left over) -> 1x3 -> dense
    "odd": dict(input_shape=(1, 7, 9), layers=[ConvLayer(5, (3, 3), (1, 1), (1, 1), (2, 2)),
                                              ConvLayer(6, (1, 3), (1, 1), (0, 1))],
                dense=[9, 4], density=0.4),
    # stride 2: 2x9x9 -> 3x3 s2 pad 1 -> 5x5, pool 2x2 -> 2x2 (leftovers); 3x1 pad (1, 0) -> 2x2
    "stride2": dict(input_shape=(2, 9, 9), layers=[ConvLayer(6, (3, 3), (2, 2), (1, 1), (2, 2)),
                                                   ConvLayer(4, (3, 1), (1, 1), (1, 0))],
                    dense=[7, 5], density=0.4),
    # 1 x k and k x 1 kernels, a stride (2, 1), a 1x2 pool, no padding in one layer
    "strips": dict(input_shape=(1, 8, 6), layers=[ConvLayer(4, (1, 3), (1, 1), (0, 1)),
                                                  ConvLayer(5, (3, 1), (2, 1), (1, 0), (1, 2)),
                                                  ConvLayer(3, (2, 2), (1, 1), (0, 0))],
                  dense=[3], density=0.5),
    # a small VGG-like chain: 12x12 -> 3x3 pad 1 (x2, pool after the second) -> 3x3 s2 -> dense
    "vgg": dict(input_shape=(1, 12, 12), layers=[ConvLayer(4, (3, 3), (1, 1), (1, 1)),
                                                 ConvLayer(6, (3, 3), (1, 1), (1, 1), (2, 2)),
                                                 ConvLayer(8, (3, 3), (2, 2), (0, 0))],
                dense=[12, 10], density=0.3),
    # 5x5 kernel with padding 2 on a 3-channel 5x7 image, pool 3x2 -> leftovers; one dense layer
    "wide": dict(input_shape=(3, 5, 7), layers=[ConvLayer(7, (5, 5), (1, 1), (2, 2), (3, 2))],
                 dense=[6], density=0.25),
}


def conv_preset(name: str, activation: str, seed: int = 0, **overrides) -> TnnModel:
    """The random model of :data:`CONV_PRESETS` ``[name]`` (``overrides`` replace its arguments)."""
    return random_conv_model(np.random.default_rng(seed), activation, **{**CONV_PRESETS[name], **overrides})
