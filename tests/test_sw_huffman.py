"""sw.huffman: round trip, exact size, optimality (hypothesis properties), refused input."""

import heapq
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sw import huffman, rle
from sw.errors import InputError


@st.composite
def ternary_matrices(draw, max_rows=10, max_cols=60):
    rows = draw(st.integers(1, max_rows))
    cols = draw(st.integers(1, max_cols))
    density = draw(st.sampled_from([0.0, 0.03, 0.1, 0.5, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    nz = rng.random((rows, cols)) < density
    return (nz * rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, cols))).astype(np.int8)


def huffman_cost(counts):
    """Total weighted code length of an optimal prefix code: the sum of all merge weights."""
    heap = list(counts)
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    return cost


@settings(max_examples=200, deadline=None)
@given(w=ternary_matrices())
def test_round_trip_and_exact_size(w):
    code = huffman.encode(w)
    np.testing.assert_array_equal(huffman.decode(code), w)
    syms, signs = huffman.symbols(w)
    counts = Counter(syms)
    # Exact payload: code bits of every symbol plus one sign bit per nonzero.
    assert len(signs) == np.count_nonzero(w)
    assert code.payload_bits == sum(c * code.lengths[s] for s, c in counts.items()) + len(signs)
    assert huffman.encoded_bits(w) == (code.payload_bits, code.table_bits)
    # Optimal: the symbol bits equal the Huffman cost computed independently.
    if len(counts) > 1:
        assert code.payload_bits - len(signs) == huffman_cost(counts.values())
        assert sum(2.0 ** -n for n in code.lengths.values()) == 1.0  # complete code (Kraft)
    else:
        assert code.payload_bits - len(signs) == len(syms)  # one symbol: 1 bit each


@settings(max_examples=100, deadline=None)
@given(w=ternary_matrices())
def test_codes_are_prefix_free_and_canonical(w):
    codes = huffman.canonical_codes(huffman.encode(w).lengths)
    words = sorted(codes.values())
    for a, b in zip(words, words[1:]):
        assert not b.startswith(a)
    # Canonical: in (length, symbol) order each code is the previous one plus 1, shifted left.
    ordered = sorted(codes, key=lambda s: (len(codes[s]), s))
    for a, b in zip(ordered, ordered[1:]):
        assert int(codes[b], 2) == (int(codes[a], 2) + 1) << (len(codes[b]) - len(codes[a]))


def test_symbols_are_the_rle_runs_plus_end_of_row():
    w = np.array([[0, 0, 1, 0, -1], [0, 0, 0, 0, 0], [-1, 0, 0, 0, 0]], dtype=np.int8)
    syms, signs = huffman.symbols(w)
    assert syms == [2, 1, 5, 5, 0, 5]  # 5 = end of row (= the row width)
    assert signs == [0, 1, 1]
    # The same runs RLE stores (field wide enough for no skip words).
    code = rle.encode(w, 3)
    assert [int(x) & 7 for x in code.words if not (int(x) >> 5) & 1] == [2, 1, 0]


def test_hand_computed_example():
    # Symbols: 0 x3, EOR x2 -> lengths {0: 1, EOR: 1}; payload = 5 code bits + 3 signs.
    w = np.array([[1, 1, -1], [0, 0, 0]], dtype=np.int8)
    code = huffman.encode(w)
    assert code.lengths == {0: 1, 3: 1}
    assert code.bits.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert code.payload_bits == 8
    # Table: 6 (Lmax) + 1 length x bit_length(4)=3 + 2 symbols x bit_length(3)=2.
    assert code.table_bits == 6 + 3 + 4
    assert code.n_bits == 8 + 13


def test_malformed_streams_are_refused():
    code = huffman.encode(np.array([[1, 0], [0, 1]], dtype=np.int8))
    for bits, shape, message in [(code.bits[:-3], code.shape, "bits: stream ends after 1 of 2 rows"),
                                 (code.bits, (1, 2), "bits[6]: data past the last row")]:
        with pytest.raises(InputError) as err:
            huffman.decode(huffman.HuffmanCode(bits, code.lengths, shape))
        assert str(err.value) == message


@pytest.mark.parametrize("w, exc", [
    (np.array([[0, 2]], dtype=np.int8), ValueError),
    (np.array([[0.0, 1.0]]), TypeError),
    (np.array([1, 0], dtype=np.int8), ValueError),
])
def test_bad_input_is_refused(w, exc):
    with pytest.raises(exc, match="weights"):
        huffman.encode(w)
