"""QONNX -> ``tnn-model-v1``: Brevitas exports (``brevitas.export.export_qonnx``) and
the QONNX model zoo's fully connected networks (FINN's TFC).

The graph is cleaned with qonnx's own transformations (:func:`.qonnx_graph.clean`)
and must then be one chain from the input to the output (an MLP):

* the input, ``x = pixel * S`` in float32 (``S`` = ``input_scale``, default 1/255,
  as FINN's MNIST networks take [0, 1]), optionally flattened (Reshape, Flatten,
  Squeeze, Unsqueeze, Identity);
* layers ``MatMul`` or ``Gemm`` (``alpha = beta = 1``, ``transA = 0``; its ``C`` is
  a bias) whose weights are a ``Quant`` of bitwidth 2, signed, narrow range, zero
  point 0 (ternary) or a ``BipolarQuant`` (+-1) of an initialiser, with a
  per-tensor or per-output-channel positive scale;
* between layers, per-channel affine nodes (``BatchNormalization``, ``Mul``,
  ``Div``, ``Add``, ``Sub`` with constant operands) and then one activation: a
  ``BipolarQuant`` (a binary network) or a ``Relu`` (a float network), the same
  kind at every hidden layer;
* after the last layer, affine nodes only.

A network without hidden layers is a float network, unless it binarises its
input (then binary).

Binary networks. Hidden neuron ``j`` of a layer fires (``BipolarQuant`` gives +1)
iff the chain of its affine nodes is ``>= 0`` at the layer's output, a monotone
function of the integer accumulation ``acc`` of its ternary codes. The integer
threshold is found by bisection over the accumulator range, feeding probes
``fl32(acc * x_scale * w_scale)`` (plus the Gemm bias, in float32) through the
graph's own nodes with qonnx's executor -- the very float computation the
reference executor performs on an exact layer output. A decreasing row (e.g. a
negative batch-norm weight) is negated (``w -> -w``), as :mod:`sw.export` does; a
row constant over the range gets ``lo`` (always 1) or ``hi + 1`` (always 0).
``x_scale`` is the previous ``BipolarQuant``'s scale (its outputs are +-scale),
or ``S`` for layer 0 on pixels.

Binary inputs. A ``BipolarQuant`` before the first layer (FINN's TFC:
``x -> 2x - 1 -> BipolarQuant``, affine nodes with one constant for all pixels)
binarises the pixels: the executor runs the input nodes on every pixel value
``0..255`` and the first value that gives +1 is the model file's
``input_threshold`` (refused unless the bits are ``pixel >= T`` for one ``T``).

The last layer of a binary network: the model file's outputs are the exact
int32 accumulations, so the graph's map from them to its outputs (weight scale,
input scale, bias, affine nodes) must be one positive scale and one offset for
all classes (the argmax is then the same); else refused.

Float networks: each layer's affine chain is composed in float64 into the
model file's per-row ``s`` (times the weight scale) and ``b``, each rounded once
to float32; the input nodes before layer 0 into ``x_scale = S * a`` and
``x_offset = c``. Float32 evaluation orders differ from the executor's, so these
agree to rounding (:mod:`.check` measures it).

The model file's ``meta`` records the source file and ``S``, or is the
``tnn-model-v1.meta`` metadata of a graph that :mod:`.qonnx_export` wrote.

Refused with :class:`~.qonnx_graph.InteropError`, naming the node: quantised
activations other than ``BipolarQuant`` (e.g. 2-bit ``Quant``), weights wider
than 2 bits or not quantised, unsupported ops, branches, and anything the
model file cannot hold exactly (above).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..model_file import PIXEL_MAX, TnnModel, accumulator_range, validate
from .qonnx_graph import Graph, InteropError, clean, load_qonnx

__all__ = ["import_qonnx", "Imported", "DEFAULT_INPUT_SCALE"]

#: FINN's MNIST networks take pixels in [0, 1].
DEFAULT_INPUT_SCALE = 1.0 / 255.0

SHAPE_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity")
AFFINE_OPS = ("BatchNormalization", "Mul", "Div", "Add", "Sub")
MATMUL_OPS = ("MatMul", "Gemm")
ACTIVATION_OPS = ("BipolarQuant", "Relu")


@dataclass
class Layer:
    """One MatMul/Gemm and what follows it up to its activation."""

    matmul: object
    codes: np.ndarray            # int8 [out, in]
    w_scale: np.ndarray          # float64 [out]
    bias: np.ndarray | None      # float32 [out] (Gemm C), or None
    weight_node: object
    post: list = field(default_factory=list)   # affine nodes
    act: object | None = None


@dataclass
class Imported:
    """An imported network: the model file's contents and what :mod:`.check`
    needs to run the QONNX graph beside it."""

    model: TnnModel
    graph: Graph
    input_scale: float
    layers: list
    x_scales: list               # per layer: the scale of its inputs (+-x, or S for pixels)

    @property
    def input_name(self) -> str:
        return self.graph.model.graph.input[0].name

    @property
    def input_shape(self) -> list:
        return self.graph.model.get_tensor_shape(self.input_name)

    @property
    def output_name(self) -> str:
        return self.graph.model.graph.output[0].name

    def executor_inputs(self, pixels: np.ndarray) -> np.ndarray:
        """The executor's input for uint8 pixels: ``fl32(pixel * S)`` in the graph's shape."""
        x = pixels.astype(np.float32) * np.float32(self.input_scale)
        return x.reshape([len(pixels), *self.input_shape[1:]])

    def layer_value(self, l: int, acc: np.ndarray) -> np.ndarray:
        """Float32 ``fl32(acc * x_scale * w_scale)`` (+ Gemm bias), the exact value of
        layer ``l``'s MatMul/Gemm output for integer accumulations ``acc`` of the
        graph's own (unnegated) rows."""
        layer = self.layers[l]
        v = (np.asarray(acc, dtype=np.float64) * (self.x_scales[l] * layer.w_scale)).astype(np.float32)
        if layer.bias is not None:
            v = v + layer.bias
        return v.astype(np.float32)


