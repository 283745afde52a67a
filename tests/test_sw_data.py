"""sw.data: IDX files (gzipped or not, either naming), TNN_DATA, the bundled digits, refusals."""

import gzip

import numpy as np
import pytest

from sw.data import DataError, load_dataset, load_idx
from sw.errors import InputError


def write_idx(path, array, gz=False):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(p, a, gz)
    np.testing.assert_array_equal(load_idx(p), a)
    b = np.array([-5, 70000], dtype=np.int32)
    write_idx(tmp_path / "b.idx", b)
    assert load_idx(tmp_path / "b.idx").tolist() == [-5, 70000]


def test_bad_idx_is_refused(tmp_path):
    (tmp_path / "x").write_bytes(b"\x01\x02\x03\x04")
    write_idx(tmp_path / "y", np.zeros((4, 2), np.uint8))
    (tmp_path / "y").write_bytes((tmp_path / "y").read_bytes()[:-1])
    (tmp_path / "z.gz").write_bytes(b"not gzip")
    for name, message in [("x", "not an IDX file (bad magic number)"),
                          ("y", "19 bytes, the header (4, 2) implies 20"),
                          ("z.gz", "Not a gzipped file (b'no')"),
                          ("missing", "No such file or directory")]:
        with pytest.raises(DataError) as err:
            load_idx(tmp_path / name)
        assert str(err.value) == f"data: {tmp_path / name}: {message}"
        assert isinstance(err.value, InputError)


def test_tnn_data_directory_with_mnist_style_names(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    # Original MNIST naming (a dot before idx), uncompressed, next to gzipped labels.
    write_idx(tmp_path / "train-images.idx3-ubyte", rng.integers(0, 256, (6, 5, 4), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4, 9], np.uint8), gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (2, 5, 4), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([7, 8], np.uint8))
    monkeypatch.setenv("TNN_DATA", str(tmp_path))
    ds = load_dataset("mnist")
    assert ds.image_shape == (5, 4) and ds.n_features == 20 and ds.n_classes == 10
    assert ds.train_x.shape == (6, 20) and ds.train_x.dtype == np.uint8
    assert ds.test_y.tolist() == [7, 8] and ds.test_y.dtype == np.int64
    assert ds.source == str(tmp_path)


def test_missing_files_name_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv("TNN_DATA", str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("fmnist")
    assert str(err.value) == (f"data: {tmp_path}: no train-images-idx3-ubyte[.gz] (set TNN_DATA to a directory "
                              "with the IDX files, or install the Debian package dataset-fashion-mnist)")
    with pytest.raises(DataError) as err:
        load_dataset("cifar")
    assert str(err.value) == "data: unknown data set 'cifar' (known: fmnist, mnist, digits)"


def test_malformed_sets_name_the_file(tmp_path, monkeypatch):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((1, 2, 2), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(1, np.uint8))
    monkeypatch.setenv("TNN_DATA", str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("fmnist")
    assert str(err.value) == f"data: {tmp_path / 'train-labels-idx1-ubyte'}: expected 3 labels, got shape (2,)"


def test_digits_are_uint8_pixels():
    ds = load_dataset("digits")
    assert ds.image_shape == (8, 8) and ds.train_x.dtype == np.uint8
    assert len(ds.train_x) + len(ds.test_x) == 1797
    assert ds.train_x.max() == 255 and ds.train_x.min() == 0
    assert set(np.unique(ds.test_y)) == set(range(10))
