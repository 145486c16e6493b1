"""A small reference CNN classifier per data set, used to score how recognisable generated samples are.

Weights: committed in `vae_runtime/weights/classifier_<dataset>.weights.h5` (~150 KB each); otherwise the
user's cache (`$XDG_CACHE_HOME/vae_lib` or `~/.cache/vae_lib`); otherwise trained on first use
(`train_classifier`, about a minute per data set on 2 CPU cores) and saved to the cache.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from vae_runtime.data import load_dataset
from vae_runtime.generation import model_outputs

PACKAGE_WEIGHTS = Path(__file__).resolve().parent / "weights"
_LOADED = {}


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vae_lib"


def _weights_name(dataset):
    return f"classifier_{dataset}.weights.h5"


def build_classifier():
    """Conv(32)→MaxPool→Conv(64)→MaxPool→Dropout→Dense(10, softmax) on `(28, 28, 1)` images in [0, 1]."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ],
        name="reference_classifier",
    )


def train_classifier(dataset="fashion_mnist", epochs=4, limit=None, seed=0, path=None, verbose=2):
    """Train the reference classifier on the real training set; save weights (default: the user cache).

    Returns `(model, test_accuracy)`; also writes `<weights>.json` with the accuracy and settings.
    """
    keras.utils.set_random_seed(seed)
    x, y = load_dataset(dataset, "train", limit=limit)
    x_test, y_test = load_dataset(dataset, "test")
    model = build_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=128, verbose=verbose)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    path = Path(path) if path else user_cache_dir() / _weights_name(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(path)
    meta = {"dataset": dataset, "test_accuracy": round(accuracy, 4), "epochs": epochs, "limit": limit, "seed": seed,
            "keras": keras.__version__}
    Path(str(path).replace(".weights.h5", ".json")).write_text(json.dumps(meta, indent=1) + "\n")
    return model, accuracy


def load_classifier(dataset="fashion_mnist"):
    """The trained reference classifier for "fashion_mnist" or "mnist" (cached per process)."""
    dataset = dataset.replace("-", "_").lower()
    if dataset not in ("fashion_mnist", "mnist"):
        raise ValueError("dataset must be 'fashion_mnist' or 'mnist'")
    if dataset not in _LOADED:
        model = build_classifier()
        for candidate in (PACKAGE_WEIGHTS / _weights_name(dataset), user_cache_dir() / _weights_name(dataset)):
            if candidate.is_file():
                model.load_weights(candidate)
                break
        else:
            model, _ = train_classifier(dataset, verbose=0)
        _LOADED[dataset] = model
    return _LOADED[dataset]


def sample_quality(images, dataset="fashion_mnist"):
    """How recognisable images `(n, 28, 28, 1)` in [0, 1] are to the reference classifier.

    Returns a dict: `recognisable_share` (share with max class probability > 0.5), `mean_max_prob`,
    `class_histogram` (10,) int counts of the predicted classes.
    """
    images = np.asarray(images, "float32").reshape(-1, 28, 28, 1)
    probs = model_outputs(load_classifier(dataset), images)
    p_max = probs.max(axis=1)
    return {
        "recognisable_share": float(np.mean(p_max > 0.5)),
        "mean_max_prob": float(np.mean(p_max)),
        "class_histogram": np.bincount(probs.argmax(axis=1), minlength=10).astype(int),
    }


def class_accuracy(images, class_ids, dataset="fashion_mnist"):
    """Of the images generated for each requested class, the share the reference classifier assigns to it.

    images `(n, 28, 28, 1)` in [0, 1]; class_ids `(n,)` ints, the class each image was asked for. Returns a dict:
    `per_class` (10 floats, NaN for a class with no image), `mean` (over the classes present), `n`.
    """
    images = np.asarray(images, "float32").reshape(-1, 28, 28, 1)
    class_ids = np.asarray(class_ids, "int64").reshape(-1)
    if len(images) != len(class_ids):
        raise ValueError(f"{len(images)} imágenes y {len(class_ids)} clases: debe haber una clase por imagen")
    predicted = model_outputs(load_classifier(dataset), images).argmax(axis=1)
    per_class = [float(np.mean(predicted[class_ids == c] == c)) if np.any(class_ids == c) else float("nan")
                 for c in range(10)]
    present = [v for v in per_class if not np.isnan(v)]
    return {"per_class": per_class, "mean": float(np.mean(present)) if present else float("nan"), "n": int(len(images))}
