"""The conditional VAE (CVAE): encoder q(z | x, y) and decoder p(x | z, y) conditioned on the one-hot label y.

Reduction rule as in ``vae_lib.model``: reconstruction (BCE) summed over pixels and KL summed over latent dims per
example, both averaged over the batch; loss = reconstruction + β·KL. The label enters both networks by
concatenation (image pixels ++ y, z ++ y), as in Sohn, Lee & Yan (2015).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from vae_lib.losses import bce_from_logits, kl_divergence, reconstruction_loss
from vae_lib.model import _logits_model
from vae_lib.sampling import Sampling
from vae_runtime.classifier import class_accuracy as _classifier_accuracy
from vae_runtime.networks import sigmoid_output as _sigmoid_output


def one_hot(labels, num_classes=10) -> np.ndarray:
    """Integer labels `(n,)` → one-hot float32 `(n, num_classes)`."""
    return np.eye(num_classes, dtype="float32")[np.asarray(labels, "int64").reshape(-1)]


def build_cond_encoder(latent_dim, num_classes=10, hidden=(512, 256), seed=None):
    """[image (batch, 28, 28, 1), label (batch, num_classes)] → [z_mean, z_log_var, z], each (batch, latent_dim):
    Flatten(image) ++ label → Dense(h, relu) for h in `hidden` → two linear heads → Sampling."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    label = keras.Input(shape=(num_classes,), name="label")
    h = layers.Concatenate()([layers.Flatten()(image), label])
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"enc_dense_{i}")(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return keras.Model([image, label], [z_mean, z_log_var, z], name="cond_encoder")


def build_cond_decoder(latent_dim, num_classes=10, hidden=(256, 512)):
    """[z (batch, latent_dim), label (batch, num_classes)] → images (batch, 28, 28, 1) in [0, 1]:
    z ++ label → Dense(h, relu) for h in `hidden` → Dense(784) logits → Reshape → sigmoid ("decoder_output")."""
    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(num_classes,), name="label")
    h = layers.Concatenate()([z, label])
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"dec_dense_{i}")(h)
    logits = layers.Reshape((28, 28, 1))(layers.Dense(28 * 28, name="decoder_logits")(h))
    return keras.Model([z, label], _sigmoid_output(logits), name="cond_decoder")


@keras.saving.register_keras_serializable(package="vae_lib")
class CVAE(keras.Model):
    """Conditional VAE trained with `fit(x, y_one_hot)`: train_step receives (x, y).

    Metrics `loss`, `reconstruction_loss`, `kl_loss` (means over examples; loss = reconstruction + β·KL), β a
    non-trainable weight. `call((x, y))` decodes z_mean with the label.
    """

    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.beta = self.add_weight(name="beta", shape=(), trainable=False,
                                    initializer=keras.initializers.Constant(float(beta)))
        # The decoder up to the logits before its sigmoid (stable BCE), when its last layer is Activation("sigmoid");
        # shares the decoder's layers, kept out of Keras's tracking so weights are not listed twice.
        object.__setattr__(self, "_logits", _logits_model(decoder))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        if getattr(encoder, "built", False) and getattr(decoder, "built", False):
            self.built = True  # load_weights works before any fit

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, inputs, training=False):
        x, y = inputs
        z_mean, _, _ = self.encoder([x, y], training=training)
        return self.decoder([z_mean, y], training=training)

    def losses_of(self, x, y, training=False):
        """(total, reconstruction, KL) of a batch: batch means of the per-example sums."""
        x, y = ops.convert_to_tensor(x, "float32"), ops.convert_to_tensor(y, "float32")
        z_mean, z_log_var, z = self.encoder([x, y], training=training)
        if self._logits is not None:
            recon = bce_from_logits(x, self._logits([z, y], training=training))
        else:
            recon = reconstruction_loss(x, self.decoder([z, y], training=training))
        recon, kl = ops.mean(recon), ops.mean(kl_divergence(z_mean, z_log_var))
        return recon + ops.cast(self.beta, "float32") * kl, recon, kl

    def _update(self, total, recon, kl):
        for tracker, value in zip(self.metrics, (total, recon, kl)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        import tensorflow as tf

        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            total, recon, kl = self.losses_of(x, y, training=True)
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update(total, recon, kl)

    def test_step(self, data):
        return self._update(*self.losses_of(data[0], data[1]))


def sample_class(decoder, class_id, n, latent_dim, seed=None, num_classes=10) -> np.ndarray:
    """n images (n, 28, 28, 1) in [0, 1] of class `class_id`: z ~ N(0, I) from `np.random.default_rng(seed)`,
    decoded with the class's one-hot label."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")
    return np.asarray(decoder.predict([z, one_hot([class_id] * n, num_classes)], verbose=0))


def class_accuracy(decoder, latent_dim, n_per_class=100, seed=0, dataset="fashion_mnist", num_classes=10) -> dict:
    """`vae_runtime.class_accuracy` of `n_per_class` `sample_class` images per class (seed + class for each):
    {"per_class": [num_classes floats], "mean": float, "n": int}."""
    images = np.concatenate([sample_class(decoder, c, n_per_class, latent_dim, seed + c, num_classes)
                             for c in range(num_classes)])
    return _classifier_accuracy(images, np.repeat(np.arange(num_classes), n_per_class), dataset)
