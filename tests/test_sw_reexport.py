"""sw.reexport: the model file rebuilt from the final checkpoint, and one-line refusals that write nothing."""

import json
import shutil

import pytest

from sw import reexport
from sw.configs import CONFIGS
from sw_fixtures import digits, method_runs, run_main  # noqa: F401  (fixtures)


def test_reexport_rebuilds_the_model_file_from_the_checkpoint(method_runs):
    """sw.reexport: the same export as training wrote, from the final checkpoint, without
    retraining; the report keeps the previous export entry."""
    cfg, report, _, out = method_runs("tiny-ttq-threshold")
    npz, path = out / "models" / f"{cfg.name}.npz", out / "models" / f"{cfg.name}.json"
    original = npz.read_bytes()
    stale = {**report, "export": {"path": None, "reason": "an older exporter refused it"}}
    path.write_text(json.dumps(stale))
    npz.unlink()
    assert reexport.main(["--config", cfg.name, "--out", str(out)]) == 0
    again = json.loads(path.read_text())
    assert npz.read_bytes() == original  # deterministic: the file training wrote
    assert again["export"] == json.loads(json.dumps(report["export"]))
    assert again["reexported"]["previous_export"]["reason"] == "an older exporter refused it"
    assert again["final"] == json.loads(json.dumps(report["final"]))


@pytest.fixture
def trained(method_runs, tmp_path):
    """A copy of the tiny-twn run's outputs: ``(out, report path, checkpoint path)``."""
    cfg, _, _, src = method_runs("tiny-twn")
    out = tmp_path / "run"
    shutil.copytree(src, out)
    return out, out / "models" / "tiny-twn.json", out / "checkpoints" / "tiny-twn" / "retrain1.pt"


def _files(out):
    return {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_cli_bad_arguments_are_one_line_naming_the_field(capsys, tmp_path):
    known = ", ".join(sorted(CONFIGS))
    for argv, message in [([], "config: required"),
                          (["--config", "tiny", "--bogus"], "unrecognized arguments: --bogus"),
                          (["--config", "no-such-net"], f"config: unknown 'no-such-net' (known: {known})")]:
        code, out, err = run_main(reexport.main, argv + ["--out", tmp_path], capsys)
        assert (code, out, err) == (2, "", f"error: {message}\n")


def test_cli_missing_and_unreadable_files_write_nothing(capsys, trained):
    out, report, ckpt = trained
    original = report.read_bytes()
    argv = ["--config", "tiny-twn", "--out", out]

    def refused(message):
        before = _files(out)
        code, stdout, err = run_main(reexport.main, argv, capsys)
        assert (code, stdout, err) == (2, "", f"error: {message}\n")
        assert _files(out) == before

    report.write_text("{")
    refused(f"report: {report}: not JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))")
    report.write_text("[]")
    refused(f"report: {report}: not a training report (no config, final, export, timing)")
    stale = json.loads(original)
    report.write_text(json.dumps({**stale, "config": {**stale["config"], "lr": 1.0}}))
    refused(f"config: {report} was trained with another 'tiny-twn' config; train it again instead")
    report.write_bytes(original)
    ckpt.write_bytes(b"junk")
    refused(f"checkpoint: {ckpt}: not a torch checkpoint")
    ckpt.unlink()
    refused(f"checkpoint: {ckpt}: No such file or directory")
    report.unlink()
    refused(f"report: {report}: No such file or directory")
