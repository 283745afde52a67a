"""cocotb drivers for Amaranth valid/ready streams (used inside testbenches).

Timing discipline: inputs are written right after a rising edge; outputs are
sampled in the ``ReadOnly`` phase of the same cycle. A transfer happens at the
next rising edge when ``valid`` and ``ready`` were both high.
"""

from __future__ import annotations

import random

from cocotb.triggers import ReadOnly, RisingEdge

from .handles import bind


class StreamSource:
    """Drives a stream that flows into the DUT (``<prefix>__valid/ready/payload``)."""

    def __init__(self, dut, prefix: str, clk):
        self.port = bind(dut, prefix)
        self.clk = clk
        self.port.valid.value = 0

    async def send(self, payload: int) -> None:
        """Offer ``payload`` from the current cycle until it is taken; returns after
        the edge that took it."""
        self.port.valid.value = 1
        self.port.payload.value = payload
        while True:
            await ReadOnly()
            taken = int(self.port.ready.value)
            await RisingEdge(self.clk)
            if taken:
                break
        self.port.valid.value = 0


class StreamSink:
    """Accepts a stream that flows out of the DUT, with optional random back-pressure."""

    def __init__(self, dut, prefix: str, clk, ready_prob: float = 1.0, seed: int = 0):
        self.port = bind(dut, prefix)
        self.clk = clk
        self.ready_prob = ready_prob
        self.rng = random.Random(seed)
        self.port.ready.value = 0

    async def receive(self, count: int) -> tuple[list[int], int]:
        """Take ``count`` payloads. Returns ``(payloads, cycles)``, cycles counted
        from the cycle of this call to the cycle of the last transfer, inclusive."""
        beats: list[int] = []
        cycles = 0
        while len(beats) < count:
            ready = self.ready_prob >= 1.0 or self.rng.random() < self.ready_prob
            self.port.ready.value = int(ready)
            await ReadOnly()
            valid = int(self.port.valid.value)
            cycles += 1
            if valid and ready:
                beats.append(int(self.port.payload.value))
            await RisingEdge(self.clk)
        self.port.ready.value = 0
        return beats, cycles
