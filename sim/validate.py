"""``python -m sim.validate``: run inputs through the RTL and compare every output
word with the bit-true golden model of ``sw``.

    python -m sim.validate --model M.npz --inputs X.npy [--labels Y.npy]
        [--reuse R] [--pixels P] [--sim verilator|icarus] [--limit N] [--out OUT.npy]
        [--jobs J | --cluster tcp://HOST:PORT]

Generates the engine for the model (``hw``; binary or float by the model's
activation), simulates the inputs (the engine of a model with binary inputs
gets their bits, :func:`hw.binary_plan.engine_inputs`; the golden model the pixels)
in batches of R on a Dask cluster
(:mod:`sim.cluster`: ``--cluster``, else ``$TNN_DASK_CLUSTER``, else a
LocalCluster of J worker processes), writes the RTL's outputs to OUT.npy
(int32 ``[N, out]`` for binary models, float32 for float models) and prints,
as its last line, one JSON object: images, bit_exact (images whose outputs all
match in every bit), mismatches, cycles, ideal_cycles, cycles_ratio,
sim_seconds, sim_processes (simulations side by side), workers (Dask workers
whose slices count), slices, sim_cycles_per_second, and hw_accuracy /
sw_accuracy with labels. Float models add the adder latency (the golden
model's lane count), max_abs_diff_vs_float64 (largest difference of any output
to a float64 forward pass) and argmax_agreement_vs_float64.

A slice whose simulation fails is named on stderr (``sim: failed: images
A..B: reason``) and in the summary (``failed_slices``, ``failed_images``); its
images count as mismatches and OUT.npy is not written.

Exit code: 0 iff every image is bit-exact, 1 on any mismatch or failed slice,
2 on bad input (the message names the field, an unreachable ``--cluster``
included; nothing is written). On a mismatch the first differing image and
output are named and the first failing batch is simulated again with waves,
in one local process, kept in build/validate/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from hw.engine import build_engine, cycle_budget
from hw.binary_plan import engine_inputs
from hw.plan import plan_engine
from hw.verilog import write_verilog
from sw import golden
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import save_npy, write_json
from sw.model_file import load_model

from .cluster import RunResult, Session, SliceRun
from .cluster import add_arguments as add_cluster_arguments
from .slices import Design, Slice, ensure_built, run_slice
from .tools import SIMULATORS, use_simulator
from .wrapper import clocked_wrapper

TOP = "tnn_engine"


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m sim.validate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="tnn-model-v1 .npz")
    p.add_argument("--inputs", required=True, help=".npy uint8 [N, n_in] pixels")
    p.add_argument("--labels", help=".npy integer [N] class labels")
    p.add_argument("--reuse", type=int, default=8, help="R, PEs per decompressor (default 8)")
    p.add_argument("--pixels", type=int, default=1,
                   help="CNNs: P, output pixels per weight fetch; batches of B = R / P images (default 1)")
    p.add_argument("--lanes", type=int, default=None,
                   help="binary models: K, nonzeros per PE per cycle (default: the plan's choice)")
    p.add_argument("--sim", default="verilator", choices=SIMULATORS)
    p.add_argument("--limit", type=int, help="validate only the first N images")
    p.add_argument("--out", help="write the RTL outputs here (.npy)")
    p.add_argument("--build", default="build/validate",
                   help="work folder: the Verilog, the mismatch diagnosis (default %(default)s)")
    p.add_argument("--summary", help="also write the JSON summary to this file")
    p.add_argument("--add-latency", type=int, default=None,
                   help="float models: adder latency = partial sums per row (default 3)")
    add_cluster_arguments(p, default_jobs=1)
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
    for name in ("reuse", "pixels", "jobs"):
        if getattr(args, name) < 1:
            raise InputError(f"{name}: must be >= 1, got {getattr(args, name)}")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"limit: must be >= 1, got {args.limit}")
    if not 0.0 <= args.gaps < 1.0:
        raise InputError(f"gaps: must be in [0, 1), got {args.gaps}")


def generate(plan, work: Path) -> list[Path]:
    """Engine Verilog plus its clocked wrapper, in ``work``."""
    engine = build_engine(plan)
    wrapper = clocked_wrapper(engine, TOP)
    src = write_verilog(engine, TOP, work)
    tb = work / f"{TOP}_tb.v"
    tb.write_text(wrapper)
    return [src, tb]


#: Engine cycles per second of one simulation process, by kind: a rough figure
#: that only sizes the slices of a run (:func:`sim.cluster.slice_count`).
CYCLE_RATE = {"binary": 1_000_000, "float": 400_000}


def batch_seconds(plan) -> float:
    """Estimated simulation seconds of one batch (:data:`CYCLE_RATE`)."""
    return sum(cycle_budget(plan).values()) / CYCLE_RATE[plan.kind]


def simulate_local(sources, pixels, plan, sim, work: Path, *, gaps=0.0, waves=False,
                   stop_after=0):
    """Run ``pixels`` through the RTL in one simulation process on this machine, no
    cluster (the mismatch diagnosis needs its waves file here). Returns ``(words,
    report, build_dir)``: uint32 output words, or with ``stop_after = k`` layer
    ``k-1``'s activations (bits or binary32 bits); ``report`` as
    :func:`sim.slices.run_slice`'s; the build folder, under ``work``, which also
    holds the run's files and waves. Raises :class:`~sim.slices.SliceFailed`."""
    design = Design.from_files(sources, sim, f"{TOP}_tb", waves=waves)
    build_dir = ensure_built(design, work)
    n_out = plan.layers[stop_after - 1].outputs if stop_after else plan.n_outputs
    job = Slice(0, pixels, plan.batch, n_out, plan.act_width, gaps, stop_after,
                load_addresses=plan.input_addresses,
                read_addresses=plan.hidden_addresses(stop_after - 1) if stop_after else None)
    result = run_slice(design, job, build_dir, build_dir)
    return result.pop("words"), result, build_dir


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
        acts, _, _ = simulate_local(sources, pixels, plan, sim, work, stop_after=k)
        if not np.array_equal(acts[image], as_words(want_hidden[k - 1][image])):
            return k - 1
    return len(plan.layers) - 1


