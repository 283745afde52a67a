"""Three-stage sparse TNN training (paper 002, Algorithms 1-2), baselines, export, report.

    python -m sw.train --config fmnist-mlp-binary [--out build] [--threads 2] [--quiet]
    python -m sw.train --list

Stages (Algorithm 1):

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
   ``tnn-model-v1`` (:mod:`sw.export`), checked against the golden model.

Each stage keeps the epoch with the best validation accuracy (a held-out part
of the training set; the test set is only ever reported). Outputs, under
``--out`` (default ``build``):

* ``models/NAME.npz`` -- the hardware model file (MLPs only);
* ``models/NAME.json`` -- the report: accuracy after each stage, baselines,
  per-layer and total sparsity, encoded sizes, golden-model check, timings;
* ``checkpoints/NAME/*.pt`` -- the best state of each stage and baseline;
* ``plots/NAME-layer-nonzeros.png`` -- nonzero percentage per layer (Fig. 4b).

Runs are seeded and deterministic for a given thread count.
"""

from __future__ import annotations

import os

# On a shared CPU, OpenMP threads that spin while waiting make 2-thread training
# several times slower whenever another process holds a core. Must be set
# before torch loads its OpenMP runtime; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from . import plots
from .configs import CONFIGS, Config, UnknownConfig, get_config
from .data import Dataset, load_dataset
from .export import ExportError, compare, export
from .model_file import save_model
from .models import BinaryMLP, FloatMLP, VGGSmall, weight_layers
from .quant import INCREMENTAL_QUANTILES, TernaryLayer, ternary_layers
from .sizes import layer_sizes, total_sizes
from .files import write_json
from .util import seed_everything

__all__ = ["Split", "split_data", "build_model", "evaluate", "train_stage", "layer_stats",
           "run", "main"]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Split:
    """Pixels as float32 tensor (0..255) for training, uint8 array for the golden model."""

    x: torch.Tensor
    y: torch.Tensor
    pixels: np.ndarray

    @classmethod
    def of(cls, pixels: np.ndarray, labels: np.ndarray) -> "Split":
        return cls(torch.from_numpy(pixels.astype(np.float32)), torch.from_numpy(labels), pixels)

    def __len__(self) -> int:
        return len(self.y)


def split_data(ds: Dataset, val_size: int, seed: int) -> tuple[Split, Split, Split]:
    """(train, validation, test); validation = ``val_size`` training images, seeded."""
    if not 0 < val_size < len(ds.train_y):
        raise ValueError(f"val_size: expected 1..{len(ds.train_y) - 1}, got {val_size}")
    perm = np.random.default_rng(seed).permutation(len(ds.train_y))
    val, tr = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    return (Split.of(ds.train_x[tr], ds.train_y[tr]), Split.of(ds.train_x[val], ds.train_y[val]),
            Split.of(ds.test_x, ds.test_y))


# --------------------------------------------------------------------------- models


def build_model(cfg: Config, ds: Dataset, weights: str = "ternary", eta: float | None = None,
                lam: float | None = None, quantizer: str | None = None) -> nn.Module:
    """The config's network; ``eta``/``lam`` override every layer's value (baselines, sweeps).

    The ternary layers use ``cfg.quantizer`` with ``cfg.quantizer_params``
    (``quantizer="threshold"`` overrides that: the baselines). A binary MLP's
    output layer gets ``per_filter=False``: its exported outputs are raw
    accumulations compared by argmax, so all its rows must share one scale.
    """
    model = _build_network(cfg, ds, weights, eta, lam)
    method = cfg.quantizer if quantizer is None else quantizer
    params = cfg.quantizer_kwargs if quantizer is None else {}
    if method != "threshold" or params:
        layers = list(ternary_layers(model))
        for k, layer in enumerate(layers):
            p = dict(params)
            if isinstance(model, BinaryMLP) and k == len(layers) - 1 and "per_filter" in p:
                p["per_filter"] = False
            layer.set_quantizer(method, **p)
    return model


