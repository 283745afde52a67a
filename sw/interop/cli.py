"""``python -m sw.interop``: QONNX in and out of ``tnn-model-v1``.

    python -m sw.interop import-qonnx MODEL.onnx -o NET.npz [--input-scale S] [--check N]
    python -m sw.interop export-qonnx NET.npz -o MODEL.onnx [--input-scale S]

``import-qonnx`` converts (:mod:`sw.interop.qonnx_import`), then checks the model
file against qonnx's reference executor on N inputs (:mod:`sw.interop.check`;
default 100, Fashion-MNIST test images when installed, else seeded random
pixels; ``--check 0`` skips it) and prints one JSON line. The model file is
written only when the check agrees (or is skipped). ``export-qonnx`` writes a
model file as QONNX (:mod:`sw.interop.qonnx_export`).

The network input is ``pixel * S`` (``--input-scale``, default 1/255: FINN's MNIST
networks take [0, 1]).

Exit codes: 0 written (and agreeing); 1 the check found a disagreement (named
on stderr; nothing written); 2 bad input or a network the engines cannot run,
one line ``error: NODE: reason``, nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from ..errors import ArgumentParser, InputError, run_cli
from ..model_file import load_model, save_model

__all__ = ["main"]


def _scale(text: str) -> float:
    """A positive number, also as a fraction (``1/255``)."""
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def parse_args(argv=None):
    p = ArgumentParser(prog="python -m sw.interop", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="{import-qonnx,export-qonnx}")
    imp = sub.add_parser("import-qonnx", help="QONNX -> tnn-model-v1 (checked against the executor)")
    imp.add_argument("model", type=Path, help="QONNX .onnx file")
    imp.add_argument("--out", "-o", type=Path, required=True, help="tnn-model-v1 .npz to write")
    imp.add_argument("--input-scale", type=_scale, default=1 / 255, help="S: input = pixel * S (default 1/255)")
    imp.add_argument("--check", type=int, default=100, help="inputs to compare with the executor (default 100; 0: none)")
    imp.add_argument("--summary", type=Path, help="also write the JSON line to this file")
    exp = sub.add_parser("export-qonnx", help="tnn-model-v1 -> QONNX")
    exp.add_argument("model", type=Path, help="tnn-model-v1 .npz")
    exp.add_argument("--out", "-o", type=Path, required=True, help="QONNX .onnx file to write")
    exp.add_argument("--input-scale", type=_scale, default=1 / 255, help="S: input = pixel * S (default 1/255)")
    for sp in (imp, exp):  # the sub-parsers keep the one-line error form
        sp.error = p.error
    return p.parse_args(argv)


def import_command(args) -> int:
    from ..files import write_json
    from .check import check, check_inputs
    from .qonnx_import import import_qonnx

    if args.check < 0:
        raise InputError(f"check: must be >= 0, got {args.check}")
    imported = import_qonnx(args.model, args.input_scale)
    model = imported.model
    summary = {"model": str(args.model), "out": str(args.out), "activation": model.activation,
               "layers": [list(w.shape) for w in model.weights], "input_threshold": model.input_threshold}
    code = 0
    if args.check:
        pixels, source = check_inputs(args.check, model.n_inputs)
        result = check(imported, pixels, progress=sys.stderr.isatty())
        summary["check"] = {"inputs": source, **result}
        if not result["agree"]:
            print(f"check: the model file disagrees with the qonnx executor: {result['first_mismatch']}",
                  file=sys.stderr)
            code = 1
    if code == 0:
        save_model(args.out, model)
    summary["written"] = code == 0
    if args.summary:
        write_json(args.summary, summary)
    print(json.dumps(summary))
    return code


def export_command(args) -> int:
    from .qonnx_export import export_qonnx

    model = load_model(args.model)
    path = export_qonnx(model, args.out, args.input_scale)
    print(json.dumps({"model": str(args.model), "out": str(path), "activation": model.activation}))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    body = import_command if args.command == "import-qonnx" else export_command
    return run_cli(lambda: body(args))
