"""hw.input_converter.InputConverter in the Amaranth simulator: every load word comes
out one cycle later at the same address, each image's pixel replaced by its table entry;
what it refuses."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.errors import ParameterError
from hw.input_converter import InputConverter


def test_each_load_leaves_one_cycle_later_with_every_pixel_looked_up():
    rng = np.random.default_rng(4)
    table = rng.integers(0, 2 ** 32, 256, dtype=np.uint64)
    images = 3
    dut = InputConverter(table, images, addr_width=6)
    loads = [(bool(rng.random() < 0.7), int(rng.integers(64)), rng.integers(0, 256, images))
             for _ in range(200)]
    seen = []

    async def testbench(ctx):
        for en, addr, pixels in loads:
            ctx.set(dut.load.en, en)
            ctx.set(dut.load.addr, addr)
            ctx.set(dut.load.data, sum(int(p) << (8 * b) for b, p in enumerate(pixels)))
            await ctx.tick()
            seen.append((ctx.get(dut.write.en), ctx.get(dut.write.addr), ctx.get(dut.write.data)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    for (en, addr, pixels), (got_en, got_addr, got_data) in zip(loads, seen):
        assert got_en == en
        if en:
            want = sum(int(table[p]) << (32 * b) for b, p in enumerate(pixels))
            assert (got_addr, got_data) == (addr, want)


@pytest.mark.parametrize("table, images, message", [
    (range(255), 1, "x_table: needs 256 entries, got 255"),
    (range(256), 0, "images: must be >= 1, got 0"),
])
def test_refuses(table, images, message):
    with pytest.raises(ParameterError) as info:
        InputConverter(table, images, addr_width=4)
    assert str(info.value) == message
