"""From a ``tnn-model-v1`` network to the engine's memory images and bit widths.

Pure Python, no RTL: :func:`plan_binary` decides everything the binary engine
(:mod:`hw.engine`) is generated from, and refuses models that break a stated
limit (:data:`LIMITS`) with a message naming the field.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sw import rle
from sw.model_file import PIXEL_MAX, TnnModel

__all__ = ["LIMITS", "LayerPlan", "EnginePlan", "PlanError", "plan_binary", "choose_field_width",
           "signed_width", "MAX_SKIP_FRACTION"]

#: What the generator accepts; anything beyond is refused with a clear message.
LIMITS = {
    "reuse": (1, 256),            # R, PEs per decompressor
    "layers": (1, 16),
    "width": (1, 1 << 16),        # inputs or outputs of any layer
    "weight_words": (1, 1 << 22),  # RLE words of all layers together
    "score_bits": (1, 32),        # outputs are int32
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


@dataclass(frozen=True)
class EnginePlan:
    reuse: int
    field_width: int
    layers: tuple[LayerPlan, ...]
    words: np.ndarray          # uint32, all layers' RLE words
    row_consts: np.ndarray     # int64, all layers' K
    acc_width: int             # signed accumulator width
    score_width: int           # signed width of (acc << shift) - K
    const_width: int           # signed width of K

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

    def cycle_budget(self, layer_overhead: int) -> dict:
        """Where a batch's cycles go: one per nonzero (the ideal), one per skip
        word and per empty row (RLE control words), and ``layer_overhead`` per
        layer (the engine's pipeline drain and decompressor start)."""
        return {
            "nonzeros": self.ideal_cycles,
            "skip_words": sum(lp.skip_words for lp in self.layers),
            "empty_rows": sum(lp.empty_rows for lp in self.layers),
            "layer_overhead": layer_overhead * len(self.layers),
        }


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


def plan_binary(model: TnnModel, reuse: int, field_width: int | None = None) -> EnginePlan:
    """Plan the binary engine for ``model`` with ``reuse`` PEs (R); the run-field
    width is :func:`choose_field_width`'s unless given."""
    if model.activation != "binary":
        raise PlanError(f"activation: the binary engine needs a 'binary' model, got {model.activation!r}")
    _check_range("reuse", reuse, "reuse")
    n_layers = model.n_layers
    _check_range("layers", n_layers, "layers")
    for l, w in enumerate(model.weights):
        _check_range(f"w{l}: inputs", int(w.shape[1]), "width")
        _check_range(f"w{l}: outputs", int(w.shape[0]), "width")

    if field_width is None:
        field_width = choose_field_width(model.weights)
    elif not 1 <= field_width <= rle.MAX_FIELD_WIDTH:
        raise PlanError(f"field_width: must be in 1..{rle.MAX_FIELD_WIDTH}, got {field_width}")

    layers, words, consts = [], [], []
    acc_lo, acc_hi, score_lo, score_hi = 0, 0, 0, 0
    for l, w in enumerate(model.weights):
        code = rle.encode(w, field_width)
        w64 = w.astype(np.int64)
        plus, minus = (w64 > 0).sum(axis=1), (w64 < 0).sum(axis=1)
        nnz = plus + minus
        last = l == n_layers - 1
        bits_mode = l > 0
        if bits_mode:
            lo, hi = np.zeros_like(nnz), nnz                  # p in [0, nnz]
            k = nnz if last else model.thresholds[l].astype(np.int64) + nnz
            s_lo, s_hi = 2 * lo - k, 2 * hi - k
        else:
            lo, hi = -PIXEL_MAX * minus, PIXEL_MAX * plus
            k = np.zeros_like(nnz) if last else model.thresholds[l].astype(np.int64)
            s_lo, s_hi = lo - k, hi - k
        acc_lo, acc_hi = min(acc_lo, int(lo.min())), max(acc_hi, int(hi.max()))
        score_lo, score_hi = min(score_lo, int(s_lo.min())), max(score_hi, int(s_hi.max()))
        layers.append(LayerPlan(
            n_in=int(w.shape[1]), n_out=int(w.shape[0]), bits_mode=bits_mode, last=last,
            word_base=sum(len(c) for c in words), word_count=len(code.words),
            const_base=sum(len(c) for c in consts), nonzeros=int(nnz.sum()),
            skip_words=code.n_skips, empty_rows=int((nnz == 0).sum())))
        words.append(code.words)
        consts.append(k)

    for l in range(1, n_layers):
        if layers[l].n_in != layers[l - 1].n_out:
            raise PlanError(f"w{l}: {layers[l].n_in} inputs, but layer {l - 1} has "
                            f"{layers[l - 1].n_out} outputs")
    all_words = np.concatenate(words).astype(np.uint32)
    _check_range("weights: RLE words", len(all_words), "weight_words")
    all_consts = np.concatenate(consts).astype(np.int64)
    score_width = signed_width(score_lo, score_hi)
    _check_range("scores: bits", score_width, "score_bits")
    return EnginePlan(
        reuse=reuse, field_width=field_width, layers=tuple(layers), words=all_words,
        row_consts=all_consts,
        acc_width=signed_width(acc_lo, acc_hi),
        score_width=score_width,
        const_width=signed_width(int(all_consts.min()), int(all_consts.max())),
    )
