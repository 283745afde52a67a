"""The binary-activation engine: one decompressor feeding R XNOR-popcount PEs.

Paper 002, Fig. 6: a single RLE decompressor (:mod:`hw.decompressor`) walks
each weight row and broadcasts every nonzero weight's (input address, sign)
to R processing elements (:mod:`hw.pe`); PE ``r`` works on image ``r`` of the
batch, so R is the data reuse factor (R = B for fully connected layers). A
sequencer runs every layer from on-chip memories: all layers' RLE words and
row constants, ping-pong bit buffers between layers, an input (pixel) buffer
and an output (score) buffer. A batch of R images goes in, R score vectors
come out, with no host help between layers.

Pipeline per weight (no stalls: the PEs accept one weight every cycle)::

    A: decompressor beat; activation memories read at beat.addr
    B: PEs accumulate; row-constant memory read at the beat's row
    C: (row end only) PEs score the row; bits or scores written to a buffer

Between layers the sequencer waits for the pipeline to drain and starts the
decompressor on the next layer: a run of a batch takes exactly
``sum(RLE words) + LAYER_OVERHEAD * layers`` cycles, where the words are one
per nonzero weight plus the skip and empty-row control words.

Host interface
--------------
``load`` (write port): word ``i`` of the input buffer holds pixel ``i`` of all R
    images, image ``r`` in bits ``[8r+7:8r]``. Write only while ``busy`` is 0.
``start`` (In 1): a one-cycle strobe while not busy runs the whole network.
``busy`` (Out 1): high from the cycle after ``start`` until the run ends.
``done`` (Out 1): high once a run has finished, until the next ``start``.
``cycles`` (Out 32): cycles of the last run, ``start`` strobe excluded (counts
    while ``busy``).
``result`` (read port, 1-cycle latency): ``data`` is the int32 output of image
    ``image`` for output ``addr``, sign-extended, the cycle after ``addr`` and
    ``image`` are presented. Valid while ``done``.

Debug (networks of two or more layers):

``stop_after`` (In): sampled at ``start``. 0 runs the whole network; ``k`` in
    ``1..L-1`` ends the run after layer ``k-1``, whose output bits stay readable.
``hidden`` (read port, 1-cycle latency, while not busy): ``data`` holds bit
    ``addr`` of the last layer run, image ``r`` in bit ``r``. Used by
    ``sim.validate`` to name the first layer that differs from the golden model.
"""

from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .decompressor import Decompressor
from .pe import TernaryPE, pe_beat_layout
from .plan import EnginePlan

__all__ = ["BinaryEngine", "result_signature", "pack_input_words", "PIXEL_BITS"]

PIXEL_BITS = 8


def bits_for(n: int) -> int:
    """Address bits for ``n`` locations (at least 1)."""
    return max(1, (n - 1).bit_length())


def pack_input_words(pixels, reuse: int) -> list[int]:
    """The ``load`` port's words for a batch: word ``i`` holds pixel ``i`` of every
    image, image ``r`` in bits ``[8r+7:8r]``; images beyond ``len(pixels)`` are 0.
    ``pixels`` is uint8 ``[<= reuse, n_in]``."""
    batch = np.zeros((reuse, pixels.shape[1]), dtype=np.uint8)
    batch[: len(pixels)] = pixels
    return [int.from_bytes(batch[:, i].tobytes(), "little") for i in range(batch.shape[1])]


def select(items, index):
    """``items[index]`` as a multiplexer. The list is padded to a power of two with
    its last item, so every index value is covered (no incomplete ``case``)."""
    items = list(items)
    items += items[-1:] * ((1 << len(index)) - len(items))
    return Array(items)[index]


def result_signature(addr_width: int, image_width: int) -> wiring.Signature:
    return wiring.Signature({
        "addr": In(addr_width),
        "image": In(image_width),
        "data": Out(32),
    })


