"""Diagnostics for a trained VAE: latent usage, posterior collapse, interpolation smoothness and an
importance-weighted log-likelihood estimate. Inputs are Keras models and NumPy arrays.

Latent usage, collapse and smoothness live in `vae_runtime.diagnostics` (the students' package); the parts that
compute a KL divergence or an ELBO (exercise answers) stay here: `latent_stats` adds the KL of each latent
dimension to the runtime's statistics, and `importance_weighted_elbo`.
"""
from __future__ import annotations

import math

import numpy as np

from vae_runtime import diagnostics as _runtime
from vae_runtime.diagnostics import (  # noqa: F401 - re-exported
    CollapseVerdict,
    active_units,
    interpolation_smoothness,
    posterior_collapse,
)
from vae_runtime.diagnostics import posterior_params as _posterior_params

_LOG_2PI = math.log(2.0 * math.pi)
_EPSILON = 1e-7


def latent_stats(encoder, x, threshold=1e-2):
    """Per-dimension statistics over a data set x `(n, 28, 28, 1)`.

    Returns a dict: `z_mean_std` `(latent_dim,)` (std over x of E_q[z_i]); `kl_per_dim` `(latent_dim,)`
    (KL of each latent dimension, mean over x, in nats); `active_units` (int, see `active_units`).
    """
    stats = _runtime.latent_stats(encoder, x, threshold=threshold)
    z_mean, z_log_var = _posterior_params(encoder, x)
    kl = 0.5 * (np.square(z_mean) + np.exp(z_log_var) - 1.0 - z_log_var)
    return {"z_mean_std": stats["z_mean_std"], "kl_per_dim": kl.mean(axis=0), "active_units": stats["active_units"]}


def _logsumexp(a, axis=0):
    peak = a.max(axis=axis, keepdims=True)
    return np.squeeze(peak, axis) + np.log(np.exp(a - peak).sum(axis=axis))


def importance_weighted_elbo(encoder, decoder, x, k=1, seed=None, batch_size=256):
    """Importance-weighted bound (IWAE, Burda et al. 2016) on log p(x), in nats, per example → `(batch,)`.

    log p(x) >= E[ log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x) ], z_i ~ q(z|x), with a Bernoulli decoder
    (log p(x|z) = -BCE summed over pixels). One draw per example and i; k=1 is the (single-sample) ELBO,
    and the bound tightens (on average) as k grows. `seed` makes the draws reproducible.
    """
    x = np.asarray(x, "float32")
    mu, log_var = _posterior_params(encoder, x, batch_size)
    sigma = np.exp(0.5 * log_var)
    rng = np.random if seed is None else np.random.default_rng(seed)
    flat_x = x.reshape(len(x), -1).astype("float64")
    log_w = np.empty((int(k), len(x)))
    for i in range(int(k)):
        eps = rng.standard_normal(mu.shape)
        z = mu + sigma * eps
        p = np.asarray(decoder.predict(z.astype("float32"), batch_size=batch_size, verbose=0), "float64")
        p = np.clip(p.reshape(len(x), -1), _EPSILON, 1.0 - _EPSILON)
        log_px_z = np.sum(flat_x * np.log(p) + (1.0 - flat_x) * np.log(1.0 - p), axis=1)
        log_pz = -0.5 * np.sum(np.square(z) + _LOG_2PI, axis=1)
        log_qz = -0.5 * np.sum(np.square(eps) + log_var + _LOG_2PI, axis=1)
        log_w[i] = log_px_z + log_pz - log_qz
    return _logsumexp(log_w, axis=0) - math.log(k)
