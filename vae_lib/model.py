"""The VAE model: encoder + decoder + beta, trained with `fit`, evaluated with `evaluate`.

Loss per batch: mean over the batch of [reconstruction (BCE or MSE, summed over pixels) + beta · KL
(summed over latent dims)]. `fit`/`evaluate` report `loss`, `reconstruction_loss`, `kl_loss`
(each a mean over examples; `loss = reconstruction_loss + beta * kl_loss`).

Backend note: everything except the gradient step is written with `keras.ops`; `train_step` uses
TensorFlow's GradientTape (the course's backend). Other backends raise a clear error when training.
"""
from __future__ import annotations

import keras
from keras import ops

from vae_lib.losses import bce_from_logits, kl_divergence, reconstruction_loss


def _logits_model(decoder):
    """The decoder up to its logits when its last layer is a separate sigmoid Activation, else None."""
    last = decoder.layers[-1]
    is_sigmoid = isinstance(last, keras.layers.Activation) and getattr(last.activation, "__name__", "") == "sigmoid"
    if not is_sigmoid:
        return None
    try:
        inputs = decoder.inputs[0] if len(decoder.inputs) == 1 else decoder.inputs
        return keras.Model(inputs, last.input, name=f"{decoder.name}_logits")
    except Exception:  # noqa: BLE001 - any non-functional decoder falls back to probabilities
        return None


@keras.saving.register_keras_serializable(package="vae_lib")
class VAE(keras.Model):
    """Variational autoencoder.

    encoder: images → [z_mean, z_log_var, z]; decoder: z → sigmoid images.
    beta: weight of the KL term, a non-trainable variable (`model.beta = 0.5` or `model.beta.assign(0.5)`),
    so callbacks can change it during `fit` without retracing.
    reconstruction: "bce" (default) or "mse".
    `call(x)` returns the reconstruction decode(z) with z sampled from q(z|x).
    """

    def __init__(self, encoder, decoder, beta=1.0, reconstruction="bce", **kwargs):
        super().__init__(**kwargs)
        if reconstruction not in ("bce", "mse"):
            raise ValueError(f"reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction = reconstruction
        self._beta = self.add_weight(
            name="beta", shape=(), initializer=keras.initializers.Constant(float(beta)), trainable=False
        )
        # Shares the decoder's layers; kept out of Keras's tracking so weights are not listed twice.
        object.__setattr__(self, "_decoder_logits", _logits_model(decoder) if reconstruction == "bce" else None)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        if getattr(encoder, "built", False) and getattr(decoder, "built", False):
            self.built = True

    # -- beta -------------------------------------------------------------------------------------
    @property
    def beta(self):
        """The KL weight (a non-trainable `keras.Variable`; `float(model.beta)` gives its value)."""
        return self._beta

    @beta.setter
    def beta(self, value):
        self._beta.assign(float(value))

    # -- forward ----------------------------------------------------------------------------------
    def call(self, inputs, training=False):
        _, _, z = self.encoder(inputs, training=training)
        return self.decoder(z, training=training)

    def loss_terms(self, x, training=False):
        """Per-example terms for a batch x: `(reconstruction (batch,), kl (batch,))`."""
        z_mean, z_log_var, z = self.encoder(x, training=training)
        if self._decoder_logits is not None:
            recon = bce_from_logits(x, self._decoder_logits(z, training=training))
        else:
            recon = reconstruction_loss(x, self.decoder(z, training=training), kind=self.reconstruction)
        return recon, kl_divergence(z_mean, z_log_var)

    def _batch_losses(self, x, training):
        recon, kl = self.loss_terms(x, training=training)
        recon, kl = ops.mean(recon), ops.mean(kl)
        return recon + ops.cast(self._beta, "float32") * kl, recon, kl

    def _update_metrics(self, total, recon, kl):
        self.loss_tracker.update_state(total)
        self.reconstruction_tracker.update_state(recon)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    @staticmethod
    def _images(data):
        return data[0] if isinstance(data, (tuple, list)) else data

    def train_step(self, data):
        if keras.backend.backend() != "tensorflow":
            raise NotImplementedError(
                "vae_lib.VAE.train_step uses the TensorFlow backend (KERAS_BACKEND=tensorflow)."
            )
        import tensorflow as tf

        x = self._images(data)
        with tf.GradientTape() as tape:
            total, recon, kl = self._batch_losses(x, training=True)
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update_metrics(total, recon, kl)

    def test_step(self, data):
        total, recon, kl = self._batch_losses(self._images(data), training=False)
        return self._update_metrics(total, recon, kl)

    # -- serialization ----------------------------------------------------------------------------
    def get_config(self):
        base = super().get_config()
        base.pop("trainable", None)
        base.pop("dtype", None)
        return {
            **base,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": float(keras.ops.convert_to_numpy(self._beta)),
            "reconstruction": self.reconstruction,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)
