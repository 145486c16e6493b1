"""Probe models with known, invertible maps, so a check can recover the latent codes a student used.

`linear_decoder`: z → sigmoid(z·W + b) reshaped to (28, 28, 1). Its images invert exactly:
`recover_codes(images)` = least squares of logit(images) − b on W, with the residual telling whether an image is a
decoder output at all. `linear_encoder`: x → z_mean = flatten(x)·A (deterministic), z_log_var = -12 (σ ≈ 0.0025).
Both are ordinary `keras.Model`s, so `model(z)` and `model.predict(z)` work alike.
"""
from __future__ import annotations

import numpy as np

PIXELS = 28 * 28


class LinearDecoder:
    def __init__(self, latent_dim: int, seed: int = 0):
        import keras

        rng = np.random.default_rng(seed)
        self.latent_dim = latent_dim
        self.W = (rng.normal(0.0, 1.0, (latent_dim, PIXELS)) / np.sqrt(latent_dim)).astype("float32")
        self.b = rng.normal(0.0, 0.3, PIXELS).astype("float32")
        z = keras.Input(shape=(latent_dim,))
        dense = keras.layers.Dense(PIXELS, activation="sigmoid")
        out = keras.layers.Reshape((28, 28, 1))(dense(z))
        self.model = keras.Model(z, out, name="probe_decoder")
        dense.set_weights([self.W, self.b])

    def decode(self, z) -> np.ndarray:
        logits = np.asarray(z, "float64") @ self.W + self.b
        return (1.0 / (1.0 + np.exp(-logits))).reshape(-1, 28, 28, 1)

    def recover_codes(self, images):
        """(codes (n, latent_dim), relative residual per image): residual ≈ 0 iff the image is a decoder output."""
        p = np.clip(np.asarray(images, "float64").reshape(len(images), -1), 1e-7, 1 - 1e-7)
        target = np.log(p / (1 - p)) - self.b
        codes, *_ = np.linalg.lstsq(self.W.T.astype("float64"), target.T, rcond=None)
        codes = codes.T
        residual = np.linalg.norm(codes @ self.W - target, axis=1) / np.maximum(np.linalg.norm(target, axis=1), 1e-9)
        return codes, residual


class LinearEncoder:
    def __init__(self, latent_dim: int, seed: int = 1):
        import keras
        import vae_lib

        rng = np.random.default_rng(seed)
        self.A = (rng.normal(0.0, 1.0, (PIXELS, latent_dim)) / np.sqrt(PIXELS / 4)).astype("float32")
        x = keras.Input(shape=(28, 28, 1))
        flat = keras.layers.Flatten()(x)
        mean_layer = keras.layers.Dense(latent_dim, use_bias=False, name="z_mean")
        log_var_layer = keras.layers.Dense(latent_dim, kernel_initializer="zeros",
                                           bias_initializer=keras.initializers.Constant(-12.0), name="z_log_var")
        z_mean, z_log_var = mean_layer(flat), log_var_layer(flat)
        z = vae_lib.Sampling(seed=seed)([z_mean, z_log_var])
        self.model = keras.Model(x, [z_mean, z_log_var, z], name="probe_encoder")
        mean_layer.set_weights([self.A])

    def z_mean(self, x) -> np.ndarray:
        return np.asarray(x, "float64").reshape(len(x), -1) @ self.A
