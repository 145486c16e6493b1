"""Helpers for the notebooks' visible tests.

`quiet()` silences what would otherwise end up in a cell's stderr (nbgrader scores a grade cell with stderr
output as 0). `fixed_encoder(...)` is a test double: a small deterministic encoder for tests that need *some*
encoder. It does not sample (z = z_mean), so it is not a solution of the encoder exercise.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings


@contextlib.contextmanager
def quiet():
    """Silence Python warnings, TensorFlow/absl logs and everything written to stderr (also at fd level)."""
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    saved_fd = None
    try:
        saved_fd = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no real fd 2 (rare embedded interpreters): Python-level silencing still applies
        saved_fd = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stderr.flush()
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def fixed_encoder(latent_dim, input_shape=(28, 28, 1), hidden=16, seed=0):
    """A small deterministic encoder `keras.Model`: images `(batch, *input_shape)` → `[z_mean, z_log_var, z]`.

    Flatten → Dense(hidden, relu) → Dense(latent_dim) twice (z_mean, z_log_var), with seeded initial weights,
    so two calls with the same arguments build the same model. There is NO sampling: `z` is `z_mean` (through
    an identity layer named "z"), so the same image always gives the same codes. A test double for visible
    tests, not a VAE encoder: the course's encoder must sample z with the reparameterisation trick.
    """
    import keras
    from keras import layers

    from vae_runtime.networks import DirectPredictModel

    def init(offset):
        return keras.initializers.GlorotUniform(seed=int(seed) + offset)

    inputs = keras.Input(shape=tuple(input_shape), name="encoder_input")
    h = layers.Flatten()(inputs)
    h = layers.Dense(int(hidden), activation="relu", kernel_initializer=init(0), name="enc_dense")(h)
    z_mean = layers.Dense(latent_dim, kernel_initializer=init(1), name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, kernel_initializer=init(2), name="z_log_var")(h)
    z = layers.Identity(name="z")(z_mean)
    return DirectPredictModel(inputs, [z_mean, z_log_var, z], name="fixed_encoder")
