"""``python -m cost.float_floor``: how few LUTs the float PE could have if DSP slices did its
adder's wide work.

The paper costs a float MAC at 2 DSP slices and no LUTs. This measures the floor of that
claim for our float-accumulate PE (:class:`hw.float_pe.FloatAccumulatePE`): the PE and its
fp32 adder (:class:`hw.fp32.FP32Add`) are synthesised as in :mod:`cost.synth` (yosys
``synth_xilinx -family xcu``) with some of the adder's stages **boxed**: the stage's wide
result (the aligned significand, the significand sum, the normalised sum, the rounded
magnitude) comes out of a ``DSP48E2`` instance fed with the stage's inputs, a black box
that costs no LUTs and computes nothing. The LUTs left are those of everything else (the
magnitude compare, the operand swap, the leading-zero count, the exponent logic, the special
cases, the PE's partial sums and multiplexers), so a boxed row is a **lower bound** for
any PE that keeps those parts and moves the boxed ones onto DSP slices; a boxed netlist is
never simulated or used as hardware.

Rows (:data:`VARIANTS`): the PE as built (barrel shifters in LUTs); with ``dsp_shifts``
(both shifts as multiplications yosys maps onto DSP48E2); the two shifts boxed (the
paper's 2 DSPs); the shifts and the significand add boxed; and with the rounding increment
boxed too. Each row gives LUT sites (LUTs plus distributed RAM), DSPs, logic levels, and
the dense peak on a KU115 at 250 MHz: from :func:`cost.throughput.peak_tops` (a MAC costs its
LUT share plus its DSP share, the roofline's model) and with LUTs and DSPs as separate limits
(:func:`separate_limits_peak_tops`).

    python -m cost.float_floor [--latency 3] [--out build/float-floor]

Writes ``<out>/floor.json`` and ``<out>/floor.md`` (``python -m report.readme`` copies the
table into README.md). Exit code 0; 1 if yosys fails; 2 on bad arguments.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.hdl import Cat, Const, Instance, Signal

from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_json, write_text

from .throughput import DEVICES, OPS_PER_MAC, Cost, peak_tops
from .yosys import SynthError, netlist_text, synthesize

__all__ = ["BOXABLE", "VARIANTS", "Variant", "boxed_stages", "separate_limits_peak_tops", "measure",
           "render_markdown", "main"]

#: Stage function of :mod:`hw.fp32.add` -> (the field of its result a box drives, the inputs
#: of the box as a function of the stage's input view).
BOXABLE = {
    "align_stage": ("y_sig", lambda s: [s.y_sig, s.diff]),
    "add_stage": ("sum", lambda s: [s.x_sig, s.y_sig, s.sub]),
    "normalise_stage": ("sig", lambda s: [s.sum, s.shift]),
    "increment_stage": ("magnitude", lambda s: [s.sig, s.exp]),
}

_BOX_INPUT_BITS = 30 + 18 + 48     # DSP48E2 ports A, B, C
_BOX_OUTPUT_BITS = 48              # port P


@dataclass(frozen=True)
class Variant:
    name: str
    boxed: tuple[str, ...] = ()
    dsp_shifts: bool = False


VARIANTS = (
    Variant("as built"),
    Variant("DSP shifts (yosys maps the multiplications)", dsp_shifts=True),
    Variant("shifts boxed", ("align_stage", "normalise_stage")),
    Variant("shifts and add boxed", ("align_stage", "add_stage", "normalise_stage")),
    Variant("shifts, add and rounding boxed",
            ("align_stage", "add_stage", "normalise_stage", "increment_stage")),
)

DEFAULT_LATENCY = 3
DEFAULT_OUT = Path("build/float-floor")


def _box(m, inputs, width: int, name: str):
    """``width`` bits out of a DSP48E2 black box fed with ``inputs``."""
    bits = Cat(*inputs)
    if len(bits) > _BOX_INPUT_BITS or width > _BOX_OUTPUT_BITS:
        raise ValueError(f"{name}: {len(bits)} bits in, {width} out do not fit one DSP48E2")
    bits = Cat(bits, Const(0, _BOX_INPUT_BITS - len(bits)))
    p = Signal(_BOX_OUTPUT_BITS, name=f"{name}_p")
    m.submodules[name] = Instance("DSP48E2", i_A=bits[:30], i_B=bits[30:48], i_C=bits[48:],
                                  o_P=p)
    return p[:width]


def _boxed(stage, field: str, inputs_of, name: str):
    def boxed_stage(m, s, *args):
        out = stage(m, s, *args)
        target = getattr(out, field)
        m.d.comb += target.eq(_box(m, inputs_of(s), len(target), name))
        return out
    return boxed_stage


@contextlib.contextmanager
def boxed_stages(names):
    """Within the block, :class:`hw.fp32.FP32Add` elaborates the stages ``names`` (keys of
    :data:`BOXABLE`) with their wide result from a black box; restored on exit."""
    from hw.fp32 import add
    unknown = [n for n in names if n not in BOXABLE or not callable(getattr(add, n, None))]
    if unknown:
        raise ValueError(f"boxed stages: hw.fp32.add has no stage {unknown[0]!r}")
    saved = {n: getattr(add, n) for n in names}
    try:
        for n in names:
            field, inputs_of = BOXABLE[n]
            setattr(add, n, _boxed(saved[n], field, inputs_of, f"box_{n}"))
        yield
    finally:
        for n, stage in saved.items():
            setattr(add, n, stage)


def separate_limits_peak_tops(device, luts: float, dsps: float) -> float:
    """Dense peak if LUTs and DSPs were separate limits (the PEs that fit in either, the
    fewer of the two), in TOPs: the reading under which "the DSPs, not the LUTs, become the
    limit" once a PE's LUTs are few enough."""
    fits = [device.usable_luts / luts] if luts else []
    fits += [device.usable_dsps / dsps] if dsps else []
    return OPS_PER_MAC * device.clock_hz * min(fits) / 1e12


