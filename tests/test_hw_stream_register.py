"""hw.stream_register.StreamRegister in the Amaranth simulator against the cycle model
the float schedule plays it with (hw.float_schedule._Beats), with random valid and
back-pressure: every cycle's outputs, the words' order, the latency, and that
``i.ready`` never depends on ``o.ready`` in the same cycle."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.float_schedule import _Beats
from hw.stream_register import StreamRegister


class ReadyStageA:
    """Stage A for :class:`hw.float_schedule._Beats`: takes the main slot's word when
    this cycle's ``o.ready`` (``ready``) is high."""

    ready = False

    def cycle(self, beat, last):
        return beat and self.ready


def run(valid_prob, ready_prob, cycles=400, seed=0):
    dut = StreamRegister(8)
    rng = np.random.default_rng(seed)
    model, stage = _Beats(), ReadyStageA()
    sent, received, latencies = [], [], []

    async def testbench(ctx):
        word, offered_at = 0, {}
        for cycle in range(cycles):
            offer = rng.random() < valid_prob
            out_ready = bool(rng.random() < ready_prob)
            ctx.set(dut.i.valid, offer)
            ctx.set(dut.i.payload, word)
            ctx.set(dut.o.ready, 0)
            ready_low = ctx.get(dut.i.ready)
            ctx.set(dut.o.ready, 1)
            assert ctx.get(dut.i.ready) == ready_low, "i.ready follows o.ready combinationally"
            ctx.set(dut.o.ready, out_ready)
            got = (bool(ctx.get(dut.i.ready)), bool(ctx.get(dut.o.valid)))
            assert got == (model.skid is None, model.main is not None), f"cycle {cycle}"
            if model.main is not None:
                assert ctx.get(dut.o.payload) == model.main, f"cycle {cycle}"
            offered_at.setdefault(word, cycle)
            leaving = model.main if out_ready else None
            stage.ready = out_ready
            taken = model.cycle(stage, word if offer else None)
            await ctx.tick()
            if taken:
                sent.append(word)
                word = (word + 1) % 256
            if leaving is not None:
                received.append(leaving)
                latencies.append(cycle - offered_at[leaving])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return sent, received, latencies


@pytest.mark.parametrize("valid_prob, ready_prob", [(1.0, 1.0), (0.7, 0.5), (1.0, 0.3), (0.3, 0.9)])
def test_words_leave_in_order_as_the_model_says(valid_prob, ready_prob):
    sent, received, _ = run(valid_prob, ready_prob, seed=int(valid_prob * 10 + ready_prob * 100))
    assert len(received) > 50
    assert received == sent[:len(received)] and len(sent) - len(received) <= 2


def test_one_cycle_latency_and_full_throughput_without_back_pressure():
    sent, received, latencies = run(1.0, 1.0, cycles=100)
    assert len(sent) == 100 and len(received) == 99 and set(latencies) == {1}