def _refuse(node, reason: str):
    raise InteropError(f"{node.name or node.op_type}: {reason}")


def _chain(graph: Graph) -> list:
    """The nodes from the graph input to its output, one after the other."""
    g = graph.model.graph
    if len(g.input) != 1 or len(g.output) != 1:
        raise InteropError(f"model: expected one input and one output, got {len(g.input)} and {len(g.output)}")
    t, out, chain = g.input[0].name, g.output[0].name, []
    while t != out:
        consumers = graph.model.find_consumers(t)
        if not consumers:
            raise InteropError(f"model: tensor {t} does not lead to the output {out}")
        if len(consumers) > 1:
            _refuse(consumers[1], f"tensor {t} feeds {len(consumers)} nodes; only chains (MLPs) are supported")
        node = consumers[0]
        dynamic = [i for i in node.input if i and not graph.is_constant(i)]
        if dynamic != [t]:
            _refuse(node, f"{node.op_type} of two computed tensors ({', '.join(dynamic)}); only chains are supported")
        chain.append(node)
        t = node.output[0]
    return chain


def _weights(graph: Graph, node):
    """``(codes int8 [out, in], scale float64 [out], producer)`` of a MatMul/Gemm's weights."""
    name = node.input[1]
    trans = node.op_type == "Gemm" and graph.attribute(node, "transB", 0) == 1
    producer = graph.model.find_producer(name)
    if producer is None or producer.op_type not in ("Quant", "BipolarQuant"):
        what = "float initialiser" if producer is None else f"{producer.op_type} output"
        _refuse(node, f"weights {name} are a {what}; expected a Quant (bitwidth 2, signed, narrow) "
                      f"or BipolarQuant of an initialiser")
    if producer.op_type == "Quant":
        bits = float(graph.constant(producer.input[3]))
        signed, narrow = graph.attribute(producer, "signed", 1), graph.attribute(producer, "narrow", 0)
        if bits != 2 or not signed or not narrow:
            _refuse(producer, f"{bits:g}-bit {'signed' if signed else 'unsigned'}"
                              f"{' narrow' if narrow else ''} weights; the engines take ternary weights "
                              f"(Quant bitwidth 2, signed, narrow range) or binary ones (BipolarQuant)")
        if np.any(graph.constant(producer.input[2]) != 0):
            _refuse(producer, "weights with a nonzero zero point; ternary weights need zero point 0")
    values = graph.constant(producer.output[0]).astype(np.float64)
    if values.ndim != 2:
        _refuse(producer, f"weights of shape {list(values.shape)}; expected a 2-D matrix")
    scale = np.broadcast_to(graph.constant(producer.input[1]).astype(np.float64), values.shape)
    if trans:
        values, scale = values.T, scale.T
    # now [in, out]: one scale per output column
    if not np.all(scale == scale[:1]):
        _refuse(producer, "weight scales vary along the input axis; per-tensor or per-output-channel scales only")
    s = scale[0].copy()
    if not np.all(s > 0):
        _refuse(producer, f"weight scale {s[np.argmax(~(s > 0))]:g} is not positive")
    codes = values / s
    if not np.all(np.isin(codes, (-1.0, 0.0, 1.0))):
        _refuse(producer, "quantised weights are not {-1, 0, +1} times the scale")
    return codes.T.astype(np.int8), s, producer


