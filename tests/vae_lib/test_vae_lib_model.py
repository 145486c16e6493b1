"""The VAE model. Loss values and gradient steps are compared with NumPy computations done here: a
*deterministic encoder* (z_log_var fixed at -30, so z = z_mean to float32 precision) makes the reconstruction
term computable by hand from the encoder's z_mean and the decoder."""
import keras
import numpy as np
import pytest

import vae_lib.losses as losses
import vae_lib.model as vae_model

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


def _deterministic(encoder):
    """q(z|x) with sd e^-15: z equals z_mean to float32 precision."""
    kernel, _ = encoder.get_layer("z_log_var").get_weights()
    encoder.get_layer("z_log_var").set_weights([np.zeros_like(kernel), np.full(kernel.shape[1], -30.0, "float32")])
    return encoder


def _numpy(t):
    return np.asarray(keras.ops.convert_to_numpy(t), "float64")


def _hand_terms(encoder, decoder, x, kind="bce"):
    """Batch means of the reconstruction (summed over pixels) and KL (summed over latent dims), by hand."""
    mu, log_var, _ = (_numpy(t) for t in encoder(x))
    p = _numpy(decoder(mu.astype("float32"))).reshape(len(x), -1)
    flat = x.reshape(len(x), -1).astype("float64")
    if kind == "bce":
        p = np.clip(p, 1e-7, 1 - 1e-7)
        recon = -(flat * np.log(p) + (1 - flat) * np.log(1 - p)).sum(axis=1)
    else:
        recon = np.square(flat - p).sum(axis=1)
    kl = 0.5 * (np.square(mu) + np.exp(log_var) - 1.0 - log_var).sum(axis=1)
    return recon.mean(), kl.mean()


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


def _check_reported_losses(mnist_small, kinds=("bce", "mse")):
    x = mnist_small[0][:256]
    seed_everything(2)
    for kind in kinds:
        model = VAE(_deterministic(build_dense_encoder(2, hidden=(64,))), build_dense_decoder(2, hidden=(64,)),
                    reconstruction=kind)
        model.compile(optimizer="adam")
        recon, kl = _hand_terms(model.encoder, model.decoder, x, kind)
        for beta in (0.0, 1.0, 3.5):  # beta is a variable: changing it needs no new model nor retracing
            model.beta = beta
            logs = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)
            assert logs["reconstruction_loss"] == pytest.approx(recon, rel=1e-4), kind
            assert logs["kl_loss"] == pytest.approx(kl, rel=1e-4), kind
            assert logs["loss"] == pytest.approx(recon + beta * kl, rel=1e-4), (kind, beta)


def test_reported_losses_are_hand_computed_sums_and_beta_scales_the_kl(mnist_small):
    """loss = mean over the batch of [reconstruction summed over pixels + beta · KL summed over latent dims]."""
    _check_reported_losses(mnist_small)
    with pytest.raises(ValueError):
        _dense_vae(reconstruction="l2")


