"""hw.lanes: a matrix as K RLE lane streams, decoded back lane by lane."""

import numpy as np
import pytest

from hw.lanes import encode_lanes, row_beats
from sw import rle


def decode_lane(words, g, n_rows):
    """(row, beat, col or None, sign) of each beat of one lane stream."""
    code = rle.RleCode(words, g, (n_rows, 1 << 20))
    beats, row, beat = [], 0, 0
    for _r, addr, sign, last, null in _entries(code):
        beats.append((row, beat, None if null else addr, sign))
        beat += 1
        if last:
            row, beat = row + 1, 0
    return beats


def _entries(code):
    """The decoder's beats, without sw.rle's row checks (a lane's part of a row may
    end with an empty-row word after its nonzeros)."""
    g = code.field_width
    pos = 0
    for word in code.words.tolist():
        run, sign, last, skip = word & ((1 << g) - 1), (word >> g) & 1, (word >> (g + 1)) & 1, (word >> (g + 2)) & 1
        if skip and not last:
            pos += 1 << g
            continue
        yield 0, pos + run, sign & (1 - skip), last, skip & last
        pos = 0 if last else pos + run + 1


@pytest.mark.parametrize("lanes, g, density", [(1, 3, 0.3), (3, 2, 0.2), (4, 4, 0.9), (7, 1, 0.1), (16, 5, 0.5)])
def test_lanes_rebuild_the_matrix_with_aligned_rows(lanes, g, density):
    rng = np.random.default_rng(lanes * 10 + g)
    w = ((rng.random((9, 41)) < density) * rng.choice(np.array([-1, 1], np.int8), (9, 41))).astype(np.int8)
    w[0, :] = 0
    w[1, :] = 1
    code = encode_lanes(w, lanes, g)
    assert list(code.row_beats) == list(row_beats((w != 0).sum(axis=1), lanes))
    rebuilt = np.zeros_like(w)
    for k, words in enumerate(code.lanes):
        beats = decode_lane(words, g, len(w))
        per_row = np.bincount([b[0] for b in beats], minlength=len(w))
        assert list(per_row) == list(code.row_beats)  # every lane gives M beats per row
        for row, beat, col, sign in beats:
            if col is not None:
                # nonzero n of the row sits in lane n mod K, beat n // K
                n = int(np.flatnonzero(np.flatnonzero(w[row]) == col)[0])
                assert (n % lanes, n // lanes) == (k, beat)
                rebuilt[row, col] = -1 if sign else 1
    np.testing.assert_array_equal(rebuilt, w)
    assert code.words == sum(len(x) for x in code.lanes)
