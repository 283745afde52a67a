"""From block results to the cost model's constants: engine LUTs fitted against R x K.

The marginal cost of one MAC per cycle is the slope of the whole binary engine's LUT
sites against R x K (R PEs of K lanes, at the plan's K); the decoder's cost ``C_d`` is
the standalone decompressor's (one lane's). The dense
BNN baseline's cost per MAC is the slope of the dense units' LUT sites against their
MACs per cycle, SIMD x PE (:class:`DenseFit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from . import names

if TYPE_CHECKING:
    from .summary import BlockResult

__all__ = ["FIT_MIN_REUSE", "linear_fit", "ReusePoint", "FloatEngineFit", "DensePoint",
           "DenseFit", "EngineFit", "dense_fit", "derive"]

#: Smallest R in the fit of engine LUTs against R. Below it yosys keeps the engine's
#: hidden-layer bit buffers in LUTRAM; from R = 8 on they go to block RAM, so only
#: R >= 8 share one memory mapping.
FIT_MIN_REUSE = 8


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares ``y = a + b x``; returns ``(a, b, largest |residual|)``."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    return a, b, max(abs(y - (a + b * x)) for x, y in zip(xs, ys))


@dataclass(frozen=True)
class ReusePoint:
    """One binary engine (R PEs of K lanes): its LUT sites per MAC per cycle (sites / (R x K)),
    block RAM, and the cost model's ``C_op + C_d / R``."""

    reuse: int
    engine_lut_sites: int
    engine_luts_per_mac: float
    model_luts_per_mac: float | None
    lanes: int = 1
    bram36: float = 0.0

    def to_json(self) -> dict:
        return {"reuse": self.reuse, "lanes": self.lanes, "engine_lut_sites": self.engine_lut_sites,
                "engine_luts_per_mac": self.engine_luts_per_mac,
                "model_luts_per_mac": self.model_luts_per_mac, "bram36": self.bram36}

    @classmethod
    def from_json(cls, d: dict) -> "ReusePoint":
        return cls(int(d["reuse"]), int(d["engine_lut_sites"]), float(d["engine_luts_per_mac"]),
                   d["model_luts_per_mac"], int(d.get("lanes", 1)), float(d.get("bram36", 0.0)))


@dataclass(frozen=True)
class FloatEngineFit:
    """Slope of float engine LUT sites and DSPs against R: one float-accumulate PE as the
    engine builds it."""

    c_op_luts: float
    c_op_dsps: float
    intercept_luts: float
    fit_max_residual_luts: float
    fit_reuse: tuple[int, ...]

    def to_json(self) -> dict:
        return {"c_op_luts": self.c_op_luts, "c_op_dsps": self.c_op_dsps,
                "intercept_luts": self.intercept_luts,
                "fit_max_residual_luts": self.fit_max_residual_luts,
                "fit_reuse": list(self.fit_reuse)}

    @classmethod
    def from_json(cls, d: dict) -> "FloatEngineFit":
        return cls(d["c_op_luts"], d["c_op_dsps"], d["intercept_luts"],
                   d["fit_max_residual_luts"], tuple(d["fit_reuse"]))


@dataclass(frozen=True)
class DensePoint:
    """One dense unit: its folding, LUT sites, the whole unit's LUT sites per MAC, block RAM."""

    simd: int
    pe: int
    macs: int
    lut_sites: int
    luts_per_mac: float
    bram36: float

    def to_json(self) -> dict:
        return {"simd": self.simd, "pe": self.pe, "macs": self.macs, "lut_sites": self.lut_sites,
                "luts_per_mac": self.luts_per_mac, "bram36": self.bram36}

    @classmethod
    def from_json(cls, d: dict) -> "DensePoint":
        return cls(int(d["simd"]), int(d["pe"]), int(d["macs"]), int(d["lut_sites"]),
                   float(d["luts_per_mac"]), float(d["bram36"]))


