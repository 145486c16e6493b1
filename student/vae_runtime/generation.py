"""Using a trained encoder / decoder pair: latent means and deterministic reconstructions.

Generating from the prior and interpolating are exercises of the course: they are not here.
Functions take Keras models and return NumPy arrays (images `(n, 28, 28, 1)` in [0, 1]).
"""
from __future__ import annotations

import numpy as np


def decode(decoder, z, batch_size=256):
    """decoder(z) for latent codes z `(n, latent_dim)` → NumPy images."""
    z = np.asarray(z, dtype="float32")
    return np.asarray(decoder.predict(z, batch_size=batch_size, verbose=0))


def encode_mean(encoder, x, batch_size=256):
    """z_mean of q(z|x) for images x `(n, 28, 28, 1)` → `(n, latent_dim)`."""
    x = np.asarray(x, dtype="float32")
    return np.asarray(encoder.predict(x, batch_size=batch_size, verbose=0)[0])


def reconstruct(encoder, decoder, x):
    """Deterministic reconstruction decode(z_mean(x)) → same shape as x, in [0, 1]."""
    return decode(decoder, encode_mean(encoder, x))
