"""The layer sequencer both engines share: IDLE -> (ISSUE -> RUN) per layer -> IDLE."""

from __future__ import annotations

from amaranth import Signal

__all__ = ["sequence_layers"]


def sequence_layers(engine, m, layer, is_last, drained, issue, debug: bool) -> None:
    """Run every layer of ``engine`` (its ``start``, ``busy``, ``done``, ``cycles`` and,
    with ``debug``, ``stop_after`` ports): in ISSUE, ``issue(m)`` drives the layer's
    walk command and returns the condition under which it is taken (None: always,
    the walk is idle there); RUN waits for
    ``drained`` (the walk and the datapath empty), then steps ``layer`` or ends the
    run after the last layer (``is_last``) or after ``stop_after``'s. Counts the
    run's cycles while ``busy``."""
    stop_after = Signal(range(len(engine.plan.layers)))  # 0: run all layers
    ends_run = is_last
    if debug:
        ends_run = is_last | ((stop_after != 0) & (layer == stop_after - 1))
    with m.If(engine.busy):
        m.d.sync += engine.cycles.eq(engine.cycles + 1)
    with m.FSM():
        with m.State("IDLE"):
            with m.If(engine.start):
                m.d.sync += [layer.eq(0), engine.cycles.eq(0), engine.busy.eq(1),
                             engine.done.eq(0)]
                if debug:
                    m.d.sync += stop_after.eq(engine.stop_after)
                m.next = "ISSUE"
        with m.State("ISSUE"):
            taken = issue(m)
            if taken is None:
                m.next = "RUN"
            else:
                with m.If(taken):
                    m.next = "RUN"
        with m.State("RUN"):
            with m.If(drained):
                with m.If(ends_run):
                    m.d.sync += [engine.busy.eq(0), engine.done.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += layer.eq(layer + 1)
                    m.next = "ISSUE"
