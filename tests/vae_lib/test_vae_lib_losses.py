import math

import numpy as np
import pytest
from keras import ops

from vae_lib import bce_from_logits, kl_divergence, reconstruction_loss


def test_kl_closed_form_on_given_values():
    mu = np.array([[1.0, 0.0], [0.0, 0.0], [-2.0, 0.5]], "float32")
    log_var = np.array([[0.0, math.log(2.0)], [0.0, 0.0], [math.log(0.25), 0.0]], "float32")
    expected = [
        0.5 * (1 + 1 - 1 - 0) + 0.5 * (0 + 2 - 1 - math.log(2.0)),
        0.0,
        0.5 * (4 + 0.25 - 1 - math.log(0.25)) + 0.5 * 0.25,
    ]
    got = ops.convert_to_numpy(kl_divergence(mu, log_var))
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_kl_zero_exactly_at_standard_normal_and_nonnegative():
    zero = ops.convert_to_numpy(kl_divergence(np.zeros((4, 10)), np.zeros((4, 10))))
    assert np.all(zero == 0.0)
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 2, (1000, 8)).astype("float32")
    log_var = rng.normal(0, 2, (1000, 8)).astype("float32")
    assert np.all(ops.convert_to_numpy(kl_divergence(mu, log_var)) >= 0.0)


def test_kl_agrees_with_monte_carlo():
    rng = np.random.default_rng(1)
    mu = np.array([0.7, -1.2, 0.1])
    log_var = np.array([-0.5, 0.8, -2.0])
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * rng.standard_normal((400_000, 3))
    log_q = -0.5 * (((z - mu) / sigma) ** 2 + log_var + math.log(2 * math.pi)).sum(axis=1)
    log_p = -0.5 * (z**2 + math.log(2 * math.pi)).sum(axis=1)
    monte_carlo = float(np.mean(log_q - log_p))
    closed = float(ops.convert_to_numpy(kl_divergence(mu[None].astype("float32"), log_var[None].astype("float32")))[0])
    assert closed == pytest.approx(monte_carlo, rel=0.01)


def test_reconstruction_losses_sum_over_pixels_per_example():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (5, 28, 28, 1)).astype("float32")
    x_hat = rng.uniform(0.01, 0.99, (5, 28, 28, 1)).astype("float32")
    bce = ops.convert_to_numpy(reconstruction_loss(x, x_hat, kind="bce"))
    expected_bce = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)).reshape(5, -1).sum(axis=1)
    assert bce.shape == (5,)
    np.testing.assert_allclose(bce, expected_bce, rtol=1e-5)
    mse = ops.convert_to_numpy(reconstruction_loss(x, x_hat, kind="mse"))
    np.testing.assert_allclose(mse, ((x - x_hat) ** 2).reshape(5, -1).sum(axis=1), rtol=1e-5)
    with pytest.raises(ValueError):
        reconstruction_loss(x, x_hat, kind="l1")


def test_bce_from_logits_closed_form_and_stable():
    """Per pixel: -(x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))) = log(1 + e^l) - x·l (NumPy's logaddexp),
    summed per example; finite for |l| up to 80, where sigmoid rounds to 0 or 1."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (4, 28, 28, 1)).astype("float32")  # not only binary targets
    logits = rng.normal(0, 3, (4, 28, 28, 1)).astype("float32")
    logits[0, 0, :4, 0] = [-80.0, 80.0, -30.0, 30.0]
    expected = (np.logaddexp(0.0, logits.astype("float64")) - x * logits.astype("float64")).reshape(4, -1).sum(axis=1)
    got = ops.convert_to_numpy(bce_from_logits(x, logits))
    assert got.shape == (4,) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    moderate = np.clip(logits, -8, 8)  # where the probability BCE's clipping plays no part, the two agree
    from_probs = ops.convert_to_numpy(reconstruction_loss(x, 1 / (1 + np.exp(-moderate)), kind="bce"))
    np.testing.assert_allclose(ops.convert_to_numpy(bce_from_logits(x, moderate)), from_probs, rtol=1e-4)
