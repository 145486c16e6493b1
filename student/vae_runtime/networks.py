"""The decoder given in the class notebook (a Keras functional model).

It maps z `(batch, latent_dim)` to images `(batch, 28, 28, 1)` in [0, 1]; its last layer is a separate
`Activation("sigmoid")` named "decoder_output", so a training loop may use the logits just before it.
Encoders, and the homework's convolutional decoder, are exercises: they are not here.
"""
from __future__ import annotations

import math

import keras
from keras import layers


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
    return keras.Model(z, sigmoid_output(logits), name="dense_decoder")
