"""Export a trained network again, from its checkpoint, with the current exporter.

    python -m sw.reexport --config NAME [--out build]

For a run of ``sw.train`` whose exporter has changed since (a model-file
extension, say): loads ``<out>/checkpoints/NAME/<final stage>.pt`` (the state
the report's final stage names), exports it, checks it against PyTorch on the
test set as training does (:func:`sw.export.compare`), and rewrites
``<out>/models/NAME.npz`` and the ``export`` and ``checks`` entries of
``<out>/models/NAME.json``; the report records the change under
``reexported`` (date, the previous export entry). Nothing is retrained, so
accuracies, sizes and timings stay those of the training run.

Exit code 0 on success, 1 if the network still cannot be exported (the report
then holds the new reason), 2 on bad arguments or missing files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from .configs import UnknownConfig, get_config
from .data import DataError, load_dataset
from .export import ExportError, compare, export
from .model_file import save_model
from .files import write_json

__all__ = ["reexport", "main"]


def reexport(name: str, out: Path = Path("build")) -> dict:
    """Re-export config ``name``'s trained network under ``out``; returns the new report.

    Raises ``FileNotFoundError`` (no report or checkpoint) and ``ValueError`` (the
    report's config differs from the registered one)."""
    from . import train  # torch-heavy; imported here so --help stays fast

    cfg = get_config(name)
    report_path = out / "models" / f"{name}.json"
    report = json.loads(report_path.read_text())
    if report.get("config") != json.loads(json.dumps(cfg.to_dict())):
        raise ValueError(f"config: {report_path} was trained with another {name!r} config; "
                         "train it again instead")
    stage = report["final"]["stage"]
    ckpt = out / "checkpoints" / name / f"{stage}.pt"
    state = torch.load(ckpt, weights_only=True)
    ds = load_dataset(cfg.dataset)
    _, _, test = train.split_data(ds, cfg.val_size, cfg.seed)
    model = train.build_model(cfg, ds)
    model.load_state_dict(state["state_dict"])
    model.eval()
    previous = report["export"]
    try:
        tnn = export(model, meta={"config": name, "stage": stage, "test_acc": report["final"]["test_acc"]})
    except ExportError as e:
        entry = {"path": None, "reason": str(e)}
    else:
        path = save_model(out / "models" / f"{name}.npz", tnn)
        entry = {"path": str(path), **compare(model, tnn, test.pixels, test.y.numpy())}
    report["export"] = entry
    report["reexported"] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "from": str(ckpt),
                            "previous_export": previous}
    report["checks"] = train._checks(report, report["timing"]["train_seconds"])
    write_json(report_path, report)
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sw.reexport", description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="configuration name (see python -m sw.train --list)")
    p.add_argument("--out", type=Path, default=Path("build"), help="training output directory (default build)")
    args = p.parse_args(argv)
    try:
        report = reexport(args.config, args.out)
    except (UnknownConfig, ValueError, FileNotFoundError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    e = report["export"]
    if e["path"] is None:
        print(f"{args.config}: not exported: {e['reason']}", file=sys.stderr)
        return 1
    print(f"{args.config}: exported to {e['path']}; prediction agreement with PyTorch "
          f"{e['prediction_agreement']:.4f}" + (f", hidden bit mismatches {sum(e['hidden_bit_mismatches'])}"
                                                 if "hidden_bit_mismatches" in e else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
