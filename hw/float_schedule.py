"""Exact cycles of a float engine batch: a cycle-level model of stage A's handshake.

Pure Python, no RTL. The float datapath (:mod:`hw.float_datapath`) accepts a
beat unless a reserved reduction slot is next or the beat ends a row while
the previous row's tail is still running (or the output unit would not be done
with the previous sums). Its beats come through the engine's stream register
(:class:`hw.stream_register.StreamRegister`: a main and a skid slot, the
decompressor's ``ready`` being "the skid slot is empty"); the decompressor
consumes a skip word in one cycle, whether or not a beat can be taken, and
after a row's first pass of several offers the row's first word again a cycle
late if that pass's last word was taken at once. Which
cycles stall depends on the weights only, never on the data, so
:func:`float_layer_span` plays each layer's words (a conv layer's rows once per
output pixel, one walk after the other) through the register and against
those rules, cycle by cycle, from the layer's first beat to its last row end.
A layer then takes that span plus
:meth:`hw.float_datapath.FloatDatapath.layer_overhead` cycles (the command,
the decompressor's start, the last row's tail, the output unit's drain), one
less for an ordinary layer of an engine with asymmetric layers (its sum is
captured one cycle before an asymmetric layer's second sum would be).

:func:`float_batch_cycles` is exact for every float plan (dense or conv,
asymmetric layers included); :func:`hw.engine.cycle_budget` of a conv plan
uses it for its ``stalls`` entry. Cost: about a microsecond per simulated
cycle; a conv layer's repeated walks of a row are played once while their
schedule repeats (detected, then extrapolated).
"""

from __future__ import annotations

import numpy as np

__all__ = ["float_layer_span", "float_batch_cycles"]


def _rows(words: np.ndarray, field_width: int) -> list[tuple[bool, ...]]:
    """A layer's words as rows: per word, True for a skip word (no beat)."""
    g = field_width
    skip = ((words >> (g + 2)) & 1).astype(bool)
    last = ((words >> (g + 1)) & 1).astype(bool)
    rows, row = [], []
    for s, e in zip(skip.tolist(), last.tolist()):
        row.append(s and not e)
        if e:
            rows.append(tuple(row))
            row = []
    return rows


class _StageA:
    """The handshake's state (:mod:`hw.float_datapath`, ``_stage_a`` and ``_tail``)."""

    def __init__(self, plan, asym: bool):
        L, self.R = plan.add_latency, plan.reuse
        self.acc_first = 1 + L * L
        self.acc_last = self.acc_first + int(plan.asymmetric)
        self.slots0 = {1 + k * L for k in range(1, L)}
        self.slots1 = {2 + k * L for k in range(1, L)} if plan.asymmetric else set()
        self.asym = asym
        self.b_last = False          # a row end was accepted last cycle
        self.tail_active, self.tail_t, self.tail_asym = False, 0, False
        self.out_left = 0

    def key(self):
        return (self.b_last, self.tail_active, self.tail_t, self.tail_asym, self.out_left)

    def cycle(self, beat: bool, last: bool) -> bool:
        """One cycle with a beat (ends its row: ``last``) or none; returns whether it is taken."""
        t_next = self.tail_t + 1
        reserved = self.tail_active and (t_next in self.slots0 or (self.tail_asym and t_next in self.slots1))
        tail_end = self.acc_last if self.tail_asym else self.acc_first
        capturing = self.tail_active and self.tail_t == tail_end
        busy_next = (self.tail_active and self.tail_t != tail_end) or self.b_last
        conflict = self.out_left > self.acc_first + 2 or (self.R > self.acc_first + 1 and capturing)
        taken = beat and not reserved and not (last and (busy_next or conflict))
        if self.tail_active:
            self.tail_t = t_next
            if capturing:
                self.tail_active = False
        if self.b_last:
            self.tail_active, self.tail_t, self.tail_asym = True, 1, self.asym
        self.out_left = self.R if capturing else max(0, self.out_left - 1)
        self.b_last = taken and last
        return taken


class _Beats:
    """The stream register between the decompressor and stage A
    (:class:`hw.stream_register.StreamRegister`): its main and skid slots, each
    ``None`` or the held beat's ``last`` bit."""

    def __init__(self):
        self.main = self.skid = None

    def key(self):
        return (self.main, self.skid)

    def cycle(self, state: _StageA, word) -> bool:
        """One cycle: stage A sees the main slot, the decompressor offers ``word``
        (None: nothing, ``"skip"``: a skip word, else the beat's ``last`` bit).
        Returns whether the decompressor's word is consumed."""
        held = self.main is not None and not state.cycle(True, self.main)
        if self.main is None:
            state.cycle(False, False)
        if word is None or word == "skip":
            taken = None
            consumed = word == "skip"
        else:
            taken = word if self.skid is None else None
            consumed = taken is not None
        if held:
            if taken is not None:
                self.skid = taken
        elif self.skid is not None:
            self.main, self.skid = self.skid, None
        else:
            self.main = taken
        return consumed


def _walk(state: _StageA, beats: _Beats, row: tuple[bool, ...], rewinds: bool) -> int:
    """Cycles until the decompressor has consumed the walk of ``row``. ``rewinds``:
    the row's first pass of several; if its last word is consumed as soon as it is
    offered, the row's first word follows a cycle later (the rewind is decided from
    the decompressor's word register: :class:`hw.decompressor.Decompressor`)."""
    cycles = 0
    for i, skip in enumerate(row):
        word = "skip" if skip else i == len(row) - 1
        cycles += 1
        at_once = True
        while not beats.cycle(state, word):
            cycles += 1
            at_once = False
    if rewinds and at_once:
        beats.cycle(state, None)
        cycles += 1
    return cycles


def _drain(state: _StageA, beats: _Beats) -> int:
    """Cycles until stage A has taken the beats the stream register still holds."""
    cycles = 0
    while beats.main is not None:
        cycles += 1
        beats.cycle(state, None)
    return cycles


def float_layer_span(plan, layer: int) -> int:
    """Cycles from layer ``layer``'s first beat at stage A to its last row end, both
    included: the decompressor's words, one cycle later through the stream register."""
    lp = plan.layers[layer]
    words = plan.words[lp.word_base:lp.word_base + lp.word_count].astype(np.int64)
    state, beats = _StageA(plan, lp.asymmetric), _Beats()
    span = 0
    for row in _rows(words, plan.field_width):
        seen, done = {}, 0   # state before a walk (the first excepted) -> (walks done, span then)
        while done < lp.passes:
            key = (state.key(), beats.key())
            if done and key in seen:  # the walks repeat from here: extrapolate whole periods
                walks0, span0 = seen[key]
                period, cost = done - walks0, span - span0
                skip = (lp.passes - done) // period
                span, done = span + skip * cost, done + skip * period
                seen = {}
                if done == lp.passes:
                    break
            if done:
                seen[key] = (done, span)
            span += _walk(state, beats, row, rewinds=done == 0 and lp.passes > 1)
            done += 1
    return span + _drain(state, beats) - 1


def float_batch_cycles(plan) -> int:
    """A batch's cycles on the float engine for ``plan``, exactly."""
    from .float_datapath import FloatDatapath  # the datapath imports the plan's modules
    overhead = FloatDatapath.layer_overhead(plan)  # counts an asymmetric layer's later capture
    return sum(float_layer_span(plan, l) + overhead - int(plan.asymmetric and not lp.asymmetric)
               for l, lp in enumerate(plan.layers))