def _check_beta_in_the_gradient(mnist_small):
    """One plain SGD step with beta = 0 and with beta = 3 from the same weights: the KL term adds exactly
    -lr · 3 · dKL/db to the z_mean / z_log_var biases (dKL/db = mean z_mean, 0.5·mean(exp(lv) - 1)) and
    nothing to the decoder."""
    x, lr = mnist_small[0][:64], 0.05
    seed_everything(4)
    reference = VAE(_deterministic(build_dense_encoder(2, hidden=(32,))), build_dense_decoder(2, hidden=(32,)))
    mu, log_var, _ = (_numpy(t) for t in reference.encoder(x))
    after = {}
    for beta in (0.0, 3.0):
        model = VAE(build_dense_encoder(2, hidden=(32,)), build_dense_decoder(2, hidden=(32,)), beta=beta)
        model.encoder.set_weights(reference.encoder.get_weights())
        model.decoder.set_weights(reference.decoder.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(lr))
        model.fit(x, epochs=1, batch_size=64, shuffle=False, verbose=0)
        after[beta] = ([model.encoder.get_layer(n).get_weights()[1] for n in ("z_mean", "z_log_var")],
                       model.decoder.get_weights())
    (mean_0, lv_0), decoder_0 = after[0.0]
    (mean_3, lv_3), decoder_3 = after[3.0]
    np.testing.assert_allclose(mean_3 - mean_0, -lr * 3.0 * mu.mean(axis=0), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(lv_3 - lv_0, -lr * 3.0 * 0.5 * (np.exp(log_var) - 1).mean(axis=0), rtol=1e-3, atol=1e-6)
    for w0, w3 in zip(decoder_0, decoder_3):
        np.testing.assert_allclose(w3, w0, rtol=1e-5, atol=1e-6)


def test_beta_weights_the_kl_gradient(mnist_small):
    _check_beta_in_the_gradient(mnist_small)


def test_beta_is_a_non_trainable_variable():
    model = _dense_vae(beta=0.25)
    assert float(model.beta) == pytest.approx(0.25)
    model.beta = 2.0
    assert float(model.beta) == pytest.approx(2.0)
    assert all("beta" not in v.path for v in model.trainable_variables)


def test_kl_annealing_warms_beta_up_linearly(mnist_small):
    x, _ = mnist_small
    model = _dense_vae()
    model.compile(optimizer="adam")
    annealing = KLAnnealing(target_beta=1.0, warmup_epochs=2, start_beta=0.0)
    history = model.fit(x[:128], epochs=4, batch_size=64, verbose=0, callbacks=[annealing]).history
    assert annealing.betas == [0.0, 0.5, 1.0, 1.0]
    assert history["beta"] == [0.0, 0.5, 1.0, 1.0]
    for epoch, beta in enumerate([0.0, 0.5, 1.0, 1.0]):  # the value really used in that epoch's loss
        total = history["reconstruction_loss"][epoch] + beta * history["kl_loss"][epoch]
        assert history["loss"][epoch] == pytest.approx(total, rel=1e-5), epoch
    assert float(model.beta) == 1.0
    schedule = KLAnnealing(target_beta=2.0, warmup_epochs=4, start_beta=1.0)
    assert [schedule.beta_at(e) for e in range(6)] == [1.0, 1.25, 1.5, 1.75, 2.0, 2.0]
    assert KLAnnealing(target_beta=0.3, warmup_epochs=0).beta_at(0) == 0.3


def test_save_and_load(tmp_path, mnist_small):
    x, _ = mnist_small
    seed_everything(3)
    model = VAE(build_conv_encoder(3), build_conv_decoder(3), beta=0.7, reconstruction="mse")
    z_mean = keras.ops.convert_to_numpy(model.encoder(x[:8])[0])
    codes = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    images = keras.ops.convert_to_numpy(model.decoder(codes))

    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, VAE)
    assert float(loaded.beta) == pytest.approx(0.7) and loaded.reconstruction == "mse"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.encoder(x[:8])[0]), z_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.decoder(codes)), images, rtol=1e-5, atol=1e-6)

    weights = tmp_path / "vae.weights.h5"
    model.save_weights(weights)
    fresh = VAE(build_conv_encoder(3), build_conv_decoder(3))
    fresh.load_weights(weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh.encoder(x[:8])[0]), z_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh.decoder(codes)), images, rtol=1e-5, atol=1e-6)
    assert float(fresh.beta) == pytest.approx(0.7)


def _check_logits_path(model):
    z = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    for _ in range(2):  # and again after the decoder's weights change (as in training): shared, not copied
        logits = keras.ops.convert_to_numpy(model._decoder_logits(z))
        np.testing.assert_allclose(1 / (1 + np.exp(-logits)), keras.ops.convert_to_numpy(model.decoder(z)), atol=1e-6)
        rng = np.random.default_rng(1)
        model.decoder.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.decoder.get_weights()])
    assert len(model.trainable_variables) == len(model.encoder.trainable_variables) + len(
        model.decoder.trainable_variables
    )


