"""Paper 002's Algorithm 1, parts 1-3, and the dense baselines, on one prepared run.

:func:`sparse_stages`: train with the config's quantiser, then
``prune_iterations`` times (prune, retrain); :func:`baselines`: the same
network, optimiser, schedule, seed and (by default) total epochs, dense. Each
stage keeps its best validation epoch, is measured on the test set and
checkpointed (:mod:`sw.checkpoints`) as ``<out>/checkpoints/NAME/<stage>.pt``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .build import build_model
from .checkpoints import checkpoint_path, save_checkpoint
from .configs import Config
from .data import Dataset
from .errors import InputError
from .fit import Split, evaluate, layer_stats, train_stage, zero_fraction
from .models import weight_layers
from .quant import INCREMENTAL_QUANTILES, ternary_layers

__all__ = ["Run", "BASELINES", "check_run", "sparse_stages", "baselines", "baseline_protocol"]

#: The dense baselines a config may ask for.
BASELINES = ("dense_binary", "dense_float")


@dataclass
class Run:
    """What the stages of one training run share: config, data, output folder."""

    cfg: Config
    ds: Dataset
    train: Split
    val: Split
    test: Split
    out: Path
    progress: bool

    def log(self, msg: str) -> None:
        if self.progress:
            tqdm.write(msg, file=sys.stderr)

    def fit(self, model: nn.Module, *, epochs: int, lr: float, seed: int, desc: str) -> dict:
        return train_stage(model, self.train, self.val, epochs=epochs, lr=lr,
                           lr_final=self.cfg.lr_final, batch_size=self.cfg.batch_size, seed=seed,
                           desc=f"{self.cfg.name} {desc}", progress=self.progress)

    def finish(self, model: nn.Module, name: str, result: dict) -> dict:
        """Test accuracy and sparsity of a trained model; checkpoint it as ``name``."""
        stats = layer_stats(model)
        result = {**result, "test_acc": evaluate(model, self.test),
                  "zero_fraction": zero_fraction(stats), "layers": stats}
        save_checkpoint(checkpoint_path(self.out, self.cfg.name, name), model, self.cfg, name)
        self.log(f"{self.cfg.name} {name}: test {result['test_acc']:.4f}  "
                 f"zeros {result['zero_fraction']:.4f}")
        return result


def check_run(cfg: Config, ds: Dataset) -> None:
    """Raise :class:`~sw.errors.InputError` for a config the stages would refuse part-way.

    Builds every network once on a forked random state (so the run's own
    random numbers are unchanged) and checks the stage counts and baselines.
    """
    unknown = [k for k in cfg.baselines if k not in BASELINES]
    if unknown:
        raise InputError(f"baselines: unknown {unknown[0]!r} (known: {', '.join(BASELINES)})")
    if cfg.sigma is not None and cfg.quantizer != "threshold":
        raise InputError(f"sigma: pruning belongs to the threshold quantiser, not {cfg.quantizer} "
                         f"(got {cfg.sigma})")
    rounds = cfg.quantizer_kwargs.get("quantiles", INCREMENTAL_QUANTILES)
    if cfg.quantizer == "incremental" and cfg.prune_iterations != len(rounds):
        raise InputError(f"prune_iterations: incremental needs {len(rounds)} (one per quantile), "
                         f"got {cfg.prune_iterations}")
    with torch.random.fork_rng(devices=[]):
        build_model(cfg, ds)
        for kind in cfg.baselines:
            _baseline_model(cfg, ds, kind)


def sparse_stages(r: Run) -> tuple[nn.Module, dict, dict]:
    """Algorithm 1, parts 1-3. Returns the model, the stage results, the stage-1 ``w_r``."""
    cfg = r.cfg
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, r.ds)
    # 1. Train with the threshold regulariser and L2 on w_q.
    s = r.fit(model, epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed, desc="train")
    stages = {"train": r.finish(model, "train", s)}
    stage1_w = {n: m.weight.detach().numpy().copy() for n, m in weight_layers(model)}
    for it in range(1, cfg.prune_iterations + 1):
        # 2. Quantisation pruning (sigma = eta unless configured).
        pruned = sum(layer.prune_(cfg.sigma) for layer in ternary_layers(model))
        stats = layer_stats(model)
        default_sigma = "eta" if cfg.quantizer == "threshold" else f"none ({cfg.quantizer} stage transition)"
        stages[f"prune{it}"] = {"sigma": default_sigma if cfg.sigma is None else cfg.sigma,
                                "pruned_nonzeros": pruned, "val_acc": evaluate(model, r.val),
                                "test_acc": evaluate(model, r.test),
                                "zero_fraction": zero_fraction(stats), "layers": stats}
        # 3. Retrain with the mask fixed, same eta and lambda.
        s = r.fit(model, epochs=cfg.retrain_epochs,
                  lr=cfg.lr if cfg.retrain_lr is None else cfg.retrain_lr,
                  seed=cfg.seed + it, desc=f"retrain{it}")
        stages[f"retrain{it}"] = r.finish(model, f"retrain{it}", s)
    return model, stages, stage1_w


def _baseline_model(cfg: Config, ds: Dataset, kind: str) -> nn.Module:
    if kind == "dense_binary":
        return build_model(cfg, ds, "ternary", eta=0.0, lam=0.0, quantizer="threshold")
    if kind == "dense_float":
        return build_model(cfg, ds, "float")
    raise InputError(f"baselines: unknown {kind!r} (known: {', '.join(BASELINES)})")


def baselines(r: Run) -> tuple[dict, int]:
    """The dense baselines: same network, optimiser, schedule and (by default) total epochs."""
    cfg = r.cfg
    epochs = cfg.total_epochs if cfg.baseline_epochs is None else cfg.baseline_epochs
    out = {}
    for k, kind in enumerate(cfg.baselines):
        torch.manual_seed(cfg.seed)
        model = _baseline_model(cfg, r.ds, kind)
        s = r.fit(model, epochs=epochs, lr=cfg.lr, seed=cfg.seed + 100 + k, desc=kind)
        res = r.finish(model, kind, s)
        res["n_weights"] = sum(x["n_weights"] for x in res.pop("layers"))
        out[kind] = res
    return out, epochs


def baseline_protocol(cfg: Config, epochs: int) -> str:
    """The report's sentence on how the baselines were trained."""
    return (f"same architecture, optimiser (Adam, cosine schedule, lr {cfg.lr}), batch size, seed "
            f"and data split as the sparse network; {epochs} epochs (the sparse network's "
            f"{cfg.epochs} + {cfg.prune_iterations} x {cfg.retrain_epochs}); each keeps its best "
            "validation epoch. dense_binary: ternary quantiser with eta = 0 and lambda = 0 "
            "(binary weights), no pruning; dense_float: float weights.")