def diagnose(sources, pixels, plan, sim, work: Path, rtl, want, want_hidden,
             simulated=None) -> dict:
    """Name the first differing image (among the ``simulated`` ones: default all),
    layer and output, and simulate that image's batch again with waves, in one
    local process. Prints one line on stderr; returns the details. ``rtl`` and
    ``want`` are uint32 words."""
    same = (rtl == want).all(axis=1) | (False if simulated is None else ~simulated)
    image = int(np.flatnonzero(~same)[0])
    output = int(np.flatnonzero(rtl[image] != want[image])[0])
    first = image - image % plan.batch
    batch = slice(first, first + plan.batch)
    wave_dir = work / "mismatch"
    wave_dir.mkdir(exist_ok=True)
    layer = first_bad_layer(sources, pixels[batch], plan, sim, work,
                            [h[batch] for h in want_hidden], image - first)
    try:
        _, _, wbuild = simulate_local(sources, pixels[batch], plan, sim, wave_dir, waves=True)
        found = sorted(wbuild.glob("*.fst")) + sorted(wbuild.glob("*.vcd"))
        waves = str(found[0]) if found else None
    except RuntimeError as exc:
        waves = f"not written: {exc}"
    got_value, want_value = (from_words(a[image:image + 1, output], plan)[0].item() for a in (rtl, want))
    print(f"mismatch: image {image} layer {layer} output {output}: rtl {got_value} "
          f"(0x{int(rtl[image, output]):08x}), golden {want_value} (0x{int(want[image, output]):08x}) "
          f"(batch {image // plan.batch}; waves: {waves})", file=sys.stderr)
    return {"image": image, "layer": layer, "output": output,
            "rtl": got_value, "golden": want_value,
            "rtl_bits": f"0x{int(rtl[image, output]):08x}",
            "golden_bits": f"0x{int(want[image, output]):08x}", "waves": waves}


def prepare(args):
    """The model, its engine plan, the pixels and labels: every input check that
    needs no cluster (exit code 2 on bad input)."""
    check_args(args)
    model = load_model(args.model)
    options = {}
    if args.add_latency is not None:
        if model.activation != "float":
            raise InputError("add-latency: only float models have an adder latency")
        options["add_latency"] = args.add_latency
    if args.lanes is not None:
        if model.activation != "binary":
            raise InputError("lanes: only binary models take several nonzeros per cycle")
        options["lanes"] = args.lanes
    plan = plan_engine(model, args.reuse, pixel_group=args.pixels, **options)
    pixels, labels = load_inputs(args, model.n_inputs)
    return model, plan, pixels, labels