def test_logits_path_shares_the_decoder_weights():
    _check_logits_path(VAE(build_conv_encoder(2), build_conv_decoder(2)))


def test_student_style_decoder_with_sigmoid_inside_the_last_layer(mnist_small):
    """A decoder whose last layer has activation="sigmoid" trains through the probability BCE."""
    x = mnist_small[0][:256]
    z_in = keras.Input((2,))
    h = keras.layers.Dense(64, activation="relu")(z_in)
    out = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="sigmoid")(h))
    model = VAE(_deterministic(build_dense_encoder(2, hidden=(64,))), keras.Model(z_in, out))
    assert model._decoder_logits is None
    model.compile(optimizer="adam")
    recon, kl = _hand_terms(model.encoder, model.decoder, x)
    logs = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)
    assert logs["reconstruction_loss"] == pytest.approx(recon, rel=1e-4)
    assert logs["loss"] == pytest.approx(recon + kl, rel=1e-4)
    history = model.fit(x, epochs=2, batch_size=128, verbose=0).history
    assert history["loss"][1] < history["loss"][0]


# -- the checks above fail on planted bugs ----------------------------------------------------------------------
def _beta_ignored_in_the_gradient(self, *args):  # logs recon + beta·kl, but steps on recon + kl
    import tensorflow as tf

    x = self._images(args[0])
    with tf.GradientTape() as tape:
        total, recon, kl = self._batch_losses(x, training=True)
        stepped = recon + kl
    grads = tape.gradient(stepped, self.trainable_weights)
    self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
    return self._update_metrics(total, recon, kl)


def _copied_logits_model(decoder):  # a copy of the decoder's layers: right at first, stale once they change
    original = _original_logits_model(decoder)
    if original is None:
        return None
    copy = keras.models.clone_model(original)
    copy.set_weights(original.get_weights())
    return copy


_original_logits_model = vae_model._logits_model

def _plant_mean_over_pixels(mp):
    def per_pixel_mean(x, x_hat, kind="bce"):
        return losses.reconstruction_loss(x, x_hat, kind) / 784

    mp.setattr(vae_model, "reconstruction_loss", per_pixel_mean)
    mp.setattr(vae_model, "bce_from_logits", lambda x, logits: losses.bce_from_logits(x, logits) / 784)


def _plant_kind_ignored(mp):  # always BCE
    mp.setattr(vae_model, "reconstruction_loss", lambda x, x_hat, kind="bce": losses.reconstruction_loss(x, x_hat))


def _plant_kl_mean_over_dims(mp):
    mp.setattr(vae_model, "kl_divergence", lambda mu, log_var: losses.kl_divergence(mu, log_var) / 2.0)


PLANTED = {
    "reconstruction averaged over pixels": (_plant_mean_over_pixels, _check_reported_losses),
    "reconstruction kind ignored (always BCE)": (_plant_kind_ignored, lambda m: _check_reported_losses(m, ("mse",))),
    "KL averaged over latent dims": (_plant_kl_mean_over_dims, _check_reported_losses),
    "beta only in the logged loss": (
        lambda mp: mp.setattr(VAE, "train_step", _beta_ignored_in_the_gradient), _check_beta_in_the_gradient),
    "logits model copies the decoder": (
        lambda mp: mp.setattr(vae_model, "_logits_model", _copied_logits_model),
        lambda m: _check_logits_path(VAE(build_conv_encoder(2), build_conv_decoder(2)))),
}


@pytest.mark.parametrize("bug", list(PLANTED))
def test_checks_catch_planted_bugs(bug, mnist_small, monkeypatch):
    plant, check = PLANTED[bug]
    plant(monkeypatch)
    with pytest.raises(AssertionError):
        check(mnist_small)
