"""Check of the student's `build_encoder(latent_dim, input_shape=(28, 28, 1))`."""
from __future__ import annotations

import numpy as np

from autograder.checks._framework import SubCheck, built_once, grade, returns_keras_model, seed, to_numpy


def check(build_encoder, points: float = 1.0, latent_dim: int = 3, convolutional: bool = False,
          seed_value: int = 157) -> float:
    """Grade the encoder builder: a keras.Model, outputs [z_mean, z_log_var, z] of shape (batch, latent_dim),
    z sampled (≠ z_mean); `convolutional=True` (homework) also requires Conv2D layers."""
    import keras

    seed(seed_value)
    x = np.random.default_rng(seed_value).uniform(0.0, 1.0, (8, 28, 28, 1)).astype("float32")
    model = built_once(build_encoder, latent_dim)
    is_model = returns_keras_model(model, "build_encoder")

    def outputs():
        out = model()(x)
        if not isinstance(out, (list, tuple)) or len(out) != 3:
            return "el codificador debe devolver tres salidas [z_mean, z_log_var, z]"
        shapes = [tuple(to_numpy(o).shape) for o in out]
        if shapes != [(8, latent_dim)] * 3:
            return f"formas de [z_mean, z_log_var, z] = {shapes}; deben ser (batch, latent_dim) = {(8, latent_dim)}"
        other = build_encoder(latent_dim + 2)(x)
        if tuple(to_numpy(other[0]).shape) != (8, latent_dim + 2):
            return "build_encoder ignora su argumento latent_dim"

    def sampled():
        z_mean, _, z = (to_numpy(o) for o in model()(x))
        if np.allclose(z, z_mean):
            return "z es igual a z_mean: z debe salir de la capa Sampling((z_mean, z_log_var))"

    def conv_layers():
        if not any(isinstance(layer, keras.layers.Conv2D) for layer in _all_layers(model())):
            return "el codificador de la tarea debe ser convolucional (capas Conv2D)"

    subchecks = [
        SubCheck("es un keras.Model", 1, is_model, "build_encoder falla al construir el modelo"),
        SubCheck("salidas [z_mean, z_log_var, z] con forma (batch, latent_dim)", 2, outputs,
                 "las salidas del codificador no son correctas"),
        SubCheck("z se muestrea con Sampling (z ≠ z_mean)", 1, sampled, "z no se muestrea"),
    ]
    if convolutional:
        subchecks.append(SubCheck("convolucional (Conv2D)", 1, conv_layers, "no hay capas Conv2D"))
    return grade("build_encoder", subchecks, points)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
