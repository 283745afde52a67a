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

Scaled quantisers (every registered method but ``threshold``; see
:mod:`sw.quant.adapters`): ``w{l}`` holds the codes in {-1, 0, +1} and the
layer's scale ``alpha_j`` of output neuron j (one per layer or per filter,
:meth:`~sw.quant.TernaryLayer.row_scale`) is folded in:

* float networks: ``s_j = fl32(gamma_j / sqrt(var_j + eps) * alpha_j)``, the
  product taken in float64 from the float32 ``alpha_j`` and rounded once
  (``b`` is unchanged: batch norm follows the scaling). The golden model's
  ``fl(fl(s * acc) + b)`` on the exported file is then the definition of the
  hardware's result; :func:`compare` measures the agreement with PyTorch.
* binary networks: in eval mode the layer computes ``fl32(acc_j * alpha_j)``
  from the exact integer ``acc_j`` (the codes' accumulation, see
  :mod:`sw.quant.layers`), then batch norm and sign. Mathematically
  ``alpha * acc >= tau  <=>  acc >= ceil(tau / alpha)`` for ``alpha > 0``; but
  rather than divide (and round) we run the same bisection as above on
  probes ``fl32(a * alpha_j)`` -- the network's own float32 product, batch
  norm and sign -- so the integer threshold is exact with respect to the
  PyTorch eval network by construction. ``fl32(a * alpha)`` is
  non-decreasing in ``a`` for ``alpha >= 0`` (non-increasing for
  ``alpha < 0``: the row is negated, as for a negative batch-norm weight; 0 is
  a constant). The output layer has no per-neuron parameter in the file, so
  all its rows with nonzero codes must share one positive scale (then the
  argmax is unchanged); else :class:`ExportError`.

Two scales per row -- a row holding both signs with ``W_p != W_n`` (TTQ,
prox-dual, incremental, in general): float networks export them as asymmetric
layers (``sn{l}``, the model file's two-partial-sum extension, run by the
float engine). Binary networks export them as weighted layers (``kp{l}``,
``kn{l}``): one integer threshold cannot express two scales, but an integer
weight per sign can. Row j's value ``z = W_p * sum_{+1} x - W_n * sum_{-1} x``
is approximated by ``g * S`` with ``S = kp * sum_{+1} x - kn * sum_{-1} x``:

* hidden layers: ``kp / kn`` is the closest fraction to ``W_p / W_n`` (continued
  fractions) with ``kp, kn`` at most the row's bound -- ``K_MAX`` (15 bits), and
  small enough that the row's integer range stays within ``2**29`` (about 2,700
  for a dense 784-input row of pixels) -- and ``g = W_n / kn``; the threshold is
  the smallest integer ``S`` whose probe ``fl32(g * S)`` the network's own batch
  norm and sign fire on (bisection, as above);
* the output layer: one factor for all rows, so its argmax compares like with
  like: the closest fraction when all rows share ``(W_p, W_n)`` (per-layer
  scales), else ``round(W * 2**e)`` with the largest power of two within the
  bound.

This **approximates** the PyTorch network (PyTorch itself sums ``x @ w_q`` in
float32, so there is no exact integer form): the golden model on the file
defines the hardware's results, and :func:`compare` counts the hidden bits and
predictions that differ from PyTorch. Rows holding one sign take that sign's scale, so a layer with
``W_p == W_n`` wherever both signs meet exports as an ordinary layer; an
output layer whose rows have distinct (symmetric) scales becomes a weighted
layer too.

Refused (:class:`ExportError`, naming the layer and the reason): layers that
are not all ternary yet (prox before its first step, incremental before its
last round) and negative scales in a weighted binary layer.

