"""A weight matrix as K lane streams of RLE words (the binary engine's K nonzeros per cycle).

Pure Python, no RTL. Nonzero ``n`` of a row (in column order) goes to lane
``n mod K``; every lane's part of the row is run-length encoded on its own
(word format: :mod:`sw.rle`, runs counted between the lane's own nonzeros),
so the binary engine's walker (:mod:`hw.lane_walker`) decodes the K lanes of
a row side by side and gives K nonzeros per cycle.

All lanes give the same number of beats per row, ``M = max(m, ceil(nnz / K))``
(``m``: a minimum, 1 unless the plan pads rows), so their row ends line up: a
lane with fewer than ``M`` nonzeros ends its part of the row with null beats,
skip words of run 0 and then an empty-row word (a ``null`` beat with
``last``), and so does every lane of an empty row. Runs longer than the run field take skip words as in
:mod:`sw.rle`; the binary engine's plan picks a field that spans every run
(:func:`hw.binary_plan.lane_field_width`), so its lanes have none and give a
beat every cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LaneCode", "encode_lanes", "row_beats"]


@dataclass(frozen=True)
class LaneCode:
    """One matrix as ``K`` word streams (uint32 each, memory order) and the beats
    each lane gives per row (``M``)."""

    lanes: tuple[np.ndarray, ...]
    field_width: int
    row_beats: np.ndarray

    @property
    def words(self) -> int:
        return sum(len(words) for words in self.lanes)

    @property
    def skip_words(self) -> int:
        g = self.field_width
        return sum(int(np.count_nonzero(((w >> (g + 2)) & 1) & ~((w >> (g + 1)) & 1) & 1))
                   for w in self.lanes)


def row_beats(nonzeros, lanes: int, min_beats: int = 1) -> np.ndarray:
    """Beats per row walk: ``max(min_beats, ceil(nnz / K))``."""
    nnz = np.asarray(nonzeros, dtype=np.int64)
    return np.maximum(max(1, min_beats), -(-nnz // lanes))


def encode_lanes(w: np.ndarray, lanes: int, field_width: int, min_beats: int = 1) -> LaneCode:
    """``w`` (int8 [out, in], ternary) as ``lanes`` RLE streams with ``field_width``-bit runs,
    every row at least ``min_beats`` beats long: a lane with fewer nonzeros than
    beats ends its part of the row with null beats (skip words of run 0, then
    the empty-row word), which the walker gives like any other beat."""
    g = field_width
    span = 1 << g
    skip_word = 1 << (g + 2)
    last_bit = 1 << (g + 1)
    empty_word = skip_word | last_bit
    streams: list[list[int]] = [[] for _ in range(lanes)]
    beats = row_beats((w != 0).sum(axis=1), lanes, min_beats)
    for i, row in enumerate(w):
        cols = np.flatnonzero(row)
        for k in range(lanes):
            mine = cols[k::lanes]
            out = streams[k]
            pos = 0
            for j, col in enumerate(mine.tolist()):
                run = col - pos
                while run >= span:
                    out.append(skip_word)
                    run -= span
                word = run | (int(row[col] < 0) << g)
                if j == beats[i] - 1:
                    word |= last_bit
                out.append(word)
                pos = col + 1
            if len(mine) < beats[i]:  # beats short (or an empty row): null beats end it
                out.extend([skip_word] * (int(beats[i]) - len(mine) - 1) + [empty_word])
    return LaneCode(tuple(np.asarray(s, dtype=np.uint32) for s in streams), g, beats)

