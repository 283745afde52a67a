"""``python -m sim.lint FILE_OR_DIR...``: ``verilator --lint-only -Wall`` on Verilog files.

Waivers (passed as ``-Wno-...``), each for a pattern that Amaranth's Verilog
back end (yosys ``write_verilog``) emits by construction, not a design issue:

* ``WIDTHEXPAND``, ``WIDTHTRUNC``: yosys prints Amaranth's arithmetic with
  operands of their own widths (``pos + rd__data[3:0]``, ``! remaining``) and
  relies on Verilog's context-determined extension, which gives exactly the
  widths Amaranth already checked when it built the netlist.
* ``PROCASSINIT``: every Amaranth register has a declared power-up value
  (``init=``) *and* a synchronous reset to the same value; Verilator flags
  the ``reg x = init;`` declaration style.
* ``UNUSEDSIGNAL``: yosys keeps every named Amaranth signal as an alias wire
  for debugging (``ptr`` beside the register ``rd__addr`` it aliases, struct
  field views such as ``o__payload.addr``, the dropped carry bit of a
  truncated sum); Verilator reports those aliases as unused.
* ``DECLFILENAME``: Amaranth writes a design's submodules into the same file,
  named ``<top>.<sub>`` (``tnn_engine.dec``), which never matches the file name.
* ``CASEINCOMPLETE``: Amaranth lowers ``m.FSM`` (and ``m.Switch``) to a
  ``casez`` that lists only the states that assign, after a default
  assignment of every target at the top of the block, so nothing is left
  unassigned; a real latch would still be reported (``LATCH`` stays on).

All other ``-Wall`` warnings (unused signals, multi-driven nets, latches,
combinational loops, ...) stay errors.

Exit code 0 iff every file is clean, 1 if any is not, 2 for a missing path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sw.errors import ArgumentParser, InputError, run_cli

from .tools import use_verilator

WAIVERS = ["-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-PROCASSINIT", "-Wno-UNUSEDSIGNAL",
           "-Wno-DECLFILENAME", "-Wno-CASEINCOMPLETE"]


def lint(path: Path) -> tuple[bool, str]:
    """Lint one file; returns ``(clean, messages)``."""
    verilator = use_verilator()
    top = path.stem
    cmd = [str(verilator), "--lint-only", "-Wall", *WAIVERS, "--top-module", top, str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def verilog_files(paths) -> list[Path]:
    """The ``.v`` files named, or found in the folders named; :class:`InputError` if a
    path does not exist or nothing is found."""
    files = []
    for arg in paths:
        p = Path(arg)
        if not p.exists():
            raise InputError(f"files: {p}: No such file or directory")
        files += sorted(p.glob("*.v")) if p.is_dir() else [p]
    if not files:
        raise InputError(f"files: no Verilog files in {', '.join(map(str, paths))}")
    return files


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m sim.lint", description=__doc__)
    p.add_argument("files", nargs="*", default=["build/verilog"],
                   help="Verilog files or folders of them (default build/verilog)")
    args = p.parse_args(argv)
    return run_cli(lambda: lint_all(verilog_files(args.files)))


def lint_all(files: list[Path]) -> int:
    """Lint each file, print ``clean``/``FAIL`` per file; 1 if any fails."""
    bad = 0
    for f in files:
        clean, messages = lint(f)
        print(f"{'clean' if clean else 'FAIL '}  {f}")
        if not clean:
            bad += 1
            print(messages)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