@dataclass(frozen=True)
class DenseFit:
    """The dense BNN unit's cost per MAC: the slope of its LUT sites (everything in the
    unit: weight-memory reads, XNOR, popcount trees, accumulators, thresholds and their
    compare, sequencer) against SIMD x PE over the units of one layer ``layer``
    (``[n_out, n_in]``); ``logic_luts_per_mac`` the same for logic LUTs only."""

    layer: tuple[int, int]
    luts_per_mac: float
    logic_luts_per_mac: float
    intercept_luts: float
    fit_max_residual_luts: float
    points: tuple[DensePoint, ...]

    def to_json(self) -> dict:
        return {"layer": list(self.layer), "luts_per_mac": self.luts_per_mac,
                "logic_luts_per_mac": self.logic_luts_per_mac,
                "intercept_luts": self.intercept_luts,
                "fit_max_residual_luts": self.fit_max_residual_luts,
                "points": [p.to_json() for p in self.points]}

    @classmethod
    def from_json(cls, d: dict) -> "DenseFit":
        return cls(tuple(d["layer"]), d["luts_per_mac"], d["logic_luts_per_mac"],
                   d["intercept_luts"], d["fit_max_residual_luts"],
                   tuple(DensePoint.from_json(p) for p in d["points"]))


@dataclass(frozen=True)
class EngineFit:
    """The cost model's constants from block results (``summary.json``'s ``derived``).

    * ``c_op_luts``: slope of engine LUT sites (logic + LUTRAM) against R x K over the
      engines of the plan's K (``lanes``) with ``R >= fit_min_reuse`` (all of them if
      fewer than two qualify): the marginal cost of one MAC per cycle, decoders excluded.
      ``c_op_logic_luts`` is the same for logic LUTs only, ``c_op_all_points_luts`` the
      slope over every engine.
    * ``engine_intercept_luts``: that fit's value at R = 0: decoder, sequencer, memory
      read multiplexers.
    * ``c_d_luts``: the standalone weight walker's LUT sites (all K lanes' decoders,
      trained-model depth); one lane's share, ``c_d_luts / K``, is the cost model's C_d.
    * ``per_reuse``: for each engine (R, K), LUT sites / (R x K) (the whole engine's share
      per MAC), its block RAM and ``c_op + c_d / R`` (the cost model's MAC plus share of
      decoder).
    * ``dense_mvu``: the dense BNN unit's :class:`DenseFit` (None without two dense units
      of different SIMD x PE).
    With fewer than two binary engines the fit's entries are None.
    """

    c_d_luts: int | None
    fit_min_reuse: int
    float_engine: FloatEngineFit | None
    c_op_luts: float | None = None
    c_op_logic_luts: float | None = None
    c_op_all_points_luts: float | None = None
    engine_intercept_luts: float | None = None
    fit_max_residual_luts: float | None = None
    fit_reuse: tuple[int, ...] = ()
    per_reuse: tuple[ReusePoint, ...] = ()
    dense_mvu: DenseFit | None = None
    lanes: int | None = None

    def to_json(self) -> dict:
        return {
            "c_d_luts": self.c_d_luts, "fit_min_reuse": self.fit_min_reuse, "lanes": self.lanes,
            "float_engine": self.float_engine.to_json() if self.float_engine else None,
            "c_op_luts": self.c_op_luts, "c_op_logic_luts": self.c_op_logic_luts,
            "c_op_all_points_luts": self.c_op_all_points_luts,
            "engine_intercept_luts": self.engine_intercept_luts,
            "fit_max_residual_luts": self.fit_max_residual_luts,
            "fit_reuse": list(self.fit_reuse),
            "per_reuse": [p.to_json() for p in self.per_reuse],
            "dense_mvu": self.dense_mvu.to_json() if self.dense_mvu else None,
        }

    @classmethod
    def from_json(cls, d: dict) -> "EngineFit":
        fe = d.get("float_engine")
        return cls(
            c_d_luts=d.get("c_d_luts"), fit_min_reuse=int(d.get("fit_min_reuse", FIT_MIN_REUSE)),
            float_engine=FloatEngineFit.from_json(fe) if fe else None,
            c_op_luts=d.get("c_op_luts"), c_op_logic_luts=d.get("c_op_logic_luts"),
            c_op_all_points_luts=d.get("c_op_all_points_luts"),
            engine_intercept_luts=d.get("engine_intercept_luts"),
            fit_max_residual_luts=d.get("fit_max_residual_luts"),
            fit_reuse=tuple(d.get("fit_reuse") or ()),
            per_reuse=tuple(ReusePoint.from_json(p) for p in d.get("per_reuse") or ()),
            dense_mvu=DenseFit.from_json(d["dense_mvu"]) if d.get("dense_mvu") else None,
            lanes=d.get("lanes"))


