"""The engines: decompressors feeding R PEs, a sequencer, on-chip buffers, a host port.

Paper 002, Fig. 6: a single RLE decompressor (:mod:`hw.decompressor`) walks
each weight row and broadcasts every nonzero weight's (input address, sign)
to R processing elements; PE ``r`` works on image ``r`` of the batch, so R is
the data reuse factor (R = B for fully connected layers). A sequencer runs
every layer from on-chip memories: all layers' RLE words, ping-pong buffers
between layers, an input (pixel) buffer and an output buffer. A batch of R
images goes in, R output vectors come out, with no host help between layers.

Two engines share this host interface; :func:`build_engine` picks one by the
plan's kind:

* ``binary`` models: :class:`hw.binary_engine.BinaryEngine`, K lane
  decompressors and PEs taking K nonzeros per cycle (XNOR-popcount), 1-bit
  hidden activations, int32 outputs; its loader takes ``load_cycles(plan)``
  cycles per ``load`` word (``load_ready``).
* ``float`` models: :class:`Engine` here, one decompressor and the datapath
  :class:`hw.float_datapath.FloatDatapath` (contract: :mod:`hw.datapath`)
  with a stream register between them (:class:`hw.stream_register.StreamRegister`:
  the datapath's ``ready`` and the activation addresses do not reach back into the
  decompressor's memory read in the same cycle),
  float-accumulate PEs, binary32 hidden activations and outputs. A run takes
  the RLE words, ``add_latency - 1`` reduction slots per row, a per-layer
  drain, and stalls where rows are shorter than the lane reduction (see there).
  Networks with convolution layers: :mod:`hw.float_conv` (each row walked once
  per output pixel, one flat activation memory, padding and pooling); the
  ``load`` and ``hidden`` addresses are then the plan's
  (:attr:`hw.plan.EnginePlan.input_addresses`, :meth:`~hw.plan.EnginePlan.hidden_addresses`).

:func:`cycle_budget` breaks a batch's cycles down for either kind.

Host interface
--------------
``load`` (write port): word ``i`` of the input buffer holds pixel ``i`` of all B
    images of a batch (B = R / P, :attr:`hw.plan.EnginePlan.batch`; B = R for
    dense networks), image ``b`` in bits ``[8b+7:8b]``. Write only while ``busy`` is 0.
    The float engine converts each pixel to layer 0's binary32 input on the way
    (:mod:`hw.input_converter`: written one cycle later; ``start`` may follow the
    last write at once).
``start`` (In 1): a one-cycle strobe while not busy runs the whole network.
``busy`` (Out 1): high from the cycle after ``start`` until the run ends.
``done`` (Out 1): high once a run has finished, until the next ``start``.
``cycles`` (Out 32): cycles of the last run, ``start`` strobe excluded (counts
    while ``busy``).
``result`` (read port, 1-cycle latency): ``data`` is the output of image
    ``image`` for output ``addr`` the cycle after ``addr`` and ``image`` are
    presented: int32, sign-extended (binary) or binary32 bits (float). Valid
    while ``done``.

Debug (networks of two or more layers):

``stop_after`` (In): sampled at ``start``. 0 runs the whole network; ``k`` in
    ``1..L-1`` ends the run after layer ``k-1``, whose output bits stay readable.
``hidden`` (read port, 1-cycle latency, while not busy): ``data`` holds
    activation ``addr`` of the last layer run, image ``r`` in bits
    ``[w*r+w-1:w*r]`` with ``w`` = 1 (binary) or 32 (float). Used by
    ``sim.validate`` to name the first layer that differs from the golden model.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from amaranth import Const, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .binary_engine import LAYER_OVERHEAD, LOAD_CYCLES, BinaryEngine
from .datapath import PIXEL_BITS, bits_for, select
from .decompressor import Decompressor, beat_layout
from .float_conv import conv_engine, decompressor_args
from .float_datapath import FloatDatapath
from .float_schedule import float_batch_cycles
from .input_converter import input_converter
from .plan import EnginePlan
from .sequencer import sequence_layers
from .stream_register import StreamRegister

__all__ = ["Engine", "build_engine", "engine_signature", "layer_overhead", "cycle_budget",
           "load_cycles", "result_signature", "pack_input_words", "PIXEL_BITS", "DATAPATHS"]

#: The datapath of each network kind that :class:`Engine` runs.
DATAPATHS = {"float": FloatDatapath}


def build_engine(plan: EnginePlan) -> wiring.Component:
    """The engine for ``plan``: :class:`hw.binary_engine.BinaryEngine` or :class:`Engine`."""
    return BinaryEngine(plan) if plan.kind == "binary" else Engine(plan)


def load_cycles(plan: EnginePlan) -> int:
    """Cycles between two ``load`` writes the engine for ``plan`` accepts."""
    return LOAD_CYCLES if plan.kind == "binary" else 1


def pack_input_words(pixels, reuse: int) -> list[int]:
    """The ``load`` port's words for a batch: word ``i`` holds pixel ``i`` of every
    image, image ``r`` in bits ``[8r+7:8r]``; images beyond ``len(pixels)`` are 0.
    ``pixels`` is uint8 ``[<= reuse, n_in]``."""
    batch = np.zeros((reuse, pixels.shape[1]), dtype=np.uint8)
    batch[: len(pixels)] = pixels
    return [int.from_bytes(batch[:, i].tobytes(), "little") for i in range(batch.shape[1])]


def result_signature(addr_width: int, image_width: int) -> wiring.Signature:
    return wiring.Signature({
        "addr": In(addr_width),
        "image": In(image_width),
        "data": Out(32),
    })


def layer_overhead(plan: EnginePlan) -> int:
    """Cycles per layer beyond the RLE words (binary: the beats and stalls) and row overheads."""
    if plan.kind == "binary":
        return LAYER_OVERHEAD
    return DATAPATHS[plan.kind].layer_overhead(plan)


def cycle_budget(plan: EnginePlan) -> dict:
    """A batch's predicted cycles by cause (:meth:`EnginePlan.cycle_budget`).
    Exact for binary networks. For float networks exact, less ``add_latency - 1``
    per layer (each layer's last row has no reduction slot before the drain),
    when every row walk (a conv layer's rows once per output pixel) has at least
    ``L*L - L + 3`` words and no skip word falls on a reduction slot, and ``R <=
    L*L + 1``; otherwise an estimate (short walks stall for the previous walk's
    reduction: more cycles; skip words on reduction slots hide: fewer).
    Float plans with convolution layers add ``stalls``, the difference to
    :func:`hw.float_schedule.float_batch_cycles` (short walks' stalls and the
    decompressor's bubble at a conv row's first rewind, less hidden skip words and
    each layer's last reduction slots; may be negative),
    so their budget sums to the batch's cycles exactly."""
    if plan.kind == "binary":
        return plan.cycle_budget(LAYER_OVERHEAD)
    dp = DATAPATHS[plan.kind]
    budget = plan.cycle_budget(dp.layer_overhead(plan), dp.row_overhead(plan))
    if plan.conv:  # conv walks are often short: the exact schedule's difference (hw.float_schedule)
        budget["stalls"] = float_batch_cycles(plan) - sum(budget.values())
    return budget


def engine_signature(plan: EnginePlan) -> dict:
    """The engine's ports for ``plan`` (module docstring, "Host interface"): a batch
    is B = R / P images (:attr:`hw.plan.EnginePlan.batch`)."""
    r = plan.batch
    members = {
        "start": In(1),
        "busy": Out(1),
        "done": Out(1),
        "cycles": Out(32),
        "load": Out(memory.WritePort.Signature(
            addr_width=bits_for(plan.load_span), shape=unsigned(r * PIXEL_BITS))),
        "result": Out(result_signature(bits_for(plan.n_outputs), bits_for(r))),
    }
    if len(plan.layers) > 1:
        members["stop_after"] = In(range(len(plan.layers)))
        members["hidden"] = Out(wiring.Signature({
            "addr": In(bits_for(plan.hidden_span)), "data": Out(r * plan.act_width)}))
    return members


class Engine(wiring.Component):
    """The whole float network in one component, generated from a
    :class:`hw.plan.FloatPlan` (ports: :func:`engine_signature`).

    ``elaborate`` builds the decompressor, the plan's datapath and the stream
    register between them, then
    :func:`_buffers` (input, ping-pong and output memories), the per-layer
    tables (:func:`_layer_tables`), the datapath's connections
    (:func:`_connect_datapath`), the sequencer (:func:`_sequencer`) and the host
    result port (:func:`_result_port`).
    """

    def __init__(self, plan: EnginePlan):
        self.plan = plan
        self.datapath_class = DATAPATHS[plan.kind]
        super().__init__(engine_signature(plan))

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        m.submodules.dec = dec = Decompressor(
            field_width=plan.field_width, depth=len(plan.words), init=plan.words, **decompressor_args(plan))
        m.submodules.datapath = dp = self.datapath_class(plan, dec.col_addr_width)
        m.submodules.beats = beats = StreamRegister(beat_layout(dec.col_addr_width))
        wiring.connect(m, dec.o, beats.i)
        if plan.conv:  # hw.float_conv: one activation memory, a pixel scan, pooled writes
            layer = Signal(range(len(plan.layers)))
            tables = _layer_tables(self, dec, layer)
            conv = conv_engine(self, m, beats.o, dp, tables, layer)
            _sequencer(self, m, dec, beats.o, dp, [], tables, layer, passes=conv.passes)
            _result_port(self, m, conv.out_rd)
            return m
        bufs = _buffers(self, m, dp)
        layer = Signal(range(len(plan.layers)))
        tables = _layer_tables(self, dec, layer)
        _connect_datapath(self, m, beats.o, dp, bufs, tables, layer)
        _sequencer(self, m, dec, beats.o, dp, bufs.acts, tables, layer)
        _result_port(self, m, bufs.out_rd)
        return m


def _buffers(engine, m, dp) -> SimpleNamespace:
    """The input buffer (layer 0's binary32 inputs, written from the host's ``load``
    port through the :class:`hw.input_converter.InputConverter`), up to two
    ping-pong activation buffers and the output buffer, with one write enable
    per image (the float datapath writes one image at a time)."""
    plan = engine.plan
    R, act_w, out_w = plan.reuse, plan.act_width, plan.out_width
    m.submodules.inputs = inputs = memory.Memory(shape=unsigned(R * 32), depth=plan.n_inputs, init=[])
    in_wr, in_rd = inputs.write_port(), inputs.read_port()
    convert = input_converter(engine, m, plan.batch)
    m.d.comb += [in_wr.addr.eq(convert.write.addr), in_wr.data.eq(convert.write.data),
                 in_wr.en.eq(convert.write.en)]
    write_port = lambda mem, w: mem.write_port(granularity=w)  # noqa: E731
    enables = lambda cond: Mux(cond, dp.write.lanes, 0)  # noqa: E731
    act_bufs = []
    for i in range(min(2, len(plan.layers) - 1)):
        buf = memory.Memory(shape=unsigned(R * act_w), depth=plan.hidden_width, init=[])
        m.submodules[f"acts{i}"] = buf
        act_bufs.append((write_port(buf, act_w), buf.read_port()))
    bufs = SimpleNamespace(in_rd=in_rd, acts=act_bufs, enables=enables)
    m.submodules.outputs = outputs = memory.Memory(
        shape=unsigned(R * out_w), depth=plan.n_outputs, init=[])
    bufs.out_wr, bufs.out_rd = write_port(outputs, out_w), outputs.read_port()
    return bufs


def _layer_tables(engine, dec, layer) -> SimpleNamespace:
    """Per-layer constants, indexed by the current layer."""
    plan = engine.plan
    n_layers = len(plan.layers)
    tab = lambda values, shape: select([Const(v, shape) for v in values], layer)  # noqa: E731
    return SimpleNamespace(
        word_base=tab([lp.word_base for lp in plan.layers], unsigned(dec.word_addr_width)),
        word_count=tab([lp.word_count for lp in plan.layers], unsigned(dec.word_addr_width + 1)),
        const_base=tab([lp.const_base for lp in plan.layers], range(plan.rows + 1)),
        is_first=tab([int(l == 0) for l in range(n_layers)], 1),
        is_last=tab([int(lp.last) for lp in plan.layers], 1),
        # Layer l >= 1 reads buffer (l - 1) % 2; layer l < L-1 writes buffer l % 2.
        read_buf=tab([max(0, l - 1) % 2 for l in range(n_layers)], 1),
        write_buf=tab([l % 2 for l in range(n_layers)], 1))


def _connect_datapath(engine, m, beats, dp, bufs, t, layer):
    """The datapath, fed by the decompressor through the stream register ``beats``;
    inputs and activations read at ``beat.addr``;
    its writes routed to a hidden buffer or the output buffer."""
    wiring.connect(m, beats, dp.beat)
    beat_addr = beats.payload.addr
    m.d.comb += bufs.in_rd.addr.eq(beat_addr)
    for _, rd in bufs.acts:  # the host's debug port reads them while idle
        m.d.comb += rd.addr.eq(Mux(engine.busy, beat_addr, engine.hidden.addr))
    m.d.comb += [
        dp.layer.eq(layer),
        dp.first.eq(t.is_first),
        dp.last.eq(t.is_last),
        dp.const_base.eq(t.const_base),
        dp.inputs.eq(bufs.in_rd.data),
        dp.acts.eq(select([rd.data for _, rd in bufs.acts], t.read_buf) if bufs.acts else 0),
    ]
    wr = dp.write
    for i, (buf_wr, _) in enumerate(bufs.acts):
        m.d.comb += [
            buf_wr.addr.eq(wr.addr),
            buf_wr.data.eq(wr.act),
            buf_wr.en.eq(bufs.enables(wr.valid & ~t.is_last & (t.write_buf == i))),
        ]
    m.d.comb += [
        bufs.out_wr.addr.eq(wr.addr),
        bufs.out_wr.data.eq(wr.out),
        bufs.out_wr.en.eq(bufs.enables(wr.valid & t.is_last)),
    ]


def _sequencer(engine, m, dec, beats, dp, act_bufs, t, layer, passes=None):
    """:func:`hw.sequencer.sequence_layers` with the decompressor's walk per layer
    (``passes``: conv plans' walks per row); the host's debug port reads the
    buffer the last layer run wrote (conv plans: :mod:`hw.float_conv`)."""
    if act_bufs:
        m.d.comb += engine.hidden.data.eq(select([rd.data for _, rd in act_bufs], t.write_buf))

    def issue(m):
        m.d.comb += [
            dec.cmd.valid.eq(1),
            dec.cmd.payload.base.eq(t.word_base),
            dec.cmd.payload.count.eq(t.word_count),
            dp.start.eq(dec.cmd.ready),
        ]
        if passes is not None:
            m.d.comb += dec.cmd.payload.passes.eq(passes)
        return dec.cmd.ready

    debug = bool(act_bufs) or (passes is not None and len(engine.plan.layers) > 1)
    sequence_layers(engine, m, layer, t.is_last, ~dec.busy & ~beats.valid & dp.idle, issue, debug)


def _result_port(engine, m, out_rd):
    """Host result port: 1-cycle read latency, lane chosen by the registered image."""
    R, out_w = engine.plan.batch, engine.plan.out_width
    image_q = Signal.like(engine.result.image)
    m.d.sync += image_q.eq(engine.result.image)
    m.d.comb += out_rd.addr.eq(engine.result.addr)
    lanes = [out_rd.data[i * out_w:(i + 1) * out_w].as_signed() for i in range(R)]
    m.d.comb += engine.result.data.eq(select(lanes, image_q))
