"""Diagnostics of a trained VAE's latent space: latent usage, posterior collapse, interpolation smoothness.

Inputs are Keras models and NumPy arrays. An encoder is any model mapping images `(n, 28, 28, 1)` to
`[z_mean, z_log_var, z]`; only z_mean is used here (nothing computes a loss or a KL divergence).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vae_runtime.generation import model_outputs


def posterior_params(encoder, x, batch_size=256):
    """`(z_mean, z_log_var)` of q(z|x) for images x, as float64 NumPy arrays `(n, latent_dim)`."""
    z_mean, z_log_var = model_outputs(encoder, x, batch_size)[:2]
    return np.asarray(z_mean, "float64"), np.asarray(z_log_var, "float64")


def _active_from_means(z_mean, threshold):
    return int(np.sum(np.var(z_mean, axis=0) > threshold))


def latent_stats(encoder, x, threshold=1e-2):
    """Per-dimension usage of the latent space over a data set x `(n, 28, 28, 1)`.

    Returns a dict: `z_mean_std` `(latent_dim,)` (std over x of E_q[z_i]); `active_units` (int, see
    `active_units`). (The reference library's version also reports the KL of each dimension.)
    """
    z_mean, _ = posterior_params(encoder, x)
    return {
        "z_mean_std": z_mean.std(axis=0),
        "active_units": _active_from_means(z_mean, threshold),
    }


def active_units(encoder, x, threshold=1e-2):
    """Number of active latent units (Burda et al., 2016): dims i with Cov_x(E_q[z_i | x]) > threshold."""
    z_mean, _ = posterior_params(encoder, x)
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
    z_mean, _ = posterior_params(encoder, x)
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
