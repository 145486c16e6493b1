"""VAE losses. Reduction rule: every function returns one value per example, shape `(batch,)`
(summed over pixels or latent dimensions); the training loss is the mean of these over the batch.
"""
from __future__ import annotations

from keras import ops

_EPSILON = 1e-7


def kl_divergence(z_mean, z_log_var):
    """KL( N(z_mean, exp(z_log_var)) || N(0, I) ) in nats, closed form, summed over latent dims.

    z_mean, z_log_var: `(batch, latent_dim)`. Returns `(batch,)`:
    `-0.5 * sum(1 + z_log_var - z_mean**2 - exp(z_log_var), axis=-1)`. It is >= 0, and 0 exactly at
    z_mean = 0, z_log_var = 0.
    """
    z_mean = ops.convert_to_tensor(z_mean, dtype="float32")
    z_log_var = ops.convert_to_tensor(z_log_var, dtype="float32")
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def _sum_non_batch(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def reconstruction_loss(x, x_hat, kind: str = "bce"):
    """Reconstruction loss per example, shape `(batch,)`, summed over all non-batch axes (pixels).

    x: targets in [0, 1]; x_hat: decoder output in [0, 1] (sigmoid), same shape `(batch, 28, 28, 1)`.
    kind="bce": binary cross-entropy in nats (x_hat clipped to [1e-7, 1 - 1e-7]);
    kind="mse": squared error. Mean over the batch is the caller's job.
    """
    x = ops.convert_to_tensor(x, dtype="float32")
    x_hat = ops.convert_to_tensor(x_hat, dtype="float32")
    if kind == "bce":
        p = ops.clip(x_hat, _EPSILON, 1.0 - _EPSILON)
        per_pixel = -(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p))
    elif kind == "mse":
        per_pixel = ops.square(x - x_hat)
    else:
        raise ValueError(f"reconstruction kind must be 'bce' or 'mse', got {kind!r}")
    return _sum_non_batch(per_pixel)


def bce_from_logits(x, logits):
    """Binary cross-entropy from decoder logits (numerically stable, cheaper), `(batch,)`, sum over pixels.

    Equals `reconstruction_loss(x, sigmoid(logits), "bce")` up to the clipping epsilon.
    """
    x = ops.convert_to_tensor(x, dtype="float32")
    per_pixel = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return _sum_non_batch(per_pixel)
