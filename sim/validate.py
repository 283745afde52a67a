"""``python -m sim.validate``: run inputs through the RTL and compare every output
word with the bit-true golden model of ``sw``.

    python -m sim.validate --model M.npz --inputs X.npy [--labels Y.npy]
        [--reuse R] [--sim verilator|icarus] [--limit N] [--out OUT.npy]

Generates the engine for the model (``hw``; binary or float by the model's
activation), simulates the inputs in batches of R, writes the RTL's outputs to
OUT.npy (int32 ``[N, out]`` for binary models, float32 for float models) and
prints, as its last line, one JSON object: images, bit_exact (images whose
outputs all match in every bit), mismatches, cycles, ideal_cycles,
cycles_ratio, sim_seconds, sim_cycles_per_second, and hw_accuracy /
sw_accuracy with labels. Float models add the adder latency (the golden
model's lane count), max_abs_diff_vs_float64 (largest difference of any output
to a float64 forward pass) and argmax_agreement_vs_float64.

Exit code: 0 iff every image is bit-exact, 1 on any mismatch, 2 on bad input
(the message names the field; nothing is written). On a mismatch the first
differing image and output are named and the first failing batch is
simulated again with waves, kept in build/validate/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hw.engine import Engine, cycle_budget
from hw.plan import plan_engine
from hw.verilog import write_verilog
from sw import golden
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import save_npy, write_json
from sw.model_file import load_model

from .runner import build_cocotb, run_built, source_digest
from .tools import SIMULATORS
from .wrapper import clocked_wrapper

TOP = "tnn_engine"


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m sim.validate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="tnn-model-v1 .npz")
    p.add_argument("--inputs", required=True, help=".npy uint8 [N, n_in] pixels")
    p.add_argument("--labels", help=".npy integer [N] class labels")
    p.add_argument("--reuse", type=int, default=8, help="R, PEs per decompressor (default 8)")
    p.add_argument("--sim", default="verilator", choices=SIMULATORS)
    p.add_argument("--limit", type=int, help="validate only the first N images")
    p.add_argument("--out", help="write the RTL outputs here (.npy)")
    p.add_argument("--build", default="build/validate", help="work folder (default %(default)s)")
    p.add_argument("--summary", help="also write the JSON summary to this file")
    p.add_argument("--add-latency", type=int, default=None,
                   help="float models: adder latency = partial sums per row (default 3)")
    p.add_argument("--jobs", type=int, default=1,
                   help="simulation processes over slices of the inputs (default 1)")
    p.add_argument("--progress", action="store_true", help="a progress bar over images")
    p.add_argument("--gaps", type=float, default=0.0,
                   help="probability of idle cycles between host transactions (testing)")
    return p.parse_args(argv)


def read_npy(field: str, path) -> np.ndarray:
    """One array from a ``.npy`` file; :class:`InputError` naming ``field`` if it cannot be read."""
    try:
        return np.load(path, allow_pickle=False)
    except OSError as exc:
        raise InputError(f"{field}: cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InputError(f"{field}: cannot read {path}: not a numeric .npy array") from exc


def load_inputs(args, n_in: int):
    pixels = read_npy("inputs", args.inputs)
    if pixels.dtype != np.uint8:
        raise InputError(f"inputs: expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim != 2 or pixels.shape[1] != n_in:
        raise InputError(f"inputs: expected shape [N, {n_in}], got {list(pixels.shape)}")
    labels = None
    if args.labels:
        labels = read_npy("labels", args.labels)
        if labels.ndim != 1 or len(labels) != len(pixels) or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"labels: expected integer [N={len(pixels)}], got "
                             f"{labels.dtype} {list(labels.shape)}")
    if args.limit is not None:
        pixels = pixels[: args.limit]
        labels = labels[: args.limit] if labels is not None else None
    if len(pixels) == 0:
        raise InputError("inputs: no images")
    return pixels, labels


def check_args(args) -> None:
    """The numeric arguments' ranges; :class:`InputError` naming the first bad one."""
    for name in ("reuse", "jobs"):
        if getattr(args, name) < 1:
            raise InputError(f"{name}: must be >= 1, got {getattr(args, name)}")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"limit: must be >= 1, got {args.limit}")
    if not 0.0 <= args.gaps < 1.0:
        raise InputError(f"gaps: must be in [0, 1), got {args.gaps}")


def generate(plan, work: Path) -> list[Path]:
    """Engine Verilog plus its clocked wrapper, in ``work``."""
    engine = Engine(plan)
    wrapper = clocked_wrapper(engine, TOP)
    src = write_verilog(engine, TOP, work)
    tb = work / f"{TOP}_tb.v"
    tb.write_text(wrapper)
    return [src, tb]


