"""vae_lib.conditional against independent computations, real TensorFlow, nothing mocked:

- one `CVAE.train_step` with SGD moves every weight by exactly -lr · ∇(mean-batch summed-pixel BCE + β · mean KL),
  the gradient taken here with tf.GradientTape on the same noise (the encoder's seeded Sampling, its state replayed);
- `sample_class` returns seeded (n, 28, 28, 1) float32 images in [0, 1] and hands the decoder the one-hot of the
  requested class (a decoder whose output depends only on its label input);
- `vae_runtime.class_accuracy` on real Fashion-MNIST test images: their true labels ≥ 85 %, shifted labels < 20 %;
  `vae_lib.class_accuracy` scores a decoder by its class-conditional samples.
"""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

import vae_lib
from vae_runtime import class_accuracy, load_classifier, load_dataset

LATENT, CLASSES = 3, 10


def tiny_cvae(beta):
    encoder = vae_lib.build_cond_encoder(LATENT, hidden=(8,), seed=7)
    decoder = vae_lib.build_cond_decoder(LATENT, hidden=(8,))
    return vae_lib.CVAE(encoder, decoder, beta=beta), encoder, decoder


def reference_loss(encoder, decoder, x, y, beta):
    """The CVAE objective written out by hand: BCE on the sigmoid images summed over pixels, KL summed over latent
    dims, both averaged over the batch; total = BCE + β·KL."""
    z_mean, z_log_var, z = encoder([x, y], training=True)
    p = tf.clip_by_value(decoder([z, y], training=True), 1e-7, 1 - 1e-7)
    bce = -tf.reduce_sum(tf.reshape(x * tf.math.log(p) + (1 - x) * tf.math.log(1 - p), (len(x), -1)), axis=1)
    kl = -0.5 * tf.reduce_sum(1 + z_log_var - z_mean ** 2 - tf.exp(z_log_var), axis=1)
    recon, kl = tf.reduce_mean(bce), tf.reduce_mean(kl)
    return recon + beta * kl, recon, kl


def test_train_step_is_one_sgd_step_on_the_elbo():
    keras.utils.set_random_seed(0)
    beta, lr = 0.5, 0.05
    model, encoder, decoder = tiny_cvae(beta)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr))
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(size=(6, 28, 28, 1)).astype("float32"))
    y = tf.constant(vae_lib.one_hot(rng.integers(0, CLASSES, 6)))
    sampler = encoder.get_layer("z")
    state = np.array(sampler.seed_generator.state.numpy())

    weights = model.trainable_weights
    assert {id(w) for w in weights} == {id(w) for w in encoder.trainable_weights + decoder.trainable_weights}
    before = [w.numpy().copy() for w in weights]
    with tf.GradientTape() as tape:
        total, recon, kl = reference_loss(encoder, decoder, x, y, beta)
    grads = tape.gradient(total, [w.value for w in weights])
    noise_used = encoder([x, y])[2].numpy() - encoder([x, y])[0].numpy()
    assert np.abs(noise_used).max() > 0  # the noise is live: replaying its state is what makes both steps agree

    sampler.seed_generator.state.assign(state)  # the train step draws the very ε drawn above
    logs = model.train_step((x, y))
    assert float(logs["loss"]) == pytest.approx(float(total), rel=1e-4)
    assert float(logs["reconstruction_loss"]) == pytest.approx(float(recon), rel=1e-4)
    assert float(logs["kl_loss"]) == pytest.approx(float(kl), rel=1e-4, abs=1e-6)
    moved = 0.0
    for w, w0, g in zip(weights, before, grads):
        expected = w0 - lr * g.numpy()
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-4, atol=2e-6, err_msg=w.path)
        moved = max(moved, float(np.abs(w.numpy() - w0).max()))
    assert moved > 1e-3  # the step really changed the weights
    assert float(model.beta.numpy()) == beta and not model.beta.trainable

    held_out = model.test_step((x, y))  # evaluation reports the same three metrics, without touching the weights
    assert set(held_out) == {"loss", "reconstruction_loss", "kl_loss"}


def label_only_decoder(latent_dim, logits_per_class):
    """A cond decoder `[z, label] → sigmoid(label @ logits_per_class)`: z has zero weight, so the image tells which
    one-hot label the decoder received. logits_per_class: (10, 784)."""
    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(CLASSES,), name="label")
    dense = layers.Dense(28 * 28, use_bias=False, name="label_to_logits")
    logits = layers.Reshape((28, 28, 1))(dense(layers.Concatenate()([z, label])))
    decoder = keras.Model([z, label], layers.Activation("sigmoid", name="decoder_output")(logits))
    kernel = np.zeros((latent_dim + CLASSES, 28 * 28), "float32")
    kernel[latent_dim:] = logits_per_class
    dense.set_weights([kernel])
    return decoder


