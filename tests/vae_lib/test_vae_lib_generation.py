"""Generation: every expectation is computed here, in plain NumPy, from the encoder's z_mean and the decoder.

A *probe decoder* (a linear "decoder" whose image carries its code: pixel i, row-major, is z[i], all other
pixels 0, exactly) lets a test read back which latent codes a function decoded. Each `_check_*` helper takes
the implementation as an argument: the real test passes vae_lib's function, and `test_checks_catch_planted_bugs`
passes small wrong implementations and requires the same check to fail on each.
"""
import math

import keras
import numpy as np
import pytest

from vae_lib import (
    build_dense_decoder,
    encode_mean,
    interpolate,
    interpolate_latent,
    interpolation_smoothness,
    manifold_grid,
    reconstruct,
    sample_prior,
    traverse,
)
from vae_runtime.generation import decode


def _probe_decoder(latent_dim):
    """Linear decoder z → image with pixel i (row-major) = z[i] for i < latent_dim and 0 elsewhere (0/1 kernel)."""
    z = keras.Input((latent_dim,))
    dense = keras.layers.Dense(28 * 28, use_bias=False)
    model = keras.Model(z, keras.layers.Reshape((28, 28, 1))(dense(z)))
    kernel = np.zeros((latent_dim, 28 * 28), "float32")
    kernel[np.arange(latent_dim), np.arange(latent_dim)] = 1.0
    dense.set_weights([kernel])
    return model


def _codes(images, latent_dim):
    """The codes a probe decoder was fed, read back from its images."""
    flat = np.asarray(images).reshape(len(images), -1)
    assert np.all(flat[:, latent_dim:] == 0.0)
    return flat[:, :latent_dim]


def _z_mean(encoder, x):
    """The encoder's z_mean (output 0 of [z_mean, z_log_var, z]), by hand."""
    return np.asarray(encoder.predict(np.asarray(x, "float32"), verbose=0)[0], "float64")


def _decoded(decoder, codes):
    return np.asarray(decoder.predict(np.asarray(codes, "float32"), verbose=0))


def _slerp_by_hand(z_a, z_b, t):
    omega = math.acos(np.dot(z_a, z_b) / (np.linalg.norm(z_a) * np.linalg.norm(z_b)))
    return (np.sin((1 - t) * omega) * z_a + np.sin(t * omega) * z_b) / math.sin(omega)


# -- sample_prior -----------------------------------------------------------------------------------------------
def _check_sample_prior(sample_prior, decoder):
    # z ~ N(0, I) in the decoder's latent size, read back through a 3-D probe: 8,000 draws, 5 standard errors.
    n = 8000
    z = _codes(sample_prior(_probe_decoder(3), n, seed=5), 3)
    assert z.shape == (n, 3)
    assert np.abs(z.mean(axis=0)).max() < 5 / math.sqrt(n)
    assert np.abs(z.std(axis=0) - 1.0).max() < 5 / math.sqrt(2 * n)
    corr = np.corrcoef(z.T)[np.triu_indices(3, 1)]
    assert np.abs(corr).max() < 5 / math.sqrt(n)  # independent dimensions
    kurtosis = np.mean(z**4, axis=0) / np.mean(z**2, axis=0) ** 2
    assert np.abs(kurtosis - 3.0).max() < 5 * math.sqrt(24 / n)  # Gaussian (a unit-variance uniform has 1.8)
    # latent_dim given explicitly (probe of 3 fed 3-D codes), seed reproducibility, different seeds differ
    assert _codes(sample_prior(_probe_decoder(3), 4, latent_dim=3, seed=5), 3).shape == (4, 3)
    probe = _probe_decoder(3)
    np.testing.assert_array_equal(sample_prior(probe, 16, seed=5), sample_prior(probe, 16, seed=5))
    assert not np.allclose(sample_prior(probe, 16, seed=5), sample_prior(probe, 16, seed=6))
    # the real decoder decodes exactly those codes: decoder(z), z drawn with that seed
    images = sample_prior(decoder, 16, seed=9)
    codes = _codes(sample_prior(_probe_decoder(2), 16, seed=9), 2)
    assert images.shape == (16, 28, 28, 1) and images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_allclose(images, _decoded(decoder, codes), atol=1e-6)


def test_sample_prior_decodes_standard_normal_codes(trained_vae):
    _check_sample_prior(sample_prior, trained_vae.decoder)


