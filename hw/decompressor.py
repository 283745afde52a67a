"""RLE weight decompressor (paper 002, "Hardware Decompressor", Fig. 6).

Walks run-length-encoded ternary weights (bit format in :mod:`sw.rle`) from an
on-chip memory and emits one ``(addr, sign, last, null)`` beat per nonzero
weight on a valid/ready stream: :class:`Decompressor`, one nonzero weight per
cycle.

Parameters
----------
field_width : int
    Width ``G`` of the run field; words are ``G + 3`` bits (:mod:`sw.rle`).
n_cols : int
    Widest matrix row that will be walked; sets the column address width.
depth : int
    Words of weight memory.
init : sequence of int
    Initial memory contents (the encoder's words), zero-padded to ``depth``.
writable : bool
    Adds the ``load`` write port so a host can (re)load weights at run time.
max_passes : int
    Most walks of each row one command may ask for (default 1: every row
    once, and the command has no ``passes`` field). Conv layers walk each row
    once per output pixel (:mod:`hw.float_conv`).

Ports
-----
cmd : In(stream of :func:`command_layout`)
    Start a walk over words ``[base, base + count)``, each row ``passes``
    times in a row (``max_passes > 1`` only; 1 to ``max_passes``). Accepted
    only while idle (``cmd.ready == ~busy``).
o : Out(stream of :func:`beat_layout`)
    Decoded weights in memory order. Skip words are consumed internally
    (one cycle each, no beat); an empty-row word yields a ``null`` beat.
busy : Out(1)
    A walk is in progress (from the cycle after ``cmd`` is taken until the
    cycle after the last beat is taken).
load : Out(memory.WritePort.Signature), only if ``writable``
    Synchronous write port into the weight memory (``en``, ``addr``, ``data``).

Timing
------
A word is fetched into the memory's output (its read enable low holds it),
moved into a word register, and decoded from there: the memory's output feeds
that register only, and whether a word is fetched, moved or consumed, and
from which address, depends on registers only.
``STARTUP_CYCLES`` (2) cycles after the cycle in which ``cmd`` is taken, the
first word is in the word register. From then on, with ``o.ready`` held
high, one word is consumed every cycle: a nonzero or empty-row word gives a
beat, a skip word a bubble. A walk of ``n`` words with no back-pressure
therefore ends ``STARTUP_CYCLES + n`` cycles after the command cycle (rows
counted once per pass), plus, with ``passes > 1``, one cycle per row: a
row's end is learned on its first pass (when its last word reaches the word
register), so the row's first word follows that pass's last word a cycle
late, unless the last word waited for ``o.ready``; later passes follow each
other without a gap. Back-pressure stalls the walk with the beat held stable
(valid does not depend on ready); a skip word is consumed whether or not
``o.ready`` is high.

Stream contents are trusted: a malformed word stream (see
:func:`sw.rle.decode_entries`) gives unspecified addresses, never a hang.

Refused (:class:`hw.errors.ParameterError`, the message starting with the
parameter): ``field_width < 1``, ``n_cols < 1``, a ``depth`` smaller than the
initial words, ``max_passes < 1``.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Module, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .errors import refuse

__all__ = ["Decompressor", "command_layout", "beat_layout"]


def command_layout(word_addr_width: int, max_passes: int = 1) -> data.StructLayout:
    """A walk over ``count`` words starting at word address ``base`` (each row
    ``passes`` times if ``max_passes > 1``)."""
    fields = {
        "base": unsigned(word_addr_width),
        "count": unsigned(word_addr_width + 1),
    }
    if max_passes > 1:
        fields["passes"] = range(1, max_passes + 1)
    return data.StructLayout(fields)


def beat_layout(col_addr_width: int) -> data.StructLayout:
    """One decoded weight (fields from LSB: addr, sign, last, null).

    * ``addr``: input (column) index of the weight.
    * ``sign``: 1 for weight -1, 0 for weight +1.
    * ``last``: the row ends with this beat.
    * ``null``: the row is empty; this beat carries no weight (``addr = sign = 0``).
    """
    return data.StructLayout({
        "addr": unsigned(col_addr_width),
        "sign": unsigned(1),
        "last": unsigned(1),
        "null": unsigned(1),
    })


class Decompressor(wiring.Component):
    """RLE decompressor with one nonzero weight per cycle; parameters, ports and
    timing in the module docstring."""

    #: Cycles between the command transfer and the first word being decoded.
    STARTUP_CYCLES = 2

    def __init__(self, *, field_width: int, n_cols: int, depth: int, init=(), writable=False,
                 max_passes: int = 1):
        if field_width < 1:
            refuse(self, f"field_width: must be >= 1, got {field_width}")
        if n_cols < 1:
            refuse(self, f"n_cols: must be >= 1, got {n_cols}")
        init = [int(word) for word in init]
        if depth < max(1, len(init)):
            refuse(self, f"depth: {depth} words cannot hold the {len(init)} initial words")
        if max_passes < 1:
            refuse(self, f"max_passes: must be >= 1, got {max_passes}")
        self.max_passes = max_passes
        self.field_width = field_width
        self.word_width = field_width + 3
        self.n_cols = n_cols
        self.depth = depth
        self.col_addr_width = max(1, (n_cols - 1).bit_length())
        self.word_addr_width = max(1, (depth - 1).bit_length())
        self._init = init
        self._writable = writable
        members = {
            "cmd": In(stream.Signature(command_layout(self.word_addr_width, max_passes))),
            "o": Out(stream.Signature(beat_layout(self.col_addr_width))),
            "busy": Out(1),
        }
        if writable:
            members["load"] = Out(memory.WritePort.Signature(
                addr_width=self.word_addr_width, shape=unsigned(self.word_width)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        g = self.field_width

        m.submodules.mem = mem = memory.Memory(
            shape=unsigned(self.word_width), depth=self.depth, init=self._init)
        rd = mem.read_port()
        if self._writable:
            wr = mem.write_port()
            m.d.comb += [wr.addr.eq(self.load.addr), wr.data.eq(self.load.data), wr.en.eq(self.load.en)]

        # Three slots: the fetch (``rd.addr``), the memory's output (``fetched``: the word
        # read last, held while the read enable is low) and the word register (``word``),
        # which alone feeds the decoding and the beat.
        fetched = Signal()                            # rd.data holds a word not yet moved on
        word = Signal(self.word_width)
        word_valid = Signal()                         # ``word`` holds an unconsumed word
        pos = Signal(self.n_cols.bit_length())        # column pointer within the row
        busy = self.busy

        run, sign, last, skip = word[:g], word[g], word[g + 1], word[g + 2]
        is_skip = skip & ~last  # skip word: no beat

        m.d.comb += [
            self.o.valid.eq(word_valid & ~is_skip),
            self.o.payload.addr.eq(pos + run),
            self.o.payload.sign.eq(sign & ~skip),
            self.o.payload.last.eq(last),
            self.o.payload.null.eq(skip & last),
        ]

        consume, move, fetch = Signal(), Signal(), Signal()
        m.d.comb += [consume.eq(word_valid & (is_skip | self.o.ready)), rd.en.eq(fetch)]
        with m.If(consume):
            with m.If(is_skip):
                m.d.sync += pos.eq(pos + (1 << g))
            with m.Elif(last):
                m.d.sync += pos.eq(0)
            with m.Else():  # pos + run + 1 as one carry chain (the 1 a carry-in)
                m.d.sync += pos.eq((Cat(1, pos) + Cat(1, run))[1:])

        start = self.cmd.valid & ~busy
        slots = SimpleNamespace(fetched=fetched, word_valid=word_valid, last=last, move=move,
                                fetch=fetch, start=start)
        if self.max_passes == 1:
            more, discard = self._fetch_once(m, rd, slots)
        else:
            more, discard = self._fetch_repeated(m, rd, slots)
        m.d.comb += [
            move.eq(fetched & (~word_valid | consume) & ~discard),
            fetch.eq(busy & more & (~fetched | move | discard)),
        ]
        m.d.sync += fetched.eq(fetch | (fetched & ~move & ~discard))
        with m.If(move):
            m.d.sync += [word.eq(rd.data), word_valid.eq(1)]
        with m.Elif(consume):
            m.d.sync += word_valid.eq(0)

        # The walk ends once every word is fetched and the last one consumed.
        with m.If(busy & ~more & ~fetched & (~word_valid | consume)):
            m.d.sync += busy.eq(0)
        m.d.comb += self.cmd.ready.eq(~busy)
        with m.If(start):
            m.d.sync += [pos.eq(0), busy.eq(1)]
        return m

    def _fetch_once(self, m, rd, slots):
        """Every row once: the words in order from ``base``. Returns ``(more, discard)``:
        a word is left to fetch; never a fetched word to drop."""
        ptr = Signal(self.word_addr_width)            # next word to fetch
        remaining = Signal(self.word_addr_width + 1)  # words not yet fetched
        m.d.comb += rd.addr.eq(ptr)
        with m.If(slots.fetch):
            m.d.sync += [ptr.eq(ptr + 1), remaining.eq(remaining - 1)]
        with m.If(slots.start):
            m.d.sync += [ptr.eq(self.cmd.payload.base), remaining.eq(self.cmd.payload.count)]
        return remaining != 0, 0

    def _fetch_repeated(self, m, rd, slots):
        """Each row ``passes`` times in a row, the fetch address from registers only.

        A row's first pass is fetched in memory order, its end unknown: when the row's
        last word reaches the word register (a register bit, ``w_first`` marking words of
        a first pass) with passes left, the word fetched after it is dropped
        (``discard``) and the row's first word fetched again (one cycle later than the
        word after the last would have been there: a bubble unless that last word waits
        for ``o.ready``). The row's length is then known, and its other passes rewind
        at the fetch, without a bubble; after its last pass the next row starts in
        memory order. Returns ``(more, discard)``."""
        w = self.word_addr_width
        ptr = Signal(w + 1)                           # next word in memory order (up to ``end``)
        end = Signal(w + 1)                           # the walk's end, base + count
        r_addr, w_addr = Signal(w), Signal(w)         # addresses of the fetched and the word register's words
        r_first, w_first = Signal(), Signal()         # ... fetched in a row's first pass
        row_ptr = Signal(w)                           # the current row's first word
        known = Signal()                              # the fetch walks a row of known length
        row_left = Signal(w)                          # known row: words of this pass not yet fetched
        row_words = Signal(w)                         # known row: its words less one
        passes = Signal(range(self.max_passes + 1))
        passes_left = Signal(range(self.max_passes))  # passes of the current row after this one
        # Comparisons kept as registers beside the counters they describe:
        row_last, row_single = Signal(), Signal()    # row_left == 0, row_words == 0
        more_passes, several = Signal(), Signal()    # passes_left != 0, passes != 1

        first_pass_ends = slots.word_valid & w_first & slots.last
        rewind_late = Signal()                        # a first pass ends now: fetch the row again
        m.d.comb += rewind_late.eq(first_pass_ends & more_passes)
        pass_ends = known & row_last                  # the known row's pass ends with the word fetched last
        more = Signal()
        m.d.comb += more.eq((ptr != end) | (known & (~row_last | more_passes)) | rewind_late)

        def next_row():
            m.d.sync += [passes_left.eq(passes - 1), more_passes.eq(several)]

        m.d.comb += rd.addr.eq(ptr)
        with m.If(slots.fetch):
            m.d.sync += [ptr.eq(ptr + 1), r_addr.eq(rd.addr), r_first.eq(~known)]
            with m.If(rewind_late | (pass_ends & more_passes)):
                m.d.comb += rd.addr.eq(row_ptr)
                m.d.sync += [ptr.eq(row_ptr + 1), known.eq(1), r_first.eq(0),
                             passes_left.eq(passes_left - 1), more_passes.eq(passes_left != 1)]
                with m.If(rewind_late):
                    single = w_addr == row_ptr
                    m.d.sync += [row_words.eq(w_addr - row_ptr), row_left.eq(w_addr - row_ptr),
                                 row_single.eq(single), row_last.eq(single)]
                with m.Else():
                    m.d.sync += [row_left.eq(row_words), row_last.eq(row_single)]
            with m.Elif(pass_ends):                   # the known row is done: the next in memory order
                m.d.sync += [row_ptr.eq(ptr), known.eq(0), r_first.eq(1)]
                next_row()
            with m.Elif(known):
                m.d.sync += [row_left.eq(row_left - 1), row_last.eq(row_left == 1)]
        # A first pass that is the row's only one ends: the next row starts after it.
        row_done = first_pass_ends & ~more_passes
        with m.If(row_done):
            m.d.sync += row_ptr.eq(w_addr + 1)
            next_row()
        with m.If(slots.move):
            m.d.sync += [w_addr.eq(r_addr), w_first.eq(r_first)]
        with m.Elif(rewind_late | row_done):
            m.d.sync += w_first.eq(0)                 # handled once
        with m.If(slots.start):
            p = self.cmd.payload
            m.d.sync += [ptr.eq(p.base), end.eq(p.base + p.count), row_ptr.eq(p.base), known.eq(0),
                         passes.eq(p.passes), passes_left.eq(p.passes - 1),
                         more_passes.eq(p.passes != 1), several.eq(p.passes != 1)]
        return more, rewind_late
