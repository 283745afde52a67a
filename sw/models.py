"""The networks of paper 002, sized for Fashion-MNIST on a CPU.

All models take raw pixels as float32 ``[N, H*W]`` (values 0..255) and share one
interface: ``model(x, return_hidden=False)`` returns the logits, or
``(logits, hidden)`` with ``hidden`` the list of hidden-layer activations.
``model.activation`` is ``"binary"`` or ``"float"``.

* :class:`BinaryMLP` -- "MLP-x-1": ``[linear -> batch norm -> sign] * n`` then a
  linear output layer times one learnable positive scalar. Layer 0 sees the raw
  pixels, so its accumulations are integers (exact in float32 below 2**24) and
  batch norm + sign folds into one integer threshold per neuron at export.
  The scalar keeps ``argmax(logits) == argmax(integer accumulations)``.
* :class:`FloatMLP` -- "MLP-x-32": ``x = pixel * x_scale + x_offset``, then
  ``[linear -> batch norm -> ReLU] * n``, then linear -> batch norm.
* :class:`VGGSmall` -- a VGG-style CNN (3x3 convolutions, max pooling after the
  activation, one hidden fully connected layer); exported like the MLPs
  (:mod:`sw.export`), with the convolutions as ``conv{l}``/``pool{l}`` layers.

``weights="ternary"`` builds :class:`~sw.quant.TernaryLinear` /
:class:`~sw.quant.TernaryConv2d` layers with per-layer ``etas`` and ``lams``;
``weights="float"`` builds ordinary float layers (the dense float baseline).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .errors import InputError
from .quant import BinarySign, TernaryConv2d, TernaryLinear

__all__ = ["BinaryMLP", "FloatMLP", "VGGSmall", "Preprocess", "OutputScale", "weight_layers"]

WEIGHT_KINDS = ("ternary", "float")
ACTIVATIONS = ("binary", "float")


def _linear(n_in: int, n_out: int, weights: str, eta: float, lam: float) -> nn.Module:
    if weights == "ternary":
        return TernaryLinear(n_in, n_out, eta=eta, lam=lam)
    if weights == "float":
        return nn.Linear(n_in, n_out, bias=False)
    raise InputError(f"weights: expected one of {WEIGHT_KINDS}, got {weights!r}")


def _conv(n_in: int, n_out: int, weights: str, eta: float, lam: float) -> nn.Module:
    if weights == "ternary":
        return TernaryConv2d(n_in, n_out, 3, padding=1, eta=eta, lam=lam)
    if weights == "float":
        return nn.Conv2d(n_in, n_out, 3, padding=1, bias=False)
    raise InputError(f"weights: expected one of {WEIGHT_KINDS}, got {weights!r}")


def _per_layer(values: Sequence[float] | float, n: int, name: str) -> list[float]:
    if isinstance(values, (int, float)):
        return [float(values)] * n
    values = [float(v) for v in values]
    if len(values) != n:
        raise InputError(f"{name}: expected {n} per-layer values, got {len(values)}")
    return values


def _activation(kind: str, sign_ste: str = "hardtanh") -> nn.Module:
    if kind == "binary":
        return BinarySign(sign_ste)
    if kind == "float":
        return nn.ReLU()
    raise InputError(f"activation: expected one of {ACTIVATIONS}, got {kind!r}")


class Preprocess(nn.Module):
    """``x = fl(fl(pixel * x_scale) + x_offset)`` in float32, as the model file states it."""

    def __init__(self, x_scale: float, x_offset: float):
        super().__init__()
        self.register_buffer("x_scale", torch.tensor(x_scale, dtype=torch.float32))
        self.register_buffer("x_offset", torch.tensor(x_offset, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.x_scale + self.x_offset


class OutputScale(nn.Module):
    """Multiply by one learnable positive scalar ``exp(log_scale)`` (order preserving)."""

    def __init__(self, init: float):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(float(init)).log())

    def forward(self, x: Tensor) -> Tensor:
        return x * self.log_scale.exp()


class _MLP(nn.Module):
    activation: str

    def __init__(self, n_in: int, hidden: Sequence[int], n_classes: int, *, weights: str,
                 etas, lams, dropout: float, sign_ste: str = "hardtanh"):
        super().__init__()
        sizes = [n_in, *hidden, n_classes]
        n = len(sizes) - 1
        etas, lams = _per_layer(etas, n, "etas"), _per_layer(lams, n, "lams")
        self.linears = nn.ModuleList(
            _linear(sizes[i], sizes[i + 1], weights, etas[i], lams[i]) for i in range(n)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(h) for h in hidden)
        self.act = _activation(self.activation, sign_ste)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def _input(self, x: Tensor) -> Tensor:
        return x

    def _output(self, acc: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, return_hidden: bool = False):
        h = self._input(x)
        hidden = []
        for linear, norm in zip(self.linears[:-1], self.norms):
            h = self.act(norm(linear(h)))
            hidden.append(h)
            h = self.dropout(h)
        out = self._output(self.linears[-1](h))
        return (out, hidden) if return_hidden else out


class BinaryMLP(_MLP):
    """MLP-x-1 (binary activations); see the module docstring."""

    activation = "binary"

    def __init__(self, n_in: int, hidden: Sequence[int], n_classes: int, *,
                 weights: str = "ternary", etas=0.0, lams=0.0, dropout: float = 0.0,
                 sign_ste: str = "hardtanh"):
        super().__init__(n_in, hidden, n_classes, weights=weights, etas=etas, lams=lams,
                         dropout=dropout, sign_ste=sign_ste)
        self.out_scale = OutputScale(1.0 / (hidden[-1] if hidden else n_in) ** 0.5)

    def _output(self, acc: Tensor) -> Tensor:
        return self.out_scale(acc)


class FloatMLP(_MLP):
    """MLP-x-32 (ReLU activations); see the module docstring."""

    activation = "float"

    def __init__(self, n_in: int, hidden: Sequence[int], n_classes: int, *,
                 weights: str = "ternary", etas=0.0, lams=0.0, dropout: float = 0.0,
                 x_scale: float = 1 / 255, x_offset: float = 0.0):
        super().__init__(n_in, hidden, n_classes, weights=weights, etas=etas, lams=lams,
                         dropout=dropout)
        self.pre = Preprocess(x_scale, x_offset)
        self.out_norm = nn.BatchNorm1d(n_classes)

    def _input(self, x: Tensor) -> Tensor:
        return self.pre(x)

    def _output(self, acc: Tensor) -> Tensor:
        return self.out_norm(acc)


class VGGSmall(nn.Module):
    """VGG-style CNN: ``features`` is a list of channel counts and ``"M"`` (2x2 max pool).

    Each convolution is 3x3, padding 1, followed by batch norm and the
    activation (a 2x2 max pool, where ``features`` has one, sits between the
    two: the same values as pooling after it); then one hidden fully connected
    layer and the output layer (batch norm on the output for float
    activations, a positive scalar for binary ones). ``etas``/``lams`` list one
    value per weight layer, convolutions first.
    """

    def __init__(self, image_shape: tuple[int, int], n_classes: int, *,
                 features: Sequence[int | str] = (16, 16, "M", 32, 32, "M"), fc: int = 128,
                 activation: str = "float", weights: str = "ternary", etas=0.0, lams=0.0,
                 x_scale: float = 1 / 255, x_offset: float = 0.0, sign_ste: str = "hardtanh"):
        super().__init__()
        self.activation = activation
        self.image_shape = tuple(image_shape)
        n_conv = sum(1 for f in features if f != "M")
        etas, lams = _per_layer(etas, n_conv + 2, "etas"), _per_layer(lams, n_conv + 2, "lams")
        layers: list[nn.Module] = []
        c, (h, w), k = 1, image_shape, 0
        for i, f in enumerate(features):
            if f == "M" and (i == 0 or features[i - 1] == "M" or min(h, w) < 2):
                raise InputError(f"features: the pool at index {i} must follow a convolution "
                                 f"and a map of at least 2 x 2, got {list(features)}")
            if f != "M" and (isinstance(f, str) or int(f) < 1):
                raise InputError(f"features: expected channel counts >= 1 or 'M', got {f!r} at index {i}")
            if f == "M":  # pool before the activation: the same values (the activation is
                # monotone, so it commutes with max), but the gradient reaches the window's
                # largest pre-activation instead of the first of its tied +1s
                layers.insert(len(layers) - 1, nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            else:
                layers += [_conv(c, int(f), weights, etas[k], lams[k]), nn.BatchNorm2d(int(f)),
                           _activation(activation, sign_ste)]
                c, k = int(f), k + 1
        self.pre = Preprocess(x_scale, x_offset) if activation == "float" else nn.Identity()
        self.features = nn.Sequential(*layers)
        self.fc = _linear(c * h * w, fc, weights, etas[k], lams[k])
        self.fc_norm = nn.BatchNorm1d(fc)
        self.act = _activation(activation, sign_ste)
        self.out = _linear(fc, n_classes, weights, etas[k + 1], lams[k + 1])
        self.out_post = nn.BatchNorm1d(n_classes) if activation == "float" else OutputScale(fc ** -0.5)
        # features[i:j] is convolution block k (conv, batch norm[, pool], activation)
        starts = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
        self._blocks = list(zip(starts, starts[1:] + [len(layers)]))

    @property
    def convs(self) -> list[nn.Module]:
        """The convolution layers, in order."""
        return [self.features[i] for i, _ in self._blocks]

    @property
    def linears(self) -> list[nn.Module]:
        """Every weight layer in forward order: the convolutions, ``fc``, ``out`` (as
        :class:`BinaryMLP`'s ``linears``, for the exporter)."""
        return [*self.convs, self.fc, self.out]

    @property
    def norms(self) -> list[nn.Module]:
        """The hidden layers' batch norms: the convolutions', then ``fc_norm``."""
        return [self.features[i + 1] for i, _ in self._blocks] + [self.fc_norm]

    @property
    def pools(self) -> list[tuple[int, int] | None]:
        """Per convolution, its max pool's window (the model file's ``pool{l}``), or None."""
        out = []
        for i, j in self._blocks:
            pools = [m for m in self.features[i:j] if isinstance(m, nn.MaxPool2d)]
            k = pools[0].kernel_size if pools else None
            out.append(None if k is None else ((k, k) if isinstance(k, int) else tuple(k)))
        return out

    def forward(self, x: Tensor, return_hidden: bool = False):
        """Logits, or ``(logits, hidden)`` with ``hidden`` every hidden layer's output
        after activation (and pooling), flattened: one entry per convolution block in
        ``(C, H, W)`` order, then the fully connected layer's."""
        # channels_last: the same values, faster convolutions and pools on CPUs
        h = self.pre(x).reshape(-1, 1, *self.image_shape).contiguous(memory_format=torch.channels_last)
        hidden = []
        if return_hidden:
            for i, j in self._blocks:
                h = self.features[i:j](h)
                hidden.append(h.flatten(1))
        else:
            h = self.features(h)
        h = self.act(self.fc_norm(self.fc(h.flatten(1))))
        out = self.out_post(self.out(h))
        return (out, hidden + [h]) if return_hidden else out


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` for every linear/convolution layer, in forward order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