# -- interpolate_latent -----------------------------------------------------------------------------------------
def _check_interpolate_latent(interpolate_latent):
    z_a, z_b = np.array([1.0, -2.0, 0.5]), np.array([-0.5, 1.0, 2.0])
    t = np.linspace(0.0, 1.0, 7)[:, None]
    linear = interpolate_latent(z_a, z_b, steps=7, method="linear")
    np.testing.assert_allclose(linear, (1 - t) * z_a + t * z_b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(interpolate_latent(z_a, z_b, steps=7), linear)  # linear is the default

    slerp = np.asarray(interpolate_latent(z_a, z_b, steps=7, method="slerp"), "float64")
    assert slerp.shape == (7, 3)
    np.testing.assert_allclose(slerp[[0, -1]], [z_a, z_b], rtol=1e-6)
    np.testing.assert_allclose(slerp, _slerp_by_hand(z_a, z_b, t), rtol=1e-5, atol=1e-6)
    # geometry, without the formula: each point lies in span{z_a, z_b}, and its angle to z_a grows linearly in t
    basis = np.stack([z_a, z_b], axis=1)
    residual = slerp.T - basis @ np.linalg.lstsq(basis, slerp.T, rcond=None)[0]
    assert np.abs(residual).max() < 1e-5

    def angle(u, v):
        return np.arccos(np.clip(u @ v / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v)), -1, 1))

    omega = angle(z_a, z_b)
    np.testing.assert_allclose(angle(slerp, z_a), t[:, 0] * omega, atol=1e-5)
    np.testing.assert_allclose(angle(slerp, z_b), (1 - t[:, 0]) * omega, atol=1e-5)
    # equal norms: the path stays on the circle
    circle = interpolate_latent(np.array([2.0, 0.0]), np.array([0.0, 2.0]), steps=5, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(circle, axis=1), 2.0, rtol=1e-5)
    np.testing.assert_allclose(circle[2], [math.sqrt(2), math.sqrt(2)], rtol=1e-5)
    # parallel vectors: falls back to the straight line
    np.testing.assert_allclose(interpolate_latent(z_a, 3 * z_a, steps=5, method="slerp"),
                               np.linspace(1, 3, 5)[:, None] * z_a, rtol=1e-5)
    with pytest.raises(ValueError):
        interpolate_latent(z_a, z_b, method="cubic")
    with pytest.raises(ValueError):
        interpolate_latent(z_a, z_b, steps=1)


def test_interpolate_latent_closed_forms():
    _check_interpolate_latent(interpolate_latent)


# -- interpolate ------------------------------------------------------------------------------------------------
def _check_interpolate(interpolate, encoder, decoder, x_a, x_b):
    """frames = decoder((1 - t)·z_a + t·z_b) with z_a, z_b the encoder's z_mean (not a sample), t = linspace(0, 1)."""
    z_a, z_b = _z_mean(encoder, np.stack([x_a, x_b]))
    t = np.linspace(0.0, 1.0, 10)[:, None]
    linear, spherical = (1 - t) * z_a + t * z_b, _slerp_by_hand(z_a, z_b, t)
    probe = _probe_decoder(2)
    np.testing.assert_allclose(_codes(interpolate(encoder, probe, x_a, x_b, steps=10), 2), linear, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_codes(interpolate(encoder, probe, x_a, x_b, steps=10, method="slerp"), 2), spherical,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_codes(interpolate(encoder, probe, x_a[None], x_b[None], steps=4), 2),
                               (1 - t[::3]) * z_a + t[::3] * z_b, rtol=1e-5, atol=1e-5)  # (1, 28, 28, 1) inputs too
    frames = interpolate(encoder, decoder, x_a, x_b, steps=10)
    assert frames.shape == (10, 28, 28, 1)
    np.testing.assert_allclose(frames, _decoded(decoder, linear), atol=1e-5)


def test_interpolate_decodes_the_line_between_the_latent_means(trained_vae, mnist_small):
    x, y = mnist_small
    x_a, x_b = x[int(np.argmax(y == 0))], x[int(np.argmax(y == 1))]
    _check_interpolate(interpolate, trained_vae.encoder, trained_vae.decoder, x_a, x_b)
    frames = interpolate(trained_vae.encoder, trained_vae.decoder, x_a, x_b, steps=10)
    assert np.abs(frames[0] - frames[-1]).sum() > 20  # a 0 and a 1 really differ
    assert 1.0 <= interpolation_smoothness(frames) < 3.0  # the trained decoder has no jump along the line