def _build_network(cfg: Config, ds: Dataset, weights: str, eta: float | None,
                   lam: float | None) -> nn.Module:
    eta_fc = cfg.eta if eta is None else eta
    lam_fc = cfg.lam if lam is None else lam
    if cfg.arch == "mlp":
        cls = BinaryMLP if cfg.activation == "binary" else FloatMLP
        kw = {} if cfg.activation == "binary" else {"x_scale": cfg.x_scale, "x_offset": cfg.x_offset}
        return cls(ds.n_features, cfg.hidden, ds.n_classes, weights=weights, etas=eta_fc,
                   lams=lam_fc, dropout=cfg.dropout, **kw)
    if cfg.arch == "cnn":
        n_conv = sum(1 for f in cfg.features if f != "M")
        eta_conv = eta if eta is not None else (cfg.eta_conv if cfg.eta_conv is not None else cfg.eta)
        lam_conv = lam if lam is not None else (cfg.lam_conv if cfg.lam_conv is not None else cfg.lam)
        return VGGSmall(ds.image_shape, ds.n_classes, features=cfg.features, fc=cfg.fc,
                        activation=cfg.activation, weights=weights,
                        etas=[eta_conv] * n_conv + [eta_fc] * 2,
                        lams=[lam_conv] * n_conv + [lam_fc] * 2,
                        x_scale=cfg.x_scale, x_offset=cfg.x_offset)
    raise ValueError(f"arch: expected 'mlp' or 'cnn', got {cfg.arch!r}")


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int = 5000) -> float:
    """Eval-mode accuracy on ``split``."""
    model.eval()
    correct = 0
    for i in range(0, len(split), batch_size):
        logits = model(split.x[i:i + batch_size])
        correct += int((logits.argmax(1) == split.y[i:i + batch_size]).sum())
    return correct / len(split)


def layer_stats(model: nn.Module) -> list[dict]:
    """Per weight layer: name, shape, eta, lam, nonzeros and zero fraction of ``w_q``
    (its codes), plus the method and its state for quantisers other than ``threshold``."""
    out = []
    for name, m in weight_layers(model):
        if isinstance(m, TernaryLayer):
            w = m.ternary_weight()
            nnz = int((w != 0).sum())
            out.append({"name": name, "shape": list(w.shape), "eta": m.eta, "lam": m.lam,
                        "n_weights": w.numel(), "nonzeros": nnz,
                        "zero_fraction": 1 - nnz / w.numel(),
                        "masked": int((m.mask == 0).sum()), **m.quant_info()})
        else:
            out.append({"name": name, "shape": list(m.weight.shape), "n_weights": m.weight.numel(),
                        "nonzeros": int((m.weight != 0).sum()), "zero_fraction": 0.0})
    return out


def _sparsity(stats: list[dict]) -> float:
    return 1 - sum(s["nonzeros"] for s in stats) / sum(s["n_weights"] for s in stats)


# --------------------------------------------------------------------------- training


def _extra_losses(layers) -> list:
    """The layers' loss terms (none for paper 002's threshold quantiser)."""
    return [r for r in (layer.regularizer() for layer in layers) if r is not None]


