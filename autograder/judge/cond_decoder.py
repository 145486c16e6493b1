"""build_cond_decoder(latent_dim, num_classes): a keras.Model [z, one-hot label] → images (batch, 28, 28, 1).

Judged as ``decoder`` judges build_decoder (shape, follows latent_dim, output in [0, 1], depends on z and on the
pixel; no layer type required), called on the judge's codes with one-hot labels, plus the conditioning: the same
codes with other labels give other images (the label reaches the decoder), and a model built for num_classes + 2
takes labels of that width (one-hot of the width asked for, not an integer).
"""
from __future__ import annotations

import numpy as np

from autograder.judge import decoder
from autograder.judge.cond_encoder import label_width_problem
from autograder.judge._framework import Part, SubCheck, array, floats

NUM_CLASSES = 10


def make_probe(config: dict) -> dict:
    probe = decoder.make_probe(config)
    classes = config.get("num_classes", NUM_CLASSES)
    labels = np.random.default_rng(6158).integers(0, classes, len(probe["z"]))
    return {**probe, "num_classes": np.array(classes), "labels": labels,
            "labels_other": (labels + 1 + np.arange(len(labels)) % (classes - 1)) % classes}


def subchecks(ev, probe, config) -> list[SubCheck]:
    classes = int(probe["num_classes"])
    checks = decoder.subchecks(ev, probe, config, builder="build_cond_decoder", transposed_layers=False)

    def uses_label():
        main, other = floats(ev["images"]), floats(ev["label_images"])
        if main.shape != other.shape:
            return f"con otras etiquetas la salida cambia de forma ({other.shape} en vez de {main.shape})"
        if np.allclose(main, other, atol=1e-4):
            return ("el decodificador ignora la etiqueta: el mismo z con otra etiqueta da la misma imagen "
                    "(concatena z con la etiqueta one-hot a la entrada del decodificador)")

    return checks + [
        SubCheck("usa la etiqueta: el mismo z con otra etiqueta da otra imagen", 2, uses_label,
                 "el decodificador no usa la etiqueta"),
        SubCheck("la etiqueta entra como one-hot de ancho num_classes", 1,
                 lambda: label_width_problem(ev, "build_cond_decoder", classes, "integer_label_images", "wide_images",
                                             "la salida", (4, 28, 28, 1)),
                 "la etiqueta no entra como one-hot (batch, num_classes)"),
    ]


EVIDENCE = {**decoder.EVIDENCE, "label_images": array(16, 28, 28, 1),
            "wide_images": array(4, 28, 28, 1),
            "integer_label_images": array(4, 28, 28, 1, optional=True)}  # only a model taking integer labels gives it
PART = Part("test_cond_decoder", "build_cond_decoder", make_probe, subchecks, evidence=EVIDENCE)
