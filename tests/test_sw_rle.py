"""sw.rle: the run-length encoder -- round trip, exact size, edge cases, refused input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sw import rle
from sw.errors import InputError


@st.composite
def ternary_matrices(draw, max_rows=12, max_cols=70):
    rows = draw(st.integers(1, max_rows))
    cols = draw(st.integers(1, max_cols))
    density = draw(st.sampled_from([0.0, 0.02, 0.1, 0.5, 0.9, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    nz = rng.random((rows, cols)) < density
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, cols))
    return (nz * signs).astype(np.int8)


@settings(max_examples=300, deadline=None)
@given(w=ternary_matrices(), g=st.integers(1, 8))
def test_round_trip_and_exact_size(w, g):
    code = rle.encode(w, g)
    np.testing.assert_array_equal(rle.decode(code), w)
    # Exact size: one word per nonzero, one per empty row, one per skip.
    span = 1 << g
    expected_words = 0
    for row in w:
        cols = np.flatnonzero(row)
        if cols.size == 0:
            expected_words += 1
            continue
        runs = np.diff(cols, prepend=-1) - 1
        expected_words += cols.size + int(np.sum(runs // span))
    assert len(code.words) == expected_words
    assert code.n_bits == expected_words * (g + 3)
    assert rle.encoded_bits(w, g) == code.n_bits


@settings(max_examples=100, deadline=None)
@given(w=ternary_matrices())
def test_best_field_width_is_minimal(w):
    best = rle.best_field_width(w)
    sizes = {g: rle.encoded_bits(w, g) for g in range(1, 12)}
    assert sizes[best] == min(sizes.values())


def test_word_layout_is_as_documented():
    w = np.array([[0, 0, 1, 0, -1], [0, 0, 0, 0, 0], [-1, 0, 0, 0, 0]], dtype=np.int8)
    code = rle.encode(w, 3)
    g = 3
    skip, last, sign = 1 << (g + 2), 1 << (g + 1), 1 << g
    assert code.words.tolist() == [
        2,                      # +1 after 2 zeros
        1 | sign | last,        # -1 after 1 zero, ends row 0
        skip | last,            # row 1 is empty
        0 | sign | last,        # -1 in column 0, ends row 2
    ]


def test_long_gap_uses_skip_words_and_last_column():
    w = np.zeros((1, 40), dtype=np.int8)
    w[0, 39] = -1  # 39 zeros before it: with G=2 (span 4) that is 9 skips + run 3
    code = rle.encode(w, 2)
    assert code.n_skips == 9
    assert len(code.words) == 10
    assert list(rle.decode_entries(code)) == [(0, 39, 1, 1, 0)]


def test_edge_shapes():
    for w in [
        np.zeros((3, 5), dtype=np.int8),          # all zero
        np.ones((2, 7), dtype=np.int8),           # fully dense
        -np.ones((1, 1), dtype=np.int8),          # 1x1
        np.zeros((1, 1), dtype=np.int8),
    ]:
        for g in (1, 2, 5):
            np.testing.assert_array_equal(rle.decode(rle.encode(w, g)), w)


@pytest.mark.parametrize(
    "w, g, exc, message",
    [
        (np.array([[0, 2]], dtype=np.int8), 3, InputError,
         "weights: values must be ternary (-1, 0, +1); found 2 at [0, 1]"),
        (np.array([[0.0, 1.0]]), 3, TypeError, "weights: expected an integer dtype (int8), got float64"),
        (np.array([0, 1], dtype=np.int8), 3, InputError,
         "weights: expected a 2-D matrix [out, in], got 1 dimension(s)"),
        ([[0, 1]], 3, TypeError, "weights: expected a numpy array, got list"),
        (np.array([[0, 1]], dtype=np.int8), 0, InputError, "field_width: must be in 1..29, got 0"),
        (np.array([[0, 1]], dtype=np.int8), 2.5, TypeError, "field_width: expected an int, got float"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(w, g, exc, message):
    with pytest.raises(exc) as err:
        rle.encode(w, g)
    assert str(err.value) == message


def test_malformed_stream_is_refused():
    code = rle.encode(np.array([[1, 0], [0, 1]], dtype=np.int8), 2)
    for words, message in [(code.words[:1], "words: stream ends after 1 of 2 rows"),
                           (np.concatenate([code.words, code.words[:1]]), "words[2]: data past the last row"),
                           (np.array([3 | 8], dtype=np.uint32), "words[0]: column 3 outside the matrix width 2")]:
        with pytest.raises(InputError) as err:
            rle.decode(rle.RleCode(words, code.field_width, code.shape))
        assert str(err.value) == message
