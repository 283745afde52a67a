"""The binary engine's weight walker: K lanes of RLE words decoded side by side, one wide word per cycle.

The plan's lane streams (:mod:`hw.lanes`) give the same number of words per
row in every lane, so word ``i`` of every lane
belongs to the same row and beat: they are stored side by side as one wide
word, ``lane k`` in bits ``[k*W + W-1 : k*W]`` (``W = field_width + 3``,
format :mod:`sw.rle`). One address walks all lanes; each lane keeps its own
column pointer.

Every row is walked ``passes`` times in a row (the first layer's bit planes).
Fetch addresses come from registers only: the walker knows every row's
length from a table (``row_lengths``, read two rows ahead), so where a row
ends never waits for the word memory.

Parameters
----------
field_width : int
    G; lane words are ``G + 3`` bits.
lanes : int
    K.
n_cols : int
    Widest row; sets the column address width.
words : sequence of int
    The wide words (:func:`pack_words`).
row_lengths : sequence of int
    Words per row (>= 1), every row of every walk, in memory order.
max_passes : int
    Most walks per row a command may ask for.

Ports
-----
cmd : In(stream of :func:`walk_layout`)
    Walk the ``count`` wide words from ``base``, each row ``passes`` times;
    ``row`` is the first row's index in ``row_lengths``, ``len0``/``len1``
    the lengths of the first two rows (``len1``: anything if one row). Taken
    while idle (``cmd.ready == ~busy``).
o : Out(:func:`beats_layout`), ``valid`` alongside
    One beat per cycle while walking, no back-pressure: per lane ``addr``,
    ``sign`` and ``null`` (no weight), and ``last`` (the row's walk ends).
busy : Out(1)
    From the cycle after ``cmd`` is taken until the cycle after the last beat.

Timing: the first beat comes ``STARTUP_CYCLES`` (2) cycles after the command
cycle (the memory's read, then the word registered), then one per cycle: a
walk of ``n`` words (rows counted once per pass) ends ``2 + n`` cycles after
the command. A skip word is a null beat that moves the lane's column on by
its run plus one (the plan's lanes use them only as padding at a row's end).
Rows of different lengths in different lanes, or lengths that disagree with
the words, are not supported (unspecified beats).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .errors import refuse

__all__ = ["LaneWalker", "walk_layout", "beats_layout", "pack_words"]


def pack_words(lane_words, field_width: int) -> list[int]:
    """The lanes' word streams (equal lengths) as wide words."""
    w = field_width + 3
    return [sum(int(lane[i]) << (k * w) for k, lane in enumerate(lane_words))
            for i in range(len(lane_words[0]))]


def walk_layout(addr_width: int, row_width: int, len_width: int, max_passes: int) -> data.StructLayout:
    return data.StructLayout({
        "base": unsigned(addr_width),
        "count": unsigned(addr_width + 1),
        "passes": unsigned(max_passes.bit_length()),
        "row": unsigned(row_width),
        "len0": unsigned(len_width),
        "len1": unsigned(len_width),
    })


def beats_layout(lanes: int, col_addr_width: int) -> data.StructLayout:
    return data.StructLayout({
        "addr": data.ArrayLayout(unsigned(col_addr_width), lanes),
        "sign": unsigned(lanes),
        "null": unsigned(lanes),
        "last": unsigned(1),
    })


