"""The VAE model: encoder + decoder + beta, trained with `fit`, evaluated with `evaluate`.

Loss per batch: mean over the batch of [reconstruction (BCE or MSE, summed over pixels) + beta · KL
(summed over latent dims)]. `fit`/`evaluate` report `loss`, `reconstruction_loss`, `kl_loss`
(each a mean over examples; `loss = reconstruction_loss + beta * kl_loss`).

Backend note: the loss is written with `keras.ops`; only the gradient step is backend-specific
(TensorFlow GradientTape — the course's backend —, PyTorch autograd, JAX stateless value_and_grad), as in
the Keras guides "Customizing what happens in fit()".
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

    # -- training / evaluation steps, one per backend ----------------------------------------------
    # The loss itself (`_batch_losses`) is backend-neutral; only taking the gradient differs. JAX's
    # trainer calls train_step(state, data) / test_step(state, data), the others train_step(data).
    def train_step(self, *args):
        backend = keras.backend.backend()
        if backend == "jax":
            return self._jax_train_step(*args)
        if backend == "torch":
            return self._torch_train_step(*args)
        if backend != "tensorflow":
            raise NotImplementedError(f"vae_lib.VAE cannot train on the {backend!r} backend")
        import tensorflow as tf

        x = self._images(args[0])
        with tf.GradientTape() as tape:
            total, recon, kl = self._batch_losses(x, training=True)
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update_metrics(total, recon, kl)

    def test_step(self, *args):
        if keras.backend.backend() == "jax":
            return self._jax_test_step(*args)
        total, recon, kl = self._batch_losses(self._images(args[0]), training=False)
        return self._update_metrics(total, recon, kl)

    def _torch_train_step(self, data):
        import torch

        x = self._images(data)
        self.zero_grad()
        total, recon, kl = self._batch_losses(x, training=True)
        total.backward()
        weights = list(self.trainable_weights)
        with torch.no_grad():
            self.optimizer.apply([w.value.grad for w in weights], weights)
        return self._update_metrics(total, recon, kl)

    def _jax_losses(self, trainable_values, non_trainable_values, x, training):
        """Stateless loss for JAX: returns (total, (recon, kl, new non-trainable values))."""
        mapping = list(zip(self.trainable_variables, trainable_values))
        mapping += list(zip(self.non_trainable_variables, non_trainable_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            total, recon, kl = self._batch_losses(x, training=training)
        updated = []
        for variable, value in zip(self.non_trainable_variables, non_trainable_values):
            new_value = scope.get_current_value(variable)  # e.g. the Sampling seed state
            updated.append(value if new_value is None else new_value)
        return total, (recon, kl, updated)

    def _jax_metrics(self, metrics_values, values):
        logs, new_values, offset = {}, [], 0
        for metric, value in zip(self.metrics, values):
            count = len(metric.variables)
            state = metric.stateless_update_state(metrics_values[offset: offset + count], value)
            logs[metric.name] = metric.stateless_result(state)
            new_values += list(state)
            offset += count
        return logs, new_values

    def _jax_train_step(self, state, data):
        import jax

        trainable_values, non_trainable_values, optimizer_values, metrics_values = state
        grad_fn = jax.value_and_grad(self._jax_losses, has_aux=True)
        (total, (recon, kl, non_trainable_values)), grads = grad_fn(
            trainable_values, non_trainable_values, self._images(data), True
        )
        trainable_values, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable_values)
        logs, metrics_values = self._jax_metrics(metrics_values, (total, recon, kl))
        return logs, (trainable_values, non_trainable_values, optimizer_values, metrics_values)

    def _jax_test_step(self, state, data):
        trainable_values, non_trainable_values, metrics_values = state
        total, (recon, kl, non_trainable_values) = self._jax_losses(
            trainable_values, non_trainable_values, self._images(data), False
        )
        logs, metrics_values = self._jax_metrics(metrics_values, (total, recon, kl))
        return logs, (trainable_values, non_trainable_values, metrics_values)

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
