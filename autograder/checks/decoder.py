"""Check of the homework's `build_decoder(latent_dim)`: shape, range [0, 1], transposed convolutions, sigmoid."""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, built_once, grade, returns_keras_model, seed, to_numpy
from autograder.checks.encoder import _all_layers


def check(build_decoder, points: float = 1.0, latent_dim: int = 10, seed_value: int = 157) -> float:
    import keras

    seed(seed_value)
    z = np.random.default_rng(seed_value).normal(0.0, 1.0, (8, latent_dim)).astype("float32")
    model = built_once(build_decoder, latent_dim)
    is_model = returns_keras_model(model, "build_decoder")

    def output_shape():
        shape = tuple(to_numpy(model()(z)).shape)
        if shape != (8, 28, 28, 1):
            return f"la salida tiene forma {shape}; debe ser (batch, 28, 28, 1)"

    def output_range():
        for scale in (1.0, 30.0):  # large codes push the logits far: a sigmoid still stays in [0, 1]
            images = to_numpy(model()(z * scale))
            if not (np.all(np.isfinite(images)) and images.min() >= 0.0 and images.max() <= 1.0):
                return "la salida se sale de [0, 1]: la última capa debe usar activación sigmoid"

    def transposed():
        if not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in _all_layers(model())):
            return "el decodificador debe usar convoluciones transpuestas (Conv2DTranspose), simétrico al codificador"

    subchecks = [
        SubCheck("es un keras.Model", 1, is_model, "build_decoder falla al construir el modelo"),
        SubCheck("salida (batch, 28, 28, 1)", 1, output_shape, "la forma de la salida no es correcta"),
        SubCheck("salida en [0, 1] (sigmoid)", 1, output_range, "la salida no está en [0, 1]"),
        SubCheck("usa Conv2DTranspose", 1, transposed, "no hay Conv2DTranspose"),
    ]
    return grade("build_decoder", subchecks, points)