def _synth(component, name: str, variant: Variant, cache_dir) -> dict:
    with boxed_stages(variant.boxed):
        text = netlist_text(component, name)
    res = synthesize(text, name, cache_dir=cache_dir)
    r = res.resources
    return {"lut_sites": r.lut_sites, "lutram_luts": r.lutram_luts, "dsps": r.dsps, "ffs": r.ffs,
            "levels_lut": res.levels.lut, "levels_total": res.levels.total,
            "ku115_peak_tops": round(peak_tops(DEVICES["ku115"], Cost(r.lut_sites, r.dsps)), 4),
            "ku115_peak_tops_separate_limits":
                round(separate_limits_peak_tops(DEVICES["ku115"], r.lut_sites, r.dsps), 4)}


def measure(latency: int = DEFAULT_LATENCY, variants=VARIANTS, cache_dir="build/synth",
            log=lambda msg: None) -> list[dict]:
    """One row per variant: the boxed stages and the synthesised adder and PE."""
    from hw.float_pe import FloatAccumulatePE
    from hw.fp32 import FP32Add
    rows = []
    for v in variants:
        start = time.monotonic()
        row = {"variant": v.name, "boxed": list(v.boxed), "dsp_shifts": v.dsp_shifts,
               "adder": _synth(FP32Add(latency, dsp_shifts=v.dsp_shifts), "fp32_add", v, cache_dir),
               "pe": _synth(FloatAccumulatePE(latency, dsp_shifts=v.dsp_shifts), "float_pe", v,
                            cache_dir)}
        rows.append(row)
        log(f"{v.name:34s} PE {row['pe']['lut_sites']:4d} LUTs {row['pe']['dsps']} DSP, "
            f"adder {row['adder']['lut_sites']:4d} LUTs  ({time.monotonic() - start:.0f} s)")
    return rows


def render_markdown(report: dict) -> str:
    head = ("| variant | boxed stages | PE LUT sites | PE DSPs | PE levels (LUT / all) "
            "| adder LUT sites | adder DSPs | PE outside the adder | KU115 peak TOPs "
            "| KU115 peak, separate limits |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = [head]
    for r in report["rows"]:
        pe, add = r["pe"], r["adder"]
        boxed = ", ".join(n.removesuffix("_stage") for n in r["boxed"]) or "-"
        rows.append(f"| {r['variant']} | {boxed} | {pe['lut_sites']:,} | {pe['dsps']} "
                    f"| {pe['levels_lut']} / {pe['levels_total']} | {add['lut_sites']:,} "
                    f"| {add['dsps']} | {pe['lut_sites'] - add['lut_sites']:,} "
                    f"| {pe['ku115_peak_tops']:.2f} | {pe['ku115_peak_tops_separate_limits']:.2f} |")
    return "\n".join(rows) + (
        f"\n\nFloat PE at adder latency L = {report['latency']}, yosys {report['yosys']} "
        "`synth_xilinx -family xcu`; boxed stages are DSP48E2 black boxes (no LUTs, no "
        "function): a lower bound, not hardware. Peak: KU115 at 250 MHz, LUT share plus DSP "
        "share per MAC (the roofline's model); separate limits: the fewer PEs of those the "
        "usable LUTs and the usable DSPs would each hold.")


def _check_latency(text: str) -> int:
    from hw.fp32.add import ADD_REGISTERS
    try:
        latency = int(text)
    except ValueError:
        raise InputError(f"latency: must be an integer, got {text!r}") from None
    if latency not in ADD_REGISTERS:
        raise InputError(f"latency: must be in {min(ADD_REGISTERS)}..{max(ADD_REGISTERS)}, "
                         f"got {latency}")
    return latency


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m cost.float_floor", description=__doc__.split("\n")[0])
    p.add_argument("--latency", default=str(DEFAULT_LATENCY),
                   help="the adder's latency L (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--cache", type=Path, default=Path("build/synth"),
                   help="synthesis cache (default %(default)s)")
    args = p.parse_args(argv)

    def body() -> int:
        from .yosys import yosys_version
        latency = _check_latency(args.latency)
        try:
            rows = measure(latency, VARIANTS, cache_dir=args.cache,
                           log=lambda s: print(s, file=sys.stderr, flush=True))
        except SynthError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        report = {"latency": latency, "yosys": yosys_version(), "rows": rows}
        write_json(args.out / "floor.json", report, indent=1)
        write_text(args.out / "floor.md", render_markdown(report) + "\n")
        print(f"wrote {args.out / 'floor.json'}, {args.out / 'floor.md'}", file=sys.stderr)
        return 0
    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
