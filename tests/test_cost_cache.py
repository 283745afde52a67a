"""cost.cache: a finished run replaces its entry; a failed one leaves nothing."""

import os
import stat

import pytest

from cost.cache import entry_path, new_entry


def test_a_finished_run_becomes_the_entry_with_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        with new_entry(tmp_path, "pe", "k1") as work:
            (work / "result.json").write_text("{}")
    finally:
        os.umask(old)
    entry = entry_path(tmp_path, "pe", "k1")
    assert entry == tmp_path / "pe-k1"
    assert (entry / "result.json").read_text() == "{}"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pe-k1"]


def test_a_rerun_replaces_the_old_entry(tmp_path):
    for text in ("first", "second"):
        with new_entry(tmp_path, "pe", "k1") as work:
            (work / "log").write_text(text)
    assert (tmp_path / "pe-k1" / "log").read_text() == "second"


def test_a_failed_run_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="^yosys failed$"):
        with new_entry(tmp_path, "pe", "k1") as work:
            (work / "half").write_text("x")
            raise RuntimeError("yosys failed")
    assert list(tmp_path.iterdir()) == []