class LaneWalker(wiring.Component):
    """K lanes' RLE words, one wide word per cycle; see the module docstring."""

    STARTUP_CYCLES = 2

    def __init__(self, *, field_width: int, lanes: int, n_cols: int, words, row_lengths,
                 max_passes: int = 1):
        words = [int(w) for w in words]
        row_lengths = [int(n) for n in row_lengths]
        if not words:
            refuse(self, "words: the walker needs at least one word")
        if not row_lengths or min(row_lengths) < 1:
            refuse(self, "row_lengths: every row has at least one word")
        self.field_width, self.lanes, self.max_passes = field_width, lanes, max_passes
        self.word_width = field_width + 3
        self.col_addr_width = max(1, (n_cols - 1).bit_length())
        self.n_cols = n_cols
        self.addr_width = max(1, (len(words) - 1).bit_length())
        self._words = words
        self._lengths = row_lengths + [1, 1]  # read two rows ahead past the last one
        self.row_width = max(1, (len(self._lengths) - 1).bit_length())
        self.len_width = max(row_lengths).bit_length()
        super().__init__({
            "cmd": In(stream.Signature(walk_layout(self.addr_width, self.row_width, self.len_width,
                                                   max_passes))),
            "o": Out(beats_layout(lanes, self.col_addr_width)),
            "valid": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g, w, K = self.field_width, self.word_width, self.lanes
        m.submodules.mem = mem = memory.Memory(
            shape=unsigned(K * w), depth=len(self._words), init=self._words)
        m.submodules.lengths = lengths = memory.Memory(
            shape=unsigned(self.len_width), depth=len(self._lengths), init=self._lengths)
        rd, rd_len = mem.read_port(), lengths.read_port()

        fetching = Signal()                           # a word is fetched this cycle
        ptr = Signal(self.addr_width)                 # ... at this address
        remaining = Signal(self.addr_width + 1)       # words from ptr to the walk's end
        row_ptr = Signal.like(ptr)                    # the current row's first word
        row_remaining = Signal.like(remaining)
        passes = Signal(range(self.max_passes + 1))
        passes_left = Signal(range(self.max_passes))  # walks of the current row after this one
        row = Signal(self.row_width)                  # the current row's index in the table
        length = Signal(self.len_width)               # the current row's words
        length_next = Signal(self.len_width)          # the next row's
        left = Signal(self.len_width)                 # words of this walk of the row, this one included
        ends = Signal()                               # left == 1: the word fetched now ends its row
        word_valid = Signal()                         # rd.data holds the word fetched last cycle
        m.d.comb += [rd.addr.eq(ptr), rd.en.eq(fetching)]

        next_row = Signal()
        m.d.comb += next_row.eq(fetching & ends & (passes_left == 0) & (remaining != 1))
        # The table is read two rows ahead: its output is the length after length_next.
        m.d.comb += rd_len.addr.eq(row + 2 + next_row)
        m.d.sync += word_valid.eq(fetching)
        with m.If(fetching):
            with m.If(ends & (passes_left != 0)):  # walk the row again
                m.d.sync += [ptr.eq(row_ptr), remaining.eq(row_remaining),
                             passes_left.eq(passes_left - 1), left.eq(length), ends.eq(length == 1)]
            with m.Elif(ends & (remaining == 1)):  # the walk's last word
                m.d.sync += fetching.eq(0)
            with m.Elif(ends):                     # the next row
                m.d.sync += [ptr.eq(ptr + 1), remaining.eq(remaining - 1), row_ptr.eq(ptr + 1),
                             row_remaining.eq(remaining - 1), passes_left.eq(passes - 1),
                             row.eq(row + 1), length.eq(length_next), left.eq(length_next),
                             ends.eq(length_next == 1), length_next.eq(rd_len.data)]
            with m.Else():
                m.d.sync += [ptr.eq(ptr + 1), remaining.eq(remaining - 1), left.eq(left - 1),
                             ends.eq(left == 2)]

        # Beats: the fetched word, registered; each lane decodes its slice.
        wide = Signal(K * w)
        beat_valid = Signal()
        m.d.sync += [wide.eq(rd.data), beat_valid.eq(word_valid)]
        for k in range(K):
            word = wide[k * w:(k + 1) * w]
            run, sign, skip = word[:g], word[g], word[g + 2]
            pos = Signal(self.n_cols.bit_length(), name=f"pos{k}")
            m.d.comb += [self.o.addr[k].eq(pos + run), self.o.sign[k].eq(sign & ~skip),
                         self.o.null[k].eq(skip)]
            with m.If(beat_valid):  # next column: pos + run + 1 in one adder (carry in)
                m.d.sync += pos.eq(Mux(word[g + 1], 0, (Cat(1, pos) + Cat(1, run))[1:]))
        m.d.comb += [self.o.last.eq(wide[g + 1]), self.valid.eq(beat_valid)]

        with m.If(self.busy & ~fetching & ~word_valid & ~beat_valid):
            m.d.sync += self.busy.eq(0)
        m.d.comb += self.cmd.ready.eq(~self.busy)
        with m.If(self.cmd.valid & ~self.busy):
            p = self.cmd.payload
            m.d.comb += rd_len.addr.eq(p.row + 2)
            m.d.sync += [ptr.eq(p.base), remaining.eq(p.count), row_ptr.eq(p.base),
                         row_remaining.eq(p.count), passes.eq(p.passes), passes_left.eq(p.passes - 1),
                         row.eq(p.row), length.eq(p.len0), left.eq(p.len0), ends.eq(p.len0 == 1),
                         length_next.eq(p.len1), fetching.eq(1), self.busy.eq(1)]
        return m
