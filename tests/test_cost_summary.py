"""The synthesis summary as dataclasses, and reading it (cost/summary.py, cost/inputs.py)."""

import json
import re

import pytest

from cost.summary import SynthSummary, load_summary
from cost_fixtures import ECP5_FLOW, fake_summary, placed_blocks
from sw.errors import InputError


def test_json_round_trip_keeps_every_key_and_value(tmp_path):
    summary = fake_summary()
    j = summary.to_json()
    assert list(j) == ["format", "tool", "fmax_measured", "notes", "model", "blocks", "derived",
                       "ecp5"]
    assert list(j["blocks"]["engine_r8_k1"]) == ["name", "key", "frontend", "resources", "levels",
                                                 "yosys_seconds", "description", "reuse", "lanes",
                                                 "float_reuse", "dense", "fmax_mhz", "ecp5"]
    assert j["ecp5"] is None and j["blocks"]["engine_r8_k1"]["fmax_mhz"] is None
    assert list(j["model"]) == ["path", "field_width", "n_cols", "words", "acc_width",
                                "const_width", "score_width", "layers", "gamma"]
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(j))
    loaded = load_summary(path)
    assert loaded == summary and loaded.to_json() == j


def test_missing_file_names_the_field(tmp_path):
    path = tmp_path / "none.json"
    with pytest.raises(InputError, match=f"^synth: cannot read {re.escape(str(path))}: "
                                         "No such file or directory$"):
        load_summary(path, "synth")


def test_garbage_file_names_the_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("not json")
    with pytest.raises(InputError, match=f"^summary: cannot parse {re.escape(str(path))}: "
                                         r"Expecting value: line 1 column 1 \(char 0\)$"):
        load_summary(path)


@pytest.mark.parametrize("edit, reason", [
    (lambda j: j.update(format="other"), "format: expected 'sparse-tnn-synth-v1', got 'other'"),
    (lambda j: j["blocks"].pop("pe_xnor"), "blocks: missing pe_xnor"),
    (lambda j: j.pop("model"), "no 'model'"),
    (lambda j: j["blocks"]["decoder"]["resources"].pop("luts"), "no 'luts'"),
])
def test_a_json_file_that_is_no_summary_is_refused(tmp_path, edit, reason):
    j = fake_summary().to_json()
    edit(j)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(j))
    with pytest.raises(InputError) as exc:
        load_summary(path)
    assert str(exc.value) == f"summary: {path} is not a synthesis summary ({reason})"


def test_older_summaries_without_the_weighted_pe_or_float_engines_load():
    j = fake_summary().to_json()
    j["blocks"] = {k: v for k, v in j["blocks"].items()
                   if k != "pe_weighted" and not k.startswith("engine_float")}
    del j["derived"]["float_engine"]
    s = SynthSummary.from_json(j)
    assert s.derived.float_engine is None and "pe_weighted" not in s.blocks


def test_older_summaries_without_dense_units_or_ecp5_results_load():
    j = fake_summary().to_json()
    del j["ecp5"], j["derived"]["dense_mvu"]
    for b in j["blocks"].values():
        del b["dense"], b["fmax_mhz"], b["ecp5"]
    s = SynthSummary.from_json(j)
    assert s.ecp5 is None and s.derived.dense_mvu is None
    assert all(b.dense is None and b.ecp5 is None for b in s.blocks.values())
    assert s == fake_summary()


def test_json_round_trip_with_dense_units_and_ecp5_results(tmp_path):
    summary = fake_summary(placed_blocks(), ecp5=ECP5_FLOW)
    j = summary.to_json()
    assert j["ecp5"] == ECP5_FLOW
    engine = j["blocks"]["engine_r8_k1"]
    assert engine["fmax_mhz"] == {"ecp5": 63.0} and engine["dense"] is None
    assert engine["ecp5"] == {"name": "engine_r8_k1", "key": "fedcba9876543210",
                              "fmax_mhz": {"clk": 63.0},
                              "used": {"comb": 1680, "ff": 10, "dp16kd": 0},
                              "lut4": {"total": 1680}, "yosys_seconds": 0.0,
                              "nextpnr_seconds": 0.0}
    assert j["blocks"]["dense_mvu_s32_p16"]["dense"] == {
        "n_out": 512, "n_in": 512, "simd": 32, "pe": 16, "macs_per_cycle": 512}
    assert j["derived"]["dense_mvu"]["luts_per_mac"] == pytest.approx(2.5)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(j))
    loaded = load_summary(path)
    assert loaded == summary and loaded.to_json() == j
    assert loaded.block("dense_mvu_s32_p32").fmax_ecp5 == 120.0
