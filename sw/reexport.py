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
then holds the new reason), 2 on bad arguments or a missing, unreadable or
mismatched report or checkpoint (one line ``error: <field>: <reason>``,
nothing written).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .configs import get_config
from .errors import ArgumentParser, InputError, run_cli
from .files import write_json

__all__ = ["reexport", "main"]


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except OSError as e:
        raise InputError(f"report: {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"report: {path}: not JSON ({e})") from None
    missing = [k for k in ("config", "final", "export", "timing") if not isinstance(report, dict) or k not in report]
    if missing:
        raise InputError(f"report: {path}: not a training report (no {', '.join(missing)})")
    return report


def reexport(name: str, out: Path = Path("build")) -> dict:
    """Re-export config ``name``'s trained network under ``out``; returns the new report.

    Raises :class:`~sw.errors.InputError` for an unknown config, a missing or
    unreadable report or checkpoint, or a report whose config differs from the
    registered one; all before writing anything.
    """
    # torch-heavy; imported here so --help stays fast
    from .build import build_model
    from .checkpoints import checkpoint_path, load_checkpoint
    from .data import load_dataset
    from .export import ExportError, compare, export
    from .fit import split_data
    from .model_file import save_model
    from .training_report import checks

    cfg = get_config(name)
    report_path = Path(out) / "models" / f"{name}.json"
    report = _read_report(report_path)
    registered = json.loads(json.dumps(cfg.to_dict()))
    if report["config"] != registered:
        raise InputError(f"config: {report_path} was trained with another {name!r} config; "
                         "train it again instead")
    stage = report["final"]["stage"]
    ckpt = checkpoint_path(out, name, stage)
    state = load_checkpoint(ckpt)
    if json.loads(json.dumps(state["config"])) != registered:
        raise InputError(f"checkpoint: {ckpt} was trained with another {name!r} config; "
                         "train it again instead")
    ds = load_dataset(cfg.dataset)
    _, _, test = split_data(ds, cfg.val_size, cfg.seed)
    model = build_model(cfg, ds)
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as e:  # load_state_dict: "Error(s) in loading ...:\n\t<first problem>..."
        lines = str(e).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0] if lines else ""
        raise InputError(f"checkpoint: {ckpt}: does not fit the {name!r} network ({detail})") from None
    model.eval()
    previous = report["export"]
    try:
        tnn = export(model, meta={"config": name, "stage": stage, "test_acc": report["final"]["test_acc"]})
    except ExportError as e:
        entry = {"path": None, "reason": str(e)}
    else:
        path = save_model(Path(out) / "models" / f"{name}.npz", tnn)
        entry = {"path": str(path), **compare(model, tnn, test.pixels, test.y.numpy())}
    report["export"] = entry
    report["reexported"] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "from": str(ckpt),
                            "previous_export": previous}
    report["checks"] = checks(report, report["timing"]["train_seconds"])
    write_json(report_path, report)
    return report


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m sw.reexport", description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="configuration name (see python -m sw.train --list)")
    p.add_argument("--out", type=Path, default=Path("build"), help="training output directory (default build)")
    return p


def _main(args) -> int:
    report = reexport(args.config, args.out)
    e = report["export"]
    if e["path"] is None:
        print(f"{args.config}: not exported: {e['reason']}", file=sys.stderr)
        return 1
    print(f"{args.config}: exported to {e['path']}; prediction agreement with PyTorch "
          f"{e['prediction_agreement']:.4f}" + (f", hidden bit mismatches {sum(e['hidden_bit_mismatches'])}"
                                                 if "hidden_bit_mismatches" in e else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_cli(lambda: _main(args))


if __name__ == "__main__":
    sys.exit(main())
