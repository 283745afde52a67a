"""hw.stream_register.StreamRegister in the Amaranth simulator against a cycle model,
with random valid and back-pressure: every cycle's outputs, the words' order, the
latency, and that ``i.ready`` never depends on ``o.ready`` in the same cycle."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.float_schedule import _Beats, _StageA
from hw.stream_register import StreamRegister


class Model:
    """The module docstring's behaviour: a main and a skid slot (None or a word)."""

    def __init__(self):
        self.main = self.skid = None

    def outputs(self):
        return {"i_ready": self.skid is None, "o_valid": self.main is not None, "o_payload": self.main}

    def cycle(self, in_word, out_ready):
        """One clock edge; ``in_word`` None or the word offered. Returns (word taken
        from i or None, word leaving at o or None)."""
        taken = in_word if self.skid is None else None
        leaving = self.main if out_ready else None
        if self.main is not None and not out_ready:
            if taken is not None:
                self.skid = taken
        elif self.skid is not None:
            self.main, self.skid = self.skid, None
        else:
            self.main = taken
        return taken, leaving


def run(valid_prob, ready_prob, cycles=400, seed=0):
    dut = StreamRegister(8)
    rng = np.random.default_rng(seed)
    model = Model()
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
            want = model.outputs()
            got = {"i_ready": bool(ctx.get(dut.i.ready)), "o_valid": bool(ctx.get(dut.o.valid))}
            assert got == {k: want[k] for k in got}, f"cycle {cycle}"
            if want["o_valid"]:
                assert ctx.get(dut.o.payload) == want["o_payload"], f"cycle {cycle}"
            offered_at.setdefault(word, cycle)
            taken, leaving = model.cycle(word if offer else None, out_ready)
            await ctx.tick()
            if taken is not None:
                sent.append(taken)
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


def test_the_schedule_models_register_agrees_with_the_module_model():
    """hw.float_schedule's _Beats (last bits only) against the model here, with stage A
    standing in as a random ready: the same words taken and held every cycle."""
    rng = np.random.default_rng(3)

    class RandomStageA(_StageA):
        def __init__(self):
            pass

        def cycle(self, beat, last):
            self.ready = bool(rng.random() < 0.6)
            return beat and self.ready

    stage, beats, model = RandomStageA(), _Beats(), Model()
    for _ in range(500):
        word = None if rng.random() < 0.2 else bool(rng.random() < 0.3)
        consumed = beats.cycle(stage, word)
        taken, _ = model.cycle(word, stage.ready if model.main is not None else True)
        assert consumed == (taken is not None)
        assert (beats.main, beats.skid) == (model.main, model.skid)
