"""build_cond_encoder(latent_dim, num_classes): a keras.Model [image, one-hot label] → [z_mean, z_log_var, z].

Judged as ``encoder`` judges build_encoder (the reference Sampling with the judge's ε swapped in; three outputs of
the right shape that follow latent_dim and behave as a function of the inputs; z = z_mean + exp(0.5·z_log_var)·ε
with gradient to both heads; two linear heads), called on the judge's images with their one-hot labels, plus the
conditioning: the same images with other labels give other z_mean / z_log_var (the label enters the encoder), and
a model built for num_classes + 2 takes labels of that width (one-hot of the width asked for, not an integer).
"""
from __future__ import annotations

import numpy as np

from autograder.judge import data, encoder
from autograder.judge._framework import LATENT_MAX, Part, SubCheck, array, floats

NUM_CLASSES = 10


def make_probe(config: dict) -> dict:
    probe = encoder.make_probe(config)
    n = len(probe["x"])  # the encoder's probe images are test images 100 … 100 + n - 1
    labels = np.asarray(data.labelled(config["dataset"], "test", 100 + n)[1][100:], "int64")
    classes = config.get("num_classes", NUM_CLASSES)
    return {**probe, "num_classes": np.array(classes), "labels": labels,
            "labels_other": (labels + 1 + np.arange(len(labels)) % (classes - 1)) % classes}


def label_width_problem(ev, builder: str, classes: int, integer_key: str, wide_key: str, output: str,
                        wide_shape: tuple) -> str | None:
    """None when the label enters as one-hot of the width asked for: no output came from a call with integer labels
    (``integer_key``) and the model built for ``classes + 2`` classes gave ``output`` of ``wide_shape``
    (``wide_key``). Shared by the conditional encoder and decoder."""
    if integer_key in ev:
        return ("la etiqueta entra como un entero (batch, 1): debe entrar como one-hot (batch, num_classes), "
                "p. ej. keras.Input(shape=(num_classes,)) y np.eye(num_classes)[y]")
    if wide_key not in ev:
        return (f"{builder}(latent_dim, num_classes={classes + 2}) no acepta etiquetas one-hot de ancho "
                f"{classes + 2} ({ev.error(wide_key)}): la etiqueta entra como one-hot (batch, num_classes), no como "
                "un entero")
    if floats(ev[wide_key]).shape != wide_shape:
        return f"con num_classes={classes + 2} {output} tiene forma {floats(ev[wide_key]).shape}"
    return None


def subchecks(ev, probe, config) -> list[SubCheck]:
    classes = int(probe["num_classes"])
    checks = encoder.subchecks(ev, probe, {**config, "convolutional": False}, builder="build_cond_encoder")

    def uses_label():
        moved = []
        for name in ("z_mean", "z_log_var"):
            main, other = floats(ev[name]), floats(ev["label_" + name])
            if main.shape != other.shape:
                return f"con otras etiquetas {name} cambia de forma ({other.shape} en vez de {main.shape})"
            moved.append(not np.allclose(main, other, rtol=1e-4, atol=1e-5))
        if not any(moved):
            return ("el codificador ignora la etiqueta: las mismas imágenes con otras etiquetas dan el mismo z_mean "
                    "y z_log_var (concatena la etiqueta one-hot con la imagen aplanada antes de las capas Dense)")

    return checks + [
        SubCheck("usa la etiqueta: otras etiquetas dan otro z_mean / z_log_var", 2, uses_label,
                 "el codificador no usa la etiqueta"),
        SubCheck("la etiqueta entra como one-hot de ancho num_classes", 1,
                 lambda: label_width_problem(ev, "build_cond_encoder", classes, "integer_label_z_mean", "wide_z_mean",
                                             "z_mean", (8, int(probe["latent_dim"]))),
                 "la etiqueta no entra como one-hot (batch, num_classes)"),
    ]


EVIDENCE = {**encoder.EVIDENCE, "label_z_mean": array(64, LATENT_MAX, at_most=64 * 28 * 28),
            "label_z_log_var": array(64, LATENT_MAX, at_most=64 * 28 * 28),
            "wide_z_mean": array(8, LATENT_MAX, at_most=8 * 28 * 28),
            "integer_label_z_mean": array(8, LATENT_MAX, at_most=8 * 28 * 28, optional=True)}  # only a model taking integer labels gives it
PART = Part("test_cond_encoder", "build_cond_encoder", make_probe, subchecks, evidence=EVIDENCE)