def batch_slices(n_images: int, reuse: int, jobs: int) -> list[slice]:
    """Up to ``jobs`` contiguous slices of whole batches (the last batch may be short)."""
    batches = -(-n_images // reuse)
    jobs = max(1, min(jobs, batches))
    bounds = [round(k * batches / jobs) * reuse for k in range(jobs + 1)]
    return [slice(a, min(b, n_images)) for a, b in zip(bounds, bounds[1:])]


def simulate(sources, pixels, plan, sim, work: Path, *, gaps=0.0, waves=False, stop_after=0,
             jobs=1, progress=False):
    """Run ``pixels`` through the RTL. Returns ``(words, report, build_dir)``: uint32
    output words (int32 or binary32 bits); with ``stop_after = k`` layer ``k-1``'s
    activations instead (bits or binary32 bits).

    One build, then ``jobs`` simulation processes over contiguous slices of whole
    batches, side by side (``jobs`` > 1 uses more cores). ``report``: per-batch
    cycles in order, ``sim_seconds`` (wall time of the simulation phase),
    ``simulated_cycles`` and ``compute_seconds`` summed over the processes.
    ``progress`` shows a bar over images."""
    build_dir = work / f"sim-{sim}-{source_digest(sources)}{'-waves' if waves else ''}"
    build_cocotb(toplevel=f"{TOP}_tb", sources=sources, sim=sim, waves=waves,
                 build_dir=build_dir, timing=True)
    slices = batch_slices(len(pixels), plan.reuse, jobs)
    job_dirs = [work / f"job{k}" for k in range(len(slices))]
    n_out = plan.layers[stop_after - 1].n_out if stop_after else plan.n_outputs

    def run_job(k: int):
        d = job_dirs[k]
        d.mkdir(parents=True, exist_ok=True)
        for f in ("rtl_out.npy", "tb_report.json", "progress"):
            (d / f).unlink(missing_ok=True)
        np.save(d / "inputs.npy", pixels[slices[k]])
        tests, failures = run_built(
            toplevel=f"{TOP}_tb", build_dir=build_dir, test_module="sim.tb_engine", sim=sim,
            waves=waves, test_dir=build_dir if len(slices) == 1 else d,
            env={"TB_INPUTS": (d / "inputs.npy").resolve(), "TB_REUSE": plan.reuse,
                 "TB_N_OUT": n_out, "TB_STOP_AFTER": stop_after, "TB_ACT_WIDTH": plan.act_width,
                 "TB_GAPS": gaps, "TB_OUT": (d / "rtl_out.npy").resolve(),
                 "TB_REPORT": (d / "tb_report.json").resolve(),
                 "TB_PROGRESS": (d / "progress").resolve()})
        if (tests, failures) != (1, 0) or not (d / "rtl_out.npy").exists():
            raise RuntimeError(f"the testbench failed ({failures} of {tests}); see {d} and {build_dir}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(slices)) as pool:
        futures = [pool.submit(run_job, k) for k in range(len(slices))]
        if progress:
            with tqdm(total=len(pixels), unit="image", desc=f"{sim} x{len(slices)}",
                      file=sys.stderr) as bar:
                while not all(f.done() for f in futures):
                    time.sleep(0.5)
                    done = sum(read_progress(d / "progress") for d in job_dirs)
                    if done > bar.n:
                        bar.update(done - bar.n)
        for f in futures:
            f.result()
    wall = time.perf_counter() - t0
    reports = [json.loads((d / "tb_report.json").read_text()) for d in job_dirs]
    words = np.concatenate([np.load(d / "rtl_out.npy") for d in job_dirs])
    report = {
        "batch_cycles": [c for r in reports for c in r["batch_cycles"]],
        "sim_seconds": wall,
        "processes": len(slices),
        "simulated_cycles": sum(r["simulated_cycles"] for r in reports),
        "compute_seconds": sum(r["compute_seconds"] for r in reports),
    }
    return words, report, build_dir


def read_progress(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def as_words(values: np.ndarray) -> np.ndarray:
    """Golden outputs or activations as the RTL's uint32 words: int32 and float32
    by their bits, hidden bits (uint8) by value."""
    values = np.asarray(values)
    if values.dtype in (np.int32, np.float32):
        return values.view(np.uint32)
    return values.astype(np.uint32)


def from_words(words: np.ndarray, plan) -> np.ndarray:
    """The RTL's output words as the golden model's dtype: int32 or float32."""
    return words.view(np.int32 if plan.kind == "binary" else np.float32)


def first_bad_layer(sources, pixels, plan, sim, work: Path, want_hidden, image: int) -> int:
    """The first layer whose outputs for ``image`` differ from the golden model's
    in any bit, found by stopping the run after each hidden layer in turn; the
    last layer if every hidden layer matches."""
    for k in range(1, len(plan.layers)):
        acts, _, _ = simulate(sources, pixels, plan, sim, work, stop_after=k)
        if not np.array_equal(acts[image], as_words(want_hidden[k - 1][image])):
            return k - 1
    return len(plan.layers) - 1


def diagnose(sources, pixels, plan, sim, work: Path, rtl, want, want_hidden) -> dict:
    """Name the first differing image, layer and output, and simulate that image's
    batch again with waves. Prints one line on stderr; returns the details.
    ``rtl`` and ``want`` are uint32 words."""
    same = (rtl == want).all(axis=1)
    image = int(np.flatnonzero(~same)[0])
    output = int(np.flatnonzero(rtl[image] != want[image])[0])
    first = image - image % plan.reuse
    batch = slice(first, first + plan.reuse)
    wave_dir = work / "mismatch"
    wave_dir.mkdir(exist_ok=True)
    layer = first_bad_layer(sources, pixels[batch], plan, sim, work,
                            [h[batch] for h in want_hidden], image - first)
    try:
        _, _, wbuild = simulate(sources, pixels[batch], plan, sim, wave_dir, waves=True)
        found = sorted(wbuild.glob("*.fst")) + sorted(wbuild.glob("*.vcd"))
        waves = str(found[0]) if found else None
    except RuntimeError as exc:
        waves = f"not written: {exc}"
    got_value, want_value = (from_words(a[image:image + 1, output], plan)[0].item() for a in (rtl, want))
    print(f"mismatch: image {image} layer {layer} output {output}: rtl {got_value} "
          f"(0x{int(rtl[image, output]):08x}), golden {want_value} (0x{int(want[image, output]):08x}) "
          f"(batch {image // plan.reuse}; waves: {waves})", file=sys.stderr)
    return {"image": image, "layer": layer, "output": output,
            "rtl": got_value, "golden": want_value,
            "rtl_bits": f"0x{int(rtl[image, output]):08x}",
            "golden_bits": f"0x{int(want[image, output]):08x}", "waves": waves}


def run(args) -> dict:
    """Validate as the command line says; returns the summary (``mismatches`` 0 iff
    every image is bit-exact). Raises the input errors that mean exit code 2."""
    t_start = time.perf_counter()
    check_args(args)
    model = load_model(args.model)
    options = {}
    if args.add_latency is not None:
        if model.activation != "float":
            raise InputError("add-latency: only float models have an adder latency")
        options["add_latency"] = args.add_latency
    plan = plan_engine(model, args.reuse, **options)
    pixels, labels = load_inputs(args, model.n_inputs)

    work = Path(args.build)
    work.mkdir(parents=True, exist_ok=True)
    sources = generate(plan, work)
    rtl_words, report, build_dir = simulate(sources, pixels, plan, args.sim, work, gaps=args.gaps,
                                            jobs=args.jobs, progress=args.progress)
    lanes = plan.lanes
    want, want_hidden = golden.forward(model, pixels, lanes=lanes)
    want_words = as_words(want)
    rtl = from_words(rtl_words, plan)

    same = (rtl_words == want_words).all(axis=1)
    batches = len(report["batch_cycles"])
    cycles = int(sum(report["batch_cycles"]))
    ideal = plan.ideal_cycles * batches
    summary = {
        "model": str(args.model),
        "activation": plan.kind,
        "simulator": args.sim,
        "reuse": plan.reuse,
        "images": int(len(pixels)),
        "bit_exact": int(same.sum()),
        "mismatches": int((~same).sum()),
        "batches": batches,
        "cycles": cycles,
        "ideal_cycles": ideal,
        "cycles_ratio": round(cycles / ideal, 4) if ideal else None,
        "cycles_per_batch": cycle_budget(plan),
        "sim_seconds": round(report["sim_seconds"], 3),
        "sim_processes": report["processes"],
        "simulated_cycles": report["simulated_cycles"],
        # All processes together: simulated cycles (host transfers included) per wall second.
        "sim_cycles_per_second": round(report["simulated_cycles"] / report["sim_seconds"]),
        # One process: engine cycles per wall second while it computes (transfers excluded).
        "compute_cycles_per_second": round(cycles / report["compute_seconds"]),
    }
    if plan.kind == "binary":
        summary["weighted_layers"] = plan.weighted_layers
    else:
        summary["asymmetric_layers"] = plan.asymmetric_layers
    if plan.kind == "float":
        reference = golden.float_forward64(model, pixels)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(rtl.astype(np.float64) - reference)
        summary["add_latency"] = plan.add_latency
        summary["mul_latency"] = plan.mul_latency
        summary["max_abs_diff_vs_float64"] = float(np.max(diff))
        summary["argmax_agreement_vs_float64"] = float(np.mean(
            golden.predict(rtl) == golden.predict(reference)))
    if labels is not None:
        summary["hw_accuracy"] = float(np.mean(golden.predict(rtl) == labels))
        summary["sw_accuracy"] = float(np.mean(golden.predict(want) == labels))
    if args.out:
        save_npy(args.out, rtl)
    if not same.all():
        summary["first_mismatch"] = diagnose(sources, pixels, plan, args.sim, work,
                                             rtl_words, want_words, want_hidden)
    summary["wall_seconds"] = round(time.perf_counter() - t_start, 2)
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)

    def body() -> int:
        summary = run(args)
        if args.summary:
            write_json(args.summary, summary)
        print(json.dumps(summary))
        return 0 if summary["mismatches"] == 0 else 1

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