# -- interpolation_smoothness -----------------------------------------------------------------------------------
def _check_smoothness(interpolation_smoothness):
    # L2 steps 5, 5, 20 (L1 steps 7, 5, 20): max / mean = 20 / 10
    points = np.cumsum([[0, 0], [3, 4], [5, 0], [0, 20]], axis=0).astype("float32")
    assert interpolation_smoothness(points) == pytest.approx(2.0)
    images = np.zeros((4, 28, 28, 1), "float32")
    images[:, 3, 5, 0], images[:, 10, 2, 0] = points[:, 0], points[:, 1]
    assert interpolation_smoothness(images) == pytest.approx(2.0)  # frames of any shape are flattened
    even = np.arange(5, dtype="float32")[:, None] * np.ones((1, 4))
    assert interpolation_smoothness(even) == pytest.approx(1.0)
    jumpy = np.concatenate([np.zeros((5, 3)), np.ones((5, 3))])
    assert interpolation_smoothness(jumpy) == pytest.approx(9.0)  # one jump among 9 steps
    assert interpolation_smoothness(np.zeros((4, 3))) == 1.0  # identical frames


def test_interpolation_smoothness_closed_forms():
    _check_smoothness(interpolation_smoothness)


# -- encode_mean, reconstruct, traverse -------------------------------------------------------------------------
def _check_encode_and_reconstruct(encode_mean, reconstruct, encoder, decoder, x):
    z_mean = _z_mean(encoder, x)
    np.testing.assert_allclose(encode_mean(encoder, x), z_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reconstruct(encoder, decoder, x), _decoded(decoder, z_mean), atol=1e-6)


def test_encode_mean_and_reconstruct_use_z_mean(trained_vae, mnist_small):
    x = mnist_small[0][:16]
    _check_encode_and_reconstruct(encode_mean, reconstruct, trained_vae.encoder, trained_vae.decoder, x)
    assert encode_mean(trained_vae.encoder, x).shape == (16, 2)


def _check_traverse(traverse, decoder, z):
    z0, values = np.array([0.3, -1.2, 0.7], "float32"), np.array([-2.0, -0.5, 1.0, 2.5], "float32")
    for dim in (0, 2):  # only dimension `dim` changes, set to each value in turn; the others keep z0's values
        expected = np.tile(z0, (4, 1))
        expected[:, dim] = values
        np.testing.assert_array_equal(_codes(traverse(_probe_decoder(3), z0, dim=dim, values=values), 3), expected)
    frames = traverse(decoder, z, dim=1, values=values)
    expected = np.tile(np.asarray(z, "float32"), (4, 1))
    expected[:, 1] = values
    assert frames.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(frames, _decoded(decoder, expected), atol=1e-6)


def test_traverse_changes_only_the_given_dimension(trained_vae, mnist_small):
    z = _z_mean(trained_vae.encoder, mnist_small[0][:1])[0]
    _check_traverse(traverse, trained_vae.decoder, z)


# -- manifold_grid ----------------------------------------------------------------------------------------------
def _check_manifold_grid(manifold_grid, decoder):
    """Tile (row r, column c) decodes z = (linspace(-span, span, n)[c], linspace(span, -span, n)[r]) (docstring)."""
    n, span = 4, 2.5
    grid = manifold_grid(_probe_decoder(2), n=n, span=span)
    assert grid.shape == (n * 28, n * 28)
    columns, rows = np.linspace(-span, span, n), np.linspace(span, -span, n)
    for r in range(n):
        for c in range(n):
            tile = grid[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28]
            np.testing.assert_allclose(_codes(tile[None], 2)[0], [columns[c], rows[r]], rtol=1e-6, atol=1e-7)
    grid = manifold_grid(decoder, n=3, span=2.0)
    assert grid.shape == (3 * 28, 3 * 28) and 0.0 <= grid.min() and grid.max() <= 1.0
    codes = [[gx, gy] for gy in (2.0, 0.0, -2.0) for gx in (-2.0, 0.0, 2.0)]
    images = _decoded(decoder, codes)[..., 0]
    for i in range(9):
        r, c = divmod(i, 3)
        np.testing.assert_allclose(grid[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28], images[i], atol=1e-6)
    with pytest.raises(ValueError):
        manifold_grid(build_dense_decoder(3), n=2)


def test_manifold_grid_tiles_the_documented_grid(trained_vae):
    _check_manifold_grid(manifold_grid, trained_vae.decoder)