def test_sample_class_shape_seed_and_label():
    decoder = vae_lib.build_cond_decoder(LATENT, hidden=(16,))
    images = vae_lib.sample_class(decoder, 3, 5, LATENT, seed=1)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, vae_lib.sample_class(decoder, 3, 5, LATENT, seed=1))
    assert not np.allclose(images, vae_lib.sample_class(decoder, 3, 5, LATENT, seed=2))
    assert not np.allclose(images[0], images[1])  # a fresh z per image

    # class c → every pixel's logit c - 4.5: the image's mean logit gives back the label the decoder saw
    decoder = label_only_decoder(LATENT, np.repeat(np.arange(CLASSES, dtype="float32")[:, None] - 4.5, 784, axis=1))
    for c in range(CLASSES):
        p = vae_lib.sample_class(decoder, c, 4, LATENT, seed=c).astype("float64")
        seen = np.log(p / (1 - p)) + 4.5
        np.testing.assert_allclose(seen, c, atol=1e-3, err_msg=f"class {c}")


def test_one_hot():
    np.testing.assert_array_equal(vae_lib.one_hot([2, 0]), np.eye(10, dtype="float32")[[2, 0]])
    assert vae_lib.one_hot(np.array([[1], [9]]), 12).shape == (2, 12)


@pytest.fixture(scope="module")
def fashion_test():
    return load_dataset("fashion_mnist", split="test", limit=1000)


def test_class_accuracy_on_real_images(fashion_test):
    x, y = fashion_test
    right = class_accuracy(x, y)
    assert right["n"] == 1000 and len(right["per_class"]) == 10
    assert right["mean"] >= 0.85, right
    assert min(right["per_class"]) > 0.5, right  # even the hardest class (camisa) is mostly right
    shifted = class_accuracy(x, (y + 1) % 10)
    assert shifted["mean"] < 0.2, shifted
    assert right["mean"] == pytest.approx(np.nanmean(right["per_class"]))

    no_zero = y != 0  # a class with no image: NaN, left out of the mean
    partial = class_accuracy(x[no_zero], y[no_zero])
    assert np.isnan(partial["per_class"][0]) and partial["n"] == int(no_zero.sum())
    assert partial["mean"] == pytest.approx(np.mean(partial["per_class"][1:]))
    with pytest.raises(ValueError):
        class_accuracy(x[:3], y[:2])


def test_vae_lib_class_accuracy_scores_the_decoders_samples(fashion_test):
    """A decoder that draws, for label c, a real test image the classifier calls c scores 100 %; the same decoder
    with its labels rotated by one scores 0 %."""
    x, y = fashion_test
    predicted = load_classifier("fashion_mnist").predict(x, verbose=0).argmax(axis=1)
    picks = [np.flatnonzero((y == c) & (predicted == c))[0] for c in range(CLASSES)]
    p = np.clip(x[picks].reshape(CLASSES, 784), 1e-4, 1 - 1e-4)
    logits = np.log(p / (1 - p)).astype("float32")

    result = vae_lib.class_accuracy(label_only_decoder(LATENT, logits), LATENT, n_per_class=5)
    assert result["n"] == 50 and result["per_class"] == [1.0] * 10 and result["mean"] == 1.0
    rotated = vae_lib.class_accuracy(label_only_decoder(LATENT, np.roll(logits, 1, axis=0)), LATENT, n_per_class=5)
    assert rotated["mean"] == 0.0


def test_weights_round_trip_before_fit(tmp_path):
    """The notebook loads saved weights into a fresh, never-fitted CVAE (grading mode): that must work."""
    def fresh(beta):
        encoder = vae_lib.build_cond_encoder(LATENT, hidden=(8,))
        return vae_lib.CVAE(encoder, vae_lib.build_cond_decoder(LATENT, hidden=(8,)), beta=beta)

    saved, path = fresh(0.7), tmp_path / "cvae.weights.h5"
    saved.save_weights(path)
    loaded = fresh(1.0)
    loaded.load_weights(path)
    for a, b in zip(saved.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(loaded.beta.numpy()) == pytest.approx(0.7)
