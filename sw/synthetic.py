"""Random networks in the ``tnn-model-v1`` format, for tests and demos.

Not trained: weights are random ternary at a given density, thresholds random
within the accumulator's valid range (:func:`sw.model_file.accumulator_range`),
so hidden bits are neither all 0 nor all 1 in general.
"""

from __future__ import annotations

import numpy as np

from .model_file import K_MAX, TnnModel, accumulator_range, validate

__all__ = ["random_ternary", "random_binary_model", "random_float_model"]


def random_ternary(rng: np.random.Generator, rows: int, cols: int, density: float) -> np.ndarray:
    """int8 ``[rows, cols]`` with each weight nonzero with probability ``density``."""
    nz = rng.random((rows, cols)) < density
    return (nz * rng.choice(np.array([-1, 1], dtype=np.int8), (rows, cols))).astype(np.int8)


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
