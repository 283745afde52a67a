"""Three-stage sparse TNN training (paper 002, Algorithms 1-2), baselines, export, report.

    python -m sw.train --config fmnist-mlp-binary [--out build] [--threads 2] [--seed N] [--quiet]
    python -m sw.train --list

Stages (Algorithm 1, :mod:`sw.stages`):

1. **train** with ternary weights (threshold ``eta`` per layer, eq. 1) and L2 on
   the quantised weights (``lam``, eq. 5) -- or with the config's other
   ``quantizer`` (TWN, TTQ, prox, SQ, incremental: what each does in each
   stage, including how "prune" becomes its stage transition, is in
   :mod:`sw.quant.adapters`); its loss terms are added to the cross entropy;
2. **prune**: fix ``mask = |w_r| > sigma`` (``sigma = eta``, eqs. 6-8); other
   quantisers prune nothing: this is their stage transition;
3. **retrain** with the mask fixed and the same ``eta`` and ``lam``
   (stages 2-3 repeat ``prune_iterations`` times);
4. **encode**: RLE and Huffman sizes (:mod:`sw.sizes`), export to
   ``tnn-model-v1`` (:mod:`sw.export`), checked against the golden model
   (:mod:`sw.training_report`).

Each stage keeps the epoch with the best validation accuracy (a held-out part
of the training set; the test set is only ever reported; :mod:`sw.fit`).
Outputs, under ``--out`` (default ``build``):

* ``models/NAME.npz`` -- the hardware model file (MLPs only);
* ``models/NAME.json`` -- the report: accuracy after each stage, baselines,
  per-layer and total sparsity, encoded sizes, golden-model check, timings;
* ``checkpoints/NAME/*.pt`` -- the best state of each stage and baseline
  (:mod:`sw.checkpoints`);
* ``plots/NAME-layer-nonzeros.png`` -- nonzero percentage per layer (Fig. 4b),
  ``plots/NAME-weights.png`` -- ``w_r`` after stage 1 (Fig. 1b).

Runs are seeded and deterministic for a given thread count (``--threads 2``
or more: the baselines train in a second process beside the sparse stages,
each with half of the threads; the report's ``timing`` says so). Bad arguments, an
unknown config, a config the stages would refuse, missing or malformed data
files and an output path that is not a folder end with one line
``error: <field>: <reason>`` and exit code 2, before anything is written.
"""

from __future__ import annotations

import os

# On a shared CPU, OpenMP threads that spin while waiting slow 2-thread training
# down whenever another process holds a core. Must be set before torch loads
# its OpenMP runtime; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from .build import build_model
from .configs import CONFIGS, Config, get_config
from .data import load_dataset
from .errors import ArgumentParser, InputError, run_cli
from .files import write_json
from .fit import Split, evaluate, layer_stats, split_data, train_stage
from .stages import Run, baselines, check_run, sparse_stages
from .training_report import build_report, write_plots
from .util import seed_everything

__all__ = ["Split", "split_data", "build_model", "evaluate", "train_stage", "layer_stats",
           "check_out_dir", "run", "main"]


def check_out_dir(path: Path, field: str = "out") -> Path:
    """``path`` if it is, or can be created as, a writable folder; else
    :class:`~sw.errors.InputError` naming ``field``. Creates nothing."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{field}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{field}: {existing} is not writable")
    return Path(path)


def _prepared_run(cfg: Config, out: Path, progress: bool) -> Run:
    seed_everything(cfg.seed)
    ds = load_dataset(cfg.dataset)
    return Run(cfg, ds, *split_data(ds, cfg.val_size, cfg.seed), Path(out), progress)


def _baselines_process(cfg: Config, out: Path, threads: int) -> tuple[dict, int]:
    """The baselines alone, in a worker process with ``threads`` torch threads."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return baselines(_prepared_run(cfg, out, progress=False))


def run(cfg: Config, out: Path = Path("build"), *, progress: bool = True,
        parallel_baselines: bool = False) -> dict:
    """Train ``cfg`` end to end and write its outputs under ``out``; returns the report.

    With ``parallel_baselines`` (and baselines in the config), the baselines train
    in a second process beside the sparse stages, each process with half of the
    torch threads (at least one): on two cores that takes less wall time than two
    threads one after the other. Results are deterministic for a given split of
    threads. Raises :class:`~sw.errors.InputError` (data set, config) before
    writing anything.
    """
    t0 = time.perf_counter()
    r = _prepared_run(cfg, out, progress)
    check_run(cfg, r.ds)

    pool = None
    if parallel_baselines and cfg.baselines:
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, threads - threads // 2))
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        pending = pool.submit(_baselines_process, cfg, Path(out), max(1, threads // 2))
        r.log(f"{cfg.name}: baselines training in a second process")
    try:
        model, stages, stage1_w = sparse_stages(r)
        t_sparse = time.perf_counter() - t0
        base = pending.result() if pool else baselines(r)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
            torch.set_num_threads(threads)
    t_train = time.perf_counter() - t0

    report = build_report(r, model, stages, base, t0=t0, sparse_seconds=t_sparse, train_seconds=t_train)
    report["timing"]["baselines_in_second_process"] = pool is not None
    write_plots(r, stages, stage1_w)
    write_json(r.out / "models" / f"{cfg.name}.json", report)
    return report


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m sw.train", description=__doc__.split("\n")[0])
    p.add_argument("--config", help="configuration name (see --list)")
    p.add_argument("--list", action="store_true", help="list the configurations and exit")
    p.add_argument("--out", type=Path, default=Path("build"), help="output directory (default build)")
    p.add_argument("--threads", type=int, default=2,
                   help="torch CPU threads (default 2); with 2 or more the baselines train in a "
                        "second process, the threads shared between the two")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    return p


def _main(args) -> int:
    if args.list:
        for name, cfg in CONFIGS.items():
            print(f"{name:32s} {cfg.description}")
        return 0
    if not args.config:
        raise InputError("config: required (see --list)")
    cfg = get_config(args.config)
    if args.threads < 1:
        raise InputError(f"threads: must be >= 1, got {args.threads}")
    if args.seed is not None:
        if args.seed < 0:
            raise InputError(f"seed: must be >= 0, got {args.seed}")
        cfg = cfg.with_(seed=args.seed)
    check_out_dir(args.out)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    report = run(cfg, args.out, progress=not args.quiet, parallel_baselines=args.threads >= 2)
    f = report["final"]
    print(f"{cfg.name}: test accuracy {f['test_acc']:.4f}, zeros {f['zero_fraction']:.3f}, "
          + "".join(f"{k} {b['test_acc']:.4f}, " for k, b in report["baselines"].items())
          + f"{report['timing']['total_seconds']:.0f} s -> {args.out / 'models' / cfg.name}.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_cli(lambda: _main(args))


if __name__ == "__main__":
    sys.exit(main())
