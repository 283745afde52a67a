"""The blocks :mod:`cost.synth` synthesises, sized for one binary model (and, when it
exists, a float model whose whole engines are synthesised too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from amaranth import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.pe import TernaryPE, pe_beat_layout

from . import gamma, names
from .inputs import load_model_file
from .summary import DenseShape, LayerInfo, ModelInfo

__all__ = ["Block", "FixedModePE", "standard_blocks", "dense_layer", "DEFAULT_MODEL",
           "DEFAULT_REUSE", "DEFAULT_FLOAT_MODEL", "DEFAULT_FLOAT_REUSE", "DENSE_LAYER",
           "DENSE_SWEEP", "PNR_REUSE", "PNR_DENSE"]

DEFAULT_MODEL = "build/models/fmnist-mlp-binary.npz"
DEFAULT_REUSE = (1, 2, 4, 8, 16, 32)
#: The float network whose engines are synthesised too (when it exists), at these R.
DEFAULT_FLOAT_MODEL = "build/models/fmnist-mlp-float.npz"
DEFAULT_FLOAT_REUSE = (2, 4, 8)
#: The dense BNN baseline: one ``n_out x n_in`` layer (the hidden layers of
#: fmnist-mlp-binary) as a FINN-style unit at these (SIMD, PE).
DENSE_LAYER = (512, 512)
DENSE_SWEEP = ((16, 16), (32, 16), (32, 32))
#: The blocks also placed and routed on the ECP5 (:mod:`cost.nextpnr`): the binary engine
#: at this R, the dense unit at this (SIMD, PE), the XNOR PE and the decoder.
PNR_REUSE = 8
PNR_DENSE = (32, 32)


@dataclass(frozen=True)
class Block:
    """A block to synthesise: ``build()`` returns a fresh Amaranth component."""

    name: str
    description: str
    build: Callable[[], object]
    reuse: int | None = None   # binary engines only: PEs per decompressor
    float_reuse: int | None = None  # float engines only
    dense: DenseShape | None = None  # dense units only
    pnr: bool = False          # also placed and routed on the ECP5


class FixedModePE(wiring.Component):
    """A :class:`hw.pe.TernaryPE` with ``bits_mode`` tied to a constant, so synthesis keeps
    only one datapath: 1 is the XNOR-popcount MAC, 0 the 8-bit add/subtract."""

    def __init__(self, bits_mode: int, acc_width: int, const_width: int, score_width: int):
        self._bits_mode = bits_mode
        self._widths = dict(acc_width=acc_width, const_width=const_width,
                            score_width=score_width)
        super().__init__({
            "beat": In(pe_beat_layout), "x": In(8), "k": In(signed(const_width)),
            "score": Out(signed(score_width)), "bit": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.pe = pe = TernaryPE(**self._widths)
        m.d.comb += [pe.beat.eq(self.beat), pe.x.eq(self.x), pe.bits_mode.eq(self._bits_mode),
                     pe.k.eq(self.k), self.score.eq(pe.score), self.bit.eq(pe.bit)]
        return m


def _model_info(path, plan, n_cols: int, words: int, weights) -> ModelInfo:
    layers = gamma.of_weights(weights)
    return ModelInfo(
        path=str(path), field_width=plan.field_width, n_cols=n_cols, words=words,
        acc_width=plan.acc_width, const_width=plan.const_width, score_width=plan.score_width,
        layers=tuple(LayerInfo(layer.shape, layer.nonzeros, layer.gamma) for layer in layers),
        gamma=gamma.overall(layers))


def _fixed_blocks(plan, n_cols: int, words: list[int]) -> list[Block]:
    from hw.decompressor import Decompressor
    from hw.float_pe import FloatAccumulatePE
    from hw.fp32 import FP32Add, FP32Mul

    widths = dict(acc_width=plan.acc_width, const_width=plan.const_width,
                  score_width=plan.score_width)
    g = plan.field_width
    return [
        Block(names.DECODER, f"RLE decompressor, G={g}, {n_cols} cols, {len(words)} words",
              lambda: Decompressor(field_width=g, n_cols=n_cols, depth=len(words), init=words),
              pnr=True),
        Block(names.DECODER_1K, f"RLE decompressor, G={g}, {n_cols} cols, 1024 words",
              lambda: Decompressor(field_width=g, n_cols=n_cols, depth=1024, init=words[:1024])),
        Block(names.PE_XNOR, "PE, XNOR-popcount only (bits_mode = 1)",
              lambda: FixedModePE(1, **widths), pnr=True),
        Block(names.PE_INT8, "PE, 8-bit add/subtract only (bits_mode = 0)",
              lambda: FixedModePE(0, **widths)),
        Block(names.PE_DUAL, "PE as in the engine (mode chosen at run time)",
              lambda: TernaryPE(**widths)),
        Block(names.PE_WEIGHTED, "PE with 15-bit integer weights kp, kn (weighted binary "
              "layers; 31-bit accumulator)",
              lambda: TernaryPE(acc_width=31, const_width=32, score_width=32, k_width=15)),
        Block(names.PE_FLOAT, "float-accumulate PE: fp32 adder (latency 3), 2 x 3 partial sums, "
              "sign flip", lambda: FloatAccumulatePE(lanes=3)),
        Block(names.FP32_ADD, "fp32 adder, latency 3", lambda: FP32Add(latency=3)),
        Block(names.FP32_MUL, "fp32 multiplier, latency 3", lambda: FP32Mul(latency=3)),
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
                    dense_sweep=DENSE_SWEEP) -> tuple[list[Block], ModelInfo]:
    """The blocks :mod:`cost.roofline` needs, sized for the model at ``model_path``.

    Returns ``(blocks, model info)``. Decoders and PEs take the widths the engine plan
    gives this model; the decompressor holds all of the model's RLE words (its memory maps
    to block RAM, reported apart from LUTs); ``decoder_1k`` holds 1,024 words (one RAMB18)
    to show the decoder's own logic without the deep memory's read multiplexer. The dense
    BNN units (:data:`DENSE_LAYER` at each (SIMD, PE) of ``dense_sweep``, weights from
    :func:`dense_layer`) come last. ``Block.pnr`` marks the blocks :mod:`cost.nextpnr`
    places on the ECP5: the XNOR PE, the decoder, the engine at R = :data:`PNR_REUSE`
    and the dense unit at :data:`PNR_DENSE`. Both model files are read here, before
    anything is synthesised: a missing or malformed one raises
    :class:`sw.errors.InputError` (``model`` / ``float_model``).
    """
    from hw.engine import Engine
    from hw.plan import plan_binary, plan_float

    model = load_model_file(model_path, "model")
    float_model = None
    if float_model_path and Path(float_model_path).exists():
        float_model = load_model_file(float_model_path, "float_model")
    plan = plan_binary(model, 1)
    n_cols = max(lp.n_in for lp in plan.layers)
    words = [int(w) for w in plan.words]
    g = plan.field_width
    blocks = _fixed_blocks(plan, n_cols, words)
    for r in reuses:
        blocks.append(Block(names.engine(r), f"whole binary engine, R={r}",
                            lambda r=r: Engine(plan_binary(model, r, field_width=g)),
                            reuse=r, pnr=r == PNR_REUSE))
    if float_model is not None:
        for r in float_reuses:
            blocks.append(Block(names.float_engine(r), f"whole float engine, R={r}, L=3",
                                lambda r=r: Engine(plan_float(float_model, r)), float_reuse=r))
    blocks += _dense_blocks(dense_sweep)
    return blocks, _model_info(model_path, plan, n_cols, len(words), model.weights)