Convolution networks (:class:`~sw.models.VGGSmall`) export the same way, layer
by layer: each convolution becomes ``conv{l}`` (its kernel, stride, padding)
with ``w{l}`` the 4-D kernel codes and ``pool{l}`` its max pool; batch norm is
per channel, so binary thresholds (the same bisection, on probes of the
layer's own output shape) and float ``(s, b)`` are per output channel. The max
pool follows the activation in the network, as the model file defines it: the
max of +-1 values is the OR of the bits, and after ReLU the float maximum. Two
scales per row (``W_p != W_n``) on a convolution are refused (the model file
has no two-scale convolutions).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import torch
from torch import nn

from .golden import forward as golden_forward
from .golden import predict
from .conv_shapes import ConvSpec, conv_output_hw, pool_output_hw
from .model_file import K_MAX, PIXEL_MAX, TnnModel, accumulator_range
from .models import BinaryMLP, FloatMLP, VGGSmall
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


def _row_scales(model: nn.Module) -> list:
    """Per layer: the float32 scale of each output neuron, or ``None`` (``threshold``:
    unscaled); a layer whose rows mix signs with ``W_p != W_n`` gives the pair
    ``(W_p, W_n)`` (float64) instead."""
    out = []
    for k, lin in enumerate(model.linears):
        alpha, why = lin.row_scale()
        if alpha is None and why.startswith("asymmetric"):
            wp, wn = lin.row_scales()
            out.append((wp.numpy().astype(np.float64), wn.numpy().astype(np.float64)))
            continue
        if alpha is None and why != "unscaled":
            raise ExportError(f"layer {k} ({lin.method}): {why}")
        out.append(None if alpha is None else alpha.numpy().astype(np.float32))
    return out


@torch.no_grad()
def _fires(norm: nn.Module, act: nn.Module, acc: np.ndarray, alpha: np.ndarray | None = None,
           scale64: np.ndarray | None = None, spatial: tuple[int, int] | None = None) -> np.ndarray:
    """The eval network's hidden bit for integer accumulations ``acc`` [K, C] (scaled by
    the float32 ``alpha``, or by ``scale64`` in float64 and rounded once to float32).

    ``spatial = (H, W)``: a convolution's batch norm; each probe is broadcast over a map
    of the layer's own output size (so batch norm runs the kernel it runs in the
    network) and read back at pixel (0, 0)."""
    if scale64 is not None:
        return (act(norm(torch.from_numpy((acc * scale64).astype(np.float32)))) >= 0).numpy()
    z = torch.from_numpy(acc.astype(np.float32))
    if spatial is not None:
        z = z[:, :, None, None].expand(-1, -1, *spatial).contiguous()
    if alpha is not None:
        a = torch.from_numpy(alpha)
        z = z * (a if spatial is None else a[:, None, None])  # the layer's eval-mode float32 product
    fired = act(norm(z)) >= 0
    return (fired if spatial is None else fired[:, :, 0, 0]).numpy()


def _smallest_firing(norm: nn.Module, act: nn.Module, lo: np.ndarray, hi: np.ndarray,
                     sign: np.ndarray, alpha: np.ndarray | None = None,
                     scale64: np.ndarray | None = None,
                     spatial: tuple[int, int] | None = None) -> np.ndarray:
    """Per neuron, the smallest integer a in [lo, hi + 1] with fire(sign * a) (hi + 1: none).

    ``fire(sign * a)`` is non-decreasing in ``a``, so bisection is exact.
    """
    left, right = lo.astype(np.int64), hi.astype(np.int64) + 1
    while np.any(left < right):
        mid = (left + right) // 2
        probe = np.where(left < right, mid, left)
        fired = _fires(norm, act, (sign * probe)[None, :], alpha, scale64, spatial)[0]
        active = left < right
        right = np.where(active & fired, mid, right)
        left = np.where(active & ~fired, mid + 1, left)
    return left


#: Weighted binary layers: bound on a row's integer range ``x_max * (kp n+ + kn n-)``,
#: so that scores ``2 acc - K`` stay well inside int32.
_WEIGHTED_RANGE = 2**29


def _check_scales(layer: int, wp: np.ndarray, wn: np.ndarray, method: str) -> None:
    if (wp < 0).any() or (wn < 0).any():
        j = int(np.argmax((wp < 0) | (wn < 0)))
        raise ExportError(f"layer {layer} ({method}): negative weight scale in row {j} (W_p = "
                          f"{wp[j]:.6g}, W_n = {wn[j]:.6g}); weighted binary layers need W_p, W_n >= 0")


def _k_bound(w: np.ndarray, layer: int) -> np.ndarray:
    """Per row, the largest ``max(kp, kn)`` that keeps ``x_max * (kp n+ + kn n-)`` within
    ``_WEIGHTED_RANGE`` and ``kp, kn`` within ``K_MAX``."""
    x_max = PIXEL_MAX if layer == 0 else 1
    nnz = np.maximum((w != 0).sum(axis=1), 1)
    return np.minimum(K_MAX, _WEIGHTED_RANGE // (x_max * nnz))


def _best_ratio(wp: float, wn: float, bound: int) -> tuple[int, int]:
    """``(kp, kn)`` with ``max(kp, kn) <= bound`` and ``kp / kn`` the closest fraction to
    ``wp / wn`` (continued fractions; ``(bound, 0)`` or ``(0, bound)`` for a zero scale)."""
    if wn == 0 or wp == 0:
        return (bound, 0) if wn == 0 else (0, bound)
    small, big = sorted((wp, wn))
    f = Fraction(small / big).limit_denominator(bound)
    if f == 0:
        f = Fraction(1, bound)
    num, den = f.numerator, f.denominator
    return (den, num) if wp >= wn else (num, den)


def _row_ratios(w: np.ndarray, layer: int, wp: np.ndarray, wn: np.ndarray, method: str):
    """Hidden weighted layer: ``(kp, kn, g)`` per row, ``kp / kn`` the best fraction for
    ``W_p / W_n`` within :func:`_k_bound` and ``g`` the factor with ``z ~ g * S``
    (``W_n / kn``, or ``W_p / kp`` where ``kn = 0``)."""
    _check_scales(layer, wp, wn, method)
    bound = _k_bound(w, layer)
    pairs = [_best_ratio(float(a), float(b), int(k)) for a, b, k in zip(wp, wn, bound)]
    kp, kn = (np.array(v, dtype=np.int64) for v in zip(*pairs))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(kn > 0, wn / np.maximum(kn, 1), wp / np.maximum(kp, 1))
    g = np.where(g > 0, g, 1.0)  # a row of zero scales: every S is 0
    return kp.astype(np.int32), kn.astype(np.int32), g


def _common_scale(w: np.ndarray, layer: int, wp: np.ndarray, wn: np.ndarray, method: str):
    """Output layer: ``(kp, kn)`` with one factor for all rows, so the argmax compares like
    with like: the best fraction if every row has the same ``(W_p, W_n)``, else
    ``round(W * 2**e)`` with the largest power of two ``2**e`` within :func:`_k_bound`."""
    _check_scales(layer, wp, wn, method)
    bound = int(_k_bound(w, layer).min())
    if np.all(wp == wp[0]) and np.all(wn == wn[0]):
        kp, kn = _best_ratio(float(wp[0]), float(wn[0]), bound)
        return np.full(len(wp), kp, np.int32), np.full(len(wp), kn, np.int32)
    top = float(np.maximum(wp, wn).max())
    e = math.floor(math.log2(bound / top)) if top > 0 else 0
    return tuple(np.rint(v * 2.0**e).astype(np.int32) for v in (wp, wn))


def _conv_geometry(model: nn.Module, weights: list[np.ndarray], alphas: list) -> dict:
    """``TnnModel`` keyword arguments of a CNN's convolutions (``input_shape``, ``convs``,
    ``pools``) and ``spatial``, each layer's output map size (None for dense layers);
    ``{"spatial": [None] * L}`` for an MLP."""
    if not isinstance(model, VGGSmall):
        return {"spatial": [None] * len(weights)}
    convs, pools, spatial = [], [], []
    shape = (1, *model.image_shape)
    for l, (conv, pool) in enumerate(zip(model.convs, model.pools)):
        if conv.dilation != (1, 1) or conv.groups != 1 or isinstance(conv.padding, str):
            raise ExportError(f"layer {l}: only plain convolutions (no dilation, groups or padding "
                              f"modes) have a model-file form")
        if isinstance(alphas[l], tuple):
            raise ExportError(f"layer {l} ({conv.method}): two-scale conv layers are not supported "
                              f"(W_p != W_n)")
        spec = ConvSpec(*conv.kernel_size, *conv.stride, *conv.padding)
        ho, wo = conv_output_hw(shape[1], shape[2], spec)
        convs.append(spec)
        pools.append(pool)
        spatial.append((ho, wo))
        shape = (conv.out_channels, *pool_output_hw(ho, wo, pool))
    n_dense = len(weights) - len(convs)
    return {"input_shape": (1, *model.image_shape), "convs": convs + [None] * n_dense,
            "pools": pools + [None] * n_dense, "spatial": spatial + [None] * n_dense}


def _rows(sign: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sign`` (one per output row / channel) shaped to multiply ``w``."""
    return sign.reshape(-1, *([1] * (w.ndim - 1)))


@torch.no_grad()
def export_binary(model: BinaryMLP | VGGSmall, meta: dict | None = None) -> TnnModel:
    """Export of a binary-activation MLP or CNN; see the module docstring (exact unless a
    layer has two scales, ``W_p != W_n``: a weighted layer)."""
    model.eval()
    weights = _ternary_weights(model)
    alphas = _row_scales(model)
    geometry = _conv_geometry(model, weights, alphas)
    spatial = geometry.pop("spatial")
    if PIXEL_MAX * weights[0].reshape(len(weights[0]), -1).shape[1] >= 2**24:
        raise ExportError("layer 0: pixel sums would not be exact in float32 training")
    thresholds, row_weights = [], [None] * len(weights)
    for l, norm in enumerate(model.norms):
        weighted = isinstance(alphas[l], tuple)
        negate = norm.weight.numpy() < 0
        if alphas[l] is not None and not weighted:
            negate = negate != (alphas[l] < 0)
        sign = np.where(negate, -1, 1).astype(np.int64)
        w = weights[l] * _rows(sign, weights[l]).astype(np.int8)  # negate rows with a negative BN scale
        if weighted:
            wp, wn = alphas[l]  # w -> -w swaps the roles of W_p and W_n
            wp, wn = np.where(negate, wn, wp), np.where(negate, wp, wn)
            kp, kn, g = _row_ratios(w, l, wp, wn, model.linears[l].method)
            row_weights[l] = (kp, kn)
            lo, hi = accumulator_range(w, l, (kp, kn))
            t = _smallest_firing(norm, model.act, lo, hi, sign, scale64=g)
        else:
            lo, hi = accumulator_range(w, l)
            t = _smallest_firing(norm, model.act, lo, hi, sign, alphas[l], spatial=spatial[l])
        weights[l] = w
        thresholds.append(t.astype(np.int32))
    last = len(weights) - 1
    method = model.linears[last].method
    if isinstance(alphas[last], tuple):
        wp, wn = alphas[last]
        kp, kn = _common_scale(weights[last], last, wp, wn, method)
        row_weights[last] = (kp, kn)
    elif alphas[last] is not None:
        alpha = alphas[last].astype(np.float64)
        used = np.unique(alpha[np.any(weights[last] != 0, axis=1)])
        if len(used) == 1 and not used[0] > 0:
            raise ExportError(f"layer {last} ({method}): the output neurons' common scale {used[0]:.6g} "
                              f"is not positive: argmax would not be preserved")
        if len(used) > 1:  # distinct scales per output: integer weights keep the argmax
            kp, kn = _common_scale(weights[last], last, alpha, alpha, method)
            row_weights[last] = (kp, kn)
    out_scale = model.out_post if isinstance(model, VGGSmall) else model.out_scale
    scale = float(out_scale.log_scale.exp())
    if not scale > 0:
        raise ExportError(f"output scale {scale} is not positive: argmax would not be preserved")
    weighted = any(k is not None for k in row_weights)
    return TnnModel("binary", weights, thresholds=thresholds, meta=json.dumps(meta or {}),
                    row_weights=row_weights if weighted else [], **geometry)


@torch.no_grad()
def export_float(model: FloatMLP | VGGSmall, meta: dict | None = None) -> TnnModel:
    """Float-activation MLP: fold each batch norm (and weight scale) into ``(s, b)``.

    A layer with two scales (``W_p != W_n``: TTQ, prox-dual, incremental)
    becomes an asymmetric layer of the model file: ``s = s_bn * W_p`` and
    ``sn = s_bn * W_n`` (float64 products, rounded once), since
    ``s_bn * (W_p * sum_{+1} x - W_n * sum_{-1} x) + b`` is the golden model's
    ``s * acc_p - sn * acc_n + b``."""
    model.eval()
    weights = _ternary_weights(model)
    alphas = _row_scales(model)
    geometry = _conv_geometry(model, weights, alphas)
    geometry.pop("spatial")
    out_norm = model.out_post if isinstance(model, VGGSmall) else model.out_norm
    scales, biases, neg_scales = [], [], []
    for norm, alpha in zip([*model.norms, out_norm], alphas):
        var = norm.running_var.double()
        s = norm.weight.double() / torch.sqrt(var + norm.eps)
        b = norm.bias.double() - norm.running_mean.double() * s
        sn = None
        if isinstance(alpha, tuple):
            wp, wn = (torch.from_numpy(a) for a in alpha)
            s, sn = s * wp, s * wn
        elif alpha is not None:
            s = s * torch.from_numpy(alpha).double()  # fold the weight scale; one rounding below
        scales.append(s.float().numpy())
        biases.append(b.float().numpy())
        neg_scales.append(None if sn is None else sn.float().numpy())
    return TnnModel("float", weights, scales=scales, biases=biases,
                    x_scale=np.float32(model.pre.x_scale.item()),
                    x_offset=np.float32(model.pre.x_offset.item()),
                    meta=json.dumps(meta or {}),
                    neg_scales=neg_scales if any(sn is not None for sn in neg_scales) else [],
                    **geometry)


def export(model: nn.Module, meta: dict | None = None) -> TnnModel:
    """Dispatch on the network type; raises :class:`ExportError` for other networks."""
    if isinstance(model, BinaryMLP):
        return export_binary(model, meta)
    if isinstance(model, FloatMLP):
        return export_float(model, meta)
    if isinstance(model, VGGSmall):
        return (export_binary if model.activation == "binary" else export_float)(model, meta)
    raise ExportError(f"{type(model).__name__}: tnn-model-v1 holds BinaryMLP, FloatMLP and VGGSmall "
                      f"networks only")


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
    ``hidden_bit_mismatches`` (per hidden layer; convolutions after pooling), for
    float ones ``output_max_rel_diff`` (the largest output difference over the largest
    output magnitude); with ``labels``, both accuracies.
    """
    logits, t_hidden = torch_forward(model, pixels)
    outputs, g_hidden = golden_forward(tnn, pixels, lanes)
    t_pred, g_pred = predict(logits), predict(outputs)
    r = {"prediction_agreement": float(np.mean(t_pred == g_pred))}
    if tnn.activation == "binary":
        mism = [int(np.sum((th >= 0).astype(np.uint8) != gh)) for th, gh in zip(t_hidden, g_hidden)]
        r["hidden_bit_mismatches"] = mism
        r["hidden_bits_equal"] = sum(mism) == 0
    else:  # largest difference of the outputs, relative to the largest output magnitude
        diff = np.abs(outputs.astype(np.float64) - logits.astype(np.float64))
        r["output_max_rel_diff"] = float(diff.max(initial=0.0) / max(np.abs(logits).max(initial=0.0), 1e-30))
    if labels is not None:
        r["torch_accuracy"] = float(np.mean(t_pred == labels))
        r["golden_accuracy"] = float(np.mean(g_pred == labels))
    return r
