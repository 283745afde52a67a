"""``tnn-model-v1`` -> QONNX, for FINN, hls4ml and qonnx's executor.

The graph takes ``x = pixel * S`` (float32 ``[1, n_in]``; ``S`` = ``input_scale``,
default 1/255 as :mod:`.qonnx_import` assumes) and has one chain of nodes:

* weights: a ``Quant`` (bitwidth 2, signed, narrow range, scale 1, zero point 0,
  ``ROUND``) of the codes as float ``[in, out]``, feeding a ``MatMul``;
* binary networks: each hidden layer is ``MatMul -> Add(c) -> BipolarQuant``
  (scale 1, so its outputs are +-1) with ``c_j = 0.5 - t_j`` on +-1 inputs: the
  sum is an exact integer and ``acc - t + 0.5 >= 0`` iff ``acc >= t``. Layer 0 on
  pixels gets ``c_j = -fl32((t_j - 1/2) * S)``: the MatMul's float sum is about
  ``S * acc``, half a step from the threshold. Binary inputs are
  ``Sub(fl32((T - 1/2) * S)) -> BipolarQuant`` before layer 0 (``fl32(pixel * S)``
  is increasing in the pixel, so the bit is ``pixel >= T``). The last layer is a
  bare ``MatMul``: the outputs are the int32 scores (as float), times ``S`` on
  pixels for a one-layer network. That is FINN's BatchNorm-then-sign form with
  the batch norm folded to one ``Add``; FINN's streamlining turns it into
  ``MultiThreshold``.
* float networks: ``MatMul -> Mul(s) -> Add(b) -> Relu`` (no Relu after the last
  layer), and ``Mul(a) -> Add(x_offset)`` before layer 0 with a float32 ``a``
  such that ``fl32(S * a) = x_scale``.

The model file's ``meta`` travels in the graph's metadata (``tnn-model-v1.meta``).
Thresholds beyond a row's accumulator range are written clamped into
``[lo, hi + 1]`` (the same bits). :func:`~.qonnx_import.import_qonnx` of the
exported file gives back the model exactly, every array (tested), for models
whose thresholds are within range (every exported and imported one) and that
have a hidden layer: a one-layer binary network comes back as a float network
(without activations QONNX has no binary/float distinction).

Refused (:class:`~.qonnx_graph.InteropError`, naming the field): weighted binary
layers (``kp``/``kn``) and asymmetric float layers (``sn``), which have no
single-MatMul form here.
"""

from __future__ import annotations

import os

import numpy as np

from ..files import atomic_write_bytes
from ..model_file import TnnModel, accumulator_range
from .qonnx_graph import InteropError, quiet
from .qonnx_import import DEFAULT_INPUT_SCALE

__all__ = ["export_qonnx", "to_qonnx"]

QONNX_DOMAIN = "qonnx.custom_op.general"
#: The model file's ``meta``, kept in the ONNX metadata so an import restores it.
META_KEY = "tnn-model-v1.meta"


class _Builder:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], {}

    def const(self, name: str, value) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list, domain: str = "", **attrs) -> str:
        from onnx import helper

        k = self.count.get(op, 0)
        self.count[op] = k + 1
        name = f"{op}_{k}"
        out = f"{name}_out0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, domain=domain, **attrs))
        return out

    def ternary(self, x: str, codes: np.ndarray) -> str:
        """``MatMul(x, Quant(codes^T))``: the codes as 2-bit signed narrow weights, scale 1."""
        w = self.const(f"W{self.count.get('MatMul', 0)}", codes.T.astype(np.float32))
        q = self.node("Quant", [w, self.const(f"{w}_scale", np.float32(1.0)),
                                self.const(f"{w}_zeropt", np.float32(0.0)),
                                self.const(f"{w}_bitwidth", np.float32(2.0))],
                      domain=QONNX_DOMAIN, signed=1, narrow=1, rounding_mode="ROUND")
        return self.node("MatMul", [x, q])

    def sign(self, x: str) -> str:
        k = self.count.get("BipolarQuant", 0)
        return self.node("BipolarQuant", [x, self.const(f"act{k}_scale", np.float32(1.0))], domain=QONNX_DOMAIN)


