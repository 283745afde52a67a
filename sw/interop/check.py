"""An imported network checked against qonnx's reference executor.

:func:`check` runs :func:`qonnx.core.onnx_exec.execute_onnx` on the cleaned QONNX
graph and :func:`sw.golden.forward` on the model file, on the same uint8 pixels
(the executor gets ``fl32(pixel * S)``), and compares:

* binary networks, exactly: every hidden bit (``BipolarQuant > 0`` against the
  golden model's bits), and the outputs: the executor's outputs must equal the
  graph's own output nodes applied to the golden int32 scores
  (:meth:`~.qonnx_import.Imported.layer_value`, then the nodes after the last
  layer, run by the executor) in every bit -- "exact up to the last layer's
  positive affine map";
* float networks: per image, ``max |golden - executor| <= 1e-5 * max |executor|``
  over the outputs (float32 evaluation orders differ, so bits may not).

Both kinds also count equal predictions (argmax). Exactness of binary networks
presumes the executor's own float32 sums are exact, which they are for +-1
inputs and weights (FINN's TFC), and for power-of-two scales with ``S = 1/256``;
a sum of non-integer terms (``S = 1/255``, a scale of 0.1) rounds in the executor,
and a neuron whose value lands within that rounding of its threshold then
disagrees: such a network is imported as the exact integer network its
quantisers define, and the check names the first disagreement.
"""

from __future__ import annotations

import numpy as np

from .. import golden
from .qonnx_import import Imported

__all__ = ["check", "check_inputs", "FLOAT_TOLERANCE", "CHUNK"]

#: Float networks: largest output difference relative to the image's largest output.
FLOAT_TOLERANCE = 1e-5
#: Images per executor run.
CHUNK = 1000


def check_inputs(n: int, n_in: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """``(pixels, source)``: the first ``n`` Fashion-MNIST test images when the data set
    is installed and the network takes 784 inputs, else ``n`` seeded random images."""
    from ..data import load_dataset
    from ..errors import InputError

    if n_in == 784:
        try:
            data = load_dataset("fmnist")
            if len(data.test_x) >= n:
                return data.test_x[:n], "fashion-mnist test images"
        except InputError:
            pass
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, n_in), dtype=np.uint8), f"random pixels (seed {seed})"


def executor_forward(imported: Imported, pixels: np.ndarray, progress: bool = False):
    """``(outputs, hidden)``: the executor's outputs float32 ``[N, out]`` and each
    hidden layer's activation float32 ``[N, out_l]``, in chunks of :data:`CHUNK`."""
    from tqdm import tqdm

    outs, hiddens = [], []
    for first in tqdm(range(0, len(pixels), CHUNK), desc="qonnx executor", unit="chunk",
                      disable=not progress or len(pixels) <= CHUNK):
        chunk = pixels[first:first + CHUNK]
        ctx = imported.graph.run({imported.input_name: imported.executor_inputs(chunk)})
        outs.append(np.asarray(ctx[imported.output_name], dtype=np.float32).reshape(len(chunk), -1))
        hiddens.append([np.asarray(ctx[layer.act.output[0]]).reshape(len(chunk), -1)
                        for layer in imported.layers[:-1]])
    hidden = [np.concatenate([h[l] for h in hiddens]) for l in range(len(imported.layers) - 1)]
    return np.concatenate(outs), hidden


def mapped_scores(imported: Imported, scores: np.ndarray) -> np.ndarray:
    """The graph's outputs for the golden int32 ``scores``: the last layer's exact
    value through the graph's own output nodes (run by the executor)."""
    l = len(imported.layers) - 1
    layer = imported.layers[l]
    out = []
    for first in range(0, len(scores), CHUNK):
        value = imported.layer_value(l, scores[first:first + CHUNK])
        if not layer.post:
            out.append(value)
            continue
        ctx = imported.graph.run({layer.matmul.output[0]: value}, start=layer.post[0], end=layer.post[-1])
        out.append(np.asarray(ctx[layer.post[-1].output[0]], dtype=np.float32).reshape(len(value), -1))
    return np.concatenate(out)


def check(imported: Imported, pixels: np.ndarray, progress: bool = False) -> dict:
    """Golden model vs the executor on ``pixels``; a dict with ``agree`` (bool),
    ``images``, ``prediction_agreement`` and per kind (module docstring):
    ``hidden_bit_mismatches`` (per layer) and ``output_mismatches`` (images), or
    ``max_relative_error``; ``first_mismatch`` names the first disagreement."""
    model = imported.model
    ex_out, ex_hidden = executor_forward(imported, pixels, progress)
    g_out, g_hidden = golden.forward(model, pixels)
    ex_pred, g_pred = golden.predict(ex_out), golden.predict(g_out)
    r = {"images": int(len(pixels)), "activation": model.activation,
         "prediction_agreement": float(np.mean(ex_pred == g_pred))}
    if model.activation == "binary":
        bits = [(h > 0) for h in ex_hidden]
        mism = [int(np.sum(b != g.astype(bool))) for b, g in zip(bits, g_hidden)]
        mapped = mapped_scores(imported, g_out)
        bad_out = ~np.all(mapped == ex_out, axis=1)  # float32 equality (+0.0 == -0.0)
        r.update(hidden_bit_mismatches=mism, output_mismatches=int(bad_out.sum()))
        r["agree"] = sum(mism) == 0 and not bad_out.any() and r["prediction_agreement"] == 1.0
        if not r["agree"]:
            for l, (b, g) in enumerate(zip(bits, g_hidden)):
                if mism[l]:
                    i, j = (int(v) for v in np.argwhere(b != g.astype(bool))[0])
                    r["first_mismatch"] = f"image {i}, hidden layer {l}, neuron {j}: executor {int(b[i, j])}, " \
                                          f"golden {int(g[i, j])}"
                    break
            else:
                i = int(np.flatnonzero(bad_out | (ex_pred != g_pred))[0])
                r["first_mismatch"] = (f"image {i}: executor outputs {ex_out[i].tolist()}, golden scores "
                                       f"{g_out[i].tolist()} map to {mapped[i].tolist()}")
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.max(np.abs(g_out.astype(np.float64) - ex_out), axis=1)
            scale = np.max(np.abs(ex_out.astype(np.float64)), axis=1)
            rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1), err)
        r["max_relative_error"] = float(rel.max())
        r["agree"] = bool(np.all(rel <= FLOAT_TOLERANCE))
        if not r["agree"]:
            i = int(np.argmax(rel > FLOAT_TOLERANCE))
            r["first_mismatch"] = (f"image {i}: relative error {rel[i]:.3g} > {FLOAT_TOLERANCE:g} "
                                   f"(executor {ex_out[i].tolist()}, golden {g_out[i].tolist()})")
    return r
