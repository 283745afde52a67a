"""Data loading: IDX files (gzipped or not, either naming), TNN_DATA, the bundled digits."""

import gzip

import numpy as np
import pytest

from sw.data import DataError, load_dataset, load_idx


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
    with pytest.raises(DataError, match="bad magic"):
        load_idx(tmp_path / "x")
    write_idx(tmp_path / "y", np.zeros((4, 2), np.uint8))
    (tmp_path / "y").write_bytes((tmp_path / "y").read_bytes()[:-1])
    with pytest.raises(DataError, match="implies"):
        load_idx(tmp_path / "y")


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
    with pytest.raises(DataError, match="TNN_DATA"):
        load_dataset("fmnist")
    with pytest.raises(DataError, match="unknown data set"):
        load_dataset("cifar")


def test_digits_are_uint8_pixels():
    ds = load_dataset("digits")
    assert ds.image_shape == (8, 8) and ds.train_x.dtype == np.uint8
    assert len(ds.train_x) + len(ds.test_x) == 1797
    assert ds.train_x.max() == 255 and ds.train_x.min() == 0
    assert set(np.unique(ds.test_y)) == set(range(10))
