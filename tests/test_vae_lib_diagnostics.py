import numpy as np
import pytest

from vae_lib import (
    VAE,
    PosteriorCollapseMonitor,
    active_units,
    build_dense_decoder,
    build_dense_encoder,
    importance_weighted_elbo,
    kl_divergence,
    latent_stats,
    posterior_collapse,
)


def _collapsed_copy(trained_vae):
    """Same networks, but q(z|x) made independent of x: z_mean / z_log_var kernels zeroed (biases kept)."""
    encoder = build_dense_encoder(2, hidden=(256,))
    encoder.set_weights(trained_vae.encoder.get_weights())
    for name in ("z_mean", "z_log_var"):
        kernel, bias = encoder.get_layer(name).get_weights()
        encoder.get_layer(name).set_weights([np.zeros_like(kernel), bias])
    return encoder


def test_latent_stats_and_active_units(trained_vae, mnist_small):
    x, _ = mnist_small
    stats = latent_stats(trained_vae.encoder, x[:500])
    assert stats["z_mean_std"].shape == (2,) and stats["kl_per_dim"].shape == (2,)
    assert np.all(stats["kl_per_dim"] >= 0)
    z_mean, z_log_var, _ = trained_vae.encoder.predict(x[:500], verbose=0)
    total_kl = float(np.mean(np.asarray(kl_divergence(z_mean, z_log_var))))
    assert stats["kl_per_dim"].sum() == pytest.approx(total_kl, rel=1e-4)
    assert stats["active_units"] == active_units(trained_vae.encoder, x[:500]) == 2


def test_collapse_detected_on_collapsed_model_not_on_healthy(trained_vae, mnist_small):
    x, _ = mnist_small
    healthy = posterior_collapse(trained_vae.encoder, x[:500])
    assert not healthy.collapsed and healthy.active_units == 2 and healthy.latent_dim == 2
    collapsed = posterior_collapse(_collapsed_copy(trained_vae), x[:500])
    assert collapsed.collapsed and collapsed.active_units == 0
    assert "colapso" in collapsed.message.lower()


def test_collapse_monitor_records_each_epoch(trained_vae, mnist_small, capsys):
    x, _ = mnist_small
    model = VAE(_collapsed_copy(trained_vae), trained_vae.decoder)
    monitor = PosteriorCollapseMonitor(x[:200])
    monitor.set_model(model)
    monitor.on_epoch_end(0, {})
    assert monitor.active_units == [0] and monitor.collapsed_epochs == [0]
    assert "colapso" in capsys.readouterr().out
    monitor.set_model(trained_vae)
    logs = {}
    monitor.on_epoch_end(1, logs)
    assert monitor.active_units == [0, 2] and logs["active_units"] == 2


def test_importance_weighted_bound(trained_vae, mnist_small):
    x = mnist_small[0][:300]
    encoder, decoder = trained_vae.encoder, trained_vae.decoder
    # Analytic ELBO: -(reconstruction + KL), reconstruction estimated with many draws.
    logs = trained_vae.evaluate(np.repeat(x, 4, axis=0), batch_size=300, verbose=0, return_dict=True)
    elbo = -(logs["reconstruction_loss"] + logs["kl_loss"])
    iw1 = importance_weighted_elbo(encoder, decoder, x, k=1, seed=0)
    assert iw1.shape == (300,)
    assert iw1.mean() == pytest.approx(elbo, rel=0.02)  # k = 1 is the ELBO
    means = [importance_weighted_elbo(encoder, decoder, x, k=k, seed=1).mean() for k in (1, 5, 25)]
    assert means[0] < means[1] < means[2]  # does not decrease with k (on average)
    assert means[2] >= elbo
    assert np.all(means[2] < 0)  # a bound on a log-probability