def train_stage(model: nn.Module, train: Split, val: Split, *, epochs: int, lr: float,
                lr_final: float, batch_size: int, seed: int, desc: str,
                progress: bool = True) -> dict:
    """Adam with a per-step cosine schedule from ``lr`` to ``lr * lr_final``.

    The loss is the cross entropy plus the ternary layers' own loss terms (if
    any, e.g. SQ's regulariser). After each ``backward()``: L2 on the quantised
    weights (eq. 5); after each step: clip ``w_r`` to [-1, 1], re-zero pruned
    weights, run the quantiser's post-step hook. The model ends in
    the state of the epoch with the best validation accuracy (the earliest on
    ties). Returns the history and that epoch's numbers.
    """
    t0 = time.perf_counter()
    ternary = list(ternary_layers(model))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(train) / batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: lr_final + (1 - lr_final) * 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps)))
    gen = torch.Generator().manual_seed(seed)
    history, best = [], None
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(train), generator=gen)
        batches = range(0, len(train), batch_size)
        bar = tqdm(batches, desc=f"{desc} {epoch + 1}/{epochs}", leave=False, disable=not progress,
                   unit="batch", dynamic_ncols=True)
        total_loss = 0.0
        for i in bar:
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(train.x[idx]), train.y[idx])
            for reg in _extra_losses(ternary):
                loss = loss + reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for layer in ternary:
                layer.add_l2_grad()
            opt.step()
            sched.step()
            for layer in ternary:
                layer.constrain_()
            total_loss += float(loss.detach()) * len(idx)
        val_acc = evaluate(model, val)
        stats = layer_stats(model)
        rec = {"epoch": epoch + 1, "loss": total_loss / len(train), "val_acc": val_acc,
               "zero_fraction": _sparsity(stats)}
        history.append(rec)
        if progress:
            tqdm.write(f"{desc} {epoch + 1}/{epochs}: loss {rec['loss']:.4f}  val {val_acc:.4f}  "
                       f"zeros {rec['zero_fraction']:.3f}", file=sys.stderr)
        if best is None or val_acc > best[0]["val_acc"]:
            best = (rec, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    return {"epochs": epochs, "lr": lr, "best_epoch": best[0]["epoch"], "val_acc": best[0]["val_acc"],
            "seconds": time.perf_counter() - t0, "history": history}


def _checkpoint(path: Path, model: nn.Module, cfg: Config, stage: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": cfg.to_dict(), "stage": stage, "state_dict": model.state_dict()}, tmp)
    tmp.replace(path)


# --------------------------------------------------------------------------- the run


@dataclass
class _Run:
    """What the steps of :func:`run` share."""

    cfg: Config
    ds: Dataset
    train: Split
    val: Split
    test: Split
    out: Path
    progress: bool

    @property
    def ckpt(self) -> Path:
        return self.out / "checkpoints" / self.cfg.name

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
                  "zero_fraction": _sparsity(stats), "layers": stats}
        _checkpoint(self.ckpt / f"{name}.pt", model, self.cfg, name)
        self.log(f"{self.cfg.name} {name}: test {result['test_acc']:.4f}  "
                 f"zeros {result['zero_fraction']:.4f}")
        return result


def _sparse_stages(r: _Run) -> tuple[nn.Module, dict, dict]:
    """Algorithm 1, parts 1-3. Returns the model, the stage results, the stage-1 ``w_r``."""
    cfg = r.cfg
    rounds = cfg.quantizer_kwargs.get("quantiles", INCREMENTAL_QUANTILES)
    if cfg.quantizer == "incremental" and cfg.prune_iterations != len(rounds):
        raise ValueError(f"{cfg.name}: incremental needs prune_iterations = {len(rounds)} (one per "
                         f"quantile), got {cfg.prune_iterations}")
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
                                "zero_fraction": _sparsity(stats), "layers": stats}
        # 3. Retrain with the mask fixed, same eta and lambda.
        s = r.fit(model, epochs=cfg.retrain_epochs,
                  lr=cfg.lr if cfg.retrain_lr is None else cfg.retrain_lr,
                  seed=cfg.seed + it, desc=f"retrain{it}")
        stages[f"retrain{it}"] = r.finish(model, f"retrain{it}", s)
    return model, stages, stage1_w


def _baselines(r: _Run) -> tuple[dict, int]:
    """The dense baselines: same network, optimiser, schedule and (by default) total epochs."""
    cfg = r.cfg
    epochs = cfg.total_epochs if cfg.baseline_epochs is None else cfg.baseline_epochs
    out = {}
    for k, kind in enumerate(cfg.baselines):
        torch.manual_seed(cfg.seed)
        if kind == "dense_binary":
            model = build_model(cfg, r.ds, "ternary", eta=0.0, lam=0.0, quantizer="threshold")
        elif kind == "dense_float":
            model = build_model(cfg, r.ds, "float")
        else:
            raise ValueError(f"baselines: unknown kind {kind!r} (dense_binary, dense_float)")
        s = r.fit(model, epochs=epochs, lr=cfg.lr, seed=cfg.seed + 100 + k, desc=kind)
        res = r.finish(model, kind, s)
        res["n_weights"] = sum(x["n_weights"] for x in res.pop("layers"))
        out[kind] = res
    return out, epochs


def _baseline_protocol(cfg: Config, epochs: int) -> str:
    return (f"same architecture, optimiser (Adam, cosine schedule, lr {cfg.lr}), batch size, seed "
            f"and data split as the sparse network; {epochs} epochs (the sparse network's "
            f"{cfg.epochs} + {cfg.prune_iterations} x {cfg.retrain_epochs}); each keeps its best "
            "validation epoch. dense_binary: ternary quantiser with eta = 0 and lambda = 0 "
            "(binary weights), no pruning; dense_float: float weights.")


def _export(r: _Run, model: nn.Module, stage: str, test_acc: float) -> dict:
    """Write ``models/NAME.npz`` and check it against PyTorch on the test set.

    A network the format cannot hold (convolutions; asymmetric scales) gets
    ``{"path": None, "reason": ...}`` instead.
    """
    if r.cfg.arch != "mlp":
        return {"path": None, "reason": "tnn-model-v1 holds MLPs only"}
    try:
        tnn = export(model, meta={"config": r.cfg.name, "stage": stage, "test_acc": test_acc})
    except ExportError as e:
        r.log(f"{r.cfg.name}: not exported: {e}")
        return {"path": None, "reason": str(e)}
    path = save_model(r.out / "models" / f"{r.cfg.name}.npz", tnn)
    return {"path": str(path), **compare(model, tnn, r.test.pixels, r.test.y.numpy())}


