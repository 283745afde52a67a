"""The float engine's input converter: the host's 8-bit pixels become layer 0's
binary32 inputs as they are loaded, so the PEs read them like any activation.

Each of the ``images`` pixels of a ``load`` word is looked up in ``x_table`` (256
binary32 words: ``x_table[p] = fl(fl(p * x_scale) + x_offset)``, the golden model's
preprocessing, :func:`hw.plan.plan_float`) through a synchronous read port of one
read-only memory (block RAM: synthesis may copy it, two read ports per copy), and
the converted word is written into the input buffer one cycle later at the same
address.

Ports
-----
``load``: In(write port: ``en``, ``addr``, ``data`` of ``images`` x 8 bits)
    The host's load, image ``b`` in bits ``[8b+7:8b]``.
``write``: Out(write port: ``en``, ``addr``, ``data`` of ``images`` x 32 bits)
    The same load one cycle later, image ``b``'s ``x_table[pixel]`` in bits
    ``[32b+31:32b]``; drive the input buffer's write port with it.

Latency 1, one load word per cycle. A run may start the cycle after the last
``load``: its input buffer is first read several cycles later.
"""

from __future__ import annotations

from amaranth import Cat, Module, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .datapath import PIXEL_BITS
from .errors import refuse

__all__ = ["InputConverter", "input_converter"]

FLOAT_BITS = 32


class InputConverter(wiring.Component):
    """``images`` pixels a word through ``x_table``; ports and timing in the module docstring."""

    def __init__(self, x_table, images: int, addr_width: int):
        x_table = [int(v) for v in x_table]
        if len(x_table) != 1 << PIXEL_BITS:
            refuse(self, f"x_table: needs {1 << PIXEL_BITS} entries, got {len(x_table)}")
        if images < 1:
            refuse(self, f"images: must be >= 1, got {images}")
        self._x_table, self.images = x_table, images
        super().__init__({
            "load": In(memory.WritePort.Signature(addr_width=addr_width,
                                                  shape=unsigned(images * PIXEL_BITS))),
            "write": Out(memory.WritePort.Signature(addr_width=addr_width,
                                                    shape=unsigned(images * FLOAT_BITS))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.x_table = table = memory.Memory(shape=unsigned(FLOAT_BITS), depth=len(self._x_table),
                                                     init=self._x_table, attrs={"ram_style": "block"})
        converted = []
        for b in range(self.images):
            port = table.read_port()
            m.d.comb += port.addr.eq(self.load.data[b * PIXEL_BITS:(b + 1) * PIXEL_BITS])
            converted.append(port.data)
        m.d.sync += [self.write.en.eq(self.load.en), self.write.addr.eq(self.load.addr)]
        m.d.comb += self.write.data.eq(Cat(*converted))
        return m


def input_converter(engine, m, images: int) -> InputConverter:
    """An :class:`InputConverter` in module ``m`` of a float ``engine``, fed by the
    engine's ``load`` port (``images`` pixels a word); its ``write`` port is for the
    input buffer."""
    m.submodules.convert = convert = InputConverter(engine.plan.x_table, images, len(engine.load.addr))
    m.d.comb += [convert.load.en.eq(engine.load.en), convert.load.addr.eq(engine.load.addr),
                 convert.load.data.eq(engine.load.data)]
    return convert
