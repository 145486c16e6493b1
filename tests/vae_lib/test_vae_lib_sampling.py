import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_lib import Sampling


def test_empirical_mean_and_std_match_on_10k_draws():
    mu = np.tile(np.array([[1.5, -2.0, 0.0]], "float32"), (10_000, 1))
    log_var = np.tile(np.array([[math.log(0.25), math.log(4.0), 0.0]], "float32"), (10_000, 1))
    z = ops.convert_to_numpy(Sampling(seed=7)((mu, log_var)))
    assert z.shape == (10_000, 3)
    std = np.array([0.5, 2.0, 1.0])
    # 5 standard errors: mean error sigma/sqrt(n), std error ~ sigma/sqrt(2n)
    np.testing.assert_allclose(z.mean(axis=0), [1.5, -2.0, 0.0], atol=float(5 * std.max() / 100))
    np.testing.assert_allclose(z.std(axis=0), std, rtol=5 / math.sqrt(2 * 10_000))


def test_gradients_reach_mean_and_log_variance():
    """z = mu + exp(lv / 2)·eps: dz/dmu = 1 and dz/dlv = exp(lv / 2)·eps / 2, at values away from 0 and 1."""
    rng = np.random.default_rng(0)
    mu_0, lv_0 = rng.normal(0, 1, (8, 4)).astype("float32"), rng.normal(0, 1, (8, 4)).astype("float32")
    layer = Sampling(seed=3)
    mu, log_var = tf.Variable(mu_0), tf.Variable(lv_0)
    with tf.GradientTape() as tape:
        z = layer((mu, log_var))
        total = tf.reduce_sum(z)
    g_mu, g_lv = tape.gradient(total, [mu, log_var])
    sd = np.exp(0.5 * lv_0.astype("float64"))
    eps = (z.numpy() - mu_0) / sd  # the noise that was drawn, recovered
    assert 0.3 < eps.std() < 2.0 and np.abs(eps).max() < 6.0  # plausible N(0, 1) draws
    assert g_mu is not None and g_lv is not None  # the reparameterisation keeps both in the graph
    np.testing.assert_allclose(g_mu.numpy(), np.ones((8, 4)))
    np.testing.assert_allclose(g_lv.numpy(), 0.5 * sd * eps, rtol=1e-4, atol=1e-6)


def test_fresh_noise_each_call_and_reproducible_from_seed():
    mu, log_var = np.zeros((16, 2), "float32"), np.zeros((16, 2), "float32")
    first_layer = Sampling(seed=11)
    a, b = (ops.convert_to_numpy(first_layer((mu, log_var))) for _ in range(2))
    assert not np.allclose(a, b)
    assert isinstance(first_layer.seed_generator, keras.random.SeedGenerator)
    again = Sampling(seed=11)
    np.testing.assert_array_equal(ops.convert_to_numpy(again((mu, log_var))), a)


def test_config_round_trip():
    layer = Sampling(seed=5, name="z")
    clone = Sampling.from_config(layer.get_config())
    assert clone.seed == 5 and clone.name == "z"