def summarise(args, model, plan, pixels, labels, result: RunResult, want) -> dict:
    """The summary's numbers. Images of failed slices count as mismatches (and as
    wrong predictions); ``failed_slices`` names them."""
    report, simulated = result.report, result.simulated
    rtl = from_words(result.words, plan)
    same = simulated & (result.words == as_words(want)).all(axis=1)
    batches = len(report["batch_cycles"])
    cycles = int(sum(report["batch_cycles"]))
    ideal = plan.ideal_cycles * batches
    summary = {
        "model": str(args.model),
        "activation": plan.kind,
        "simulator": args.sim,
        "reuse": plan.reuse,
        "pixels": plan.pixel_group,
        "batch": plan.batch,
        "lanes": plan.lanes if plan.kind == "binary" else 1,
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
        "workers": report["workers"],
        "slices": report["slices"],
        "simulated_cycles": report["simulated_cycles"],
        # All processes together: simulated cycles (host transfers included) per wall second.
        "sim_cycles_per_second": (round(report["simulated_cycles"] / report["sim_seconds"])
                                  if report["sim_seconds"] else None),
        # One process: engine cycles per wall second while it computes (transfers excluded).
        "compute_cycles_per_second": (round(cycles / report["compute_seconds"])
                                      if report["compute_seconds"] else None),
    }
    if result.failures:
        summary["failed_images"] = int((~simulated).sum())
        summary["failed_slices"] = result.failures
    if plan.kind == "binary":
        summary["weighted_layers"] = plan.weighted_layers
    else:
        summary["asymmetric_layers"] = plan.asymmetric_layers
    if plan.kind == "float":
        reference = golden.float_forward64(model, pixels[simulated])
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(rtl[simulated].astype(np.float64) - reference)
        summary["add_latency"] = plan.add_latency
        summary["mul_latency"] = plan.mul_latency
        summary["max_abs_diff_vs_float64"] = float(np.max(diff)) if diff.size else None
        summary["argmax_agreement_vs_float64"] = float(np.sum(
            golden.predict(rtl[simulated]) == golden.predict(reference)) / len(pixels))
    if labels is not None:
        summary["hw_accuracy"] = float(np.mean((golden.predict(rtl) == labels) & simulated))
        summary["sw_accuracy"] = float(np.mean(golden.predict(want) == labels))
    return summary


def run(args) -> dict:
    """Validate as the command line says; returns the summary (``mismatches`` 0 iff
    every image is bit-exact). Raises the input errors that mean exit code 2.

    The slices run on the cluster of ``--cluster`` / ``$TNN_DASK_CLUSTER``, else on
    a LocalCluster of ``--jobs`` worker processes (:mod:`sim.cluster`); the golden
    model is computed meanwhile. A mismatch is diagnosed here, in one process."""
    t_start = time.perf_counter()
    model, plan, pixels, labels = prepare(args)
    with Session(args.cluster, args.jobs) as session:
        session.check()
        if session.local:
            use_simulator(args.sim)  # a missing simulator is bad input here
        session.start()  # meanwhile, the sources
        work = Path(args.build)
        work.mkdir(parents=True, exist_ok=True)
        sources = generate(plan, work)
        design = Design.from_files(sources, args.sim, f"{TOP}_tb")
        hw_pixels = engine_inputs(model, pixels)  # binary inputs: the host writes their bits
        slices = SliceRun(session.client, design, hw_pixels, reuse=plan.batch,
                          n_out=plan.n_outputs, act_width=plan.act_width, gaps=args.gaps,
                          batch_seconds=batch_seconds(plan), load_addresses=plan.input_addresses)
        want, want_hidden = golden.forward(model, pixels, lanes=plan.golden_lanes)
        result = slices.collect(progress=args.progress, desc=f"{args.sim} x{slices.processes}")
    for failure in result.failures:
        print(f"sim: failed: {failure}", file=sys.stderr)
    summary = summarise(args, model, plan, pixels, labels, result, want)
    if args.out and not result.failures:
        save_npy(args.out, from_words(result.words, plan))
    want_words = as_words(want)
    if (result.simulated & (result.words != want_words).any(axis=1)).any():
        summary["first_mismatch"] = diagnose(sources, hw_pixels, plan, args.sim, work, result.words,
                                             want_words, want_hidden, result.simulated)
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
