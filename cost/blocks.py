"""The blocks :mod:`cost.synth` synthesises, sized for one binary model (and, when it
exists, a float model whose whole engines are synthesised too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.pe import LanePE, adder_tree

from . import gamma, names
from .inputs import load_model_file
from .summary import DenseShape, LayerInfo, ModelInfo

__all__ = ["Block", "PixelLanePE", "standard_blocks", "dense_layer", "DEFAULT_MODEL", "PIXEL_GROUP_POINTS",
           "DEFAULT_REUSE", "DEFAULT_LANES_SWEEP", "DEFAULT_FLOAT_MODEL", "DEFAULT_FLOAT_REUSE",
           "DENSE_LAYER", "DENSE_SWEEP", "PNR_REUSE", "PNR_DENSE", "FLOAT_DEEP_LATENCY", "PNR_FLOAT_REUSE"]

DEFAULT_MODEL = "build/models/fmnist-mlp-binary.npz"
DEFAULT_REUSE = (1, 2, 4, 8, 16, 32)
#: Binary engines also synthesised at R = :data:`PNR_REUSE` with these K (besides the
#: plan's own K, which every R of the reuse list gets): the price of lanes.
DEFAULT_LANES_SWEEP = (1, 4, 16)
#: The float network whose engines are synthesised too (when it exists), at these R.
DEFAULT_FLOAT_MODEL = "build/models/fmnist-mlp-float.npz"
DEFAULT_FLOAT_REUSE = (2, 4, 8)
#: The float units, the float PE and one float engine are also built at these latencies
#: (adder, multiplier): the shallowest at which no register-to-register path of the float
#: PE (its adder included), the multiplier or the float engine is deeper than 8 LUT levels
#: on xcu (the multiplier's operand register, from 7 on, takes the output unit's choice of PE).
FLOAT_DEEP_LATENCY = (7, 7)
#: The float engines placed and routed on the ECP5 (adder latency 3 and the deep one): at this R.
PNR_FLOAT_REUSE = 2
#: The dense BNN baseline: one ``n_out x n_in`` layer (the hidden layers of
#: fmnist-mlp-binary) as a FINN-style unit at these (SIMD, PE).
DENSE_LAYER = (512, 512)
DENSE_SWEEP = ((16, 16), (32, 16), (32, 32))
#: The blocks also placed and routed on the ECP5 (:mod:`cost.nextpnr`): the binary engine
#: at this R, the dense unit at this (SIMD, PE), the XNOR PE and the decoder.
PNR_REUSE = 8
#: CNNs only: binary engines also built with pixel groups, as (R, P) (outside the LUT fit).
PIXEL_GROUP_POINTS = ((32, 4),)
PNR_DENSE = (32, 32)


@dataclass(frozen=True)
class Block:
    """A block to synthesise: ``build()`` returns a fresh Amaranth component."""

    name: str
    description: str
    build: Callable[[], object]
    reuse: int | None = None   # binary engines only: PEs per decompressor
    lanes: int | None = None   # binary engines only: nonzeros per PE per cycle
    float_reuse: int | None = None  # float engines only
    dense: DenseShape | None = None  # dense units only
    pnr: bool = False          # also placed and routed on the ECP5


class PixelLanePE(wiring.Component):
    """The alternative to bit-serial pixel planes, for comparison only (the engine does
    not build it): K lanes of 8-bit pixels, each added or subtracted by its weight's
    sign, summed in an adder tree into one accumulator, as a first-layer PE taking K
    pixels per cycle would."""

    def __init__(self, lanes: int, acc_width: int):
        self.lanes, self.acc_width = lanes, acc_width
        super().__init__({"x": In(8 * lanes), "sign": In(lanes), "null": In(lanes),
                          "valid": In(1), "row_start": In(1), "acc": Out(signed(acc_width))})

    def elaborate(self, platform):
        m = Module()
        terms = []
        for k in range(self.lanes):
            term = Signal(signed(10), name=f"term{k}")
            pixel = self.x[8 * k:8 * k + 8]
            m.d.comb += term.eq(Mux(self.null[k], 0, Mux(self.sign[k], -pixel, pixel)))
            terms.append(term)
        total = adder_tree(m, terms, "sum")
        count = Signal.like(total)
        m.d.sync += count.eq(total)
        with m.If(self.valid):
            m.d.sync += self.acc.eq(Mux(self.row_start, 0, self.acc) + count)
        return m


def _model_info(path, plan, n_cols: int, words: int, weights) -> ModelInfo:
    layers = gamma.of_weights(weights)
    return ModelInfo(
        path=str(path), field_width=plan.field_width, n_cols=n_cols, words=words,
        acc_width=plan.acc_width, const_width=plan.const_width, score_width=plan.score_width,
        layers=tuple(LayerInfo(layer.shape, layer.nonzeros, layer.gamma) for layer in layers),
        gamma=gamma.overall(layers))


def _fixed_blocks(plan, n_cols: int, words: list[int]) -> list[Block]:
    from hw.float_pe import FloatAccumulatePE
    from hw.fp32 import FP32Add, FP32Mul
    from hw.lane_walker import LaneWalker
    from hw.binary_plan import PIXEL_PASSES

    K = plan.lanes
    la, lm = FLOAT_DEEP_LATENCY
    widths = dict(lanes=K, acc_width=plan.acc_width, start_width=plan.const_width)
    g = plan.field_width
    return [
        Block(names.DECODER, f"the engine's weight walker: {K} lanes' RLE decoders, G={g}, "
              f"{n_cols} cols, {len(words)} words of {K} lanes (C_d = its LUTs / K)",
              lambda: LaneWalker(field_width=g, lanes=K, n_cols=n_cols, words=words,
                                 row_lengths=plan.row_beats, max_passes=PIXEL_PASSES), pnr=True),
        Block(names.DECODER_1K, "the same with 1024 words",
              lambda: LaneWalker(field_width=g, lanes=K, n_cols=n_cols, words=words[:1024],
                                 row_lengths=plan.row_beats, max_passes=PIXEL_PASSES)),
        Block(names.PE_XNOR, f"PE as in the engine: {K} lanes, XNOR-popcount tree, one accumulator",
              lambda: LanePE(**widths), pnr=True),
        Block(names.PE_INT8, f"PE taking {K} 8-bit pixels per cycle (the alternative to bit "
              "planes; not in the engine)", lambda: PixelLanePE(K, plan.acc_width)),
        Block(names.PE_WEIGHTED, f"PE with {K} lanes of 15-bit integer weights kp, kn (weighted "
              "binary layers; 31-bit accumulator)",
              lambda: LanePE(lanes=K, acc_width=31, start_width=32, k_width=15)),
        Block(names.PE_FLOAT, "float-accumulate PE: fp32 adder (latency 3), 2 x 3 partial sums in LUTRAM, "
              "sign flip", lambda: FloatAccumulatePE(lanes=3), pnr=True),
        Block(names.FP32_ADD, "fp32 adder, latency 3", lambda: FP32Add(latency=3)),
        Block(names.FP32_MUL, "fp32 multiplier, latency 3", lambda: FP32Mul(latency=3)),
        Block(names.at_latency(names.PE_FLOAT, la), f"float-accumulate PE: fp32 adder (latency {la}), "
              f"2 x {la} partial sums in LUTRAM, sign flip", lambda: FloatAccumulatePE(lanes=la), pnr=True),
        Block(names.at_latency(names.FP32_ADD, la), f"fp32 adder, latency {la}",
              lambda: FP32Add(latency=la)),
        Block(names.at_latency(names.FP32_MUL, lm), f"fp32 multiplier, latency {lm}",
              lambda: FP32Mul(latency=lm)),
        Block(names.with_dsp_shifts(names.PE_FLOAT), "the float PE (latency 3) with the adder's "
              "shifts on DSPs", lambda: FloatAccumulatePE(lanes=3, dsp_shifts=True), pnr=True),
        Block(names.with_dsp_shifts(names.at_latency(names.PE_FLOAT, la)), f"the float PE (latency {la}) "
              "with the adder's shifts on DSPs", lambda: FloatAccumulatePE(lanes=la, dsp_shifts=True),
              pnr=True),
        Block(names.with_dsp_shifts(names.FP32_ADD), "fp32 adder, latency 3, shifts on DSPs",
              lambda: FP32Add(latency=3, dsp_shifts=True)),
    ]


def dense_layer(n_out: int, n_in: int, seed: int = 0):
    """A seeded random layer for the dense unit: weights -1/+1 with equal odds, popcount
    thresholds uniform in ``n_in / 2 +- 32`` (where a batch-normalised BNN's lie)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    weights = rng.choice(np.array([-1, 1], dtype=np.int8), (n_out, n_in))
    return weights, rng.integers(n_in // 2 - 32, n_in // 2 + 33, n_out).clip(0, n_in + 1)


def _dense_blocks(sweep) -> list[Block]:
    from hw.dense_mvu import DenseMVU
    n_out, n_in = DENSE_LAYER
    weights, thresholds = dense_layer(n_out, n_in)
    return [Block(names.dense_mvu(s, p), f"dense BNN unit (FINN-style MVU), {n_out}x{n_in}, "
                  f"SIMD={s}, PE={p}",
                  lambda s=s, p=p: DenseMVU(weights, thresholds, simd=s, pe=p),
                  dense=DenseShape(n_out, n_in, s, p), pnr=(s, p) == PNR_DENSE)
            for s, p in sweep]


def standard_blocks(model_path=DEFAULT_MODEL, reuses=DEFAULT_REUSE,
                    float_model_path=DEFAULT_FLOAT_MODEL,
                    float_reuses=DEFAULT_FLOAT_REUSE,
                    dense_sweep=DENSE_SWEEP, *,
                    lanes_sweep=DEFAULT_LANES_SWEEP) -> tuple[list[Block], ModelInfo]:
    """The blocks :mod:`cost.roofline` needs, sized for the model at ``model_path``.

    Returns ``(blocks, model info)``. Decoders and PEs take the widths the engine plan
    gives this model, and K its choice of lanes; binary engines are built at every R of
    ``reuses`` with that K, and at R = :data:`PNR_REUSE` with each K of ``lanes_sweep`` (a
    CNN's also with the pixel groups of :data:`PIXEL_GROUP_POINTS`); the decompressor holds all of the model's RLE words (its memory maps
    to block RAM, reported apart from LUTs); ``decoder_1k`` holds 1,024 words (one RAMB18)
    to show the decoder's own logic without the deep memory's read multiplexer. The dense
    BNN units (:data:`DENSE_LAYER` at each (SIMD, PE) of ``dense_sweep``, weights from
    :func:`dense_layer`) come last. ``Block.pnr`` marks the blocks :mod:`cost.nextpnr`
    places on the ECP5: the XNOR PE, the decoder, the engine at R = :data:`PNR_REUSE`,
    the dense unit at :data:`PNR_DENSE`, the float PE at latencies 3 and
    :data:`FLOAT_DEEP_LATENCY` and the float engines at R = :data:`PNR_FLOAT_REUSE` (the
    float units, PE and that engine are built at both latencies; the PE at both and the
    adder and the engine at latency 3 also with the adders' shifts on DSPs,
    :func:`names.with_dsp_shifts`). Both model files are read here, before
    anything is synthesised: a missing or malformed one raises
    :class:`sw.errors.InputError` (``model`` / ``float_model``).
    """
    from hw.binary_engine import BinaryEngine
    from hw.engine import Engine
    from hw.lane_walker import pack_words
    from hw.binary_plan import plan_binary
    from hw.plan import plan_float

    model = load_model_file(model_path, "model")
    float_model = None
    if float_model_path and Path(float_model_path).exists():
        float_model = load_model_file(float_model_path, "float_model")
    plan = plan_binary(model, 1)
    n_cols = max(lp.n_in for lp in plan.layers)
    words = pack_words(plan.lane_words, plan.field_width)
    g = plan.field_width
    blocks = _fixed_blocks(plan, n_cols, words)
    K = plan.lanes
    points = [(r, K) for r in reuses] + [(PNR_REUSE, k) for k in lanes_sweep if k != K]
    for r, k in points:  # more lanes than the plan's need longer runs: their own field width
        blocks.append(Block(names.engine(r, k), f"whole binary engine, R={r}, K={k}",
                            lambda r=r, k=k: BinaryEngine(plan_binary(model, r, field_width=g if k <= K else None,
                                                                      lanes=k)),
                            reuse=r, lanes=k, pnr=(r, k) == (PNR_REUSE, K)))
    for r, p in PIXEL_GROUP_POINTS if plan.conv else ():
        blocks.append(Block(names.engine(r, K, p), f"whole binary engine, R={r} = {r // p} images x {p} "
                            f"pixels, K={K}", lambda r=r, p=p: BinaryEngine(
                                plan_binary(model, r, field_width=g, lanes=K, pixel_group=p))))
    if float_model is not None:
        for r in float_reuses:
            blocks.append(Block(names.float_engine(r), f"whole float engine, R={r}, L=3",
                                lambda r=r: Engine(plan_float(float_model, r)), float_reuse=r,
                                pnr=r == PNR_FLOAT_REUSE))
        la, lm = FLOAT_DEEP_LATENCY
        r = PNR_FLOAT_REUSE
        blocks.append(Block(names.float_engine(r, la), f"whole float engine, R={r}, L={la}, "
                            f"multiplier latency {lm}", lambda: Engine(plan_float(
                                float_model, r, add_latency=la, mul_latency=lm)), pnr=True))
        blocks.append(Block(names.with_dsp_shifts(names.float_engine(r)), f"whole float engine, R={r}, "
                            "L=3, the adders' shifts on DSPs", lambda: Engine(plan_float(
                                float_model, r, dsp_shifts=True)), pnr=True))
    blocks += _dense_blocks(dense_sweep)
    return blocks, _model_info(model_path, plan, n_cols, len(words), model.weights)
