"""From a ``tnn-model-v1`` network to the engine's memory images and bit widths.

Pure Python, no RTL: :func:`plan_engine` (:func:`plan_binary` or
:func:`plan_float` by the model's activation) decides everything the engine
(:mod:`hw.engine`) is generated from, and refuses models that break a stated
limit (:data:`LIMITS`) with a message naming the field.

Both kinds share the weight side: one RLE word stream for all layers, one
field width, one row walk per layer. They differ in the row constants and in
what a row produces (see below and :mod:`hw.float_datapath`).

Arithmetic of the binary engine (model file: ``sw/model_file.py``)
-------------------------------------------------------------------
Every layer is walked row by row; the PE accumulates only over the row's
nonzero weights (zero weights cost no cycle):

* layer 0, ``pixels`` mode: ``acc = sum w_i * x_i`` over 8-bit pixels (signed).
* layers >= 1, ``bits`` mode (XNOR-popcount): ``acc = p``, the number of
  nonzero weights whose sign agrees with the input bit (``a_i XNOR w_i``).
  The model's dot product is then ``2p - nnz_row``.

At each row end the output stage forms ``score = (acc << shift) - K_row`` with
``shift = 0`` (pixels) or ``1`` (bits) and a per-row constant ``K``:

* hidden layer: ``K = t`` (pixels) or ``K = t + nnz_row`` (bits), and the
  output bit is ``score >= 0``, i.e. ``acc >= t`` or ``2p - nnz_row >= t``:
  the row's nonzero count is folded into the constant, not ``N``.
* last layer: ``K = 0`` (pixels) or ``K = nnz_row`` (bits), and ``score`` is
  the layer's int32 output.

Weighted engines (a model with ``kp{l}``/``kn{l}``; ``EnginePlan.weighted``):
each weight carries an integer ``c = +kp_row`` (weight +1) or ``c = -kn_row``
(weight -1), read from a second per-row memory (ordinary layers of such a
model get ``kp = kn = 1``), and every layer uses

* pixels: ``acc = sum c_i * x_i`` (one 8-bit x ``K_BITS + 1``-bit multiplier
  per PE), ``K = t`` or 0 as above;
* bits: ``acc = sum of c_i over the inputs whose bit is 1``; the model's sum
  ``sum c_i * (2 a_i - 1)`` is ``2 acc - sum c_i``, so ``K = t + sum c_i``
  (hidden) or ``K = sum c_i`` (last), ``sum c_i = kp * n_plus - kn * n_minus``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sw import rle
from sw.golden import preprocess  # layer 0's input function, shared with the golden model
from sw.model_file import PIXEL_MAX, TnnModel, accumulator_range

__all__ = ["LIMITS", "LayerPlan", "EnginePlan", "PlanError", "plan_engine", "plan_binary",
           "plan_float", "choose_field_width", "signed_width", "MAX_SKIP_FRACTION",
           "FLOAT_ADD_LATENCY", "FLOAT_MUL_LATENCY"]

#: Default pipeline latencies of the float engine's adders and multiplier (cycles).
FLOAT_ADD_LATENCY = 3
FLOAT_MUL_LATENCY = 3

#: What the generator accepts; anything beyond is refused with a clear message.
LIMITS = {
    "reuse": (1, 256),            # R, PEs per decompressor
    "layers": (1, 16),
    "width": (1, 1 << 16),        # inputs or outputs of any layer
    "weight_words": (1, 1 << 22),  # RLE words of all layers together
    "score_bits": (1, 32),        # outputs are int32
    "add_latency": (1, 5),        # float engine: FP32Add latencies with a register
    "mul_latency": (1, 4),        # float engine: FP32Mul latencies with a register
}


class PlanError(ValueError):
    """The model does not fit the engine's limits; the message names the field."""


def signed_width(lo: int, hi: int) -> int:
    """Bits of the smallest two's-complement type holding every value in [lo, hi]."""
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


@dataclass(frozen=True)
class LayerPlan:
    n_in: int
    n_out: int
    bits_mode: bool      # XNOR-popcount over input bits (layers >= 1)
    last: bool           # outputs scores instead of bits
    word_base: int       # first RLE word in the weight memory
    word_count: int
    const_base: int      # first row constant in the constant memory
    nonzeros: int
    skip_words: int
    empty_rows: int
    asymmetric: bool = False  # float: separate sums and scales for +1 and -1 weights;
    #                           binary: a weighted layer (kp, kn of the model file)


