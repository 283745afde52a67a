"""A config's trained model for a report: reused from ``<root>/models/NAME.npz`` when its
training report's config equals the registered one, else trained with :mod:`sw.train`."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from cost.inputs import load_model_file, read_json
from sw.configs import CONFIGS, get_config
from sw.errors import InputError

__all__ = ["TrainedModel", "check_config_names", "config_matches", "stored_model",
           "ensure_model"]


@dataclass(frozen=True)
class TrainedModel:
    """A model file, its training report, and whether it was trained by this run."""

    name: str
    npz: Path
    report: dict
    trained_now: bool


def check_config_names(names: list[str], field: str = "configs") -> None:
    """InputError ``"<field>: unknown config ..."`` for the first name not registered."""
    for name in names:
        if name not in CONFIGS:
            raise InputError(f"{field}: unknown config {name!r} "
                             f"(known: {', '.join(sorted(CONFIGS))})")


def config_matches(stored: dict, cfg) -> bool:
    """The stored report's config is ``cfg``: equal fields, and fields the stored
    report lacks (added to :class:`sw.configs.Config` later) at their defaults.
    ``notes`` (prose about the choices, no effect on training) are not compared."""
    current = json.loads(json.dumps(cfg.to_dict()))
    current.pop("notes", None)
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)
                if f.default is not dataclasses.MISSING}
    for key, value in current.items():
        if key in stored:
            if stored[key] != value:
                return False
        elif key not in defaults or json.loads(json.dumps(defaults[key])) != value:
            return False
    return True


def stored_model(name: str, root: Path, field: str = "models") -> TrainedModel | None:
    """The stored model of config ``name`` if both its files exist and its config is
    unchanged; None if it must be trained. A stored report or model file that cannot be
    read raises :class:`InputError` naming ``field``."""
    if root.exists() and not root.is_dir():
        raise InputError(f"{field}: not a folder: {root}")
    npz, report_path = root / "models" / f"{name}.npz", root / "models" / f"{name}.json"
    if not (npz.exists() and report_path.exists()):
        return None
    report = read_json(report_path, field)
    if not isinstance(report, dict) or not isinstance(report.get("config", {}), dict):
        raise InputError(f"{field}: {report_path} is not a training report")
    if not config_matches(report.get("config", {}), get_config(name)):
        return None
    if report.get("export", {}).get("path"):
        load_model_file(npz, field)
    return TrainedModel(name, npz, report, False)


def ensure_model(name: str, root: Path, log) -> TrainedModel:
    """The model of config ``name``: stored (:func:`stored_model`) or trained now."""
    stored = stored_model(name, root)
    npz, report_path = root / "models" / f"{name}.npz", root / "models" / f"{name}.json"
    if stored is not None:
        log(f"bench: {name}: reusing {npz} (config unchanged)")
        return stored
    if npz.exists() and report_path.exists():
        log(f"bench: {name}: config changed since {report_path}; training again")
    else:
        log(f"bench: {name}: no trained model in {root / 'models'}; training")
    from sw import train  # torch is imported only when a model must be trained
    if train.main(["--config", name, "--out", str(root)]) != 0:
        raise RuntimeError(f"training {name} failed")
    return TrainedModel(name, npz, read_json(report_path, "models"), True)
