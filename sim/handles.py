"""Bind cocotb handles to Amaranth interfaces and pack/unpack struct payloads.

Amaranth flattens interface members into Verilog ports joined by ``__``: the
stream ``o`` becomes ``o__valid``, ``o__ready`` and ``o__payload`` (one vector
holding the whole struct, first field at bit 0).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.lib import data


def bind(dut, prefix: str, members=("valid", "ready", "payload")) -> SimpleNamespace:
    """Handles ``dut.<prefix>__<member>`` as attributes of one namespace."""
    handles = {}
    for member in members:
        name = f"{prefix}__{member}"
        try:
            handles[member] = getattr(dut, name)
        except AttributeError as exc:
            raise AttributeError(f"{dut._name} has no port {name!r}") from exc
    return SimpleNamespace(**handles)


def pack(layout: data.StructLayout, **fields) -> int:
    """Integer value of a struct with the given field values (missing fields 0)."""
    value = 0
    for name, field in layout:
        v = int(fields.pop(name, 0))
        if not 0 <= v < (1 << field.width):
            raise ValueError(f"{name}: {v} does not fit in {field.width} bits")
        value |= v << field.offset
    if fields:
        raise KeyError(f"unknown field(s): {', '.join(fields)}")
    return value


def unpack(layout: data.StructLayout, value: int) -> dict:
    """Field values of the struct held in integer ``value``."""
    return {name: (value >> field.offset) & ((1 << field.width) - 1) for name, field in layout}
