"""A FINN-style dense binary matrix-vector-threshold unit: the dense BNN baseline.

One fully connected layer of ``n_out x n_in`` weights in {-1, +1} with binary inputs and
outputs, built like finn-hlslib's ``Matrix_Vector_Activate_Batch`` (``mvau.hpp``) in
XNOR mode: ``PE`` rows in parallel, each taking ``SIMD`` inputs per cycle, XNOR with the
weight bits, a popcount (adder tree) into one accumulator per row, and a threshold
compare at the row's end. ``PE x SIMD`` MACs per cycle, every weight costs a MAC (no
sparsity); the cost model's dense BNN line (:mod:`cost.throughput`).

Arithmetic
----------
Bit 1 stands for +1, bit 0 for -1, for inputs, weights and outputs. Row ``j`` counts
the inputs whose bit equals its weight's, ``acc_j = popcount(XNOR(w_j, x))`` in
``0..n_in``, and outputs ``y_j = acc_j >= T_j``. Thresholds are in this popcount
domain (FINN's); a dot-product threshold ``t`` (``sum w x >= t``, the model file's)
is ``T = ceil((t + n_in) / 2)``. ``T = 0`` gives always 1, ``T = n_in + 1`` always 0.

Folding
-------
``SF = ceil(n_in / SIMD)`` input words per vector, ``NF = ceil(n_out / PE)`` row groups
("neuron folds"). Input word ``s`` holds inputs ``s*SIMD .. s*SIMD + SIMD - 1`` (bit ``i``
is input ``s*SIMD + i``); output word ``f`` holds rows ``f*PE .. f*PE + PE - 1`` (bit
``p`` is row ``f*PE + p``). A size that is no multiple is padded: input bits past
``n_in`` are ignored (masked to 0 against weight bit 1, so they never match), rows past
``n_out`` output 0.

Memories: the weights are a ROM of ``NF*SF`` words of ``PE*SIMD`` bits (word ``f*SF+s``
holds row ``f*PE+p``'s bits for input word ``s`` in bits ``[p*SIMD, p*SIMD+SIMD)``),
the thresholds a ROM of ``NF`` words of ``PE`` thresholds; with ``NF > 1`` an input
buffer of ``SF`` words keeps the vector for folds ``1..NF-1``, as FINN's does.

Ports
-----
x : In(stream of SIMD bits)
    A vector's SF input words in order. Taken only during a vector's first fold.
y : Out(stream of PE bits)
    A vector's NF output words in order.

Timing and throughput
---------------------
The unit issues one input word per cycle for each fold: fold 0 from ``x`` (one word
per cycle while ``x.valid``; a missing word is a bubble), folds ``1..NF-1`` from the
input buffer at one word per cycle. A vector therefore takes ``NF * SF`` cycles, and
vectors follow each other with no gap: ``PE * SIMD`` MACs per cycle. Output word ``f``
becomes valid :attr:`DenseMVU.LATENCY` (5) cycles after the cycle that issued the
fold's last input word: issue; weight and input-buffer reads; a register on the read
data (no logic follows a block RAM's clock-to-output in the same cycle); XNOR and
popcount; accumulate; threshold compare. ``y`` not ready stalls the whole pipeline
(``x.ready`` drops too); nothing is lost. ``x.ready`` does not depend on ``x.valid``,
``y.valid`` not on ``y.ready``.

Refused (:class:`hw.errors.ParameterError`, the message starting with the parameter):
weights that are not a 2-D array of -1 and +1, thresholds that are not one integer per
row in ``0..n_in + 1``, ``simd`` outside ``1..n_in``, ``pe`` outside ``1..n_out``.
"""

from __future__ import annotations

import numpy as np
from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .errors import refuse

__all__ = ["DenseMVU", "popcount"]


