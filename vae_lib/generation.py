"""Generation with a trained VAE: prior samples, reconstructions, latent interpolation and traversals.

All functions take Keras models and return NumPy arrays (images `(n, 28, 28, 1)` in [0, 1]).
`encode_mean` and `reconstruct` live in `vae_runtime.generation` (the students' package); prior sampling and
interpolation (exercise answers) stay here.
"""
from __future__ import annotations

import numpy as np

from vae_runtime.generation import decode as _decode
from vae_runtime.generation import encode_mean, reconstruct  # noqa: F401 - re-exported


def _latent_dim(decoder):
    return int(decoder.inputs[0].shape[-1])


def sample_prior(decoder, n, latent_dim=None, seed=None):
    """Decode `n` latent vectors drawn from the prior z ~ N(0, I) → `(n, 28, 28, 1)` in [0, 1].

    latent_dim defaults to the decoder's input size; `seed` makes the draw reproducible (None: NumPy's
    global generator, which `seed_everything` seeds).
    """
    latent_dim = _latent_dim(decoder) if latent_dim is None else int(latent_dim)
    rng = np.random if seed is None else np.random.default_rng(seed)
    z = rng.standard_normal((int(n), latent_dim)).astype("float32")
    return _decode(decoder, z)


def interpolate_latent(z_a, z_b, steps=10, method="linear"):
    """`steps` latent points from z_a to z_b, both endpoints included → `(steps, latent_dim)`.

    method="linear": (1 - t)·z_a + t·z_b. method="slerp": spherical interpolation (follows the
    great circle, keeping norms typical of a Gaussian prior); falls back to linear for (anti)parallel vectors.
    """
    z_a = np.asarray(z_a, dtype="float64").reshape(-1)
    z_b = np.asarray(z_b, dtype="float64").reshape(-1)
    if steps < 2:
        raise ValueError("steps must be >= 2 to include both endpoints")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    if method == "linear":
        path = (1.0 - t) * z_a + t * z_b
    elif method == "slerp":
        norms = np.linalg.norm(z_a) * np.linalg.norm(z_b)
        cos = np.clip(np.dot(z_a, z_b) / norms, -1.0, 1.0) if norms > 0 else 1.0
        omega = np.arccos(cos)
        if np.sin(omega) < 1e-6:
            path = (1.0 - t) * z_a + t * z_b
        else:
            path = (np.sin((1.0 - t) * omega) * z_a + np.sin(t * omega) * z_b) / np.sin(omega)
        path[0], path[-1] = z_a, z_b
    else:
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    return path.astype("float32")


def interpolate(encoder, decoder, x_a, x_b, steps=10, method="linear"):
    """Decode the latent path between z_mean(x_a) and z_mean(x_b) → `(steps, 28, 28, 1)`, endpoints included.

    x_a, x_b: single images `(28, 28, 1)` (or `(1, 28, 28, 1)`).
    """
    image_shape = tuple(encoder.inputs[0].shape[1:])
    pair = np.stack([np.asarray(x_a, "float32").reshape(image_shape), np.asarray(x_b, "float32").reshape(image_shape)])
    z_a, z_b = encode_mean(encoder, pair)
    return _decode(decoder, interpolate_latent(z_a, z_b, steps=steps, method=method))


def traverse(decoder, z, dim, values):
    """Decode copies of z with latent dimension `dim` set to each of `values` → `(len(values), 28, 28, 1)`."""
    values = np.asarray(values, dtype="float32").reshape(-1)
    zs = np.repeat(np.asarray(z, dtype="float32").reshape(1, -1), len(values), axis=0)
    zs[:, int(dim)] = values
    return _decode(decoder, zs)


def manifold_grid(decoder, n=20, span=3.0):
    """Decode an n×n grid of a 2-D latent space over [-span, span]² → one image `(n·28, n·28)`.

    Rows go from +span (top) to -span (bottom) along z[1]; columns from -span to +span along z[0].
    """
    if _latent_dim(decoder) != 2:
        raise ValueError("manifold_grid needs a decoder with a 2-D latent space")
    grid_x = np.linspace(-span, span, n)
    grid_y = np.linspace(span, -span, n)
    z = np.array([[gx, gy] for gy in grid_y for gx in grid_x], dtype="float32")
    images = _decode(decoder, z)
    h, w = images.shape[1:3]
    return images[..., 0].reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)