def _input_factor(x_scale: np.float32, input_scale: float) -> np.float32:
    """A float32 ``a`` with ``fl32(S * a) == x_scale`` (the importer's composition)."""
    a = np.float32(float(x_scale) / input_scale)
    for step in range(8):
        for cand in (a, np.nextafter(a, np.float32(np.inf)), np.nextafter(a, np.float32(-np.inf))):
            if np.float32(input_scale * float(cand)) == np.float32(x_scale):
                return cand
        a = np.nextafter(a, np.float32(np.inf) if step % 2 else np.float32(-np.inf))
    raise InteropError(f"x_scale: no float32 factor a with fl32({input_scale:g} * a) = {float(x_scale)!r}")


def to_qonnx(model: TnnModel, input_scale: float = DEFAULT_INPUT_SCALE):
    """The model as an ``onnx.ModelProto`` (module docstring)."""
    from onnx import TensorProto, helper

    if not (np.isfinite(input_scale) and input_scale > 0):
        raise InteropError(f"input-scale: must be a positive number, got {input_scale}")
    for l in range(model.n_layers):
        if model.conv(l) is not None:
            raise InteropError(f"conv{l}: convolution layers have no QONNX form here (fully connected networks only)")
        if model.row_weight(l) is not None:
            raise InteropError(f"kp{l}: weighted binary layers have no QONNX form here (two scales per row)")
        if model.neg_scale(l) is not None:
            raise InteropError(f"sn{l}: asymmetric float layers have no QONNX form here (two scales per row)")
    b = _Builder()
    x = "global_in"
    if model.activation == "binary":
        if model.binary_input:
            t_in = np.float32((model.input_threshold - 0.5) * input_scale)  # half a pixel below T
            x = b.sign(b.node("Sub", [x, b.const("input_threshold", t_in)]))
        for l, w in enumerate(model.weights):
            x = b.ternary(x, w)
            if l == model.n_layers - 1:
                break
            binary_in = l > 0 or model.binary_input
            lo, hi = accumulator_range(w, l, binary_input=binary_in)
            t = np.clip(model.thresholds[l].astype(np.int64), lo, hi + 1)
            if binary_in:
                c = (0.5 - t).astype(np.float32)
            else:
                c = -((t - 0.5) * input_scale).astype(np.float32)
            x = b.sign(b.node("Add", [x, b.const(f"threshold{l}", c[None, :])]))
    else:
        a = _input_factor(np.float32(model.x_scale), input_scale)
        x = b.node("Mul", [x, b.const("x_factor", a)])
        x = b.node("Add", [x, b.const("x_offset", np.float32(model.x_offset))])
        for l, w in enumerate(model.weights):
            x = b.ternary(x, w)
            x = b.node("Mul", [x, b.const(f"s{l}", model.scales[l].astype(np.float32)[None, :])])
            x = b.node("Add", [x, b.const(f"b{l}", model.biases[l].astype(np.float32)[None, :])])
            if l < model.n_layers - 1:
                x = b.node("Relu", [x])
    b.nodes[-1].output[0] = "global_out"
    graph = helper.make_graph(
        b.nodes, "tnn_model", [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, model.n_inputs])],
        [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, [1, model.n_outputs])], b.inits)
    proto = helper.make_model(graph, producer_name="sparse-tnn sw.interop",
                              opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)])
    proto.ir_version = 8
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    with quiet():
        wrapped = ModelWrapper(proto).transform(InferShapes())
    wrapped.set_metadata_prop(META_KEY, model.meta)  # also when empty: an import restores it as it was
    return wrapped.model


def export_qonnx(model: TnnModel, path: str | os.PathLike, input_scale: float = DEFAULT_INPUT_SCALE):
    """Write ``model`` as QONNX to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, to_qonnx(model, input_scale).SerializeToString())