# -- the checks above fail on planted bugs ----------------------------------------------------------------------
def _sample_uniform(decoder, n, latent_dim=None, seed=None):  # unit variance, but not Gaussian
    rng = np.random.default_rng(seed)
    return decode(decoder, rng.uniform(-math.sqrt(3), math.sqrt(3), (n, int(decoder.inputs[0].shape[-1]))))


def _sample_scaled(decoder, n, latent_dim=None, seed=None):  # N(0, 0.9^2)
    return decode(decoder, 0.9 * np.random.default_rng(seed).standard_normal((n, int(decoder.inputs[0].shape[-1]))))


def _sample_unseeded(decoder, n, latent_dim=None, seed=None):  # seed ignored
    return decode(decoder, np.random.standard_normal((n, int(decoder.inputs[0].shape[-1]))))


def _path_without_endpoint(z_a, z_b, steps=10, method="linear"):
    if method not in ("linear", "slerp"):
        raise ValueError(method)
    t = np.linspace(0.0, 1.0, steps + 1)[:-1, None]
    return (1 - t) * np.asarray(z_a, "float64") + t * np.asarray(z_b, "float64")


def _slerp_is_linear(z_a, z_b, steps=10, method="linear"):
    return interpolate_latent(z_a, z_b, steps=steps, method="linear" if method == "slerp" else method)


def _slerp_swapped_weights(z_a, z_b, steps=10, method="linear"):
    if method != "slerp":
        return interpolate_latent(z_a, z_b, steps=steps, method=method)
    path = interpolate_latent(z_b, z_a, steps=steps, method="slerp")
    path[0], path[-1] = z_a, z_b
    return path


def _slerp_normalised(z_a, z_b, steps=10, method="linear"):  # great circle of the unit sphere
    path = interpolate_latent(z_a, z_b, steps=steps, method=method)
    if method == "slerp":
        path[1:-1] /= np.linalg.norm(path[1:-1], axis=1, keepdims=True)
    return path


def _interpolate_sampled_z(encoder, decoder, x_a, x_b, steps=10, method="linear"):  # the encoder's sampled z
    z = encoder.predict(np.stack([np.asarray(x_a).reshape(28, 28, 1), np.asarray(x_b).reshape(28, 28, 1)]), verbose=0)
    return decode(decoder, interpolate_latent(z[2][0], z[2][1], steps=steps, method=method))


def _interpolate_pixels(encoder, decoder, x_a, x_b, steps=10, method="linear"):  # cross-fades reconstructions
    pair = np.stack([np.asarray(x_a).reshape(28, 28, 1), np.asarray(x_b).reshape(28, 28, 1)])
    ends = reconstruct(encoder, decoder, pair)
    t = np.linspace(0.0, 1.0, steps)[:, None, None, None]
    return (1 - t) * ends[0] + t * ends[1]


def _interpolate_ignores_method(encoder, decoder, x_a, x_b, steps=10, method="linear"):
    return interpolate(encoder, decoder, x_a, x_b, steps=steps)


def _smoothness_l1(frames):
    steps = np.abs(np.diff(np.asarray(frames, "float64").reshape(len(frames), -1), axis=0)).sum(axis=1)
    return 1.0 if steps.mean() <= 0 else float(steps.max() / steps.mean())


def _smoothness_squared(frames):
    steps = np.square(np.diff(np.asarray(frames, "float64").reshape(len(frames), -1), axis=0)).sum(axis=1)
    return 1.0 if steps.mean() <= 0 else float(steps.max() / steps.mean())


def _smoothness_over_first_axis_only(frames):  # forgets to flatten: per-column norms of a (steps, 28, 28, 1) stack
    steps = np.linalg.norm(np.diff(np.asarray(frames, "float64"), axis=0), axis=1).reshape(len(frames) - 1, -1)[:, 0]
    return 1.0 if steps.mean() <= 0 else float(steps.max() / steps.mean())


def _encode_sampled_z(encoder, x, batch_size=256):
    return np.asarray(encoder.predict(np.asarray(x, "float32"), verbose=0)[2])


def _traverse_off_by_one(decoder, z, dim, values):
    return traverse(decoder, z, int(dim) - 1, values)


def _traverse_adds(decoder, z, dim, values):  # z[dim] + value instead of value
    zs = np.repeat(np.asarray(z, "float32").reshape(1, -1), len(values), axis=0)
    zs[:, int(dim)] += np.asarray(values, "float32")
    return decode(decoder, zs)


def _traverse_all_dims(decoder, z, dim, values):
    values = np.asarray(values, "float32")
    return decode(decoder, np.repeat(values[:, None], np.asarray(z).size, axis=1))