def _gemm(graph: Graph, node, n_out: int):
    """The bias of a Gemm (float32 [out]) or None; refuses what is not ``A @ B + C``."""
    for attr, want in (("alpha", 1.0), ("beta", 1.0), ("transA", 0)):
        if graph.attribute(node, attr, want) != want:
            _refuse(node, f"Gemm with {attr} = {graph.attribute(node, attr)}; expected {want}")
    if len(node.input) < 3 or not node.input[2]:
        return None
    return _per_channel(graph, node, graph.constant(node.input[2]), n_out).astype(np.float32)


def _per_channel(graph: Graph, node, value: np.ndarray, n: int) -> np.ndarray:
    """A constant broadcast over ``n`` channels (scalar, [1], [n] or [1, n]) as [n]."""
    v = np.asarray(value)
    if v.size and np.unique(v).size == 1:  # one value, whatever its shape
        return np.full(n, float(v.flat[0]))
    if v.size not in (1, n) or (v.ndim > 1 and v.shape[-1] != v.size):
        _refuse(node, f"constant of shape {list(v.shape)} is not per channel (of {n})")
    return np.broadcast_to(v.reshape(-1), (n,)).astype(np.float64)


def _affine(graph: Graph, node, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` float64 [n]: the node computes ``a * x + b`` per channel."""
    op = node.op_type
    if op == "BatchNormalization":
        gamma, beta, mean, var = (_per_channel(graph, node, graph.constant(i), n) for i in node.input[1:5])
        k = gamma / np.sqrt(var + float(graph.attribute(node, "epsilon", 1e-5)))
        return k, beta - mean * k
    const_first = graph.is_constant(node.input[0])
    c = _per_channel(graph, node, graph.constant(node.input[0 if const_first else 1]), n)
    one, zero = np.ones(n), np.zeros(n)
    if op == "Mul":
        return c, zero
    if op == "Add":
        return one, c
    if op == "Sub":
        return (-one, c) if const_first else (one, -c)
    if const_first:  # Div: c / x
        _refuse(node, "Div of a constant by the activations is not affine")
    return 1.0 / c, zero


def _compose(maps) -> tuple[np.ndarray, np.ndarray]:
    a, b = 1.0, 0.0
    for ai, bi in maps:
        a, b = a * ai, b * ai + bi
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


def _parse(graph: Graph):
    """The chain as ``(pre, layers)``: input nodes before the first layer, and layers."""
    pre, layers = [], []
    for node in _chain(graph):
        op = node.op_type
        current = layers[-1] if layers else None
        if op in SHAPE_OPS:
            if current is not None:
                _refuse(node, f"{op} after the first layer; only the input may be reshaped")
            pre.append(node)
        elif op in AFFINE_OPS:
            if current is None:
                pre.append(node)
            elif current.act is not None:
                _refuse(node, f"{op} between an activation and the next layer; affine nodes go "
                              f"before the activation")
            else:
                current.post.append(node)
        elif op in MATMUL_OPS:
            if current is not None and current.act is None:
                _refuse(node, f"{op} right after {current.matmul.name} without an activation between them")
            codes, scale, producer = _weights(graph, node)
            bias = _gemm(graph, node, len(codes)) if op == "Gemm" else None
            layers.append(Layer(node, codes, scale, bias, producer))
        elif op in ACTIVATION_OPS:
            if current is None:
                if op != "BipolarQuant" or any(p.op_type == "BipolarQuant" for p in pre):
                    _refuse(node, f"{op} before the first layer; only one BipolarQuant (binary inputs) may be there")
                pre.append(node)
            elif current.act is not None:
                _refuse(node, f"{op} right after the activation {current.act.name}")
            else:
                current.act = node
        elif op == "Quant":
            bits = float(graph.constant(node.input[3]))
            signed, narrow = graph.attribute(node, "signed", 1), graph.attribute(node, "narrow", 0)
            kind = f"{'signed' if signed else 'unsigned'}{', narrow' if narrow else ''}"
            _refuse(node, f"{bits:g}-bit activations (Quant, {kind}); the engines take binary (BipolarQuant) "
                          f"or float (Relu) activations")
        else:
            _refuse(node, f"unsupported op {op}")
    if not layers:
        raise InteropError("model: no MatMul or Gemm layer")
    if layers[-1].act is not None:
        _refuse(layers[-1].act, "activation after the last layer; the model file's outputs are the last "
                                "layer's scores")
    for l in range(1, len(layers)):
        n_prev, n_in = len(layers[l - 1].codes), layers[l].codes.shape[1]
        if n_prev != n_in:
            _refuse(layers[l].matmul, f"{n_in} inputs, but the previous layer has {n_prev} outputs")
    return pre, layers


def _bipolar_scale(graph: Graph, node) -> float:
    s = np.unique(graph.constant(node.input[1]))
    if len(s) != 1 or not s[0] > 0:
        _refuse(node, f"BipolarQuant scale {s.tolist()} is not one positive value")
    return float(s[0])


def _input(graph: Graph, pre: list, n_in: int):
    """``(binarise, shape_ops, affine_ops)`` of the input nodes; checks the flattening."""
    shape = graph.model.get_tensor_shape(graph.model.graph.input[0].name)
    if not shape or shape[0] != 1 or int(np.prod(shape[1:])) != n_in:
        raise InteropError(f"model: input of shape {shape}; expected a batch of 1 with {n_in} values "
                           f"(the first layer's inputs)")
    binarise = next((p for p in pre if p.op_type == "BipolarQuant"), None)
    if binarise is not None and binarise is not pre[-1]:
        _refuse(pre[pre.index(binarise) + 1], "after the input's BipolarQuant; only the first layer may follow")
    affine = [p for p in pre if p.op_type in AFFINE_OPS]
    for p in affine:
        for i in p.input[1:] if p.op_type == "BatchNormalization" else p.input:
            if i and graph.is_constant(i) and np.unique(graph.constant(i)).size != 1:
                _refuse(p, "per-pixel input constants; the model file's input map is one scale and offset")
    return binarise, affine


def _input_threshold(graph: Graph, pre: list, binarise, input_scale: float) -> int:
    """The ``T`` with input bit ``pixel >= T``: the executor runs the input nodes on
    every pixel value."""
    model = graph.model
    name = model.graph.input[0].name
    shape = model.get_tensor_shape(name)
    n = int(np.prod(shape[1:]))
    values = np.arange(PIXEL_MAX + 1)
    bits = np.empty(PIXEL_MAX + 1, dtype=bool)
    for first in range(0, len(values), n):
        chunk = values[first:first + n]
        x = np.resize(chunk, n).astype(np.float32) * np.float32(input_scale)
        ctx = graph.run({name: x.reshape(shape)}, start=pre[0], end=binarise)
        bits[first:first + n] = (ctx[binarise.output[0]].reshape(-1) > 0)[:len(chunk)]
    t = int(np.argmax(bits)) if bits.any() else PIXEL_MAX + 1
    if not np.array_equal(bits, values >= t):
        _refuse(binarise, "the input bits are not pixel >= T for one threshold T")
    return t


def _fires(graph: Graph, imp_layer: Layer, value: np.ndarray) -> np.ndarray:
    """The executor's activation (> 0) for float32 layer outputs ``value`` [C]."""
    start = imp_layer.post[0] if imp_layer.post else imp_layer.act
    ctx = graph.run({imp_layer.matmul.output[0]: value[None, :].astype(np.float32)},
                    start=start, end=imp_layer.act)
    return ctx[imp_layer.act.output[0]][0] > 0


def _thresholds(imported: Imported, l: int, binary_input: bool):
    """Integer thresholds of hidden layer ``l`` and its row signs (bisection, module docstring)."""
    layer = imported.layers[l]
    fire = lambda acc: _fires(imported.graph, layer, imported.layer_value(l, acc))  # noqa: E731
    lo, hi = accumulator_range(layer.codes, l, binary_input=binary_input)
    f_lo, f_hi = fire(lo), fire(hi)
    sign = np.where(f_lo & ~f_hi, -1, 1).astype(np.int64)
    w = (layer.codes * sign[:, None]).astype(np.int8)
    lo, hi = accumulator_range(w, l, binary_input=binary_input)
    left, right = lo.astype(np.int64), hi.astype(np.int64) + 1
    constant = f_lo == f_hi
    left = np.where(constant, np.where(f_lo, lo, hi + 1), left)
    right = np.where(constant, left, right)
    while np.any(left < right):
        active = left < right
        mid = np.where(active, (left + right) // 2, left)
        fired = fire(sign * mid)
        right = np.where(active & fired, mid, right)
        left = np.where(active & ~fired, mid + 1, left)
    return w, left.astype(np.int32)


def _output_map(graph: Graph, imported: Imported):
    """Binary networks: check the last layer's map to the outputs is one positive
    scale and offset for all classes."""
    l = len(imported.layers) - 1
    layer = imported.layers[l]
    n = len(layer.codes)
    if not np.all(layer.w_scale == layer.w_scale[0]):
        _refuse(layer.weight_node, "per-class weight scales on the output layer; int32 scores keep one "
                                   "positive scale and offset for all classes")
    bias = np.zeros(n) if layer.bias is None else layer.bias.astype(np.float64)
    maps = [(np.full(n, imported.x_scales[l] * layer.w_scale[0]), bias)]
    for node in layer.post:
        a, b = _affine(graph, node, n)
        if not (np.all(a == a[0]) and np.all(b == b[0])):
            _refuse(node, "per-class constants after the output layer; int32 scores keep one positive scale "
                          "and offset for all classes")
        maps.append((a, b))
    a, b = _compose(maps)
    if not np.all(b == b[0]):
        _refuse(layer.matmul, "per-class bias on the output layer; int32 scores keep one positive scale "
                              "and offset for all classes")
    if not a[0] > 0:
        _refuse(layer.post[-1] if layer.post else layer.matmul,
                f"the outputs are {a[0]:g} times the scores: not a positive scale, argmax would not be kept")


def import_qonnx(path: str | os.PathLike, input_scale: float = DEFAULT_INPUT_SCALE) -> Imported:
    """Read, clean and convert the QONNX model at ``path``; see the module docstring
    for what is accepted. Raises :class:`InteropError` naming the node at fault."""
    if not (np.isfinite(input_scale) and input_scale > 0):
        raise InteropError(f"input-scale: must be a positive number, got {input_scale}")
    loaded = load_qonnx(path)
    own_meta = loaded.get_metadata_prop("tnn-model-v1.meta")  # a graph qonnx_export wrote
    graph = Graph(clean(loaded))
    pre, layers = _parse(graph)
    n_in = layers[0].codes.shape[1]
    binarise, affine = _input(graph, pre, n_in)
    kinds = {layer.act.op_type for layer in layers[:-1]}
    if len(kinds) > 1:
        odd = next(layer.act for layer in layers[:-1] if layer.act.op_type != layers[0].act.op_type)
        _refuse(odd, f"{odd.op_type} in a network whose first activation is {layers[0].act.op_type}; "
                     f"one kind (binary or float) for all layers")
    binary = kinds == {"BipolarQuant"} or (not kinds and binarise is not None)
    meta = json.dumps({"source": os.path.basename(os.fspath(path)), "importer": "sw.interop import-qonnx",
                       "input_scale": input_scale})
    meta = meta if own_meta is None else own_meta
    if binary:
        if affine and binarise is None:
            _refuse(affine[0], "an input affine before a binary network's first layer on pixels")
        x_scales = [input_scale if binarise is None else _bipolar_scale(graph, binarise)]
        x_scales += [_bipolar_scale(graph, layer.act) for layer in layers[:-1]]
        imported = Imported(None, graph, input_scale, layers, x_scales)
        t_in = None if binarise is None else _input_threshold(graph, pre, binarise, input_scale)
        weights, thresholds = [], []
        for l in range(len(layers) - 1):
            w, t = _thresholds(imported, l, binary_input=l > 0 or t_in is not None)
            weights.append(w)
            thresholds.append(t)
        _output_map(graph, imported)
        weights.append(layers[-1].codes)
        model = TnnModel("binary", weights, thresholds=thresholds, input_threshold=t_in,
                         meta=meta)
    else:
        if binarise is not None:
            _refuse(binarise, "binary inputs (BipolarQuant) need a binary network; this one has Relu activations")
        a0, b0 = (float(np.ravel(v)[0]) for v in _compose(_affine(graph, p, 1) for p in affine))
        x_scales = [1.0] * len(layers)
        imported = Imported(None, graph, input_scale, layers, x_scales)
        scales, biases = [], []
        for layer in layers:
            n = len(layer.codes)
            bias = np.zeros(n) if layer.bias is None else layer.bias.astype(np.float64)
            a, b = _compose([(layer.w_scale, bias), *(_affine(graph, p, n) for p in layer.post)])
            scales.append(np.broadcast_to(a, (n,)).astype(np.float32))
            biases.append(np.broadcast_to(b, (n,)).astype(np.float32))
        model = TnnModel("float", [layer.codes for layer in layers], scales=scales, biases=biases,
                         x_scale=np.float32(float(input_scale) * a0), x_offset=np.float32(b0),
                         meta=meta)
    try:
        validate(model.to_arrays())
    except InputError as exc:  # e.g. a non-finite folded scale
        raise InteropError(f"model: the imported network breaks the model file: {exc}") from exc
    imported.model = model
    return imported