def _float_engine_fit(blocks: Mapping[str, "BlockResult"]) -> FloatEngineFit | None:
    """The float engines' fit; None with fewer than two float engines."""
    engines = sorted(((b.float_reuse, b) for b in blocks.values() if b.float_reuse),
                     key=lambda rb: rb[0])
    if len(engines) < 2:
        return None
    rs = [float(r) for r, _ in engines]
    a, slope, resid = linear_fit(rs, [float(b.resources.lut_sites) for _, b in engines])
    _, dsp_slope, _ = linear_fit(rs, [float(b.resources.dsps) for _, b in engines])
    return FloatEngineFit(slope, dsp_slope, a, resid, tuple(int(r) for r in rs))


def dense_fit(blocks: Mapping[str, "BlockResult"]) -> DenseFit | None:
    """The dense units' :class:`DenseFit` (those of the first unit's layer); None with
    fewer than two different SIMD x PE."""
    units = [b for b in blocks.values() if b.dense is not None]
    if not units:
        return None
    layer = (units[0].dense.n_out, units[0].dense.n_in)
    units = sorted((b for b in units if (b.dense.n_out, b.dense.n_in) == layer),
                   key=lambda b: (b.dense.macs, b.dense.simd))
    macs = [float(b.dense.macs) for b in units]
    if len(set(macs)) < 2:
        return None
    a, slope, resid = linear_fit(macs, [float(b.resources.lut_sites) for b in units])
    _, logic_slope, _ = linear_fit(macs, [float(b.resources.luts) for b in units])
    points = tuple(DensePoint(b.dense.simd, b.dense.pe, b.dense.macs, b.resources.lut_sites,
                              b.resources.lut_sites / b.dense.macs, b.resources.bram36)
                   for b in units)
    return DenseFit(layer, slope, logic_slope, a, resid, points)


def derive(blocks: Mapping[str, "BlockResult"], fit_min_reuse: int = FIT_MIN_REUSE) -> EngineFit:
    """The :class:`EngineFit` of block results (needs two binary engines for the fit)."""
    all_engines = sorted((b for b in blocks.values() if b.reuse), key=lambda b: (b.lanes or 1, b.reuse))
    decoder = blocks.get(names.DECODER)
    c_d = decoder.resources.lut_sites if decoder is not None else None
    base = dict(c_d_luts=c_d, fit_min_reuse=fit_min_reuse, float_engine=_float_engine_fit(blocks),
                dense_mvu=dense_fit(blocks))
    counts = {}
    for b in all_engines:
        counts[b.lanes or 1] = counts.get(b.lanes or 1, 0) + 1
    if not counts or max(counts.values()) < 2:
        return EngineFit(**base)
    lanes = max(counts, key=lambda k: (counts[k], k))  # the plan's K: the R sweep
    engines = [(b.reuse, b) for b in all_engines if (b.lanes or 1) == lanes]
    fit = [(r, b) for r, b in engines if r >= fit_min_reuse]
    if len(fit) < 2:
        fit = engines
    sites = lambda pts: [float(b.resources.lut_sites) for _, b in pts]  # noqa: E731
    macs = lambda pts: [float(r * lanes) for r, _ in pts]  # noqa: E731
    a, slope, resid = linear_fit(macs(fit), sites(fit))
    _, logic_slope, _ = linear_fit(macs(fit), [float(b.resources.luts) for _, b in fit])
    _, all_slope, _ = linear_fit(macs(engines), sites(engines))
    per_reuse = tuple(ReusePoint(
        reuse=int(b.reuse), engine_lut_sites=int(b.resources.lut_sites),
        engine_luts_per_mac=b.resources.lut_sites / (b.reuse * (b.lanes or 1)),
        model_luts_per_mac=slope + c_d / (b.reuse * (b.lanes or 1)) if c_d is not None else None,
        lanes=int(b.lanes or 1), bram36=float(b.resources.bram36))
        for b in all_engines)
    return EngineFit(**base, c_op_luts=slope, c_op_logic_luts=logic_slope,
                     c_op_all_points_luts=all_slope, engine_intercept_luts=a,
                     fit_max_residual_luts=resid, fit_reuse=tuple(int(r) for r, _ in fit),
                     per_reuse=per_reuse, lanes=lanes)
