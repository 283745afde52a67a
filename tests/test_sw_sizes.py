"""sw.sizes: exact storage sizes of ternary matrices, per layer and in total."""

import numpy as np
import pytest

from sw import huffman, rle
from sw.sizes import layer_sizes, total_sizes


def test_layer_sizes_are_exact_and_verified():
    rng = np.random.default_rng(1)
    w = ((rng.random((40, 100)) < 0.1) * rng.choice([-1, 1], (40, 100))).astype(np.int8)
    s = layer_sizes(w, verify=True)
    g = rle.best_field_width(w)
    assert s["rle_field_width"] == g and s["rle_bits"] == rle.encode(w, g).n_bits
    assert s["huffman_bits"] == huffman.encode(w).n_bits
    assert (s["dense_2bit_bits"], s["dense_1bit_bits"]) == (8000, 4000)
    assert s["nonzeros"] == np.count_nonzero(w)
    conv = layer_sizes(w.reshape(40, 4, 5, 5))  # a convolution flattens per output channel
    assert conv["rle_bits"] == s["rle_bits"]
    t = total_sizes([s, conv])
    assert t["rle_bits"] == 2 * s["rle_bits"]
    assert t["rle_vs_1bit"] == pytest.approx(8000 / t["rle_bits"])
