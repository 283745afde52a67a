"""The contract between :class:`hw.engine.Engine` and a PE kind's datapath.

A datapath takes the decompressor's beat stream for one layer at a time and
writes that layer's outputs (hidden activations or final outputs) into the
engine's buffers. The engine owns everything else: the decompressor, the
sequencer, the input and ping-pong buffers, the host interface. One kind
exists: :class:`hw.float_datapath.FloatDatapath` (float-accumulate PEs); the
binary engine (:mod:`hw.binary_engine`) has its own lanes and memories.

Ports of every datapath (:func:`datapath_signature`)
----------------------------------------------------
``beat``: In(stream of :func:`hw.decompressor.beat_layout`)
    The decompressor's weights. The engine reads the activation memories at
    ``beat.payload.addr`` every cycle, so ``pixels``/``acts`` hold, one cycle
    later, the activations of the beat presented one cycle earlier.
``start``: In(1)
    One-cycle strobe as the engine starts a layer's walk (row counters reset).
``layer``: In
    Index of the current layer (for per-layer tables of the datapath's own).
``first``, ``last``: In(1)
    The layer is the network's first (inputs are pixels) / last (outputs go to
    the output buffer, not to a hidden buffer). Constant during a layer.
``const_base``: In
    Index of the layer's first row in the datapath's row-constant memory.
``inputs``: In(R * 32)
    Input-buffer word read at the previous cycle's ``beat.addr``: layer 0's
    binary32 inputs (the host's pixels converted as they are loaded,
    :mod:`hw.input_converter`), image ``r`` in bits ``[32r+31:32r]``.
``acts``: In(R * act_width)
    Hidden-buffer word (the previous layer's outputs) read the same way.
``write``: Out
    ``valid``, ``addr`` (row), ``lanes`` (R bits: which images' slots to
    write), ``act`` (R * act_width: hidden-layer data), ``out`` (R * out_width:
    last-layer data), widths from the plan (:class:`hw.plan.EnginePlan`). The
    engine routes it to a hidden buffer or the output buffer by the current
    layer.
``idle``: Out(1)
    Nothing is in flight: once the decompressor is idle too, the layer is done.

Plans with convolution layers (:mod:`hw.float_conv`) add:

``pixel``: In(:func:`pixel_layout`)
    The output pixel of the beat presented now (stage A): where its pool
    window's output goes (``out_addr``), whether it opens or closes its pool
    window, whether it is the row's last pixel; with P > 1, ``mask``: which
    slots have a window. ``write.addr`` is then the ``out_addr`` of the
    window's pixels plus the written PE's slot ``p`` (PE ``r``: ``p = r // B``);
    a slot without a window writes nothing; rows advance at a row's last pixel.

The engine's buffers get one write enable per image (``write.lanes``). A
datapath class provides ``layer_overhead(plan)`` and ``row_overhead(plan)``
for :func:`hw.engine.cycle_budget`.
"""

from __future__ import annotations

from amaranth import Array, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .decompressor import beat_layout

__all__ = ["PIXEL_BITS", "bits_for", "select", "delay_line", "split", "datapath_signature",
           "write_signature", "pixel_layout"]

PIXEL_BITS = 8


def bits_for(n: int) -> int:
    """Address bits for ``n`` locations (at least 1)."""
    return max(1, (n - 1).bit_length())


def select(items, index):
    """``items[index]`` as a multiplexer. The list is padded to a power of two with
    its last item, so every index value is covered (no incomplete ``case``)."""
    items = list(items)
    items += items[-1:] * ((1 << len(index)) - len(items))
    return Array(items)[index]


def delay_line(m, value, length: int, name: str) -> list:
    """``length`` registers in a row after ``value`` (named ``<name>0``, ``<name>1``,
    ...); the last is ``value`` delayed by ``length`` cycles."""
    regs = [Signal(len(value), name=f"{name}{i}") for i in range(length)]
    m.d.sync += regs[0].eq(value)
    for i in range(1, length):
        m.d.sync += regs[i].eq(regs[i - 1])
    return regs


def split(value, *widths):
    """``value`` cut into consecutive fields of ``widths`` bits, LSB first."""
    fields, pos = [], 0
    for w in widths:
        fields.append(value[pos:pos + w])
        pos += w
    return fields


def pixel_layout(addr_width: int, group: int = 1) -> data.StructLayout:
    """A conv plan's output pixel (the ``pixel`` port, module docstring); with P =
    ``group`` > 1 also ``mask``, the slots that have a pool window."""
    fields = {"out_addr": unsigned(addr_width), "window_first": 1, "window_last": 1, "last_pixel": 1}
    return data.StructLayout(fields | ({"mask": unsigned(group)} if group > 1 else {}))


def write_signature(plan) -> wiring.Signature:
    """The ``write`` port of a datapath for ``plan`` (see the module docstring)."""
    r = plan.reuse
    rows = plan.address_span if plan.conv else max(lp.n_out for lp in plan.layers)
    return wiring.Signature({
        "valid": Out(1),
        "addr": Out(bits_for(rows)),
        "lanes": Out(r),
        "act": Out(r * plan.act_width),
        "out": Out(r * plan.out_width),
    })


def datapath_signature(plan, col_addr_width: int) -> dict:
    """Members of a datapath component for ``plan`` (see the module docstring)."""
    members = {
        "beat": In(stream.Signature(beat_layout(col_addr_width))),
        "start": In(1),
        "layer": In(range(len(plan.layers))),
        "first": In(1),
        "last": In(1),
        "const_base": In(range(plan.rows + 1)),
        "inputs": In(plan.reuse * 32),
        "acts": In(plan.reuse * plan.act_width),
        "write": Out(write_signature(plan)),
        "idle": Out(1),
    }
    if plan.conv:
        members["pixel"] = In(pixel_layout(bits_for(plan.address_span), plan.pixel_group))
    return members