def popcount(bits):
    """The number of ones in ``bits``: a balanced tree of adders (one level per doubling)."""
    terms = [bits[i] for i in range(len(bits))]
    while len(terms) > 1:
        pairs = [a + b for a, b in zip(terms[0::2], terms[1::2])]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def _check(component, weights, thresholds, simd, pe):
    """The weights as a bool array (True: +1) and thresholds as ints, or a refusal."""
    w = np.asarray(weights)
    if w.ndim != 2 or w.size == 0 or not np.issubdtype(w.dtype, np.integer):
        refuse(component, f"weights: expected a 2-D integer array of -1 and +1, "
                          f"got {w.dtype} of shape {list(w.shape)}")
    bad = np.argwhere((w != 1) & (w != -1))
    if len(bad):
        r, c = (int(v) for v in bad[0])
        refuse(component, f"weights: values must be -1 or +1, got {int(w[r, c])} at [{r}, {c}]")
    n_out, n_in = w.shape
    t = np.asarray(thresholds)
    if t.shape != (n_out,) or not np.issubdtype(t.dtype, np.integer):
        refuse(component, f"thresholds: expected {n_out} integers (one per row), "
                          f"got {t.dtype} of shape {list(t.shape)}")
    bad = np.flatnonzero((t < 0) | (t > n_in + 1))
    if len(bad):
        refuse(component, f"thresholds: {int(t[bad[0]])} of row {int(bad[0])} outside "
                          f"[0, {n_in + 1}]")
    if not 1 <= simd <= n_in:
        refuse(component, f"simd: must be in 1..{n_in} (the layer's inputs), got {simd}")
    if not 1 <= pe <= n_out:
        refuse(component, f"pe: must be in 1..{n_out} (the layer's outputs), got {pe}")
    return w == 1, [int(v) for v in t]


