"""PyTorch network -> ``tnn-model-v1`` (:class:`~sw.model_file.TnnModel`), and the check.

Binary networks (:class:`~sw.models.BinaryMLP`) export exactly. For hidden
neuron j of layer l the eval-mode network computes ``bit = sign(BN(acc)) >= 0``
on an integer ``acc``. That is monotone in ``acc`` (non-decreasing when the
batch-norm weight is >= 0, non-increasing when it is negative; float rounding
preserves monotonicity), so it equals ``acc >= t`` for one integer ``t``. The
exporter finds ``t`` by bisection over the accumulator range, evaluating the
network's own batch-norm and sign modules on float32 probes -- the very float
computation the eval model performs, not a re-derivation of it. A negative
batch-norm weight negates the row (``w -> -w``, ``acc -> -acc``) first.
Thresholds land in ``[lo, hi + 1]`` of :func:`~sw.model_file.accumulator_range`.

The output layer has no batch norm, only one positive scale, so the int32
accumulations have the same argmax as the PyTorch logits.

Float networks (:class:`~sw.models.FloatMLP`) fold batch norm into
``s = gamma / sqrt(var + eps)`` and ``b = beta - mean * s`` (computed in float64,
rounded to float32). That is not bit-identical to PyTorch's own evaluation
order; :func:`compare` measures the agreement.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from .golden import forward as golden_forward
from .golden import predict
from .model_file import PIXEL_MAX, TnnModel, accumulator_range
from .models import BinaryMLP, FloatMLP
from .quant import TernaryLayer

__all__ = ["ExportError", "export", "export_binary", "export_float", "compare", "torch_forward"]


class ExportError(ValueError):
    """The network cannot be written as ``tnn-model-v1``; the message says why."""


def _ternary_weights(model: nn.Module) -> list[np.ndarray]:
    out = []
    for k, lin in enumerate(model.linears):
        if not isinstance(lin, TernaryLayer):
            raise ExportError(f"layer {k}: {type(lin).__name__} has float weights, not ternary")
        out.append(lin.ternary_weight().numpy().astype(np.int8))
    return out


@torch.no_grad()
def _fires(norm: nn.Module, act: nn.Module, acc: np.ndarray) -> np.ndarray:
    """The eval network's hidden bit for integer accumulations ``acc`` [K, C]."""
    y = act(norm(torch.from_numpy(acc.astype(np.float32))))
    return (y >= 0).numpy()


def _smallest_firing(norm: nn.Module, act: nn.Module, lo: np.ndarray, hi: np.ndarray,
                     sign: np.ndarray) -> np.ndarray:
    """Per neuron, the smallest integer a in [lo, hi + 1] with fire(sign * a) (hi + 1: none).

    ``fire(sign * a)`` is non-decreasing in ``a``, so bisection is exact.
    """
    left, right = lo.astype(np.int64), hi.astype(np.int64) + 1
    while np.any(left < right):
        mid = (left + right) // 2
        probe = np.where(left < right, mid, left)
        fired = _fires(norm, act, (sign * probe)[None, :])[0]
        active = left < right
        right = np.where(active & fired, mid, right)
        left = np.where(active & ~fired, mid + 1, left)
    return left


@torch.no_grad()
def export_binary(model: BinaryMLP, meta: dict | None = None) -> TnnModel:
    """Exact export of a binary-activation MLP; see the module docstring."""
    model.eval()
    weights = _ternary_weights(model)
    if PIXEL_MAX * weights[0].shape[1] >= 2**24:
        raise ExportError("layer 0: pixel sums would not be exact in float32 training")
    thresholds = []
    for l, norm in enumerate(model.norms):
        sign = np.where(norm.weight.numpy() < 0, -1, 1).astype(np.int64)
        w = weights[l] * sign[:, None].astype(np.int8)  # negate rows with a negative BN scale
        lo, hi = accumulator_range(w, l)
        t = _smallest_firing(norm, model.act, lo, hi, sign)
        weights[l] = w
        thresholds.append(t.astype(np.int32))
    scale = float(model.out_scale.log_scale.exp())
    if not scale > 0:
        raise ExportError(f"output scale {scale} is not positive: argmax would not be preserved")
    return TnnModel("binary", weights, thresholds=thresholds, meta=json.dumps(meta or {}))


@torch.no_grad()
def export_float(model: FloatMLP, meta: dict | None = None) -> TnnModel:
    """Float-activation MLP: fold each batch norm into ``(s, b)``."""
    model.eval()
    weights = _ternary_weights(model)
    scales, biases = [], []
    for norm in [*model.norms, model.out_norm]:
        var = norm.running_var.double()
        s = norm.weight.double() / torch.sqrt(var + norm.eps)
        b = norm.bias.double() - norm.running_mean.double() * s
        scales.append(s.float().numpy())
        biases.append(b.float().numpy())
    return TnnModel("float", weights, scales=scales, biases=biases,
                    x_scale=np.float32(model.pre.x_scale.item()),
                    x_offset=np.float32(model.pre.x_offset.item()),
                    meta=json.dumps(meta or {}))


def export(model: nn.Module, meta: dict | None = None) -> TnnModel:
    """Dispatch on the network type; raises :class:`ExportError` for other networks."""
    if isinstance(model, BinaryMLP):
        return export_binary(model, meta)
    if isinstance(model, FloatMLP):
        return export_float(model, meta)
    raise ExportError(f"{type(model).__name__}: tnn-model-v1 holds MLPs only (no convolutions yet)")


@torch.no_grad()
def torch_forward(model: nn.Module, pixels: np.ndarray, batch_size: int = 2000):
    """Eval-mode ``(logits, hidden)`` of a PyTorch network on uint8 pixels, as numpy."""
    model.eval()
    outs, hiddens = [], []
    for i in range(0, len(pixels), batch_size):
        x = torch.from_numpy(pixels[i:i + batch_size].astype(np.float32))
        out, hidden = model(x, return_hidden=True)
        outs.append(out.numpy())
        hiddens.append([h.numpy() for h in hidden])
    hidden = [np.concatenate([h[k] for h in hiddens]) for k in range(len(hiddens[0]))]
    return np.concatenate(outs), hidden


def compare(model: nn.Module, tnn: TnnModel, pixels: np.ndarray, labels: np.ndarray | None = None,
            lanes: int = 1) -> dict:
    """Golden model vs PyTorch (eval) on ``pixels``.

    Returns ``prediction_agreement`` (fraction of equal predictions) and, for
    binary networks, ``hidden_bits_equal`` (every hidden bit of every image) and
    ``hidden_bit_mismatches``; with ``labels``, both accuracies.
    """
    logits, t_hidden = torch_forward(model, pixels)
    outputs, g_hidden = golden_forward(tnn, pixels, lanes)
    t_pred, g_pred = predict(logits), predict(outputs)
    r = {"prediction_agreement": float(np.mean(t_pred == g_pred))}
    if tnn.activation == "binary":
        mism = [int(np.sum((th >= 0).astype(np.uint8) != gh)) for th, gh in zip(t_hidden, g_hidden)]
        r["hidden_bit_mismatches"] = mism
        r["hidden_bits_equal"] = sum(mism) == 0
    if labels is not None:
        r["torch_accuracy"] = float(np.mean(t_pred == labels))
        r["golden_accuracy"] = float(np.mean(g_pred == labels))
    return r
