"""The reparameterisation trick as a Keras layer."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="vae_lib")
class Sampling(keras.layers.Layer):
    """`z = z_mean + exp(0.5 * z_log_var) * eps`, `eps ~ N(0, I)` drawn fresh on every call.

    inputs: `(z_mean, z_log_var)`, each `(batch, latent_dim)`; returns z `(batch, latent_dim)`.
    `seed` makes the noise sequence reproducible (held in `self.seed_generator`, a
    `keras.random.SeedGenerator`); gradients flow to z_mean and z_log_var.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
