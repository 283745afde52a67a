"""Small Brevitas networks for the interop tests: built, trained a few steps on
Fashion-MNIST (or seeded random pixels where it is not installed), exported with
``brevitas.export.export_qonnx``.

Scales are chosen so that qonnx's float32 executor computes exactly what the
quantisers define (powers of two, inputs pixel / 256, or +-1): the binary ones
must then agree bit for bit (see sw.interop.check)."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

INPUT_SCALE = 1 / 256

with warnings.catch_warnings():
    # On import brevitas announces its own deprecated modules (brevitas.fx) and an
    # optional accelerated kernel package it falls back from.
    warnings.filterwarnings("ignore", message=r"brevitas\..* is deprecated", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=r"fast_hadamard_transform package not found", category=UserWarning)
    import brevitas.nn as qnn
    from brevitas.export import export_qonnx
    from brevitas.quant.binary import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
    from brevitas.quant.fixed_point import Int8WeightPerTensorFixedPoint
    from brevitas.quant.scaled_int import Int8WeightPerChannelFloat


def _quantisers():
    class BinaryWeightOne(SignedBinaryWeightPerTensorConst):
        scaling_const = 1.0  # weights exactly +-1

    return {"ternary-pot": (Int8WeightPerTensorFixedPoint, 2),    # per-tensor power-of-two scale
            "ternary-channel": (Int8WeightPerChannelFloat, 2),    # per-output-channel float scale
            "binary": (BinaryWeightOne, 1)}, SignedBinaryActPerTensorConst


class Net(nn.Module):
    """784 -> hidden... -> 10 with ``weights`` per layer (a key of :func:`_quantisers`),
    batch norm and a ``binary`` (BipolarQuant) or ``float`` (ReLU) activation;
    ``binary_input``: FINN's ``2x - 1 -> sign`` on the input."""

    def __init__(self, sizes, weights, activation, binary_input=False, out_bias=False):
        super().__init__()
        quants, act_quant = _quantisers()
        self.binary_input = binary_input
        self.input_act = qnn.QuantIdentity(act_quant=act_quant) if binary_input else None
        layers = []
        for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            wq, bits = quants[weights[k]]
            last = k == len(sizes) - 2
            layers.append(qnn.QuantLinear(n_in, n_out, bias=last and out_bias, weight_quant=wq,
                                          weight_bit_width=bits))
            if not last:
                layers.append(nn.BatchNorm1d(n_out))
                layers.append(qnn.QuantIdentity(act_quant=act_quant) if activation == "binary" else nn.ReLU())
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        if self.binary_input:
            x = self.input_act(2 * x - 1)
        return self.body(x)


def train_and_export(net: Net, path, pixels: np.ndarray, labels: np.ndarray, steps: int = 5, seed: int = 0):
    """A few Adam steps on ``pixels * INPUT_SCALE``, then ``export_qonnx`` to ``path``."""
    torch.manual_seed(seed)
    x = torch.from_numpy(pixels.astype(np.float32) * INPUT_SCALE)
    y = torch.from_numpy(labels.astype(np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    net.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    with warnings.catch_warnings():  # torch.onnx and brevitas report their export steps as warnings
        warnings.simplefilter("ignore")
        export_qonnx(net, x[:1], export_path=str(path))
    return path
