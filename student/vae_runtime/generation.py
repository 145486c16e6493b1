"""Using a trained encoder / decoder pair: latent means and deterministic reconstructions.

Generating from the prior and interpolating are exercises of the course: they are not here.
Functions take Keras models and return NumPy arrays (images `(n, 28, 28, 1)` in [0, 1]).
"""
from __future__ import annotations

import numpy as np


def model_outputs(model, x, batch_size=256):
    """``model(x, training=False)`` over x `(n, ...)` in batches of ``batch_size`` → NumPy `(n, ...)` (a list of them
    for a model with several outputs); x may be a list of arrays with the same n, one per input. What
    ``model.predict`` returns, without the data pipeline and graph ``predict`` builds for every new model
    (~0.05–0.1 s of CPU, more than these calls cost)."""
    import keras

    several = isinstance(x, list)
    arrays = [np.asarray(a, dtype="float32") for a in (x if several else [x])]
    n = len(arrays[0]) if arrays else 0
    if any(len(a) != n for a in arrays):
        raise ValueError(f"las entradas tienen distinto número de filas: {[len(a) for a in arrays]}")

    def rows(i):
        parts = [a[i:i + batch_size] for a in arrays]
        return parts if several else parts[0]

    batches = [model(rows(i), training=False) for i in range(0, max(n, 1), batch_size)]
    if isinstance(batches[0], (list, tuple)):
        return [np.concatenate([keras.ops.convert_to_numpy(b[k]) for b in batches]) for k in range(len(batches[0]))]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])


def decode(decoder, z, batch_size=256):
    """decoder(z) for latent codes z `(n, latent_dim)` → NumPy images."""
    return np.asarray(model_outputs(decoder, z, batch_size))


def encode_mean(encoder, x, batch_size=256):
    """z_mean of q(z|x) for images x `(n, 28, 28, 1)` → `(n, latent_dim)`."""
    return np.asarray(model_outputs(encoder, x, batch_size)[0])


def reconstruct(encoder, decoder, x):
    """Deterministic reconstruction decode(z_mean(x)) → same shape as x, in [0, 1]."""
    return decode(decoder, encode_mean(encoder, x))
