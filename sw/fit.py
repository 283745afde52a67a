"""One training stage and what is measured on it: data split, the loop, accuracy, per-layer statistics.

:func:`train_stage` is paper 002's loop for any :class:`~sw.quant.TernaryLayer`
network (and for float ones): Adam with a per-step cosine schedule, the
cross entropy plus the layers' own loss terms, eq. (5)'s L2 after each
``backward()``, and the layers' clip, mask and post-step hook after each
step. The model ends in the state of the epoch with the best validation
accuracy.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .data import Dataset
from .errors import InputError
from .models import weight_layers
from .quant import TernaryLayer, ternary_layers

__all__ = ["Split", "split_data", "evaluate", "layer_stats", "zero_fraction", "train_stage"]


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
        raise InputError(f"val_size: expected 1..{len(ds.train_y) - 1}, got {val_size}")
    perm = np.random.default_rng(seed).permutation(len(ds.train_y))
    val, tr = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    return (Split.of(ds.train_x[tr], ds.train_y[tr]), Split.of(ds.train_x[val], ds.train_y[val]),
            Split.of(ds.test_x, ds.test_y))


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


def zero_fraction(stats: list[dict]) -> float:
    """The zero fraction over all layers of :func:`layer_stats`."""
    return 1 - sum(s["nonzeros"] for s in stats) / sum(s["n_weights"] for s in stats)


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
        rec = {"epoch": epoch + 1, "loss": total_loss / len(train), "val_acc": val_acc,
               "zero_fraction": zero_fraction(layer_stats(model))}
        history.append(rec)
        if progress:
            tqdm.write(f"{desc} {epoch + 1}/{epochs}: loss {rec['loss']:.4f}  val {val_acc:.4f}  "
                       f"zeros {rec['zero_fraction']:.3f}", file=sys.stderr)
        if best is None or val_acc > best[0]["val_acc"]:
            best = (rec, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    return {"epochs": epochs, "lr": lr, "best_epoch": best[0]["epoch"], "val_acc": best[0]["val_acc"],
            "seconds": time.perf_counter() - t0, "history": history}
