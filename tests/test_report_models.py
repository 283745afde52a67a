"""Reusing or training a config's model (report/models.py)."""

import dataclasses
import json

import pytest

from report.models import check_config_names, config_matches, stored_model
from sw.configs import get_config
from sw.errors import InputError


def test_config_matches_equal_fields_and_later_defaults():
    cfg = get_config("tiny")
    stored = json.loads(json.dumps(cfg.to_dict()))
    assert config_matches(stored, cfg)
    assert not config_matches({**stored, "epochs": cfg.epochs + 1}, cfg)
    # a field added later is absent from older reports: fine while it holds its default
    field = next(f.name for f in dataclasses.fields(cfg)
                 if f.default is not dataclasses.MISSING and getattr(cfg, f.name) == f.default)
    assert config_matches({k: v for k, v in stored.items() if k != field}, cfg)
    assert not config_matches({k: v for k, v in stored.items() if k != "epochs"}, cfg)
    assert config_matches({**stored, "notes": "reworded"}, cfg)  # prose, no effect on training


def test_unknown_config_is_refused():
    check_config_names(["tiny", "tiny-float"])
    with pytest.raises(InputError, match=r"^configs: unknown config 'nope' \(known: .*tiny.*\)$"):
        check_config_names(["tiny", "nope"])


def test_stored_model(tmp_path):
    assert stored_model("tiny", tmp_path) is None                  # nothing stored: train
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.npz").write_bytes(b"x")
    (models / "tiny.json").write_text(json.dumps({"config": {"epochs": -1}}))
    assert stored_model("tiny", tmp_path) is None                  # config changed: train
    (models / "tiny.json").write_text("[")
    with pytest.raises(InputError, match=r"^models: cannot parse .*tiny\.json: "):
        stored_model("tiny", tmp_path)
    cfg = json.loads(json.dumps(get_config("tiny").to_dict()))
    (models / "tiny.json").write_text(json.dumps({"config": cfg, "export": {"path": "x"}}))
    with pytest.raises(InputError, match=rf"^models: cannot read {models / 'tiny.npz'}: "):
        stored_model("tiny", tmp_path)                             # a garbage model file
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match=r"^models: not a folder: .*file$"):
        stored_model("tiny", tmp_path / "file")
