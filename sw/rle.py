"""Run-length encoding of sparse ternary weight matrices.

This is the weight format the hardware decompressor (``hw.decompressor``) reads.
A ternary matrix ``W`` (values in {-1, 0, +1}, shape ``[out, in]``, row-major)
is stored as a list of fixed-width words, one per nonzero weight, plus a few
control words. Paper 002 ("Weight Representations"): store the index
difference between nonzeros and a sign bit.

Word format (``word_width = field_width + 3`` bits, LSB first)::

    bits [G-1:0]   run    number of zeros skipped before this nonzero
    bit  G         sign   0 -> weight +1, 1 -> weight -1
    bit  G+1       last   this word ends its row
    bit  G+2       skip   control word (see below)

where ``G = field_width``. The decoder keeps a column pointer ``pos`` that is
0 at the start of each row:

* ``skip=0`` (nonzero word): the weight sits at column ``pos + run``; then
  ``pos = pos + run + 1``. If ``last=1`` the row ends after this weight.
* ``skip=1, last=0`` (skip word): ``pos = pos + 2**G``; no weight. Used when a
  run of zeros is longer than the ``run`` field can hold (``run`` and ``sign``
  are 0).
* ``skip=1, last=1`` (empty-row word): the row has no nonzero weight at all;
  ``run`` and ``sign`` are 0.

Zeros after the last nonzero of a row are implicit. Every row therefore takes
``nnz_row + skips_row`` words (at least one). The encoded size in bits is exactly
``len(words) * word_width``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

__all__ = [
    "RleCode",
    "encode",
    "decode",
    "decode_entries",
    "encoded_bits",
    "best_field_width",
    "check_ternary_matrix",
    "MAX_FIELD_WIDTH",
]

#: Largest run field supported (word width 32 bits).
MAX_FIELD_WIDTH = 29


@dataclass(frozen=True)
class RleCode:
    """An encoded ternary matrix.

    ``words`` is a ``uint32`` array in memory order; ``shape`` is ``(out, in)``
    of the original matrix.
    """

    words: np.ndarray
    field_width: int
    shape: tuple[int, int]

    @property
    def word_width(self) -> int:
        return self.field_width + 3

    @property
    def n_bits(self) -> int:
        """Exact size of the encoding in bits."""
        return len(self.words) * self.word_width

    @property
    def n_skips(self) -> int:
        """Skip words (long zero runs), not counting empty-row words."""
        skip = (self.words >> (self.field_width + 2)) & 1
        last = (self.words >> (self.field_width + 1)) & 1
        return int(np.count_nonzero(skip & ~last & 1))


def _check_field_width(field_width) -> int:
    if isinstance(field_width, bool) or not isinstance(field_width, (int, np.integer)):
        raise TypeError(f"field_width: expected an int, got {type(field_width).__name__}")
    if not 1 <= field_width <= MAX_FIELD_WIDTH:
        raise InputError(f"field_width: must be in 1..{MAX_FIELD_WIDTH}, got {field_width}")
    return int(field_width)


def check_ternary_matrix(w) -> np.ndarray:
    """``w`` itself if it is an integer 2-D numpy matrix of -1/0/+1; else a
    ``TypeError``/:class:`~sw.errors.InputError` whose message starts with ``weights:``."""
    if not isinstance(w, np.ndarray):
        raise TypeError(f"weights: expected a numpy array, got {type(w).__name__}")
    if w.ndim != 2:
        raise InputError(f"weights: expected a 2-D matrix [out, in], got {w.ndim} dimension(s)")
    if not np.issubdtype(w.dtype, np.integer):
        raise TypeError(f"weights: expected an integer dtype (int8), got {w.dtype}")
    bad = (w != -1) & (w != 0) & (w != 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"weights: values must be ternary (-1, 0, +1); found {int(w[r, c])} at [{r}, {c}]"
        )
    return w


def _row_runs(row_cols: np.ndarray) -> np.ndarray:
    """Zero runs before each nonzero of one row, given its sorted column indices."""
    return np.diff(row_cols, prepend=-1) - 1


def encode(w: np.ndarray, field_width: int) -> RleCode:
    """Encode ternary matrix ``w`` [out, in] with a ``field_width``-bit run field.

    Raises ``TypeError``/:class:`~sw.errors.InputError` naming the problem for a non-array,
    wrong rank or dtype, non-ternary values, or a field width outside
    ``1..MAX_FIELD_WIDTH``.
    """
    g = _check_field_width(field_width)
    w = check_ternary_matrix(w)
    span = 1 << g
    skip_word = 1 << (g + 2)
    empty_word = skip_word | (1 << (g + 1))
    last_bit = 1 << (g + 1)
    words: list[int] = []
    for row in w:
        cols = np.flatnonzero(row)
        if cols.size == 0:
            words.append(empty_word)
            continue
        runs = _row_runs(cols)
        for k, (col, run) in enumerate(zip(cols, runs)):
            run = int(run)
            while run >= span:
                words.append(skip_word)
                run -= span
            word = run | (int(row[col] < 0) << g)
            if k == cols.size - 1:
                word |= last_bit
            words.append(word)
    return RleCode(np.asarray(words, dtype=np.uint32), g, (int(w.shape[0]), int(w.shape[1])))


def decode_entries(code: RleCode):
    """Yield what the hardware decompressor emits, one tuple per output beat.

    Each tuple is ``(row, addr, sign, last, null)``: a nonzero weight at column
    ``addr`` of ``row`` with ``sign`` (1 for -1), or, for an empty row, a beat
    with ``null=1`` (``addr = sign = 0``) and ``last=1``. Skip words emit
    nothing. Raises :class:`~sw.errors.InputError` on a malformed stream.
    """
    g = code.field_width
    mask = (1 << g) - 1
    n_rows, n_cols = code.shape
    row, pos = 0, 0
    for i, word in enumerate(code.words.tolist()):
        if row >= n_rows:
            raise InputError(f"words[{i}]: data past the last row")
        run, sign = word & mask, (word >> g) & 1
        last, skip = (word >> (g + 1)) & 1, (word >> (g + 2)) & 1
        if skip and last:
            if pos != 0 or run or sign:
                raise InputError(f"words[{i}]: empty-row word inside a non-empty row")
            yield (row, 0, 0, 1, 1)
            row += 1
        elif skip:
            pos += 1 << g
        else:
            addr = pos + run
            if addr >= n_cols:
                raise InputError(f"words[{i}]: column {addr} outside the matrix width {n_cols}")
            yield (row, addr, sign, last, 0)
            pos = addr + 1
            if last:
                row, pos = row + 1, 0
    if row != n_rows:
        raise InputError(f"words: stream ends after {row} of {n_rows} rows")


def decode(code: RleCode) -> np.ndarray:
    """Inverse of :func:`encode`: the int8 matrix."""
    w = np.zeros(code.shape, dtype=np.int8)
    for row, addr, sign, _last, null in decode_entries(code):
        if not null:
            w[row, addr] = -1 if sign else 1
    return w


def _count_words(w: np.ndarray, field_width: int) -> int:
    """Number of words :func:`encode` would produce, without building them."""
    span = 1 << field_width
    nz = w != 0
    words = int(np.count_nonzero(~nz.any(axis=1)))  # empty-row words
    rows, cols = np.nonzero(nz)
    if cols.size:
        first = np.ones(cols.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        prev = np.where(first, -1, np.concatenate(([-1], cols[:-1])))
        runs = cols - prev - 1
        words += cols.size + int((runs // span).sum())
    return words


def encoded_bits(w: np.ndarray, field_width: int) -> int:
    """Exact size in bits of ``encode(w, field_width)``."""
    g = _check_field_width(field_width)
    return _count_words(check_ternary_matrix(w), g) * (g + 3)


def best_field_width(w: np.ndarray) -> int:
    """The run-field width that minimises the encoded size (smallest on ties)."""
    w = check_ternary_matrix(w)
    limit = max(1, min(MAX_FIELD_WIDTH, int(w.shape[1]).bit_length()))
    sizes = [(_count_words(w, g) * (g + 3), g) for g in range(1, limit + 1)]
    return min(sizes)[1]
