"""Encoder / decoder builders (Keras functional models).

Encoders map images `(batch, 28, 28, 1)` to `[z_mean, z_log_var, z]`, each `(batch, latent_dim)`.
Decoders map z `(batch, latent_dim)` to images `(batch, 28, 28, 1)` in [0, 1]: their last layer is a
separate `Activation("sigmoid")` named "decoder_output", so `VAE` can train on the logits just before it
(cheaper, numerically stable BCE) while callers always get sigmoid images.
`build_dense_decoder` (given in the class notebook) lives in `vae_runtime.networks`, the students' package.
"""
from __future__ import annotations

import keras
from keras import layers

from vae_lib.sampling import Sampling
from vae_runtime.networks import build_dense_decoder  # noqa: F401 - re-exported
from vae_runtime.networks import sigmoid_output as _sigmoid_output


def _latent_head(h, latent_dim, seed):
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return [z_mean, z_log_var, z]


def build_dense_encoder(latent_dim, input_shape=(28, 28, 1), hidden=(512, 256), seed=None):
    """MLP encoder: Flatten → Dense(h, relu) for h in `hidden` → z_mean, z_log_var → Sampling."""
    inputs = keras.Input(shape=tuple(input_shape), name="encoder_input")
    h = layers.Flatten()(inputs)
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"enc_dense_{i}")(h)
    return keras.Model(inputs, _latent_head(h, latent_dim, seed), name="dense_encoder")


def build_conv_encoder(latent_dim, input_shape=(28, 28, 1), hidden=128, seed=None):
    """Convolutional encoder (the homework's shape):
    Conv2D(32, 3, stride 2, relu) → Conv2D(64, 3, stride 2, relu) → Flatten → Dense(hidden, relu)
    → z_mean, z_log_var → Sampling. 28×28 → 14×14×32 → 7×7×64.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="encoder_input")
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="enc_conv_1")(inputs)
    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="enc_conv_2")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(hidden, activation="relu", name="enc_dense")(h)
    return keras.Model(inputs, _latent_head(h, latent_dim, seed), name="conv_encoder")


def build_conv_decoder(latent_dim, input_shape=(28, 28, 1), hidden=128):
    """Convolutional decoder, the mirror image of `build_conv_encoder`:
    Dense(hidden, relu) → Dense(7·7·64, relu) → Reshape(7, 7, 64)
    → Conv2DTranspose(32, 4, stride 2, relu) → Conv2DTranspose(1, 4, stride 2) logits → sigmoid.
    7×7×64 → 14×14×32 → 28×28×1, undoing the encoder's two stride-2 convolutions. 4×4 kernels with stride 2
    (kernel divisible by stride) avoid checkerboard artefacts, and no 28×28 feature map with many channels is
    ever built, which is where the keras.io decoder spends most of its time. Against the keras.io example
    (latent 2, MNIST, equal epochs) it trains ~1.7× faster per CPU-second and reaches a lower held-out loss
    (benchmarks/train_speed.py). Output `(batch, 28, 28, 1)` in [0, 1]; `input_shape` is the image shape (the
    decoder's output); height and width must be divisible by 4.
    """
    height, width, channels = tuple(input_shape)
    z = keras.Input(shape=(latent_dim,), name="decoder_input")
    h = layers.Dense(hidden, activation="relu", name="dec_dense")(z)
    h = layers.Dense((height // 4) * (width // 4) * 64, activation="relu", name="dec_dense_map")(h)
    h = layers.Reshape((height // 4, width // 4, 64))(h)
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", activation="relu", name="dec_deconv_1")(h)
    logits = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="decoder_logits")(h)
    return keras.Model(z, _sigmoid_output(logits), name="conv_decoder")