def _tiled(decoder, z, n):
    images = decode(decoder, np.asarray(z, "float32"))[..., 0]
    return images.reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, n * 28)


def _grid_rows_not_flipped(decoder, n=20, span=3.0):  # z[1] grows downwards
    g = np.linspace(-span, span, n)
    return _tiled(decoder, [[gx, gy] for gy in g for gx in g], n)


def _grid_axes_swapped(decoder, n=20, span=3.0):  # z[0] along the rows, z[1] along the columns
    g = np.linspace(-span, span, n)
    return _tiled(decoder, [[gy, gx] for gy in g[::-1] for gx in g], n)


def _grid_not_transposed(decoder, n=20, span=3.0):  # images reshaped straight into the mosaic
    g = np.linspace(-span, span, n)
    z = np.array([[gx, gy] for gy in g[::-1] for gx in g], "float32")
    return decode(decoder, z)[..., 0].reshape(n * 28, n * 28)


def _grid_gaussian_quantiles(decoder, n=20, span=3.0):  # a different grid than the documented linspace
    from statistics import NormalDist

    g = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)])
    return _tiled(decoder, [[gx, gy] for gy in g[::-1] for gx in g], n)


def _grid_span_ignored(decoder, n=20, span=3.0):
    return manifold_grid(decoder, n, 3.0)


PLANTED = {
    "sample_prior: uniform noise": lambda m, x: _check_sample_prior(_sample_uniform, m.decoder),
    "sample_prior: N(0, 0.81)": lambda m, x: _check_sample_prior(_sample_scaled, m.decoder),
    "sample_prior: seed ignored": lambda m, x: _check_sample_prior(_sample_unseeded, m.decoder),
    "interpolate_latent: endpoint excluded": lambda m, x: _check_interpolate_latent(_path_without_endpoint),
    "interpolate_latent: slerp is linear": lambda m, x: _check_interpolate_latent(_slerp_is_linear),
    "interpolate_latent: slerp weights swapped": lambda m, x: _check_interpolate_latent(_slerp_swapped_weights),
    "interpolate_latent: slerp on the unit sphere": lambda m, x: _check_interpolate_latent(_slerp_normalised),
    "interpolate: sampled z": lambda m, x: _check_interpolate(_interpolate_sampled_z, m.encoder, m.decoder, x[0], x[1]),
    "interpolate: pixel cross-fade": lambda m, x: _check_interpolate(_interpolate_pixels, m.encoder, m.decoder,
                                                                      x[0], x[1]),
    "interpolate: method ignored": lambda m, x: _check_interpolate(_interpolate_ignores_method, m.encoder, m.decoder,
                                                                    x[0], x[1]),
    "smoothness: L1 steps": lambda m, x: _check_smoothness(_smoothness_l1),
    "smoothness: squared steps": lambda m, x: _check_smoothness(_smoothness_squared),
    "smoothness: not flattened": lambda m, x: _check_smoothness(_smoothness_over_first_axis_only),
    "encode_mean: sampled z": lambda m, x: _check_encode_and_reconstruct(_encode_sampled_z, reconstruct, m.encoder,
                                                                        m.decoder, x[:8]),
    "traverse: dim - 1": lambda m, x: _check_traverse(_traverse_off_by_one, m.decoder, np.zeros(2)),
    "traverse: adds the value": lambda m, x: _check_traverse(_traverse_adds, m.decoder, np.array([0.5, -0.5])),
    "traverse: sets every dim": lambda m, x: _check_traverse(_traverse_all_dims, m.decoder, np.zeros(2)),
    "manifold_grid: rows not flipped": lambda m, x: _check_manifold_grid(_grid_rows_not_flipped, m.decoder),
    "manifold_grid: axes swapped": lambda m, x: _check_manifold_grid(_grid_axes_swapped, m.decoder),
    "manifold_grid: tiles not transposed": lambda m, x: _check_manifold_grid(_grid_not_transposed, m.decoder),
    "manifold_grid: Gaussian quantiles": lambda m, x: _check_manifold_grid(_grid_gaussian_quantiles, m.decoder),
    "manifold_grid: span ignored": lambda m, x: _check_manifold_grid(_grid_span_ignored, m.decoder),
}


@pytest.mark.parametrize("bug", list(PLANTED))
def test_checks_catch_planted_bugs(bug, trained_vae, mnist_small):
    with pytest.raises(AssertionError):
        PLANTED[bug](trained_vae, mnist_small[0])