class DenseMVU(wiring.Component):
    """Dense binary matrix-vector-threshold unit (contract in the module docstring).

    ``weights``: ``[n_out, n_in]`` integers in {-1, +1}; ``thresholds``: ``n_out``
    popcount thresholds in ``0..n_in + 1``; ``simd``, ``pe``: inputs per cycle per row,
    rows in parallel.
    """

    #: Cycles from issuing a fold's last input word to its output word being valid.
    LATENCY = 5

    def __init__(self, weights, thresholds, *, simd: int, pe: int):
        plus, t = _check(self, weights, thresholds, simd, pe)
        self.n_out, self.n_in = plus.shape
        self.simd, self.pe = simd, pe
        self.sf = -(-self.n_in // simd)
        self.nf = -(-self.n_out // pe)
        # Padding: columns past n_in get weight bit 1 (their input bits are masked to 0),
        # rows past n_out threshold n_in + 1 (output 0).
        bits = np.ones((self.nf * pe, self.sf * simd), dtype=bool)
        bits[:self.n_out, :self.n_in] = plus
        self._t = t + [self.n_in + 1] * (self.nf * pe - self.n_out)
        self._bits = bits
        super().__init__({
            "x": In(stream.Signature(unsigned(simd))),
            "y": Out(stream.Signature(unsigned(pe))),
        })

    @property
    def macs_per_cycle(self) -> int:
        return self.simd * self.pe

    def weight_words(self) -> list[int]:
        """The weight ROM's words (module docstring, "Memories")."""
        s, p = self.simd, self.pe
        # [f, p, s, i] -> word f*SF + s, bit p*SIMD + i
        blocks = self._bits.reshape(self.nf, p, self.sf, s).transpose(0, 2, 1, 3)
        flat = blocks.reshape(self.nf * self.sf, p * s)
        weights = 1 << np.arange(p * s, dtype=object)
        return [int((row.astype(object) * weights).sum()) for row in flat]

    def threshold_words(self) -> list[int]:
        """The threshold ROM's words: fold ``f``, row ``f*PE+p`` in field ``p``."""
        w = self.threshold_width
        return [sum(self._t[f * self.pe + p] << (p * w) for p in range(self.pe))
                for f in range(self.nf)]

    @property
    def acc_width(self) -> int:
        return self.n_in.bit_length()

    @property
    def threshold_width(self) -> int:
        return (self.n_in + 1).bit_length()

    def elaborate(self, platform):
        m = Module()
        S, P, SF, NF = self.simd, self.pe, self.sf, self.nf
        go = Signal()  # the pipeline advances: the output register is free or being taken
        m.d.comb += go.eq(~self.y.valid | self.y.ready)

        m.submodules.weights = wmem = memory.Memory(
            shape=unsigned(P * S), depth=NF * SF, init=self.weight_words())
        w_rd = wmem.read_port()
        tw = self.threshold_width
        m.submodules.thresholds = tmem = memory.Memory(
            shape=unsigned(P * tw), depth=NF, init=self.threshold_words())
        t_rd = tmem.read_port()

        # ---- stage 0: issue one input word of one fold
        sf, nf = Signal(range(SF)), Signal(range(NF))
        waddr = Signal(range(NF * SF))
        first_fold, last_word = Signal(), Signal()
        m.d.comb += [first_fold.eq(nf == 0), last_word.eq(sf == SF - 1)]
        issue = Signal()
        m.d.comb += [self.x.ready.eq(go & first_fold),
                     issue.eq(go & (~first_fold | self.x.valid))]
        word = Signal(S)
        tail = self.n_in - (SF - 1) * S  # inputs in the last word
        m.d.comb += word.eq(self.x.payload if tail == S else
                            self.x.payload & Mux(last_word, (1 << tail) - 1, (1 << S) - 1))
        with m.If(issue):
            m.d.sync += [sf.eq(Mux(last_word, 0, sf + 1)),
                         waddr.eq(Mux(last_word & (nf == NF - 1), 0, waddr + 1))]
            with m.If(last_word):
                m.d.sync += nf.eq(Mux(nf == NF - 1, 0, nf + 1))
        m.d.comb += [w_rd.addr.eq(waddr), w_rd.en.eq(go)]

        # ---- stage 1: weight and input-buffer reads arrive
        v1, first1, last1, stream1 = Signal(), Signal(), Signal(), Signal()
        x1, nf1 = Signal(S), Signal.like(nf)
        with m.If(go):
            m.d.sync += [v1.eq(issue), first1.eq(sf == 0), last1.eq(last_word),
                         stream1.eq(first_fold), x1.eq(word), nf1.eq(nf)]
        x_now = x1
        if NF > 1:  # folds 1..NF-1 replay the vector from the input buffer
            m.submodules.inputs = imem = memory.Memory(shape=unsigned(S), depth=SF, init=[])
            i_wr, i_rd = imem.write_port(), imem.read_port()
            m.d.comb += [i_wr.addr.eq(sf), i_wr.data.eq(word), i_wr.en.eq(issue & first_fold),
                         i_rd.addr.eq(sf), i_rd.en.eq(go)]
            x_now = Mux(stream1, x1, i_rd.data)

        # ---- stage 2: registered weights and input word; XNOR and popcount per row
        v2, first2, last2, nf2 = Signal(), Signal(), Signal(), Signal.like(nf)
        w2, x2 = Signal(P * S), Signal(S)
        with m.If(go):
            m.d.sync += [v2.eq(v1), first2.eq(first1), last2.eq(last1), nf2.eq(nf1),
                         w2.eq(w_rd.data), x2.eq(x_now)]
        counts = [popcount(~(w2[p * S:(p + 1) * S] ^ x2)) for p in range(P)]

        # ---- stage 3: popcounts registered; accumulate (stage 4: compare)
        v3, first3, last3, nf3 = Signal(), Signal(), Signal(), Signal.like(nf)
        pc3 = [Signal(range(S + 1), name=f"pc{p}") for p in range(P)]
        with m.If(go):
            m.d.sync += [v3.eq(v2), first3.eq(first2), last3.eq(last2), nf3.eq(nf2)]
            m.d.sync += [r.eq(c) for r, c in zip(pc3, counts)]
        m.d.comb += [t_rd.addr.eq(nf3), t_rd.en.eq(go)]
        _accumulate_and_compare(self, m, go, (v3, first3, last3), pc3, t_rd.data)
        return m


def _accumulate_and_compare(unit: DenseMVU, m: Module, go, stage3, counts, thresholds) -> None:
    """Stage 3: each row's accumulator adds its popcount (starting over at a fold's first
    word) and keeps the row value at its last; stage 4: the row values against the
    thresholds (``thresholds``: the threshold ROM's word for the fold in stage 4) into
    the output register."""
    v3, first3, last3 = stage3
    P, tw = unit.pe, unit.threshold_width
    v4 = Signal()
    rows = [Signal(unit.acc_width, name=f"row{p}") for p in range(P)]
    with m.If(go):
        m.d.sync += v4.eq(v3 & last3)
    for p in range(P):
        acc = Signal(unit.acc_width, name=f"acc{p}")
        total = Mux(first3, 0, acc) + counts[p]
        with m.If(go & v3):
            m.d.sync += acc.eq(total)
            with m.If(last3):
                m.d.sync += rows[p].eq(total)
    with m.If(go):
        m.d.sync += unit.y.valid.eq(v4)
        with m.If(v4):
            m.d.sync += [unit.y.payload[p].eq(rows[p] >= thresholds[p * tw:(p + 1) * tw])
                         for p in range(P)]
