"""Sweep the quantisation threshold eta (paper 002, Fig. 4a/4b and Fig. 1b).

    python -m sw.sweep --config fmnist-mlp-binary [--etas 0,0.5,0.9] [--epochs 10] [--out build]
        [--threads 2] [--quiet]

For every eta in the sweep and for lambda in {0, the config's lambda}, train
stage 1 only (no pruning) for ``sweep_epochs`` epochs, keeping the best
validation epoch, and record test accuracy and per-layer sparsity. Writes

* ``sweep/NAME.json`` -- every point;
* ``plots/NAME-sweep-accuracy.png`` -- test accuracy against sparsity (Fig. 4a);
* ``plots/NAME-sweep-layers.png`` -- nonzero percentage per layer for each eta,
  without regularisation (Fig. 4b);
* ``plots/NAME-weights-l2.png`` -- distribution of w_r at the config's eta with
  and without L2 (Fig. 1b).

Bad arguments, an unknown config, missing or malformed data files and an
output path that is not a folder end with one line ``error: <field>: <reason>``
and exit code 2, before anything is written.
"""

from __future__ import annotations

import os

# On a shared CPU, OpenMP threads that spin while waiting slow 2-thread training
# down whenever another process holds a core. Must be set before torch loads
# its OpenMP runtime; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
import time
from pathlib import Path

import torch

from . import plots
from .build import build_model
from .configs import Config, get_config
from .data import load_dataset
from .errors import ArgumentParser, InputError, run_cli
from .files import write_json
from .fit import evaluate, layer_stats, split_data, train_stage, zero_fraction
from .models import weight_layers
from .quant.threshold import check_eta
from .train import check_out_dir
from .util import seed_everything

__all__ = ["sweep", "main"]


def sweep(cfg: Config, out: Path = Path("build"), *, etas=None, epochs: int | None = None,
          progress: bool = True) -> dict:
    """Run the sweep (see the module docstring) and write its outputs; returns the results."""
    etas = list(cfg.sweep_etas if etas is None else etas)
    epochs = cfg.sweep_epochs if epochs is None else epochs
    lams = [0.0] if cfg.lam == 0 else [0.0, cfg.lam]
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    ds = load_dataset(cfg.dataset)
    train, val, test = split_data(ds, cfg.val_size, cfg.seed)
    points, weights_at_eta = [], {}
    for lam in lams:
        for eta in etas:
            torch.manual_seed(cfg.seed)
            model = build_model(cfg, ds, eta=eta, lam=lam)
            s = train_stage(model, train, val, epochs=epochs, lr=cfg.lr, lr_final=cfg.lr_final,
                            batch_size=cfg.batch_size, seed=cfg.seed, progress=progress,
                            desc=f"{cfg.name} eta={eta:g} lam={lam:g}")
            stats = layer_stats(model)
            zeros = zero_fraction(stats)
            points.append({"eta": eta, "lam": lam, "epochs": epochs, "val_acc": s["val_acc"],
                           "test_acc": evaluate(model, test), "zero_fraction": zeros,
                           "layers": [{k: x[k] for k in ("name", "nonzeros", "n_weights",
                                                          "zero_fraction")} for x in stats]})
            if eta == cfg.eta:
                weights_at_eta[lam] = {n: m.weight.detach().numpy().copy()
                                       for n, m in weight_layers(model)}
    result = {"name": cfg.name, "config": cfg.to_dict(), "points": points,
              "seconds": time.perf_counter() - t0, "torch_threads": torch.get_num_threads()}
    write_json(out / "sweep" / f"{cfg.name}.json", result)

    plot_dir = out / "plots"
    plots.accuracy_vs_sparsity(
        {f"lambda = {lam:g}": [(p["zero_fraction"], p["test_acc"], p["eta"])
                               for p in points if p["lam"] == lam] for lam in lams},
        plot_dir / f"{cfg.name}-sweep-accuracy.png",
        title=f"{cfg.name}: accuracy vs sparsity, no pruning ({epochs} epochs each)")
    no_reg = [p for p in points if p["lam"] == 0.0]
    plots.layer_nonzeros([x["name"] for x in no_reg[0]["layers"]],
                         {f"eta = {p['eta']:g}": [1 - x["zero_fraction"] for x in p["layers"]]
                          for p in no_reg},
                         plot_dir / f"{cfg.name}-sweep-layers.png",
                         title=f"{cfg.name}: nonzeros per layer, no regularisation or pruning")
    if weights_at_eta:
        plots.weight_histograms(
            {(f"with L2 (lambda = {lam:g})" if lam else "without L2"): w
             for lam, w in sorted(weights_at_eta.items(), reverse=True)},
            cfg.eta, plot_dir / f"{cfg.name}-weights-l2.png",
            title=f"{cfg.name}: w_r after {epochs} epochs, eta = {cfg.eta:g}")
    return result


def _etas(text: str) -> list[float]:
    """``--etas``: comma-separated thresholds, each in [0, 1)."""
    try:
        return [check_eta(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers in [0, 1), got {text!r}") from None


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m sw.sweep", description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="configuration name")
    p.add_argument("--etas", type=_etas, help="comma-separated etas (default: the config's)")
    p.add_argument("--epochs", type=int, help="epochs per point (default: the config's)")
    p.add_argument("--out", type=Path, default=Path("build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")
    return p


def _main(args) -> int:
    cfg = get_config(args.config)
    if args.etas is not None and not args.etas:
        raise InputError("etas: none given")
    for name in ("epochs", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"{name}: must be >= 1, got {value}")
    check_out_dir(args.out)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    r = sweep(cfg, args.out, etas=args.etas, epochs=args.epochs, progress=not args.quiet)
    for pt in r["points"]:
        print(f"eta {pt['eta']:<5g} lambda {pt['lam']:<7g} zeros {pt['zero_fraction']:.3f}  "
              f"test {pt['test_acc']:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_cli(lambda: _main(args))


if __name__ == "__main__":
    sys.exit(main())