def _checks(report: dict, train_seconds: float) -> dict:
    """The issue's acceptance criteria, evaluated on this run."""
    f, c = report["final"], {}
    c["zeros_at_least_90_percent"] = f["zero_fraction"] >= 0.9
    if "minus_dense_binary" in f:
        c["not_below_dense_binary"] = f["minus_dense_binary"] >= 0
    c["trained_within_20_minutes"] = train_seconds <= 20 * 60
    e = report["export"]
    if "hidden_bits_equal" in e:
        c["golden_bit_exact"] = e["hidden_bits_equal"] and e["prediction_agreement"] == 1.0
    return c


def _plots(r: _Run, stages: dict, final_stage: str, stage1_w: dict) -> None:
    name, out = r.cfg.name, r.out
    layers = stages["train"]["layers"]
    plots.layer_nonzeros(
        [x["name"] for x in layers],
        {"after training": [1 - x["zero_fraction"] for x in layers],
         "after retraining": [1 - x["zero_fraction"] for x in stages[final_stage]["layers"]]},
        out / "plots" / f"{name}-layer-nonzeros.png", title=f"{name}: nonzero weights per layer")
    plots.weight_histograms({"stage 1, with L2": stage1_w}, r.cfg.eta,
                            out / "plots" / f"{name}-weights.png", title=f"{name}: w_r after stage 1")


def run(cfg: Config, out: Path = Path("build"), *, progress: bool = True) -> dict:
    """Train ``cfg`` end to end and write its outputs under ``out``; returns the report."""
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    ds = load_dataset(cfg.dataset)
    r = _Run(cfg, ds, *split_data(ds, cfg.val_size, cfg.seed), out, progress)

    model, stages, stage1_w = _sparse_stages(r)
    final_stage = list(stages)[-1]
    t_sparse = time.perf_counter() - t0
    baselines, base_epochs = _baselines(r)
    t_train = time.perf_counter() - t0

    # 4. Encode: exact sizes of the final ternary weights (both codes round-tripped).
    sizes = [{"name": n, **layer_sizes(m.ternary_weight().numpy(), verify=True)}
             for n, m in weight_layers(model)]
    fin = stages[final_stage]
    final = {"stage": final_stage, "test_acc": fin["test_acc"], "val_acc": fin["val_acc"],
             "zero_fraction": fin["zero_fraction"]}
    if "dense_binary" in baselines:
        final["minus_dense_binary"] = fin["test_acc"] - baselines["dense_binary"]["test_acc"]
    report = {
        "name": cfg.name,
        "description": cfg.description,
        "config": cfg.to_dict(),
        "dataset": {"name": ds.name, "source": ds.source, "n_train": len(r.train),
                    "n_val": len(r.val), "n_test": len(r.test)},
        "stages": stages,
        "final": final,
        "baselines": baselines,
        "baseline_protocol": _baseline_protocol(cfg, base_epochs),
        "layers": sizes,
        "totals": total_sizes(sizes),
        "export": _export(r, model, final_stage, fin["test_acc"]),
        "timing": {"sparse_seconds": t_sparse, "train_seconds": t_train,
                   "total_seconds": time.perf_counter() - t0,
                   "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                   "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                   "load_average_at_end": list(os.getloadavg()),
                   "python": platform.python_version(), "machine": platform.machine()},
    }
    report["checks"] = _checks(report, t_train)
    _plots(r, stages, final_stage, stage1_w)
    write_json(out / "models" / f"{cfg.name}.json", report)
    return report


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sw.train", description=__doc__.split("\n")[0])
    p.add_argument("--config", help="configuration name (see --list)")
    p.add_argument("--list", action="store_true", help="list the configurations and exit")
    p.add_argument("--out", type=Path, default=Path("build"), help="output directory (default build)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    args = p.parse_args(argv)
    if args.list:
        for name, cfg in CONFIGS.items():
            print(f"{name:32s} {cfg.description}")
        return 0
    if not args.config:
        p.error("--config NAME is required (see --list)")
    try:
        cfg = get_config(args.config)
    except UnknownConfig as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.seed is not None:
        cfg = cfg.with_(seed=args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    report = run(cfg, args.out, progress=not args.quiet)
    f = report["final"]
    print(f"{cfg.name}: test accuracy {f['test_acc']:.4f}, zeros {f['zero_fraction']:.3f}, "
          + "".join(f"{k} {b['test_acc']:.4f}, " for k, b in report["baselines"].items())
          + f"{report['timing']['total_seconds']:.0f} s -> {args.out / 'models' / cfg.name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
