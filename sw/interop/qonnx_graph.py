"""Reading QONNX graphs with qonnx: loading, cleanup, constants, and execution.

Everything here goes through qonnx's own code (:class:`ModelWrapper`,
:func:`qonnx.util.cleanup.cleanup_model`, :func:`qonnx.core.onnx_exec.execute_onnx`),
so the values the importer derives are the reference executor's values. Bad
input raises :class:`InteropError`, ``"FIELD: reason"`` (a node's name as the
field where one node is at fault).
"""

from __future__ import annotations

import copy
import os
import warnings
from contextlib import contextmanager

import numpy as np

from ..errors import InputError

__all__ = ["InteropError", "load_qonnx", "clean", "Graph", "quiet"]


class InteropError(InputError):
    """A QONNX model this flow cannot read or the engines cannot run; the message
    starts with the node (or ``model``) at fault."""


@contextmanager
def quiet():
    """qonnx, onnx and onnxruntime warn about things that do not concern this flow
    (opset versions, deprecated numpy aliases in their own code): silence
    exactly those categories while they run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"qonnx\..*")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"(qonnx|onnx)\..*")
        yield


def load_qonnx(path: str | os.PathLike):
    """The QONNX model at ``path`` (external data files beside it are read too) as
    a qonnx :class:`ModelWrapper`; :class:`InteropError` ``"model: cannot read
    PATH: REASON"`` if it cannot be read."""
    import onnx
    from google.protobuf.message import DecodeError
    from qonnx.core.modelwrapper import ModelWrapper

    path = os.fspath(path)
    try:
        with quiet():
            proto = onnx.load(path)
    except OSError as exc:
        raise InteropError(f"model: cannot read {path}: {exc.strerror or exc}") from exc
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InteropError(f"model: cannot read {path}: not an ONNX model") from exc
    if not proto.graph.node:
        raise InteropError(f"model: cannot read {path}: not an ONNX model (no graph nodes)")
    return ModelWrapper(proto)


def clean(model):
    """qonnx's cleanup (shape inference, constant folding with the Quant nodes kept,
    transposes folded into quantised initialisers, unique readable names)."""
    from qonnx.util.cleanup import cleanup_model

    with quiet():
        try:
            return cleanup_model(model)
        except Exception as exc:  # qonnx raises bare Exceptions and AssertionErrors
            raise InteropError(f"model: qonnx cleanup failed: {' '.join(str(exc).split()) or type(exc).__name__}") from exc


class Graph:
    """A cleaned QONNX model with the questions the importer asks of it."""

    def __init__(self, model):
        self.model = model
        self._batched = {}

    @property
    def nodes(self):
        return list(self.model.graph.node)

    def is_constant(self, name: str) -> bool:
        """An initialiser, or the output of a node whose inputs are all constant
        (a Quant or BipolarQuant on an initialiser)."""
        if self.model.get_initializer(name) is not None:
            return True
        producer = self.model.find_producer(name)
        return producer is not None and all(self.is_constant(i) for i in producer.input if i)

    def constant(self, name: str) -> np.ndarray:
        """The value of a constant tensor, evaluated by qonnx's executor."""
        value = self.model.get_initializer(name)
        if value is not None:
            return np.asarray(value)
        from qonnx.core.onnx_exec import execute_node

        producer = self.model.find_producer(name)
        context = {i: self.constant(i) for i in producer.input if i}
        context.update({o: None for o in producer.output})
        with quiet():
            execute_node(producer, context, self.model.graph, opset_version=self._opset(producer))
        return np.asarray(context[name])

    def _opset(self, node) -> int:
        from qonnx.util.basic import get_preferred_qonnx_opset

        imports = self.model.get_opset_imports()
        return imports.get(node.domain, get_preferred_qonnx_opset())

    def attribute(self, node, name: str, default=None):
        from onnx import helper

        for a in node.attribute:
            if a.name == name:
                value = helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def run(self, inputs: dict[str, np.ndarray], start=None, end=None) -> dict[str, np.ndarray]:
        """qonnx's reference executor on the nodes from ``start`` to ``end`` (default:
        all) with ``inputs`` (float32, batch 1 or a batch of any size: the model is
        re-batched with qonnx's ChangeBatchSize); returns the full execution context."""
        from qonnx.core.onnx_exec import execute_onnx

        batch = len(next(iter(inputs.values())))
        model = self._with_batch(batch)
        nodes = {n.name: n for n in model.graph.node}
        start = None if start is None else nodes[start.name]
        end = None if end is None else nodes[end.name]
        with quiet():
            return execute_onnx(model, inputs, return_full_exec_context=True, start_node=start, end_node=end)

    def _with_batch(self, batch: int):
        if batch == 1:
            return self.model
        if batch not in self._batched:
            from qonnx.transformation.change_batchsize import ChangeBatchSize
            from qonnx.transformation.infer_shapes import InferShapes

            with quiet():
                m = copy.deepcopy(self.model).transform(ChangeBatchSize(batch)).transform(InferShapes())
            self._batched = {batch: m}  # one at a time: a batch is reused, chunk after chunk
        return self._batched[batch]
