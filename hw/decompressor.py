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
    Adds the ``load`` write port so a host can (re)load weights at run time
    (into the words and, with ``max_passes > 1``, their ``last`` bits' copy).
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
that register only, and whether a word is fetched, moved or consumed depends
on registers only (in repeated walks also on a one-bit copy of the words'
``last`` bits, read beside them), never on the word memory's output.
``STARTUP_CYCLES`` (2) cycles after the cycle in which ``cmd`` is taken, the
first word is in the word register. From then on, with ``o.ready`` held
high, one word is consumed every cycle: a nonzero or empty-row word gives a
beat, a skip word a bubble. A walk of ``n`` words with no back-pressure
therefore ends ``STARTUP_CYCLES + n`` cycles after the command cycle (rows
counted once per pass: a row's last word is followed by the row's first again,
without a bubble). Back-pressure stalls the walk with the beat held stable
(valid does not depend on ready); a skip word is consumed whether or not
``o.ready`` is high.

Stream contents are trusted: a malformed word stream (see
:func:`sw.rle.decode_entries`) gives unspecified addresses, never a hang.

Refused (:class:`hw.errors.ParameterError`, the message starting with the
parameter): ``field_width < 1``, ``n_cols < 1``, a ``depth`` smaller than the
initial words, ``max_passes < 1``.
"""

from __future__ import annotations

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

        # Three slots: the fetch (address ``ptr``), the memory's output (``fetched``: the
        # word read last, held while its read enable is low), and the word register
        # (``word``), which alone feeds the decoding and the beat.
        ptr = Signal(self.word_addr_width)            # next word to fetch
        remaining = Signal(self.word_addr_width + 1)  # words not yet fetched
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
        more = remaining != 0                         # a word is left to fetch
        rewind = 0
        if self.max_passes > 1:
            rewind = self._passes(m, fetch, fetched, rd.addr, ptr, remaining)
            more = more | rewind
        m.d.comb += [
            consume.eq(word_valid & (is_skip | self.o.ready)),
            move.eq(fetched & (~word_valid | consume)),
            fetch.eq(busy & more & (~fetched | move)),
            rd.addr.eq(ptr),
            rd.en.eq(fetch),
        ]

        with m.If(consume):
            with m.If(is_skip):
                m.d.sync += pos.eq(pos + (1 << g))
            with m.Elif(last):
                m.d.sync += pos.eq(0)
            with m.Else():  # pos + run + 1 as one carry chain (the 1 a carry-in)
                m.d.sync += pos.eq((Cat(1, pos) + Cat(1, run))[1:])

        with m.If(fetch):
            m.d.sync += [ptr.eq(ptr + 1), remaining.eq(remaining - 1)]
            if self.max_passes > 1:
                with m.If(rewind):  # the row again: its first word is fetched now, no bubble
                    m.d.comb += rd.addr.eq(self._row_ptr)
                    m.d.sync += [ptr.eq(self._row_ptr + 1), remaining.eq(self._row_remaining - 1)]
        m.d.sync += fetched.eq(fetch | (fetched & ~move))
        with m.If(move):
            m.d.sync += [word.eq(rd.data), word_valid.eq(1)]
        with m.Elif(consume):
            m.d.sync += word_valid.eq(0)

        # The walk ends once every word is fetched and the last one consumed.
        with m.If(busy & ~more & ~fetched & (~word_valid | consume)):
            m.d.sync += busy.eq(0)

        m.d.comb += self.cmd.ready.eq(~busy)
        with m.If(self.cmd.valid & ~busy):
            m.d.sync += [
                ptr.eq(self.cmd.payload.base),
                remaining.eq(self.cmd.payload.count),
                pos.eq(0),
                busy.eq(1),
            ]
            if self.max_passes > 1:
                p = self.cmd.payload
                m.d.sync += [self._row_ptr.eq(p.base), self._row_remaining.eq(p.count),
                             self._passes_cmd.eq(p.passes), self._passes_left.eq(p.passes - 1)]

        return m

    def _passes(self, m, fetch, fetched, addr, ptr, remaining):
        """Repeated walks, decided as words are fetched: the current row's first word
        and the words left from there, the passes still to make. A one-bit copy of
        the words' ``last`` bits (``lasts``, a narrow memory read at the same address
        as the words) tells whether the word fetched last ends its row. Returns
        ``rewind``: that word ends a pass that is not the row's last, so the next
        fetch is the row's first word again."""
        g = self.field_width
        m.submodules.lasts = lasts = memory.Memory(
            shape=1, depth=self.depth, init=[(w >> (g + 1)) & 1 for w in self._init])
        lasts_rd = lasts.read_port()
        m.d.comb += [lasts_rd.addr.eq(addr), lasts_rd.en.eq(fetch)]
        if self._writable:
            lasts_wr = lasts.write_port()
            m.d.comb += [lasts_wr.addr.eq(self.load.addr), lasts_wr.data.eq(self.load.data[g + 1]),
                         lasts_wr.en.eq(self.load.en)]
        self._row_ptr = row_ptr = Signal.like(ptr, name="row_ptr")
        self._row_remaining = row_remaining = Signal.like(remaining, name="row_remaining")
        self._passes_cmd = passes = Signal(range(self.max_passes + 1), name="passes")
        self._passes_left = passes_left = Signal(range(self.max_passes), name="passes_left")
        row_ends = fetched & lasts_rd.data           # the word fetched last ends its row
        rewind = Signal()
        m.d.comb += rewind.eq(row_ends & (passes_left != 0))
        with m.If(fetch & rewind):
            m.d.sync += passes_left.eq(passes_left - 1)
        with m.Elif(fetch & row_ends):  # the next row starts with the word fetched now
            m.d.sync += [row_ptr.eq(ptr), row_remaining.eq(remaining), passes_left.eq(passes - 1)]
        return rewind
