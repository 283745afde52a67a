"""sw.files: atomic writes that honour the umask."""

import os
import stat

import numpy as np
import pytest

from sw.files import atomic_write_bytes, save_npy, write_json, write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_files_get_the_umask_mode_not_0600(tmp_path, umask_022):
    for write, name in ((lambda p: atomic_write_bytes(p, b"x"), "a.bin"),
                        (lambda p: write_text(p, "x"), "b.txt"),
                        (lambda p: write_json(p, {"a": 1}), "c.json"),
                        (lambda p: save_npy(p, np.arange(3)), "d.npy")):
        path = write(tmp_path / "sub" / name)
        assert mode(path) == 0o644, name
    os.umask(0o077)
    assert mode(write_text(tmp_path / "private.txt", "x")) == 0o600


def test_writes_replace_whole_files_and_leave_no_temporaries(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"a": 1})
    write_json(path, {"b": 2})
    assert path.read_text() == '{\n  "b": 2\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_save_npy_keeps_the_name_and_round_trips(tmp_path):
    path = save_npy(tmp_path / "rtl-out", np.arange(5, dtype=np.int32))
    assert path.name == "rtl-out"
    np.testing.assert_array_equal(np.load(path), np.arange(5, dtype=np.int32))


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "x", object())
    assert list(tmp_path.iterdir()) == []
