"""The binary engine's plan (:class:`BinaryPlan`, :class:`BinaryLayerPlan`, built on
:class:`hw.plan.EnginePlan`): K lanes, a bit-serial first layer, thresholds folded into
accumulator start values (arithmetic: :mod:`hw.binary_engine`).

Pure Python, no RTL; refusals are :class:`hw.plan.PlanError`, the message starting
with the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sw.model_file import PIXEL_MAX, TnnModel

from .conv_plan import (ActivationLayout, ConvGeometry, activation_layout, conv_geometry, has_conv,
                        walked_matrices)
from .lanes import encode_lanes, row_beats
from .plan import EnginePlan, LayerPlan, PlanError, _check_range, _check_shape_and_width, signed_width

__all__ = ["BinaryLayerPlan", "BinaryPlan", "plan_binary", "engine_inputs", "choose_lanes",
           "lane_field_width", "longest_lane_run", "PIXEL_PASSES", "LANE_CHOICES", "MIN_LANE_USE"]


@dataclass(frozen=True)
class BinaryLayerPlan(LayerPlan):
    """A binary layer as the engine's K lanes walk it (:mod:`hw.lanes`): each row
    ``passes`` times (8 for layer 0's pixel bits, else 1). ``word_base`` and
    ``word_count`` are the layer's words over all lanes (storage);
    ``lane_word_base``/``lane_word_count`` the walk of each lane's memory;
    ``beats`` the cycles of one walk of every row.

    A convolution layer (``conv``: its geometry, :mod:`hw.conv_plan`) walks each
    row once per group of P output pixels (:meth:`ConvGeometry.walks`) and bit
    plane (``passes = planes * conv.walks(P)``); ``n_out`` counts its rows (output channels), ``outputs``
    the values it writes. ``row_base`` is the layer's first row in
    :attr:`BinaryPlan.row_beats`; its row constants are ``classes`` per row
    (border classes, :mod:`hw.conv_plan`), entry ``class * n_out + row`` from
    ``const_base``, the class offset of output pixel ``(oy, ox)`` being
    ``class_rows_y[oy] + class_rows_x[ox]`` (empty tuples: one class).
    """

    bits_mode: bool      # XNOR-popcount over input bits (layers >= 1); layer 0 walks pixel bit planes
    weighted: bool       # integer weights kp, kn per row (kp{l}/kn{l} in the model file)
    passes: int
    lane_word_base: tuple[int, ...]
    lane_word_count: tuple[int, ...]
    beats: int
    row_base: int = 0
    pad_beats: int = 0   # null beats added to short rows (:func:`hw.binary_plan.min_walk_beats`)
    planes: int = 1
    conv: ConvGeometry | None = None
    classes: int = 1
    class_rows_y: tuple[int, ...] = ()
    class_rows_x: tuple[int, ...] = ()


@dataclass(frozen=True)
class BinaryPlan(EnginePlan):
    """The binary engine's plan (:mod:`hw.binary_engine`, arithmetic there).

    ``lanes`` is K, the nonzeros each PE takes per cycle; ``lane_words`` the K
    lanes' RLE words (:mod:`hw.lanes`), all layers each, and ``words`` all of
    them together (the weight storage); ``row_beats`` the words (beats) of each
    row in every lane, layer after layer. ``row_consts`` are each row's signed
    accumulator start value and ``row_carries`` its carry bits (layer 0: bit
    ``b`` is added with the first beat of the pass over pixel bit ``b``; 0 in
    other layers): a hidden row's bit is then ``acc >= 0``. ``out_consts`` and
    ``out_shift`` turn the last layer's accumulators into the model's scores,
    ``(acc << out_shift) - out_consts[j]``. ``acc_width``, ``last_acc_width``
    (the last layer's accumulators alone), ``const_width``,
    ``out_const_width`` and ``score_width`` are signed widths that never
    overflow. A weighted plan has ``row_k``, each row's ``kp | kn << k_width``
    (uint64; ``kp = kn = 1`` in its ordinary layers), ``k_width`` the unsigned
    bits of ``kp`` and ``kn``; else ``row_k`` is None and ``k_width`` 0.
    """

    kind: ClassVar[str] = "binary"
    act_width: ClassVar[int] = 1   # one bit per image
    golden_lanes: ClassVar[int] = 1  # exact integer sums: no partial sums

    lanes: int
    lane_words: tuple[np.ndarray, ...]
    row_beats: np.ndarray
    row_carries: np.ndarray
    out_consts: np.ndarray
    out_shift: int
    acc_width: int
    last_acc_width: int
    score_width: int
    const_width: int
    out_const_width: int
    row_k: np.ndarray | None = None
    k_width: int = 0
    layout: ActivationLayout | None = None
    pixel_group: int = 1

    @property
    def weighted(self) -> bool:
        """The PEs multiply each weight by its row's ``kp`` or ``kn``."""
        return self.row_k is not None

    @property
    def weighted_layers(self) -> int:
        return sum(lp.weighted for lp in self.layers)

    @property
    def out_width(self) -> int:
        """Bits of one output-buffer entry: the last layer's accumulator (its low
        bits: the last layer's range), which the host port turns into an int32 score."""
        return self.last_acc_width

    @property
    def ideal_cycles(self) -> int:
        """Cycles per batch at K nonzeros per cycle: ``passes * ceil(nnz / K)`` summed
        over every row."""
        return sum(lp.passes * (lp.beats - lp.empty_rows - lp.pad_beats) for lp in self.layers)

    def cycle_budget(self, layer_overhead: int, row_overhead: int = 0) -> dict:
        """Where a batch's cycles go: the ideal (``nonzeros``), one beat per walk
        of an empty row (``empty_rows``), ``layer_overhead`` per layer and, with
        P > 1, the null beats that pad short rows (``padding``) and the hidden
        layers' queued writes of their last group (``write_queue``,
        :mod:`hw.binary_conv`). Exact: lane streams have no skip words."""
        budget = {
            "nonzeros": self.ideal_cycles,
            "empty_rows": sum(lp.passes * lp.empty_rows for lp in self.layers),
            "layer_overhead": layer_overhead * len(self.layers),
        }
        if self.pixel_group > 1:
            budget["padding"] = sum(lp.passes * lp.pad_beats for lp in self.layers)
            budget["write_queue"] = sum(1 if lp.conv is None else lp.conv.last_group(self.pixel_group)
                                        for lp in self.layers if not lp.last)
        return budget




def engine_inputs(model: TnnModel, pixels: np.ndarray) -> np.ndarray:
    """What the host writes into the engine's input buffer for uint8 ``pixels``:
    the pixels, or for a binary model with binary inputs (``input_threshold`` T)
    the input bits ``pixel >= T`` as pixels 0 and 1, whose bit plane 0 the
    binary engine's first layer then walks once (:func:`plan_binary`)."""
    if not model.binary_input:
        return pixels
    return (np.asarray(pixels) >= model.input_threshold).astype(np.uint8)


#: Walks of each layer-0 row: one per pixel bit, most significant first.
PIXEL_PASSES = 8


def longest_lane_run(weights, lanes: int) -> int:
    """The longest run of zeros before a nonzero within one lane's part of a row
    (:mod:`hw.lanes`), over every row of ``weights``."""
    longest = 0
    for w in weights:
        for row in w:
            cols = np.flatnonzero(row)
            if cols.size:
                prev = np.concatenate([np.full(min(lanes, cols.size), -1), cols[:-lanes]])
                longest = max(longest, int((cols - prev - 1).max()))
    return longest


def lane_field_width(weights, lanes: int) -> int:
    """The binary engine's run-field width: the narrowest whose runs span every
    zero run in a lane, so lane streams have no skip words and the lanes never
    wait for each other."""
    return max(1, longest_lane_run(weights, lanes).bit_length())


def _binary_row_constants(model: TnnModel, l: int, w, kp, kn):
    """Layer ``l``'s (weights ``w``, int8 ``[rows, fan_in]``) per-row accumulator
    start values, carry bits, and the accumulator's range (``lo``, ``hi`` over
    every value it takes in a row): the arithmetic of :mod:`hw.binary_engine`."""
    w = w.astype(np.int64)
    plus, minus = (w > 0).sum(axis=1), (w < 0).sum(axis=1)
    last = l == model.n_layers - 1
    if kp is None:   # XNOR-popcount: terms in {0, 1}
        term_lo, term_hi = np.zeros_like(plus), plus + minus
    else:            # c * x: terms in {-kn, 0, kp}
        term_lo, term_hi = -kn * minus, kp * plus
    if l == 0 and not model.binary_input:
        # S = sum_b 2^b p_b: the dot product, plus 255 n_minus for XNOR terms.
        offset = PIXEL_MAX * minus if kp is None else np.zeros_like(plus)
        if last:
            start, carries = np.zeros_like(plus), np.zeros_like(plus)
        else:
            s_lo, s_hi = PIXEL_MAX * term_lo, PIXEL_MAX * term_hi
            bound = np.clip(model.thresholds[l].astype(np.int64) + offset, s_lo, s_hi + 1)
            start = (-bound) // (1 << (PIXEL_PASSES - 1))      # 128 A + E = -T
            carries = -bound - (start << (PIXEL_PASSES - 1))  # E in [0, 127]
        lo, hi = start.copy(), start.copy()
        vlo, vhi = start.copy(), start.copy()
        for b in reversed(range(PIXEL_PASSES)):
            base_lo = vlo if b == PIXEL_PASSES - 1 else 2 * vlo
            base_hi = vhi if b == PIXEL_PASSES - 1 else 2 * vhi
            e = (carries >> b) & 1
            lo = np.minimum(lo, base_lo + np.minimum(term_lo, 0))
            hi = np.maximum(hi, base_hi + np.maximum(term_hi, 0) + e)
            vlo, vhi = base_lo + term_lo + e, base_hi + term_hi + e
        return start, carries, lo, hi, offset
    # bits: the model's sum is 2 acc - C; a hidden bit is acc >= ceil((t + C) / 2).
    c = plus + minus if kp is None else kp * plus - kn * minus
    if last:
        start = np.zeros_like(plus)
    else:
        bound = -((-(model.thresholds[l].astype(np.int64) + c)) // 2)
        start = -np.clip(bound, term_lo, term_hi + 1)
    lo = start + np.minimum(term_lo, 0)
    hi = start + np.maximum(term_hi, 0)
    return start, np.zeros_like(plus), lo, hi, c


#: Lane counts the plan chooses from, and the share of lane slots that must carry a nonzero.
LANE_CHOICES = (1, 2, 4, 8, 16)
MIN_LANE_USE = 0.75


def choose_lanes(weights, walks=None) -> int:
    """K when not given: the most lanes (of :data:`LANE_CHOICES`) whose slots
    carry a nonzero at least :data:`MIN_LANE_USE` of the time, rows padded to
    whole beats (``nnz / (K * sum max(1, ceil(nnz_row / K)))``), each layer's
    rows counted ``walks[l]`` times (default once)."""
    nnz = np.concatenate([(w != 0).sum(axis=1) for w in weights])
    reps = np.concatenate([np.full(len(w), 1 if walks is None else walks[l])
                           for l, w in enumerate(weights)])
    use = lambda k: (reps * nnz).sum() / (k * (reps * np.maximum(1, -(-nnz // k))).sum())  # noqa: E731
    return max(k for k in LANE_CHOICES if k == 1 or use(k) >= MIN_LANE_USE)


def _conv_bits_constants(model: TnnModel, l: int, w4: np.ndarray, g: ConvGeometry):
    """A bits conv layer's start values per border class (``[classes * rows]``,
    class-major) and its accumulator range: a padded tap reads 0, so the
    popcount ``p`` gains ``m_pad`` (its -1 weights in the padding) and the bit
    is ``p >= ceil((t + nnz_valid) / 2) + m_pad`` (:mod:`hw.conv_plan`)."""
    t = model.thresholds[l].astype(np.int64)
    nnz = (w4 != 0).reshape(len(w4), -1).sum(axis=1)
    starts = []
    for cls in range(g.classes):
        inside = g.valid_taps(cls)[None, None]
        nnz_v = ((w4 != 0) & inside).reshape(len(w4), -1).sum(axis=1)
        m_pad = ((w4 < 0) & ~inside).reshape(len(w4), -1).sum(axis=1)
        bound = -((-(t + nnz_v)) // 2) + m_pad
        starts.append(-np.clip(bound, 0, nnz + 1))
    starts = np.stack(starts)   # [classes, rows]
    return starts, starts.min(axis=0), starts.max(axis=0) + nnz


def _class_rows(g: ConvGeometry | None, classes: int, rows: int):
    """Per computed output row and column its class's offset into the layer's
    row constants (``class * rows``; empty for one class)."""
    if classes == 1:
        return (), ()
    nx = len(g.x_valid)
    return (tuple(int(c) * nx * rows for c in g.y_class), tuple(int(c) * rows for c in g.x_class))


def min_walk_beats(g, planes: int, last: bool, group: int) -> int:
    """Beats every row of a layer needs so that a group of pool windows takes at
    least ``group`` (P) cycles: with P > 1 a conv layer's window writes are queued
    one slot per cycle (:mod:`hw.binary_conv`). 1 for dense and last layers."""
    if g is None or last or group == 1:
        return 1
    return -(-group // (planes * g.ph * g.pw))


def check_pixel_group(model: TnnModel, reuse: int, group: int, conv: bool) -> None:
    """:class:`PlanError` unless P = ``group`` divides R and, above 1, the model has
    convolution layers (both engines)."""
    if not isinstance(group, int) or group < 1 or reuse % group:
        raise PlanError(f"pixel_group: P must be a count >= 1 that divides R = {reuse}, got {group}")
    if group > 1 and not conv:
        raise PlanError(f"pixel_group: P > 1 needs convolution layers (P output pixels share a "
                        f"weight); this network has none, got {group}")


def plan_binary(model: TnnModel, reuse: int, field_width: int | None = None,
                lanes: int | None = None, pixel_group: int = 1) -> BinaryPlan:
    """Plan the binary engine for ``model`` with ``reuse`` PEs (R) taking ``lanes``
    nonzeros per cycle each (K, :func:`choose_lanes`'s unless given); the
    run-field width is :func:`lane_field_width`'s unless given (a narrower one
    is refused: lane streams have no skip words). Convolution layers follow
    :mod:`hw.conv_plan`, each walk serving ``pixel_group`` (P) output pixels of
    B = R / P images."""
    if model.activation != "binary":
        raise PlanError(f"activation: the binary engine needs a 'binary' model, got {model.activation!r}")
    conv = has_conv(model)
    check_pixel_group(model, reuse, pixel_group, conv)
    geometry = conv_geometry(model) if conv else [None] * model.n_layers
    if conv and model.weighted:
        l = next(l for l in range(model.n_layers) if model.row_weight(l) is not None)
        raise PlanError(f"kp{l}: the binary engine runs weighted layers in dense networks only")
    planes = [PIXEL_PASSES if l == 0 and not model.binary_input else 1 for l in range(model.n_layers)]
    walks = [p * (1 if g is None else g.walks(pixel_group)) for p, g in zip(planes, geometry)]
    walked = walked_matrices(model, geometry)
    if lanes is None:
        lanes = choose_lanes(walked, walks if conv else None)
    _check_range("lanes", lanes, "lanes")
    given = field_width
    field_width = _check_shape_and_width(model, reuse, field_width if field_width is not None else 1,
                                         walked if conv else None)
    needed = lane_field_width(walked, lanes)
    if given is None:
        field_width = needed
    elif field_width < needed:
        raise PlanError(f"field_width: the lanes need a run field of at least {needed} bits (the longest "
                        f"zero run in a lane is {longest_lane_run(walked, lanes)}), got {field_width}")
    weighted = model.weighted
    layers, lane_words, beats = [], [[] for _ in range(lanes)], []
    starts, carries, out_consts, row_ks = [], [], None, []
    acc_lo, acc_hi, rows_before, consts_before, words_before = 0, 0, 0, 0, 0
    for l, (w, g) in enumerate(zip(walked, geometry)):
        nnz = (w != 0).sum(axis=1)
        code = encode_lanes(w, lanes, field_width,
                            min_walk_beats(g, planes[l], l == model.n_layers - 1, pixel_group))
        pad_beats = int(code.row_beats.sum() - row_beats(nnz, lanes).sum())
        kp = kn = None
        if weighted:  # ordinary layers of a weighted plan: kp = kn = 1
            k = model.row_weight(l) or (np.ones(len(w), np.int64), np.ones(len(w), np.int64))
            kp, kn = (np.asarray(v, dtype=np.int64) for v in k)
            row_ks.append((kp, kn))
        classes = 1
        if g is not None and planes[l] == 1:  # a bits conv layer: one start value per border class
            by_class, lo, hi = _conv_bits_constants(model, l, model.weights[l], g)
            if (by_class == by_class[:1]).all():
                by_class = by_class[:1]
            classes = len(by_class)
            start, carry = by_class.reshape(-1), np.zeros(by_class.size, np.int64)
        else:
            start, carry, lo, hi, out_c = _binary_row_constants(model, l, model.weight_matrix(l), kp, kn)
        starts.append(start)
        carries.append(carry)
        acc_lo, acc_hi = min(acc_lo, int(lo.min())), max(acc_hi, int(hi.max()))
        if l == model.n_layers - 1:
            out_consts = out_c
            shift = int(l > 0 or model.binary_input)
            last_acc_width = signed_width(int(lo.min()), int(hi.max()))
            score_lo, score_hi = int(((lo << shift) - out_c).min()), int(((hi << shift) - out_c).max())
        lane_base = tuple(sum(len(x) for x in lane_words[k]) for k in range(lanes))
        beats.append(code.row_beats)
        for k in range(lanes):
            lane_words[k].append(code.lanes[k])
        cy, cx = _class_rows(g, classes, len(w))
        layers.append(BinaryLayerPlan(
            n_in=int(w.shape[1]) if g is None else g.c * g.h * g.w,
            n_out=int(w.shape[0]), last=l == model.n_layers - 1,
            word_base=words_before, word_count=code.words, const_base=consts_before,
            nonzeros=int(nnz.sum()), skip_words=0,   # the run field spans every run; padding is not skipping
            empty_rows=int((nnz == 0).sum()), pad_beats=pad_beats,
            bits_mode=l > 0, weighted=model.row_weight(l) is not None,
            passes=walks[l], lane_word_base=lane_base, lane_word_count=tuple(len(c) for c in code.lanes),
            beats=int(code.row_beats.sum()), row_base=rows_before, planes=planes[l], conv=g,
            classes=classes, class_rows_y=cy, class_rows_x=cx))
        rows_before += int(w.shape[0])
        consts_before += int(w.shape[0]) * classes
        words_before += code.words
    lanes_arrays = tuple(np.concatenate(ws).astype(np.uint32) for ws in lane_words)
    _check_range("weights: RLE words", max(len(x) for x in lanes_arrays), "weight_words")
    score_width = signed_width(min(score_lo, 0), max(score_hi, 0))
    _check_range("scores: bits", score_width, "score_bits")
    all_starts = np.concatenate(starts).astype(np.int64)
    row_k, k_width = None, 0
    if weighted:
        kp, kn = (np.concatenate([k[i] for k in row_ks]) for i in (0, 1))
        k_width = max(1, int(max(kp.max(), kn.max())).bit_length())
        row_k = (kp.astype(np.uint64) | (kn.astype(np.uint64) << np.uint64(k_width)))
    out_consts = np.asarray(out_consts, dtype=np.int64)
    return BinaryPlan(
        reuse=reuse, pixel_group=pixel_group, field_width=field_width, layers=tuple(layers),
        words=np.concatenate(lanes_arrays), row_consts=all_starts, lanes=lanes,
        lane_words=lanes_arrays, row_beats=np.concatenate(beats).astype(np.int64), row_carries=np.concatenate(carries).astype(np.uint8),
        out_consts=out_consts, out_shift=int(model.n_layers > 1 or model.binary_input),
        acc_width=signed_width(acc_lo, acc_hi), last_acc_width=last_acc_width, score_width=score_width,
        const_width=signed_width(int(all_starts.min()), int(all_starts.max())),
        out_const_width=signed_width(int(out_consts.min()), int(out_consts.max())),
        row_k=row_k, k_width=k_width, layout=activation_layout(model, geometry) if conv else None)
