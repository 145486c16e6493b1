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


def test_sample_prior_shape_range_and_seed(trained_vae):
    decoder = trained_vae.decoder
    a = sample_prior(decoder, 16, latent_dim=2, seed=5)
    assert a.shape == (16, 28, 28, 1) and a.min() >= 0.0 and a.max() <= 1.0
    np.testing.assert_array_equal(a, sample_prior(decoder, 16, seed=5))
    assert not np.allclose(a, sample_prior(decoder, 16, seed=6))


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolate_latent_endpoints_included(method):
    z_a, z_b = np.array([1.0, -2.0, 0.5]), np.array([-0.5, 1.0, 2.0])
    path = interpolate_latent(z_a, z_b, steps=7, method=method)
    assert path.shape == (7, 3)
    np.testing.assert_allclose(path[0], z_a, rtol=1e-6)
    np.testing.assert_allclose(path[-1], z_b, rtol=1e-6)


def test_linear_and_spherical_paths():
    z_a, z_b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    linear = interpolate_latent(z_a, z_b, steps=5, method="linear")
    np.testing.assert_allclose(linear[2], [1.0, 1.0])
    slerp = interpolate_latent(z_a, z_b, steps=5, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(slerp, axis=1), 2.0, rtol=1e-5)  # stays on the circle
    np.testing.assert_allclose(slerp[2], [np.sqrt(2), np.sqrt(2)], rtol=1e-5)
    with pytest.raises(ValueError):
        interpolate_latent(z_a, z_b, method="cubic")


def test_interpolation_frames_endpoints_and_smoothness(trained_vae, mnist_small):
    x, y = mnist_small
    x_a, x_b = x[int(np.argmax(y == 0))], x[int(np.argmax(y == 1))]
    frames = interpolate(trained_vae.encoder, trained_vae.decoder, x_a, x_b, steps=10)
    assert frames.shape == (10, 28, 28, 1)
    ends = reconstruct(trained_vae.encoder, trained_vae.decoder, np.stack([x_a, x_b]))
    np.testing.assert_allclose(frames[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(frames[-1], ends[1], atol=1e-5)
    assert np.abs(frames[0] - frames[-1]).sum() > 20  # a 0 and a 1 really differ
    smooth = interpolation_smoothness(frames)
    assert 1.0 <= smooth < 3.0
    jumpy = np.concatenate([np.repeat(frames[:1], 5, 0), np.repeat(frames[-1:], 5, 0)])
    assert interpolation_smoothness(jumpy) == pytest.approx(9.0)  # one jump among 9 steps


def test_interpolation_smoothness_closed_form():
    even = np.arange(5, dtype="float32")[:, None] * np.ones((1, 4))
    assert interpolation_smoothness(even) == pytest.approx(1.0)
    assert interpolation_smoothness(np.zeros((4, 3))) == 1.0


def test_traverse_and_encode_mean(trained_vae, mnist_small):
    x, _ = mnist_small
    z = encode_mean(trained_vae.encoder, x[:4])
    assert z.shape == (4, 2)
    frames = traverse(trained_vae.decoder, z[0], dim=1, values=np.linspace(-2, 2, 6))
    assert frames.shape == (6, 28, 28, 1)
    assert not np.allclose(frames[0], frames[-1])


def test_manifold_grid(trained_vae):
    grid = manifold_grid(trained_vae.decoder, n=5, span=2.0)
    assert grid.shape == (5 * 28, 5 * 28) and 0.0 <= grid.min() and grid.max() <= 1.0
    np.testing.assert_allclose(grid, manifold_grid(trained_vae.decoder, n=5, span=2.0))
    with pytest.raises(ValueError):
        manifold_grid(build_dense_decoder(3), n=2)
