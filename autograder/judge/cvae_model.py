"""CVAE.train_step on (x, y): one gradient step on reconstruction (BCE summed over pixels, mean over the batch)
+ β·KL of the conditional model.

Judged exactly as ``train_step`` judges VAE.train_step (plain SGD on the judge's probe networks with its fixed
noise, so the applied gradient is recovered from the weights and compared with the reference loss's; the reported
metrics; one epoch of fit lowers the loss the judge evaluates), on conditional probe networks: the encoder's heads
get the one-hot label through C and D, the decoder's logits through V (``vae_model.losses`` with ``y``). A step
that ignores the label where the model needs it fails, and so does one that decodes without it.
"""
from __future__ import annotations

import numpy as np

from autograder.judge import data, vae_model
from autograder.judge._framework import Part, array

NUM_CLASSES = 10


def make_probe(config: dict) -> dict:
    probe = vae_model.make_probe(config)
    classes = config.get("num_classes", NUM_CLASSES)
    latent = probe["A"].shape[1]
    n, n_fit = len(probe["x"]), len(probe["x_fit"])
    _, labels = data.labelled(config["dataset"], "train", n + n_fit)  # x: images 0 … n-1, x_fit: the next n_fit
    rng = np.random.default_rng(7160)
    return {**probe, "num_classes": np.array(classes),
            "labels": np.asarray(labels[:n], "int64"), "fit_labels": np.asarray(labels[n:], "int64"),
            "C": rng.normal(0.0, 0.5, (classes, latent)).astype("float32"),
            "D": rng.normal(0.0, 0.2, (classes, latent)).astype("float32"),
            "V": rng.normal(0.0, 0.3, (classes, 28 * 28)).astype("float32")}


_LATENT, _CLASSES = vae_model._LATENT, NUM_CLASSES
_SHAPES = {**vae_model._SHAPES, "C": (_CLASSES, _LATENT), "D": (_CLASSES, _LATENT), "V": (_CLASSES, 28 * 28)}
EVIDENCE = {**vae_model.EVIDENCE, **{f"{k}_after": array(*shape) for k, shape in _SHAPES.items()},
            **{f"fit_{k}": array(*shape) for k, shape in _SHAPES.items()}}
PART = Part("test_cvae_model", "CVAE.train_step", make_probe, vae_model.subchecks, evidence=EVIDENCE)
