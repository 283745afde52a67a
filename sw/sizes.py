"""Exact storage sizes of ternary weight matrices, as in paper 002's Fig. 3 and Fig. 5.

For each matrix (convolutions flattened to ``[out, in * kh * kw]``):

* ``dense_2bit_bits`` -- every weight in 2 bits (dense ternary, "model-2-b");
* ``dense_1bit_bits`` -- every weight in 1 bit (the same shape as a dense binary
  network, "model-1-b");
* ``rle_bits`` -- :mod:`sw.rle` with the best run-field width for the matrix;
* ``huffman_bits`` -- :mod:`sw.huffman`, payload plus code table (both given).
"""

from __future__ import annotations

import numpy as np

from . import huffman, rle

__all__ = ["as_matrix", "layer_sizes", "total_sizes", "SIZE_KEYS"]

SIZE_KEYS = ("n_weights", "nonzeros", "dense_2bit_bits", "dense_1bit_bits", "rle_bits",
             "huffman_payload_bits", "huffman_table_bits", "huffman_bits")


def as_matrix(w: np.ndarray) -> np.ndarray:
    """int8 ``[out, fan_in]``: a linear weight as is, a convolution flattened per output channel."""
    w = np.asarray(w)
    return w.reshape(w.shape[0], -1).astype(np.int8)


def layer_sizes(w: np.ndarray, verify: bool = False) -> dict:
    """Sizes in bits of one ternary matrix; ``verify`` decodes both codes and compares."""
    w = as_matrix(w)
    g = rle.best_field_width(w)
    payload, table = huffman.encoded_bits(w)
    if verify:
        code = rle.encode(w, g)
        hc = huffman.encode(w)
        if not (np.array_equal(rle.decode(code), w) and np.array_equal(huffman.decode(hc), w)):
            raise AssertionError("encoder round trip failed")
        if code.n_bits != rle.encoded_bits(w, g) or (hc.payload_bits, hc.table_bits) != (payload, table):
            raise AssertionError("encoded size disagrees with the size formula")
    n = int(w.size)
    nnz = int(np.count_nonzero(w))
    return {
        "shape": list(w.shape),
        "n_weights": n,
        "nonzeros": nnz,
        "zero_fraction": 1.0 - nnz / n,
        "dense_2bit_bits": 2 * n,
        "dense_1bit_bits": n,
        "rle_field_width": g,
        "rle_bits": rle.encoded_bits(w, g),
        "huffman_payload_bits": payload,
        "huffman_table_bits": table,
        "huffman_bits": payload + table,
    }


def total_sizes(layers: list[dict]) -> dict:
    """Sums over layers of every size key, plus zero fraction and compression ratios."""
    t = {k: sum(int(d[k]) for d in layers) for k in SIZE_KEYS}
    t["zero_fraction"] = 1.0 - t["nonzeros"] / t["n_weights"]
    for code in ("rle", "huffman"):
        t[f"{code}_vs_1bit"] = t["dense_1bit_bits"] / t[f"{code}_bits"]
        t[f"{code}_vs_2bit"] = t["dense_2bit_bits"] / t[f"{code}_bits"]
    return t
