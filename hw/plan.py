"""From a ``tnn-model-v1`` network to the engine's memory images and bit widths.

Pure Python, no RTL: :func:`plan_engine` (:func:`hw.binary_plan.plan_binary` or
:func:`plan_float` by the model's activation) decides everything the engine
(:mod:`hw.engine`) is generated from, and refuses models that break a stated
limit (:data:`LIMITS`) with :class:`PlanError`, whose message starts with the
field.

One plan type per engine kind: :class:`BinaryPlan` and :class:`FloatPlan`
share :class:`EnginePlan` (the weight side: one RLE word stream for all
layers, one field width, one row walk per layer, one constant per row); their
layers are :class:`BinaryLayerPlan` and :class:`FloatLayerPlan`. Each kind's
types live in its own module (:mod:`hw.binary_plan`, :mod:`hw.float_plan`)
and are served from here too. They differ
in the row constants and in what a row produces: the arithmetic of each kind,
and the row constants it folds, are in :mod:`hw.binary_engine` and
:mod:`hw.float_datapath`. Two scales per row are a *weighted* layer in a
binary plan (integer weights ``kp``, ``kn``) and an *asymmetric* layer in a
float plan (a second scale ``sn``), as in the model file.

Thresholds outside a row's accumulator range (constant bits, valid in the model
file) are clamped to the value that gives the same constant bit before they are
folded. A binary model with binary inputs (``input_threshold``) gets its input
bits written as pixels 0 and 1 (:func:`hw.binary_plan.engine_inputs`); the binary engine's
first layer then walks bit plane 0 once, as an XNOR-popcount layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import numpy as np

from sw import rle

from sw.errors import InputError
from sw.model_file import TnnModel

from .conv_plan import ActivationLayout, ConvGeometry

__all__ = ["LIMITS", "LayerPlan", "BinaryLayerPlan", "FloatLayerPlan", "EnginePlan", "BinaryPlan",
           "FloatPlan", "PlanError", "plan_engine", "plan_float", "choose_field_width",
           "signed_width", "MAX_SKIP_FRACTION", "FLOAT_ADD_LATENCY", "FLOAT_MUL_LATENCY"]

#: Default pipeline latencies of the float engine's adders and multiplier (cycles).
FLOAT_ADD_LATENCY = 3
FLOAT_MUL_LATENCY = 3

#: What the generator accepts; anything beyond is refused with a clear message.
LIMITS = {
    "reuse": (1, 256),            # R, PEs per decompressor
    "lanes": (1, 16),             # K, nonzeros per PE per cycle (binary engine)
    "layers": (1, 16),
    "width": (1, 1 << 16),        # inputs or outputs of any layer
    "weight_words": (1, 1 << 22),  # RLE words of all layers together
    "score_bits": (1, 32),        # outputs are int32
    "add_latency": (1, 8),        # float engine: FP32Add latencies with a register
    "mul_latency": (1, 7),        # float engine: FP32Mul latencies with a register
}


class PlanError(InputError):
    """The model does not fit the engine's limits; the message starts with the field."""


def signed_width(lo: int, hi: int) -> int:
    """Bits of the smallest two's-complement type holding every value in [lo, hi]."""
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


@dataclass(frozen=True)
class LayerPlan:
    """One layer's place in the engine's memories and its RLE walk (both kinds)."""

    n_in: int
    n_out: int
    last: bool           # outputs go to the output buffer (the network's last layer)
    word_base: int       # first RLE word in the weight memory
    word_count: int
    const_base: int      # first row constant in the row-constant memory
    nonzeros: int
    skip_words: int
    empty_rows: int

    @property
    def outputs(self) -> int:
        """Values the layer writes: its rows for a dense layer; for a convolution (a
        kind's ``conv`` geometry) its rows times the pooled output pixels."""
        conv = getattr(self, "conv", None)
        return self.n_out if conv is None else self.n_out * conv.hq * conv.wq


def _passes(lp) -> int:
    """Walks of each of the layer's rows (1 for dense layers)."""
    return getattr(lp, "passes", 1)


