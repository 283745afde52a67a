"""Huffman coding of sparse ternary matrices over the run lengths of :mod:`sw.rle`.

Paper 002: "Huffman Coding (HC) on the index differences". The symbols are the
same zero runs that RLE stores, without RLE's fixed field width:

* per nonzero weight: the symbol ``run`` (zeros skipped since the previous
  nonzero of the row, or since the row start; ``0 <= run < in``), followed by
  one raw sign bit (0 -> +1, 1 -> -1), not entropy coded;
* per row: the symbol ``EOR = in`` (end of row) after its last nonzero; trailing
  zeros are implicit, an empty row is just ``EOR``.

One canonical Huffman code per matrix (built from that matrix's symbol counts;
a single-symbol alphabet gets a 1-bit code). Sizes, exactly:

* ``payload_bits`` = sum over symbols of count * code length + nnz sign bits;
* ``table_bits``   = the canonical code table a decoder needs:
  6 bits (longest code length ``Lmax``), then for each length 1..Lmax the number
  of codes of that length (``bit_length(in + 1)`` bits each), then the used
  symbols in canonical order (``bit_length(in)`` bits each);
* ``n_bits`` = ``payload_bits + table_bits``.

The report shows both, so the table is never silently left out.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .rle import check_ternary_matrix

__all__ = ["HuffmanCode", "symbols", "code_lengths", "canonical_codes", "encode", "decode",
           "encoded_bits", "MAX_CODE_LENGTH"]

#: Longest code length the 6-bit table header can state.
MAX_CODE_LENGTH = 63




def symbols(w: np.ndarray) -> tuple[list[int], list[int]]:
    """The symbol stream and the sign bits, row by row (see the module docstring)."""
    w = check_ternary_matrix(w)
    eor = int(w.shape[1])
    syms: list[int] = []
    signs: list[int] = []
    for row in w:
        cols = np.flatnonzero(row)
        runs = np.diff(cols, prepend=-1) - 1
        syms.extend(runs.tolist())
        signs.extend((row[cols] < 0).astype(int).tolist())
        syms.append(eor)
    return syms, signs


def code_lengths(counts: dict[int, int]) -> dict[int, int]:
    """Huffman code length per symbol (ties broken by symbol value: deterministic).

    A single symbol gets length 1; an empty alphabet gives ``{}``.
    """
    if not counts:
        return {}
    if len(counts) == 1:
        return {next(iter(counts)): 1}
    # Heap items: (weight, smallest symbol in subtree, symbols in subtree).
    heap = [(c, s, [s]) for s, c in sorted(counts.items())]
    heapq.heapify(heap)
    depth = dict.fromkeys(counts, 0)
    while len(heap) > 1:
        c1, k1, s1 = heapq.heappop(heap)
        c2, k2, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            depth[s] += 1
        heapq.heappush(heap, (c1 + c2, min(k1, k2), s1 + s2))
    if max(depth.values()) > MAX_CODE_LENGTH:
        raise InputError(f"weights: code length {max(depth.values())} exceeds {MAX_CODE_LENGTH}")
    return depth


def canonical_codes(lengths: dict[int, int]) -> dict[int, str]:
    """Canonical code words (as '0'/'1' strings), ordered by (length, symbol)."""
    codes: dict[int, str] = {}
    code, prev_len = 0, 0
    for sym, ln in sorted(lengths.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= ln - prev_len
        codes[sym] = format(code, f"0{ln}b")
        code, prev_len = code + 1, ln
    return codes


def _table_bits(lengths: dict[int, int], n_cols: int) -> int:
    if not lengths:
        return 6
    return 6 + max(lengths.values()) * (n_cols + 1).bit_length() + len(lengths) * max(1, n_cols.bit_length())


@dataclass(frozen=True)
class HuffmanCode:
    """An encoded matrix: ``bits`` (np.uint8 of 0/1, one per bit) and its code table."""

    bits: np.ndarray
    lengths: dict[int, int]
    shape: tuple[int, int]

    @property
    def payload_bits(self) -> int:
        return int(self.bits.size)

    @property
    def table_bits(self) -> int:
        return _table_bits(self.lengths, self.shape[1])

    @property
    def n_bits(self) -> int:
        """Exact size: payload plus code table."""
        return self.payload_bits + self.table_bits


def encode(w: np.ndarray) -> HuffmanCode:
    """Encode a ternary matrix ``[out, in]``; see the module docstring."""
    syms, signs = symbols(w)
    lengths = code_lengths(Counter(syms))
    codes = canonical_codes(lengths)
    eor = int(w.shape[1])
    parts: list[str] = []
    k = 0
    for s in syms:
        parts.append(codes[s])
        if s != eor:
            parts.append("1" if signs[k] else "0")
            k += 1
    text = "".join(parts)
    bits = np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")
    return HuffmanCode(bits.astype(np.uint8), lengths, (int(w.shape[0]), int(w.shape[1])))


def decode(code: HuffmanCode) -> np.ndarray:
    """Inverse of :func:`encode`; raises :class:`~sw.errors.InputError` on a malformed stream."""
    n_rows, n_cols = code.shape
    lookup = {c: s for s, c in canonical_codes(code.lengths).items()}
    longest = max(code.lengths.values(), default=0)
    w = np.zeros(code.shape, dtype=np.int8)
    text = (code.bits + ord("0")).astype(np.uint8).tobytes().decode("ascii")
    pos, row, col, prefix = 0, 0, 0, ""
    while pos < len(text):
        prefix += text[pos]
        pos += 1
        if prefix not in lookup:
            if len(prefix) > longest:
                raise InputError(f"bits[{pos - len(prefix)}]: no code word starts here")
            continue
        sym, prefix = lookup[prefix], ""
        if row >= n_rows:
            raise InputError(f"bits[{pos}]: data past the last row")
        if sym == n_cols:
            row, col = row + 1, 0
            continue
        col += sym
        if col >= n_cols or pos >= len(text):
            raise InputError(f"bits[{pos}]: nonzero outside row {row} or missing its sign bit")
        w[row, col] = -1 if text[pos] == "1" else 1
        pos, col = pos + 1, col + 1
    if prefix or row != n_rows:
        raise InputError(f"bits: stream ends after {row} of {n_rows} rows")
    return w


def encoded_bits(w: np.ndarray) -> tuple[int, int]:
    """``(payload_bits, table_bits)`` of ``encode(w)`` without building the bit stream."""
    syms, signs = symbols(w)
    counts = Counter(syms)
    lengths = code_lengths(counts)
    payload = sum(counts[s] * lengths[s] for s in counts) + len(signs)
    return payload, _table_bits(lengths, int(w.shape[1]))
