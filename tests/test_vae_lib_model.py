import keras
import numpy as np
import pytest

from vae_lib import (
    VAE,
    KLAnnealing,
    build_conv_decoder,
    build_conv_encoder,
    build_dense_decoder,
    build_dense_encoder,
    seed_everything,
)


def _dense_vae(latent_dim=2, **kw):
    return VAE(build_dense_encoder(latent_dim, hidden=(128,)), build_dense_decoder(latent_dim, hidden=(128,)), **kw)


@pytest.mark.parametrize("latent_dim", [2, 10])
def test_network_shapes(latent_dim):
    x = np.zeros((3, 28, 28, 1), "float32")
    for encoder, decoder in [
        (build_conv_encoder(latent_dim), build_conv_decoder(latent_dim)),
        (build_dense_encoder(latent_dim), build_dense_decoder(latent_dim)),
    ]:
        z_mean, z_log_var, z = encoder(x)
        assert tuple(z_mean.shape) == tuple(z_log_var.shape) == tuple(z.shape) == (3, latent_dim)
        images = keras.ops.convert_to_numpy(decoder(z))
        assert images.shape == (3, 28, 28, 1)
        assert images.min() >= 0.0 and images.max() <= 1.0
        assert decoder.layers[-1].name == "decoder_output"


def test_loss_decreases_on_real_subset(mnist_small):
    seed_everything(1)
    x, _ = mnist_small
    model = _dense_vae()
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    before = model.evaluate(x[:512], batch_size=256, verbose=0, return_dict=True)
    history = model.fit(x, epochs=10, batch_size=64, verbose=0)  # 10 x 32 = 320 steps
    after = model.evaluate(x[:512], batch_size=256, verbose=0, return_dict=True)
    assert set(history.history) >= {"loss", "reconstruction_loss", "kl_loss"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after["loss"] < 0.4 * before["loss"]  # ~543 nats (untrained) -> about 170
    assert after["kl_loss"] > 1.0  # the latent space is used


def test_beta_scales_exactly_the_kl_term(mnist_small):
    seed_everything(2)
    x, _ = mnist_small
    model = _dense_vae()
    model.compile(optimizer="adam")
    for beta in (0.0, 1.0, 3.5):  # beta is a variable: changing it needs no new model nor retracing
        model.beta = beta
        logs = model.evaluate(x[:256], batch_size=256, verbose=0, return_dict=True)  # one batch: same noise
        assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + beta * logs["kl_loss"], rel=1e-6, abs=1e-4)
        step = model.fit(x[:64], epochs=1, batch_size=64, verbose=0).history
        assert step["loss"][0] == pytest.approx(step["reconstruction_loss"][0] + beta * step["kl_loss"][0], rel=1e-6)


def test_beta_is_a_non_trainable_variable():
    model = _dense_vae(beta=0.25)
    assert float(model.beta) == pytest.approx(0.25)
    model.beta = 2.0
    assert float(model.beta) == pytest.approx(2.0)
    assert all("beta" not in v.path for v in model.trainable_variables)


def test_mse_reconstruction(mnist_small):
    x, _ = mnist_small
    model = _dense_vae(reconstruction="mse", beta=0.0)
    model.compile(optimizer="adam")
    logs = model.evaluate(x[:128], batch_size=128, verbose=0, return_dict=True)
    assert 0 < logs["reconstruction_loss"] < 784  # squared error of [0, 1] pixels, summed
    with pytest.raises(ValueError):
        _dense_vae(reconstruction="l2")


def test_kl_annealing_warms_beta_up_linearly(mnist_small):
    x, _ = mnist_small
    model = _dense_vae()
    model.compile(optimizer="adam")
    annealing = KLAnnealing(target_beta=1.0, warmup_epochs=2, start_beta=0.0)
    history = model.fit(x[:128], epochs=4, batch_size=64, verbose=0, callbacks=[annealing])
    assert annealing.betas == [0.0, 0.5, 1.0, 1.0]
    assert history.history["beta"] == [0.0, 0.5, 1.0, 1.0]
    assert history.history["loss"][0] == pytest.approx(history.history["reconstruction_loss"][0], rel=1e-6)
    assert float(model.beta) == 1.0


def test_save_and_load(tmp_path, mnist_small):
    x, _ = mnist_small
    seed_everything(3)
    model = VAE(build_conv_encoder(3), build_conv_decoder(3), beta=0.7)
    z_mean = keras.ops.convert_to_numpy(model.encoder(x[:8])[0])

    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, VAE)
    assert float(loaded.beta) == pytest.approx(0.7)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.encoder(x[:8])[0]), z_mean, rtol=1e-5, atol=1e-6)

    weights = tmp_path / "vae.weights.h5"
    model.save_weights(weights)
    fresh = VAE(build_conv_encoder(3), build_conv_decoder(3))
    fresh.load_weights(weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh.encoder(x[:8])[0]), z_mean, rtol=1e-5, atol=1e-6)
    assert float(fresh.beta) == pytest.approx(0.7)


def test_logits_path_shares_the_decoder_weights():
    model = VAE(build_conv_encoder(2), build_conv_decoder(2))
    z = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    logits = keras.ops.convert_to_numpy(model._decoder_logits(z))
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), keras.ops.convert_to_numpy(model.decoder(z)), atol=1e-6)
    assert len(model.trainable_variables) == len(model.encoder.trainable_variables) + len(
        model.decoder.trainable_variables
    )


def test_student_style_decoder_with_sigmoid_inside_the_last_layer(mnist_small):
    """A decoder whose last layer has activation="sigmoid" trains through the probability BCE."""
    x, _ = mnist_small
    z_in = keras.Input((2,))
    h = keras.layers.Dense(64, activation="relu")(z_in)
    out = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="sigmoid")(h))
    model = VAE(build_dense_encoder(2, hidden=(64,)), keras.Model(z_in, out))
    assert model._decoder_logits is None
    model.compile(optimizer="adam")
    logs = model.fit(x[:256], epochs=2, batch_size=128, verbose=0).history
    assert logs["loss"][1] < logs["loss"][0]