@dataclass(frozen=True)
class EnginePlan:
    """Everything the engine is generated from.

    ``kind == "binary"``: ``row_consts`` are the signed K of each row, and
    ``acc_width``/``score_width``/``const_width`` the signed widths that never
    overflow. ``kind == "float"``: ``row_consts`` are each row's ``s | b << 32``
    (binary32 bit patterns, uint64), ``const_width`` is 64, ``score_width`` 32,
    ``x_table[p]`` the binary32 bits of ``fl(fl(p * x_scale) + x_offset)`` for
    every pixel value ``p`` (layer 0's inputs), and ``add_latency``/``mul_latency``
    the floating-point units' pipeline latencies. A weighted binary engine
    (``row_k`` not None) has each row's ``kp | kn << k_width`` in ``row_k``.
    """

    reuse: int
    field_width: int
    layers: tuple[LayerPlan, ...]
    words: np.ndarray          # uint32, all layers' RLE words
    row_consts: np.ndarray     # int64 K (binary) or uint64 s | b << 32 (float)
    acc_width: int             # signed accumulator width (binary)
    score_width: int           # signed width of (acc << shift) - K; 32 for float
    const_width: int           # signed width of K; 64 for float
    kind: str = "binary"
    add_latency: int = 0       # float only
    mul_latency: int = 0       # float only
    x_table: np.ndarray | None = None  # float only: uint32 [256]
    row_k: np.ndarray | None = None    # weighted binary only: uint64 kp | kn << k_width per row
    k_width: int = 0                   # weighted binary only: unsigned bits of kp and kn

    @property
    def weighted(self) -> bool:
        """A binary engine whose PEs multiply each weight by its row's kp or kn."""
        return self.row_k is not None

    @property
    def asymmetric(self) -> bool:
        """Some layer keeps separate sums (float) or integer weights (binary) for
        its +1 and -1 weights."""
        return any(lp.asymmetric for lp in self.layers)

    @property
    def act_width(self) -> int:
        """Bits of one hidden activation: 1 (binary) or 32 (binary32)."""
        return 1 if self.kind == "binary" else 32

    @property
    def rows(self) -> int:
        return sum(lp.n_out for lp in self.layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def hidden_width(self) -> int:
        """Deepest bit buffer needed (0 for a one-layer network)."""
        return max((lp.n_out for lp in self.layers[:-1]), default=0)

    @property
    def ideal_cycles(self) -> int:
        """Cycles per batch at one nonzero per cycle: the sum of all nonzeros."""
        return sum(lp.nonzeros for lp in self.layers)

    def cycle_budget(self, layer_overhead: int, row_overhead: int = 0) -> dict:
        """Where a batch's cycles go: one per nonzero (the ideal), one per skip
        word and per empty row (RLE control words), ``row_overhead`` per row
        (float: the adder slots the lane reduction takes) and ``layer_overhead``
        per layer (the engine's pipeline drain and decompressor start)."""
        budget = {
            "nonzeros": self.ideal_cycles,
            "skip_words": sum(lp.skip_words for lp in self.layers),
            "empty_rows": sum(lp.empty_rows for lp in self.layers),
            "layer_overhead": layer_overhead * len(self.layers),
        }
        if row_overhead:
            budget["row_overhead"] = row_overhead * self.rows
        return budget


def _check_range(name: str, value: int, limit_key: str) -> None:
    lo, hi = LIMITS[limit_key]
    if not lo <= value <= hi:
        raise PlanError(f"{name}: {value} is outside the supported range {lo}..{hi}")


#: Largest share of extra cycles that skip words may cost when the run-field
#: width is chosen automatically (see :func:`choose_field_width`).
MAX_SKIP_FRACTION = 0.02


def choose_field_width(weights, max_skip_fraction: float = MAX_SKIP_FRACTION) -> int:
    """One run-field width for all layers: the fewest total bits among the widths
    whose skip words add at most ``max_skip_fraction`` cycles per nonzero.

    Each skip word costs the decompressor a cycle, so the width with the fewest
    bits is not the fastest: on a 96 %-sparse 784-512-512-512-10 network it
    spends ~10 % extra cycles on skips where one more bit per word spends ~2 %.
    Falls back to the fewest bits overall if no width meets the budget.
    """
    max_cols = max(int(w.shape[1]) for w in weights)
    nonzeros = max(1, sum(int(np.count_nonzero(w)) for w in weights))
    candidates = []
    for g in range(1, min(rle.MAX_FIELD_WIDTH, max(1, max_cols.bit_length())) + 1):
        bits = sum(rle.encoded_bits(w, g) for w in weights)
        skips = sum(rle.encode(w, g).n_skips for w in weights)
        candidates.append((skips / nonzeros <= max_skip_fraction, bits, g))
    within = [c for c in candidates if c[0]] or candidates
    return min(within, key=lambda c: (c[1], c[2]))[2]


def plan_engine(model: TnnModel, reuse: int, field_width: int | None = None, **float_options) -> EnginePlan:
    """:func:`plan_binary` or :func:`plan_float`, by the model's activation."""
    if model.activation == "binary":
        if float_options:
            raise PlanError(f"{next(iter(float_options))}: only float models have this option")
        return plan_binary(model, reuse, field_width)
    return plan_float(model, reuse, field_width, **float_options)


def _check_shape_and_width(model: TnnModel, reuse: int, field_width: int | None) -> int:
    """The checks both kinds share; returns the run-field width to use."""
    _check_range("reuse", reuse, "reuse")
    _check_range("layers", model.n_layers, "layers")
    for l, w in enumerate(model.weights):
        _check_range(f"w{l}: inputs", int(w.shape[1]), "width")
        _check_range(f"w{l}: outputs", int(w.shape[0]), "width")
    for l in range(1, model.n_layers):
        n_in, n_prev = int(model.weights[l].shape[1]), int(model.weights[l - 1].shape[0])
        if n_in != n_prev:
            raise PlanError(f"w{l}: {n_in} inputs, but layer {l - 1} has {n_prev} outputs")
    if field_width is None:
        return choose_field_width(model.weights)
    if not 1 <= field_width <= rle.MAX_FIELD_WIDTH:
        raise PlanError(f"field_width: must be in 1..{rle.MAX_FIELD_WIDTH}, got {field_width}")
    return field_width


def _walk_layers(model: TnnModel, field_width: int) -> tuple[tuple[LayerPlan, ...], np.ndarray]:
    """Every layer's RLE words (concatenated) and :class:`LayerPlan`; row constants
    are laid out one per row, layer after layer (``const_base``)."""
    layers, words, rows_before = [], [], 0
    for l, w in enumerate(model.weights):
        code = rle.encode(w, field_width)
        nnz = (w != 0).sum(axis=1)
        layers.append(LayerPlan(
            n_in=int(w.shape[1]), n_out=int(w.shape[0]), bits_mode=l > 0,
            last=l == model.n_layers - 1, word_base=sum(len(c) for c in words),
            word_count=len(code.words), const_base=rows_before, nonzeros=int(nnz.sum()),
            skip_words=code.n_skips, empty_rows=int((nnz == 0).sum())))
        words.append(code.words)
        rows_before += int(w.shape[0])
    all_words = np.concatenate(words).astype(np.uint32)
    _check_range("weights: RLE words", len(all_words), "weight_words")
    return tuple(layers), all_words


def plan_binary(model: TnnModel, reuse: int, field_width: int | None = None) -> EnginePlan:
    """Plan the binary engine for ``model`` with ``reuse`` PEs (R); the run-field
    width is :func:`choose_field_width`'s unless given."""
    if model.activation != "binary":
        raise PlanError(f"activation: the binary engine needs a 'binary' model, got {model.activation!r}")
    field_width = _check_shape_and_width(model, reuse, field_width)
    n_layers = model.n_layers

    layers, all_words = _walk_layers(model, field_width)
    weighted = model.asymmetric
    layers = tuple(replace(lp, asymmetric=model.row_weight(l) is not None) for l, lp in enumerate(layers))
    consts, row_ks = [], []
    acc_lo, acc_hi, score_lo, score_hi = 0, 0, 0, 0
    for l, w in enumerate(model.weights):
        w64 = w.astype(np.int64)
        plus, minus = (w64 > 0).sum(axis=1), (w64 < 0).sum(axis=1)
        last = l == n_layers - 1
        t = 0 if last else model.thresholds[l].astype(np.int64)
        kp = kn = None
        if weighted:
            kp, kn = (np.ones_like(plus), np.ones_like(plus)) if model.row_weight(l) is None else (
                np.asarray(v, dtype=np.int64) for v in model.row_weight(l))
            row_ks.append((kp, kn))
        if l == 0:  # pixels: acc is the model's own accumulation
            lo, hi = accumulator_range(w, 0, None if kp is None else (kp, kn))
            k = t + np.zeros_like(plus)
            s_lo, s_hi = lo - k, hi - k
        else:  # bits mode: score = 2 acc - K
            if weighted:  # acc = sum of c over the inputs at 1
                lo, hi = -kn * minus, kp * plus
                k = t + kp * plus - kn * minus
            else:  # acc = p, the XNOR matches, in [0, nnz]
                nnz = plus + minus
                lo, hi = np.zeros_like(nnz), nnz
                k = t + nnz
            s_lo, s_hi = 2 * lo - k, 2 * hi - k
        acc_lo, acc_hi = min(acc_lo, int(lo.min())), max(acc_hi, int(hi.max()))
        score_lo, score_hi = min(score_lo, int(s_lo.min())), max(score_hi, int(s_hi.max()))
        consts.append(k)

    all_consts = np.concatenate(consts).astype(np.int64)
    score_width = signed_width(score_lo, score_hi)
    _check_range("scores: bits", score_width, "score_bits")
    row_k, k_width = None, 0
    if weighted:
        kp, kn = (np.concatenate([k[i] for k in row_ks]) for i in (0, 1))
        k_width = max(1, int(max(kp.max(), kn.max())).bit_length())
        row_k = (kp.astype(np.uint64) | (kn.astype(np.uint64) << np.uint64(k_width)))
    return EnginePlan(
        reuse=reuse, field_width=field_width, layers=layers, words=all_words,
        row_consts=all_consts,
        acc_width=signed_width(acc_lo, acc_hi),
        score_width=score_width,
        const_width=signed_width(int(all_consts.min()), int(all_consts.max())),
        row_k=row_k, k_width=k_width,
    )


def float_bits(values) -> np.ndarray:
    """binary32 bit patterns (uint32) of ``values``."""
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def plan_float(model: TnnModel, reuse: int, field_width: int | None = None, *,
               add_latency: int = FLOAT_ADD_LATENCY, mul_latency: int = FLOAT_MUL_LATENCY) -> EnginePlan:
    """Plan the float engine (:mod:`hw.float_datapath`) for ``model`` with ``reuse``
    PEs; each PE's adder has ``add_latency`` pipeline stages, which is also the
    number of interleaved partial sums per row (``sw.golden.float_accumulate``'s
    ``lanes``)."""
    if model.activation != "float":
        raise PlanError(f"activation: the float engine needs a 'float' model, got {model.activation!r}")
    _check_range("add_latency", add_latency, "add_latency")
    _check_range("mul_latency", mul_latency, "mul_latency")
    field_width = _check_shape_and_width(model, reuse, field_width)
    layers, all_words = _walk_layers(model, field_width)
    layers = tuple(replace(lp, asymmetric=model.neg_scale(l) is not None) for l, lp in enumerate(layers))
    s = np.concatenate([float_bits(v) for v in model.scales]).astype(np.uint64)
    b = np.concatenate([float_bits(v) for v in model.biases]).astype(np.uint64)
    consts = s | (b << np.uint64(32))
    if model.asymmetric:
        sn = np.concatenate([float_bits(model.neg_scale(l) if model.neg_scale(l) is not None
                                        else np.zeros(lp.n_out, np.float32)) for l, lp in enumerate(layers)])
        consts = np.array([int(c) | (int(n) << 64) for c, n in zip(consts, sn)], dtype=object)
    pixels = np.arange(PIXEL_MAX + 1, dtype=np.uint8)[None, :]
    x_table = float_bits(preprocess(pixels, model.x_scale, model.x_offset)[0])
    return EnginePlan(
        reuse=reuse, field_width=field_width, layers=layers, words=all_words,
        row_consts=consts, acc_width=32, score_width=32,
        const_width=96 if model.asymmetric else 64,
        kind="float", add_latency=add_latency, mul_latency=mul_latency, x_table=x_table)
