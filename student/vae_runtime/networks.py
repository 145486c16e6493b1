"""The decoder given in the class notebook (a Keras functional model).

It maps z `(batch, latent_dim)` to images `(batch, 28, 28, 1)` in [0, 1]; its last layer is a separate
`Activation("sigmoid")` named "decoder_output", so a training loop may use the logits just before it.
Encoders, and the homework's convolutional decoder, are exercises: they are not here. The runtime's models are
`DirectPredictModel`s: their `predict` of arrays is a direct call.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

_DIRECT_ROWS = 4096  # rows per call of DirectPredictModel.predict


@keras.saving.register_keras_serializable(package="vae_runtime")
class DirectPredictModel(keras.Model):
    """A `keras.Model` whose `predict(x)` of NumPy arrays or tensors (or a list of them, one per input) is
    `generation.model_outputs`: the same numbers (float32 round-off) for a model whose rows are independent, without
    the data pipeline and graph Keras builds on a model's first `predict` calls (~0.05 CPU-s each, many times what a
    small model's call costs). Anything else (a dataset, a tuple, `steps`, callbacks, no rows, an input the call
    refuses) goes to Keras's own `predict`: its result, or its error, is what the caller gets."""

    def predict(self, x=None, batch_size=None, verbose="auto", steps=None, callbacks=None):
        from vae_runtime.generation import model_outputs

        direct = isinstance(x, (list, np.ndarray)) or keras.ops.is_tensor(x)
        if direct and steps is None and not callbacks:
            try:
                arrays = [np.asarray(keras.ops.convert_to_numpy(a)) for a in (x if isinstance(x, list) else [x])]
                if arrays and all(a.ndim and a.dtype != object and len(a) for a in arrays):
                    return model_outputs(self, arrays if isinstance(x, list) else arrays[0], _DIRECT_ROWS)
            except Exception:  # noqa: BLE001 (Keras's predict below gives its own result or error)
                pass
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)


def sigmoid_output(logits):
    """The decoders' last layer: `Activation("sigmoid", name="decoder_output")`."""
    return layers.Activation("sigmoid", name="decoder_output")(logits)


def build_dense_decoder(latent_dim, input_shape=(28, 28, 1), hidden=(256, 512)):
    """MLP decoder: Dense(h, relu) for h in `hidden` → Dense(pixels) logits → Reshape → sigmoid.

    `input_shape` is the image shape (the decoder's output), named as in the encoder builders.
    """
    image_shape = tuple(input_shape)
    z = keras.Input(shape=(latent_dim,), name="decoder_input")
    h = z
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"dec_dense_{i}")(h)
    h = layers.Dense(math.prod(image_shape), name="dec_logits_flat")(h)
    logits = layers.Reshape(image_shape, name="decoder_logits")(h)
    return DirectPredictModel(z, sigmoid_output(logits), name="dense_decoder")
