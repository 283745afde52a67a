"""``gamma``, the share of nonzero weights: of a whole network and of each layer.

The one place it is computed, from the weights of a model file or from a training
report's per-layer counts (``nonzeros`` and ``n_weights``); both give the same value
for the same network. A network's gamma weights each layer by its MACs: a
convolution's weights serve every output pixel (``pixels``, its ``H' x W'``), a
dense layer's once per image, so gamma is nonzero MACs over dense MACs (for an
MLP: total nonzeros over total weights).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LayerSparsity", "of_weights", "of_model", "of_report", "of_model_file", "overall"]


@dataclass(frozen=True)
class LayerSparsity:
    """One layer's nonzero count; ``gamma`` is its share of nonzero weights;
    ``pixels`` the output pixels each weight serves per image (1: dense)."""

    name: str
    nonzeros: int
    n_weights: int
    shape: tuple[int, ...] = ()
    pixels: int = 1

    @property
    def gamma(self) -> float:
        return self.nonzeros / self.n_weights


def of_weights(weights) -> list[LayerSparsity]:
    """The layers of a model file's weight matrices, named ``w0``, ``w1``, ..."""
    return [LayerSparsity(f"w{i}", int((w != 0).sum()), int(w.size),
                          tuple(int(s) for s in w.shape))
            for i, w in enumerate(weights)]


def of_model(model) -> list[LayerSparsity]:
    """The layers of a :class:`sw.model_file.TnnModel`, convolutions with their output pixels."""
    from sw.conv_shapes import layer_shapes
    return [LayerSparsity(ls.name, ls.nonzeros, ls.n_weights, ls.shape, shape.out_pixels)
            for ls, shape in zip(of_weights(model.weights), layer_shapes(model))]


def of_report(report: dict) -> list[LayerSparsity]:
    """The layers of a training report (``sw.train``'s JSON, its ``layers`` list;
    ``out_pixels`` per layer where given)."""
    return [LayerSparsity(layer.get("name", f"w{i}"), int(layer["nonzeros"]),
                          int(layer["n_weights"]), tuple(layer.get("shape", ())),
                          int(layer.get("out_pixels", 1)))
            for i, layer in enumerate(report["layers"])]


def overall(layers: list[LayerSparsity]) -> float:
    """The whole network's gamma: nonzero MACs over dense MACs (each layer's
    weights times its ``pixels``; an MLP's total nonzeros over total weights)."""
    return (sum(layer.nonzeros * layer.pixels for layer in layers)
            / sum(layer.n_weights * layer.pixels for layer in layers))


def of_model_file(path: str | os.PathLike, field: str = "model") -> list[LayerSparsity] | None:
    """The layers of a tnn-model-v1 ``.npz``, else of the training report ``.json`` beside
    it (``path`` with its suffix replaced); None if neither exists. A file that exists
    but cannot be read raises :class:`sw.errors.InputError` naming ``field``."""
    from .inputs import load_model_file, read_json
    path = Path(path)
    if path.suffix == ".npz" and path.exists():
        return of_model(load_model_file(path, field))
    report = path.with_suffix(".json")
    if report.exists():
        data = read_json(report, field)
        try:
            layers = of_report(data)
        except (KeyError, TypeError, AttributeError) as exc:
            from sw.errors import InputError
            raise InputError(f"{field}: {report} is not a training report "
                             f"(layers: {exc!r})") from exc
        return [LayerSparsity(f"w{i}", ls.nonzeros, ls.n_weights, ls.shape, ls.pixels)
                for i, ls in enumerate(layers)]
    return None