class BinaryEngine(wiring.Component):
    """The whole binary network in one component; generated from an :class:`EnginePlan`."""

    #: Cycles per layer beyond one per RLE word: issuing the command (1), the
    #: decompressor's read latency (1), and draining stages B and C (3).
    LAYER_OVERHEAD = 5

    def __init__(self, plan: EnginePlan):
        self.plan = plan
        r = plan.reuse
        members = {
            "start": In(1),
            "busy": Out(1),
            "done": Out(1),
            "cycles": Out(32),
            "load": Out(memory.WritePort.Signature(
                addr_width=bits_for(plan.n_inputs), shape=unsigned(r * PIXEL_BITS))),
            "result": Out(result_signature(bits_for(plan.n_outputs), bits_for(r))),
        }
        if len(plan.layers) > 1:
            members["stop_after"] = In(range(len(plan.layers)))
            members["hidden"] = Out(wiring.Signature({
                "addr": In(bits_for(plan.hidden_width)), "data": Out(r)}))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        R = plan.reuse
        n_layers = len(plan.layers)

        # ---- memories
        m.submodules.dec = dec = Decompressor(
            field_width=plan.field_width, n_cols=max(lp.n_in for lp in plan.layers),
            depth=len(plan.words), init=plan.words)
        m.submodules.consts = consts = memory.Memory(
            shape=signed(plan.const_width), depth=len(plan.row_consts),
            init=[int(k) for k in plan.row_consts])
        const_rd = consts.read_port()
        m.submodules.pixels = pixels = memory.Memory(
            shape=unsigned(R * PIXEL_BITS), depth=plan.n_inputs, init=[])
        pix_wr, pix_rd = pixels.write_port(), pixels.read_port()
        m.d.comb += [pix_wr.addr.eq(self.load.addr), pix_wr.data.eq(self.load.data),
                     pix_wr.en.eq(self.load.en)]
        bit_bufs = []
        for i in range(min(2, n_layers - 1)):
            buf = memory.Memory(shape=unsigned(R), depth=plan.hidden_width, init=[])
            m.submodules[f"bits{i}"] = buf
            bit_bufs.append((buf.write_port(), buf.read_port()))
        m.submodules.scores = scores = memory.Memory(
            shape=unsigned(R * plan.score_width), depth=plan.n_outputs, init=[])
        score_wr, score_rd = scores.write_port(), scores.read_port()

        # ---- per-layer constants, indexed by the current layer
        layer = Signal(range(n_layers))
        tab = lambda values, shape: select([Const(v, shape) for v in values], layer)
        word_base = tab([lp.word_base for lp in plan.layers], unsigned(dec.word_addr_width))
        word_count = tab([lp.word_count for lp in plan.layers], unsigned(dec.word_addr_width + 1))
        const_base = tab([lp.const_base for lp in plan.layers], range(len(plan.row_consts) + 1))
        bits_mode = tab([int(lp.bits_mode) for lp in plan.layers], 1)
        is_last = tab([int(lp.last) for lp in plan.layers], 1)
        # Layer l >= 1 reads bit buffer (l - 1) % 2; layer l < L-1 writes buffer l % 2.
        read_buf = tab([max(0, l - 1) % 2 for l in range(n_layers)], 1)
        write_buf = tab([l % 2 for l in range(n_layers)], 1)

        # ---- stage A: decompressor beat, activation reads
        beat = dec.o.payload
        row = Signal(range(max(lp.n_out for lp in plan.layers) + 1))
        m.d.comb += dec.o.ready.eq(1)
        m.d.comb += pix_rd.addr.eq(beat.addr)
        for _, rd in bit_bufs:  # the host's debug port reads them while idle
            m.d.comb += rd.addr.eq(Mux(self.busy, beat.addr, self.hidden.addr))
        with m.If(dec.o.valid & beat.last):
            m.d.sync += row.eq(row + 1)

        # ---- stage B: PEs accumulate; row constant read
        b = Signal(pe_beat_layout)
        b_row = Signal.like(row)
        m.d.sync += [
            b.valid.eq(dec.o.valid), b.sign.eq(beat.sign),
            b.last.eq(beat.last), b.null.eq(beat.null), b_row.eq(row),
        ]
        m.d.comb += const_rd.addr.eq(const_base + b_row)
        bit_lanes = (select([rd.data for _, rd in bit_bufs], read_buf) if bit_bufs
                     else Const(0, R))

        # ---- stage C: score the finished row, write bits or scores
        c_valid = Signal()
        c_row = Signal.like(row)
        m.d.sync += [c_valid.eq(b.valid & b.last), c_row.eq(b_row)]

        pes = []
        for i in range(R):
            pe = TernaryPE(acc_width=plan.acc_width, const_width=plan.const_width,
                           score_width=plan.score_width, input_width=PIXEL_BITS)
            m.submodules[f"pe{i}"] = pe
            pes.append(pe)
            lane_pixel = pix_rd.data[i * PIXEL_BITS:(i + 1) * PIXEL_BITS]
            m.d.comb += [
                pe.beat.eq(b),
                pe.bits_mode.eq(bits_mode),
                pe.x.eq(Mux(bits_mode, bit_lanes[i], lane_pixel)),
                pe.k.eq(const_rd.data),
            ]

        for i, (wr, _) in enumerate(bit_bufs):
            m.d.comb += [
                wr.addr.eq(c_row),
                wr.data.eq(Cat(pe.bit for pe in pes)),
                wr.en.eq(c_valid & ~is_last & (write_buf == i)),
            ]
        m.d.comb += [
            score_wr.addr.eq(c_row),
            score_wr.data.eq(Cat(pe.score for pe in pes)),
            score_wr.en.eq(c_valid & is_last),
        ]

        # ---- sequencer
        drained = ~dec.busy & ~b.valid & ~c_valid
        stop_after = Signal(range(n_layers))  # 0: run all layers
        ends_run = is_last
        if bit_bufs:
            ends_run = is_last | ((stop_after != 0) & (layer == stop_after - 1))
            m.d.comb += self.hidden.data.eq(select([rd.data for _, rd in bit_bufs], write_buf))
        with m.If(self.busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [layer.eq(0), self.cycles.eq(0), self.busy.eq(1),
                                 self.done.eq(0)]
                    if bit_bufs:
                        m.d.sync += stop_after.eq(self.stop_after)
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [
                    dec.cmd.valid.eq(1),
                    dec.cmd.payload.base.eq(word_base),
                    dec.cmd.payload.count.eq(word_count),
                ]
                with m.If(dec.cmd.ready):
                    m.d.sync += row.eq(0)
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(drained):
                    with m.If(ends_run):
                        m.d.sync += [self.busy.eq(0), self.done.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += layer.eq(layer + 1)
                        m.next = "ISSUE"

        # ---- host result port: 1-cycle read latency, lane chosen by the registered image
        image_q = Signal.like(self.result.image)
        m.d.sync += image_q.eq(self.result.image)
        m.d.comb += score_rd.addr.eq(self.result.addr)
        w = plan.score_width
        lanes = [score_rd.data[i * w:(i + 1) * w].as_signed() for i in range(R)]
        m.d.comb += self.result.data.eq(select(lanes, image_q))
        return m