@dataclass(frozen=True)
class EnginePlan:
    """What both engine kinds are generated from; build one with :func:`plan_engine`.

    ``words`` are all layers' RLE words (uint32), ``row_consts`` one constant per
    row, layer after layer (:attr:`LayerPlan.const_base`). Each kind also gives
    ``kind`` (``"binary"`` or ``"float"``: the datapath, ``hw.engine.DATAPATHS``),
    ``act_width`` (bits of one hidden activation), ``out_width`` (bits of one
    output word), ``const_width`` (bits of one row constant) and ``golden_lanes``
    (the golden model's ``lanes`` argument for this engine).
    """

    kind: ClassVar[str]
    act_width: ClassVar[int]

    reuse: int
    field_width: int
    layers: tuple[LayerPlan, ...]
    words: np.ndarray
    row_consts: np.ndarray

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
    def batch(self) -> int:
        """B, the images per batch: R / P (P: ``pixel_group``, output pixels per
        walk of a conv layer, :mod:`hw.conv_plan`)."""
        return self.reuse // getattr(self, "pixel_group", 1)

    @property
    def group_overrun(self) -> int:
        """Addresses past a conv layer's input area that the missing slots of a
        short group may read (P > 1): the activation memories are that much deeper."""
        steps = [lp.conv.pe_step for lp in self.layers if getattr(lp, "conv", None) is not None]
        return (getattr(self, "pixel_group", 1) - 1) * max(steps, default=0)

    @property
    def hidden_width(self) -> int:
        """Deepest activation buffer needed (0 for a one-layer network)."""
        return max((lp.n_out for lp in self.layers[:-1]), default=0)

    @property
    def conv(self) -> bool:
        """The network has convolution layers: the activation memory has the flat
        layout of :mod:`hw.conv_plan` (``layout``)."""
        return getattr(self, "layout", None) is not None

    @property
    def input_addresses(self) -> np.ndarray:
        """The host's ``load`` address of each input pixel."""
        return self.layout.input_addresses if self.conv else np.arange(self.n_inputs)

    def hidden_addresses(self, layer: int) -> np.ndarray:
        """The host's debug ``hidden`` address of each output of hidden layer ``layer``."""
        return self.layout.hidden_addresses[layer] if self.conv else np.arange(self.layers[layer].outputs)

    @property
    def load_span(self) -> int:
        """Addresses of the ``load`` port."""
        return int(self.input_addresses.max()) + 1

    @property
    def hidden_span(self) -> int:
        """Addresses of the debug ``hidden`` port (0: no hidden layer)."""
        return max((int(self.hidden_addresses(l).max()) + 1 for l in range(len(self.layers) - 1)),
                   default=0)

    @property
    def ideal_cycles(self) -> int:
        """Cycles per batch at one nonzero per cycle: the sum of all nonzeros, a
        conv layer's once per walk of every row (a group of P output pixels)."""
        return sum(lp.nonzeros * _passes(lp) for lp in self.layers)

    @property
    def walks(self) -> int:
        """Row walks per batch: every row once, a conv layer's once per walk (group of P pixels)."""
        return sum(lp.n_out * _passes(lp) for lp in self.layers)

    def cycle_budget(self, layer_overhead: int, row_overhead: int = 0) -> dict:
        """Where a batch's cycles go: one per nonzero (the ideal), one per skip
        word and per empty row (RLE control words), ``row_overhead`` per row
        walk (float: the adder slots the lane reduction takes) and
        ``layer_overhead`` per layer (the engine's pipeline drain and
        decompressor start); a conv layer's rows count once per walk."""
        budget = {
            "nonzeros": self.ideal_cycles,
            "skip_words": sum(lp.skip_words * _passes(lp) for lp in self.layers),
            "empty_rows": sum(lp.empty_rows * _passes(lp) for lp in self.layers),
            "layer_overhead": layer_overhead * len(self.layers),
        }
        if row_overhead:
            budget["row_overhead"] = row_overhead * self.walks
        return budget

    def summary(self) -> dict:
        """The plan as JSON values: its scalar fields (widths, latencies), sizes
        and per-layer walk; no memory contents."""
        scalars = {f.name: getattr(self, f.name) for f in fields(self)}
        return {"activation": self.kind, "weight_words": len(self.words),
                "ideal_cycles_per_batch": self.ideal_cycles,
                **{k: v for k, v in scalars.items() if isinstance(v, int)},
                "layers": [asdict(lp) for lp in self.layers]}


def _check_range(name: str, value: int, limit_key: str) -> None:
    lo, hi = LIMITS[limit_key]
    if not lo <= value <= hi:
        raise PlanError(f"{name}: {value} is outside the supported range {lo}..{hi}")


#: Largest share of extra cycles that skip words may cost when the run-field
#: width is chosen automatically (see :func:`choose_field_width`).
MAX_SKIP_FRACTION = 0.02


