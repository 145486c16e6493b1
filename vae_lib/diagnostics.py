"""Diagnostics for a trained VAE: latent usage, posterior collapse, interpolation smoothness and an
importance-weighted log-likelihood estimate. Inputs are Keras models and NumPy arrays.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

_LOG_2PI = math.log(2.0 * math.pi)
_EPSILON = 1e-7


def _posterior_params(encoder, x, batch_size=256):
    z_mean, z_log_var, _ = encoder.predict(np.asarray(x, "float32"), batch_size=batch_size, verbose=0)
    return np.asarray(z_mean, "float64"), np.asarray(z_log_var, "float64")


def _active_from_means(z_mean, threshold):
    return int(np.sum(np.var(z_mean, axis=0) > threshold))


def latent_stats(encoder, x, threshold=1e-2):
    """Per-dimension statistics over a data set x `(n, 28, 28, 1)`.

    Returns a dict: `z_mean_std` `(latent_dim,)` (std over x of E_q[z_i]); `kl_per_dim` `(latent_dim,)`
    (KL of each latent dimension, mean over x, in nats); `active_units` (int, see `active_units`).
    """
    z_mean, z_log_var = _posterior_params(encoder, x)
    kl = 0.5 * (np.square(z_mean) + np.exp(z_log_var) - 1.0 - z_log_var)
    return {
        "z_mean_std": z_mean.std(axis=0),
        "kl_per_dim": kl.mean(axis=0),
        "active_units": _active_from_means(z_mean, threshold),
    }


def active_units(encoder, x, threshold=1e-2):
    """Number of active latent units (Burda et al., 2016): dims i with Cov_x(E_q[z_i | x]) > threshold."""
    z_mean, _ = _posterior_params(encoder, x)
    return _active_from_means(z_mean, threshold)


class CollapseVerdict(NamedTuple):
    collapsed: bool
    active_units: int
    latent_dim: int
    message: str


def posterior_collapse(encoder, x, threshold=1e-2):
    """Posterior-collapse verdict: collapsed when no latent unit is active on x (q(z|x) ignores x).

    Returns `CollapseVerdict(collapsed, active_units, latent_dim, message)` with a Spanish message.
    """
    z_mean, _ = _posterior_params(encoder, x)
    latent_dim = int(z_mean.shape[-1])
    active = _active_from_means(z_mean, threshold)
    if active == 0:
        message = (f"Colapso del posterior: ninguna de las {latent_dim} dimensiones latentes está activa "
                   f"(varianza de z_mean entre ejemplos <= {threshold:g}); el codificador ignora la entrada.")
    else:
        message = (f"Sin colapso: {active} de {latent_dim} dimensiones latentes activas "
                   f"(varianza de z_mean entre ejemplos > {threshold:g}).")
    return CollapseVerdict(active == 0, active, latent_dim, message)


def interpolation_smoothness(frames):
    """Max consecutive-frame L2 step divided by the mean step, for frames `(steps, ...)`.

    1.0 means perfectly even steps; large values mean a jump. Identical frames give 1.0.
    """
    frames = np.asarray(frames, dtype="float64").reshape(len(frames), -1)
    steps = np.linalg.norm(np.diff(frames, axis=0), axis=1)
    mean = steps.mean() if steps.size else 0.0
    return 1.0 if mean <= 0 else float(steps.max() / mean)


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