def choose_field_width(weights, max_skip_fraction: float = MAX_SKIP_FRACTION, walks=None) -> int:
    """One run-field width for all layers: the fewest total bits among the widths
    whose skip words add at most ``max_skip_fraction`` cycles per nonzero.

    Each skip word costs the decompressor a cycle, so the width with the fewest
    bits is not always the fastest. Falls back to the fewest bits overall if no
    width meets the budget. ``walks[l]``: how often each row of layer ``l`` is
    walked (conv layers: once per output pixel; default 1), weighting its
    nonzeros and skip words (cycles), not its bits (storage).
    """
    walks = [1] * len(weights) if walks is None else list(walks)
    max_cols = max(int(w.shape[1]) for w in weights)
    nonzeros = max(1, sum(k * int(np.count_nonzero(w)) for k, w in zip(walks, weights)))
    candidates = []
    for g in range(1, min(rle.MAX_FIELD_WIDTH, max(1, max_cols.bit_length())) + 1):
        bits = sum(rle.encoded_bits(w, g) for w in weights)
        skips = sum(k * rle.encode(w, g).n_skips for k, w in zip(walks, weights))
        candidates.append((skips / nonzeros <= max_skip_fraction, bits, g))
    within = [c for c in candidates if c[0]] or candidates
    return min(within, key=lambda c: (c[1], c[2]))[2]


def plan_engine(model: TnnModel, reuse: int, field_width: int | None = None, lanes: int | None = None,
                pixel_group: int = 1, **float_options) -> BinaryPlan | FloatPlan:
    """:func:`hw.binary_plan.plan_binary` or :func:`plan_float`, by the model's activation;
    ``pixel_group``: P, output pixels per walk of a conv layer (R = B x P)."""
    if model.activation == "binary":
        if float_options:
            raise PlanError(f"{next(iter(float_options))}: only float models have this option")
        from .binary_plan import plan_binary  # its module builds on this one
        return plan_binary(model, reuse, field_width, lanes, pixel_group)
    from .float_plan import plan_float
    if lanes not in (None, 1):
        raise PlanError(f"lanes: the float engine takes one nonzero per cycle, got {lanes}")
    return plan_float(model, reuse, field_width, pixel_group=pixel_group, **float_options)


def _check_shape_and_width(model: TnnModel, reuse: int, field_width: int | None, walked=None,
                           walks=None) -> int:
    """The checks both kinds share; returns the run-field width to use.
    ``walked``: the matrices a convolution network's rows are walked over
    (their layer-to-layer shapes are the model file's to check), ``walks`` how
    often each layer's rows are walked (:func:`choose_field_width`)."""
    _check_range("reuse", reuse, "reuse")
    _check_range("layers", model.n_layers, "layers")
    for l, w in enumerate(model.weights if walked is None else walked):
        _check_range(f"w{l}: inputs", int(w.shape[1]), "width")
        _check_range(f"w{l}: outputs", int(w.shape[0]), "width")
    for l in range(1, model.n_layers if walked is None else 0):
        n_in, n_prev = int(model.weights[l].shape[1]), int(model.weights[l - 1].shape[0])
        if n_in != n_prev:
            raise PlanError(f"w{l}: {n_in} inputs, but layer {l - 1} has {n_prev} outputs")
    if field_width is None:
        return choose_field_width(model.weights if walked is None else walked, walks=walks)
    if not 1 <= field_width <= rle.MAX_FIELD_WIDTH:
        raise PlanError(f"field_width: must be in 1..{rle.MAX_FIELD_WIDTH}, got {field_width}")
    return field_width


def _walk_layers(model: TnnModel, field_width: int, walked=None) -> tuple[list[dict], np.ndarray]:
    """Every layer's RLE words (concatenated) and the :class:`LayerPlan` fields
    both kinds share; row constants are laid out one per row, layer after layer
    (``const_base``). ``walked``: the matrices walked (default the weights)."""
    layers, words, rows_before = [], [], 0
    for l, w in enumerate(model.weights if walked is None else walked):
        code = rle.encode(w, field_width)
        nnz = (w != 0).sum(axis=1)
        layers.append(dict(
            n_in=int(w.shape[1]), n_out=int(w.shape[0]),
            last=l == model.n_layers - 1, word_base=sum(len(c) for c in words),
            word_count=len(code.words), const_base=rows_before, nonzeros=int(nnz.sum()),
            skip_words=code.n_skips, empty_rows=int((nnz == 0).sum())))
        words.append(code.words)
        rows_before += int(w.shape[0])
    all_words = np.concatenate(words).astype(np.uint32)
    _check_range("weights: RLE words", len(all_words), "weight_words")
    return layers, all_words


#: Each kind's plan lives in its own module, built on the types above: these names are
#: served from there on first use (so either module may be imported first).
_KIND_MODULES = {"BinaryLayerPlan": "binary_plan", "BinaryPlan": "binary_plan",
                 "FloatLayerPlan": "float_plan", "FloatPlan": "float_plan", "plan_float": "float_plan"}


def __getattr__(name: str):
    if name not in _KIND_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f".{_KIND_MODULES[name]}", __package__), name)
